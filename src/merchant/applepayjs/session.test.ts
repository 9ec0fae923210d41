import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it, mock } from 'node:test';
import { ApplePayError, createApplePaySession, RESPONSE_TIMEOUT_MS, type SheetMessage, type SheetPort } from './index.js';

const VALIDATION_URL = 'https://127.0.0.1:8443/paymentservices/startSession';

function request(over: Record<string, unknown> = {}) {
  return {
    countryCode: 'US',
    currencyCode: 'USD',
    merchantCapabilities: ['supports3DS'],
    supportedNetworks: ['visa', 'masterCard'],
    total: { label: 'Tessera Coffee', amount: '4.50' },
    lineItems: [{ label: 'Latte', amount: '4.50' }],
    ...over,
  };
}

/** Lets queued microtasks and message deliveries run (setImmediate is not faked). */
const flush = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * A test double of the sheet page at /wallet/pay: the other end of a message channel that, like
 * postMessage, delivers structured clones asynchronously. It records what the page sends and can
 * send the sheet's messages.
 */
class FakeSheet {
  readonly inbox: SheetMessage[] = [];
  sid = '';
  opened = 0;
  closed = false;
  #toPage: ((m: unknown) => void) | undefined;

  port(): SheetPort {
    return {
      open: (sid, onMessage) => {
        this.opened++;
        this.sid = sid;
        this.#toPage = onMessage;
      },
      send: (m) => {
        const copy = structuredClone(m);
        queueMicrotask(() => this.inbox.push(copy));
      },
      close: () => {
        this.closed = true;
      },
    };
  }

  send(type: string, extra: Record<string, unknown> = {}, over: Record<string, unknown> = {}): void {
    const msg = structuredClone({ tessera: 'applepay/1', sid: this.sid, type, ...extra, ...over });
    queueMicrotask(() => this.#toPage?.(msg));
  }

  types(): string[] {
    return this.inbox.map((m) => m.type);
  }

  last(type: string): SheetMessage | undefined {
    return [...this.inbox].reverse().find((m) => m.type === type);
  }
}

function setup(version = 14, req: Record<string, unknown> = request()) {
  const sheet = new FakeSheet();
  const setups: string[] = [];
  const ApplePaySession = createApplePaySession({
    port: () => sheet.port(),
    validationURL: VALIDATION_URL,
    merchantOrigin: 'https://shop.example',
    openSetup: (id) => {
      setups.push(id);
      return true;
    },
  });
  const session = new ApplePaySession(version, req as never);
  return { ApplePaySession, session, sheet, setups };
}

const TOKEN = { token: { paymentData: { version: 'EC_v1' }, paymentMethod: { displayName: 'Visa 0075', network: 'Visa', type: 'credit' }, transactionIdentifier: 'ab'.repeat(32) } };
const MERCHANT_SESSION = {
  epochTimestamp: Date.now(),
  expiresAt: Date.now() + 3_600_000,
  merchantSessionIdentifier: 'AB'.repeat(32),
  nonce: '0a1b2c3d',
  merchantIdentifier: 'EF'.repeat(32),
  domainName: 'shop.example',
  displayName: 'Tessera Coffee',
  signature: 'cd'.repeat(32),
};

function isInvalidAccess(err: unknown): boolean {
  return err instanceof DOMException && err.name === 'InvalidAccessError';
}

/** begin() → ready → validatemerchant → completeMerchantValidation. */
async function validated(s: ReturnType<typeof setup>): Promise<void> {
  s.session.onvalidatemerchant = () => s.session.completeMerchantValidation(MERCHANT_SESSION);
  s.session.begin();
  s.sheet.send('ready');
  await flush();
  await flush();
  assert.ok(s.sheet.types().includes('merchantValidated'));
}

describe('ApplePaySession statics', () => {
  it('supportsVersion 1…14, the status constants, canMakePayments, openPaymentSetup', async () => {
    const { ApplePaySession, setups } = setup();
    for (let v = 1; v <= 14; v++) assert.equal(ApplePaySession.supportsVersion(v), true, String(v));
    for (const v of [0, 15, 1.5, -1, NaN]) assert.equal(ApplePaySession.supportsVersion(v), false, String(v));
    assert.deepEqual(
      [ApplePaySession.STATUS_SUCCESS, ApplePaySession.STATUS_FAILURE, ApplePaySession.STATUS_INVALID_BILLING_POSTAL_ADDRESS, ApplePaySession.STATUS_INVALID_SHIPPING_POSTAL_ADDRESS, ApplePaySession.STATUS_INVALID_SHIPPING_CONTACT, ApplePaySession.STATUS_PIN_REQUIRED, ApplePaySession.STATUS_PIN_INCORRECT, ApplePaySession.STATUS_PIN_LOCKOUT],
      [0, 1, 2, 3, 4, 5, 6, 7],
    );
    assert.equal(ApplePaySession.canMakePayments(), true);
    assert.equal(await ApplePaySession.canMakePaymentsWithActiveCard('merchant.com.example'), true);
    await assert.rejects(ApplePaySession.canMakePaymentsWithActiveCard(''), TypeError);
    assert.equal(await ApplePaySession.openPaymentSetup('merchant.com.example'), true);
    assert.deepEqual(setups, ['merchant.com.example']);
  });
});

describe('ApplePaySession constructor: request validation as Safari does it', () => {
  it('accepts a good request and refuses an unsupported version with InvalidAccessError', () => {
    assert.doesNotThrow(() => setup(3));
    assert.throws(() => setup(15), isInvalidAccess);
    assert.throws(() => setup(0), isInvalidAccess);
  });

  it('bad requests are TypeErrors', () => {
    const bad: Record<string, unknown>[] = [
      { merchantCapabilities: ['supportsCredit'] },
      { merchantCapabilities: [] },
      { merchantCapabilities: ['supports3DS', 'supportsMagic'] },
      { countryCode: 'usa' },
      { countryCode: undefined },
      { currencyCode: 'dollars' },
      { supportedNetworks: [] },
      { supportedNetworks: ['visa', 'paypal'] },
      { total: undefined },
      { total: { label: '', amount: '1.00' } },
      { total: { label: 'x', amount: '1,00' } },
      { total: { label: 'x', amount: Symbol('4.5') } },
      { total: { label: 'x', amount: '-1.00' } },
      { total: { label: 'x', amount: '1.00', type: 'later' } },
      { lineItems: [{ label: 'x' }] },
      { shippingMethods: [{ label: 'x', amount: '1.00', detail: 'd' }] },
      { requiredShippingContactFields: ['shoeSize'] },
      { shippingType: 'teleport' },
      { applicationData: 'not base64!' },
    ];
    for (const over of bad) assert.throws(() => setup(14, request(over)), TypeError, JSON.stringify(over));
    const { ApplePaySession } = setup();
    assert.throws(() => new (ApplePaySession as unknown as new (v: number) => unknown)(3), TypeError);
  });
});

describe("amounts converted as Safari's DOMString IDL conversion does", () => {
  it('numbers in the request, its line items and shipping methods become strings; the page object is left alone', async () => {
    const total = { label: 'Shop', amount: 42 };
    const s = setup(14, request({ total, lineItems: [{ label: 'Tax', amount: 4.5 }], shippingMethods: [{ identifier: 1, label: 'Post', detail: 'Two days', amount: 0 }] }));
    s.session.begin();
    s.sheet.send('ready');
    await flush();
    const shown = s.sheet.last('show')!.request as { total: unknown; lineItems: unknown; shippingMethods: unknown };
    assert.deepEqual(shown.total, { label: 'Shop', amount: '42' });
    assert.deepEqual(shown.lineItems, [{ label: 'Tax', amount: '4.5' }]);
    assert.deepEqual(shown.shippingMethods, [{ identifier: '1', label: 'Post', detail: 'Two days', amount: '0' }]);
    assert.equal(total.amount, 42);
  });

  it('updates too: completeShippingMethodSelection({ newTotal: { amount: 47.5 } }) → "47.5"', async () => {
    const s = setup();
    s.session.onshippingmethodselected = () => s.session.completeShippingMethodSelection({ newTotal: { label: 'Shop', amount: 47.5 } } as never);
    await validated(s);
    s.sheet.send('shippingMethodSelected', { shippingMethod: { identifier: 'post' } });
    await flush();
    await flush();
    assert.deepEqual(s.sheet.last('shippingMethodUpdate')!.update, { newTotal: { label: 'Shop', amount: '47.5' } });
  });

  it('what does not convert to a decimal amount is still a TypeError', () => {
    for (const amount of [NaN, Infinity, -1, null, { toString: () => 'x' }]) assert.throws(() => setup(14, request({ total: { label: 'x', amount } })), TypeError, String(amount));
  });
});

describe('completeMerchantValidation with something that is not a merchant session', () => {
  for (const [what, value] of [
    ['an error answer relayed as is', { statusCode: '400', statusMessage: 'Payment Services Exception: invalid domainName' }],
    ['a session for another domain', { ...MERCHANT_SESSION, domainName: 'other.example' }],
    ['an expired session', { ...MERCHANT_SESSION, expiresAt: Date.now() - 1 }],
    ['a session without its signature', { ...MERCHANT_SESSION, signature: undefined }],
  ] as const) {
    it(`${what}: the sheet is told to close and oncancel fires before anything is asked of the user`, async () => {
      const s = setup();
      let cancelled: Event | undefined;
      let authorized = 0;
      s.session.oncancel = (e) => (cancelled = e);
      s.session.onpaymentauthorized = () => authorized++;
      s.session.onvalidatemerchant = () => s.session.completeMerchantValidation(value);
      s.session.begin();
      s.sheet.send('ready');
      await flush();
      await flush();
      assert.ok(cancelled, 'oncancel fired');
      assert.deepEqual((cancelled as unknown as { sessionError: unknown }).sessionError, { code: 'unknown', info: {} });
      assert.equal(s.sheet.types().includes('merchantValidated'), false);
      assert.equal(s.sheet.closed, true);
      s.sheet.send('authorized', { payment: TOKEN });
      await flush();
      assert.equal(authorized, 0);
      assert.throws(() => s.session.abort(), isInvalidAccess);
    });
  }
});

describe('canMakePaymentsWithActiveCard', () => {
  it("answers the wallet's yes or no; a wallet that fails to answer is no", async () => {
    const make = (activeCard: () => Promise<boolean>) => createApplePaySession({ port: () => new FakeSheet().port(), validationURL: VALIDATION_URL, merchantOrigin: 'https://shop.example', activeCard });
    assert.equal(await make(() => Promise.resolve(true)).canMakePaymentsWithActiveCard('merchant.com.example'), true);
    assert.equal(await make(() => Promise.resolve(false)).canMakePaymentsWithActiveCard('merchant.com.example'), false);
    assert.equal(await make(() => Promise.reject(new Error('gone'))).canMakePaymentsWithActiveCard('merchant.com.example'), false);
  });
});

describe('ApplePaySession: the flow against the sheet', () => {
  it('begin → show (once the sheet is ready) → validatemerchant → merchantValidated → selection → authorized → completePayment', async () => {
    const s = setup();
    const events: string[] = [];
    s.session.onvalidatemerchant = (e) => {
      events.push('validatemerchant');
      assert.equal((e as unknown as { validationURL: string }).validationURL, VALIDATION_URL);
      s.session.completeMerchantValidation(MERCHANT_SESSION);
    };
    s.session.onpaymentmethodselected = (e) => {
      events.push('paymentmethodselected');
      assert.equal((e as unknown as { paymentMethod: { network: string } }).paymentMethod.network, 'Visa');
      s.session.completePaymentMethodSelection({ newTotal: { label: 'Tessera Coffee', amount: '4.00' }, newLineItems: [{ label: 'Discount', amount: '-0.50' }] });
    };
    s.session.onpaymentauthorized = (e) => {
      events.push('paymentauthorized');
      assert.deepEqual((e as unknown as { payment: unknown }).payment, TOKEN);
      s.session.completePayment({ status: 0 });
    };
    s.session.addEventListener('paymentauthorized', () => events.push('listener:paymentauthorized'));
    s.session.begin();
    await flush();
    // Nothing reaches the sheet before it says it is ready.
    assert.deepEqual(s.sheet.inbox, []);
    assert.equal(s.sheet.opened, 1);
    assert.match(s.sheet.sid, /^[0-9a-f]{32}$/);
    s.sheet.send('ready');
    await flush();
    assert.deepEqual(s.sheet.types(), ['show', 'merchantValidated']);
    const show = s.sheet.last('show')!;
    assert.equal(show.tessera, 'applepay/1');
    assert.equal(show.sid, s.sheet.sid);
    assert.equal(show.version, 14);
    assert.equal(show.merchantOrigin, 'https://shop.example');
    assert.deepEqual(show.request, request());
    assert.deepEqual(s.sheet.last('merchantValidated')!.merchantSession, MERCHANT_SESSION);

    s.sheet.send('paymentMethodSelected', { paymentMethod: { displayName: 'Visa 0075', network: 'Visa', type: 'credit' } });
    await flush();
    assert.deepEqual(s.sheet.last('paymentMethodUpdate')!.update, { newTotal: { label: 'Tessera Coffee', amount: '4.00' }, newLineItems: [{ label: 'Discount', amount: '-0.50' }] });
    s.sheet.send('authorized', { payment: TOKEN });
    await flush();
    assert.deepEqual(s.sheet.last('completePayment'), { type: 'completePayment', status: 0, tessera: 'applepay/1', sid: s.sheet.sid });
    assert.deepEqual(events, ['validatemerchant', 'paymentmethodselected', 'paymentauthorized', 'listener:paymentauthorized']);
    await new Promise((r) => setTimeout(r, 5));
    assert.equal(s.sheet.closed, true);
    assert.throws(() => s.session.abort(), isInvalidAccess);
  });

  it('methods called out of order throw InvalidAccessError', async () => {
    const s = setup();
    assert.throws(() => s.session.completeMerchantValidation(MERCHANT_SESSION), isInvalidAccess);
    assert.throws(() => s.session.completePayment(0), isInvalidAccess);
    assert.throws(() => s.session.abort(), isInvalidAccess);
    s.session.begin();
    assert.throws(() => s.session.begin(), isInvalidAccess);
    assert.throws(() => s.session.completePayment(0), isInvalidAccess);
    assert.throws(() => s.session.completePaymentMethodSelection({ newTotal: { label: 'x', amount: '1.00' } }), isInvalidAccess);
    assert.throws(() => s.session.completeShippingMethodSelection({ newTotal: { label: 'x', amount: '1.00' } }), isInvalidAccess);
    assert.throws(() => s.session.completeShippingContactSelection({ newTotal: { label: 'x', amount: '1.00' } }), isInvalidAccess);
    assert.throws(() => s.session.completeMerchantValidation('not an object'), TypeError);
    s.session.completeMerchantValidation(MERCHANT_SESSION);
    assert.throws(() => s.session.completeMerchantValidation(MERCHANT_SESSION), isInvalidAccess);
    s.session.abort();
    assert.throws(() => s.session.abort(), isInvalidAccess);
  });

  it('the sheet cannot authorize before the merchant is validated; selections wait for validation', async () => {
    const s = setup();
    let authorized = 0;
    let selected = 0;
    s.session.onpaymentauthorized = () => authorized++;
    s.session.onpaymentmethodselected = () => {
      selected++;
      s.session.completePaymentMethodSelection({ newTotal: { label: 'x', amount: '4.50' } });
    };
    s.session.begin();
    s.sheet.send('ready');
    s.sheet.send('paymentMethodSelected', { paymentMethod: { network: 'Visa' } });
    s.sheet.send('authorized', { payment: TOKEN });
    await flush();
    assert.equal(authorized, 0);
    assert.equal(selected, 0);
    assert.throws(() => s.session.completePayment(0), isInvalidAccess);
    s.session.completeMerchantValidation(MERCHANT_SESSION);
    await flush();
    await flush();
    assert.equal(selected, 1);
    s.sheet.send('authorized', { payment: TOKEN });
    await flush();
    assert.equal(authorized, 1);
  });

  it('without an onpaymentmethodselected handler the script answers the sheet itself', async () => {
    const s = setup();
    await validated(s);
    s.sheet.send('paymentMethodSelected', { paymentMethod: { network: 'Visa' } });
    await flush();
    assert.deepEqual(s.sheet.last('paymentMethodUpdate')!.update, { newTotal: request().total, newLineItems: request().lineItems });
  });

  it('messages with another session id or protocol are ignored; the sheet cancelling fires oncancel and closes it', async () => {
    const s = setup();
    let cancels = 0;
    let listened = 0;
    s.session.oncancel = () => cancels++;
    s.session.addEventListener('cancel', () => listened++);
    await validated(s);
    s.sheet.send('cancel', {}, { sid: 'f'.repeat(32) });
    s.sheet.send('cancel', {}, { tessera: 'applepay/2' });
    await flush();
    assert.equal(cancels, 0);
    s.sheet.send('cancel');
    await flush();
    assert.equal(cancels, 1);
    assert.equal(listened, 1);
    assert.equal(s.sheet.closed, true);
    assert.throws(() => s.session.completePayment(0), isInvalidAccess);
  });

  it('abort() tells the sheet and closes it without oncancel', async () => {
    const s = setup();
    let cancels = 0;
    s.session.oncancel = () => cancels++;
    await validated(s);
    s.session.abort();
    await flush();
    assert.equal(s.sheet.last('abort')?.type, 'abort');
    assert.equal(s.sheet.closed, true);
    assert.equal(cancels, 0);
  });

  it('a failed completePayment leaves the sheet open for another try', async () => {
    const s = setup();
    const statuses = [1, 0];
    s.session.onpaymentauthorized = () => s.session.completePayment(statuses.shift()!);
    await validated(s);
    s.sheet.send('authorized', { payment: TOKEN });
    await flush();
    assert.equal(s.sheet.last('completePayment')!.status, 1);
    assert.equal(s.sheet.closed, false);
    s.sheet.send('authorized', { payment: TOKEN });
    await flush();
    assert.equal(s.sheet.last('completePayment')!.status, 0);
  });

  it('version 1–2 signatures; the result and update forms need version 3; ApplePayError travels as a plain object', async () => {
    const old = setup(2);
    old.session.onpaymentmethodselected = () => {
      assert.throws(() => old.session.completePaymentMethodSelection({ newTotal: { label: 'x', amount: '1.00' } }), TypeError);
      old.session.completePaymentMethodSelection({ label: 'Shop', amount: '5.00' }, [{ label: 'Tax', amount: '0.50' }]);
    };
    old.session.onshippingmethodselected = () => old.session.completeShippingMethodSelection(0, { label: 'Shop', amount: '6.00' }, []);
    old.session.onpaymentauthorized = () => {
      assert.throws(() => old.session.completePayment({ status: 0 }), TypeError);
      assert.throws(() => old.session.completePayment(9), TypeError);
      old.session.completePayment(old.ApplePaySession.STATUS_SUCCESS);
    };
    await validated(old);
    old.sheet.send('paymentMethodSelected', { paymentMethod: { network: 'Visa' } });
    await flush();
    assert.deepEqual(old.sheet.last('paymentMethodUpdate')!.update, { newTotal: { label: 'Shop', amount: '5.00' }, newLineItems: [{ label: 'Tax', amount: '0.50' }] });
    old.sheet.send('shippingMethodSelected', { shippingMethod: { identifier: 'std' } });
    await flush();
    assert.deepEqual(old.sheet.last('shippingMethodUpdate')!.update, { status: 0, newTotal: { label: 'Shop', amount: '6.00' }, newLineItems: [] });
    old.sheet.send('authorized', { payment: TOKEN });
    await flush();
    assert.equal(old.sheet.last('completePayment')!.status, 0);

    const modern = setup(14);
    modern.session.onshippingcontactselected = () => modern.session.completeShippingContactSelection({ newTotal: { label: 'Shop', amount: '5.00' }, errors: [new ApplePayError('addressUnserviceable', 'postalAddress', 'We do not ship there')] });
    modern.session.onpaymentauthorized = () =>
      modern.session.completePayment({ status: 1, errors: [new ApplePayError('shippingContactInvalid', 'postalCode', 'Check the ZIP code')] });
    await validated(modern);
    modern.sheet.send('shippingContactSelected', { shippingContact: { postalCode: '00000' } });
    await flush();
    assert.deepEqual(modern.sheet.last('shippingContactUpdate')!.update, { newTotal: { label: 'Shop', amount: '5.00' }, errors: [{ code: 'addressUnserviceable', contactField: 'postalAddress', message: 'We do not ship there' }] });
    modern.sheet.send('authorized', { payment: TOKEN });
    await flush();
    assert.deepEqual(modern.sheet.last('completePayment')!.errors, [{ code: 'shippingContactInvalid', contactField: 'postalCode', message: 'Check the ZIP code' }]);
    assert.throws(() => modern.session.completeShippingContactSelection({ newTotal: { label: 'x', amount: 'abc' } }), isInvalidAccess);
  });

  it('a bad update is a TypeError and leaves the selection pending', async () => {
    const s = setup();
    let err: unknown;
    s.session.onpaymentmethodselected = () => {
      try {
        s.session.completePaymentMethodSelection({ newTotal: { label: 'x', amount: '-5' } });
      } catch (e) {
        err = e;
      }
    };
    await validated(s);
    s.sheet.send('paymentMethodSelected', { paymentMethod: { network: 'Visa' } });
    await flush();
    assert.ok(err instanceof TypeError);
    s.session.completePaymentMethodSelection({ newTotal: { label: 'x', amount: '5.00' } });
    await flush();
    assert.equal(s.sheet.last('paymentMethodUpdate')!.type, 'paymentMethodUpdate');
  });
});

describe('ApplePaySession: 30-second limits', () => {
  beforeEach(() => mock.timers.enable({ apis: ['setTimeout'] }));
  afterEach(() => mock.timers.reset());

  it('merchant validation not completed within 30 s cancels the session', async () => {
    const s = setup();
    let cancels = 0;
    let validations = 0;
    s.session.oncancel = () => cancels++;
    s.session.onvalidatemerchant = () => validations++;
    s.session.begin();
    s.sheet.send('ready');
    await flush();
    assert.equal(validations, 1);
    mock.timers.tick(RESPONSE_TIMEOUT_MS - 1);
    await flush();
    assert.equal(cancels, 0);
    mock.timers.tick(1);
    await flush();
    assert.equal(cancels, 1);
    assert.equal(s.sheet.last('abort')?.type, 'abort');
    assert.equal(s.sheet.closed, true);
    assert.throws(() => s.session.completeMerchantValidation(MERCHANT_SESSION), isInvalidAccess);
  });

  it('validation in time disarms the limit; the user takes as long as they like', async () => {
    const s = setup();
    let cancels = 0;
    s.session.oncancel = () => cancels++;
    s.session.onvalidatemerchant = () => setTimeout(() => s.session.completeMerchantValidation(MERCHANT_SESSION), 29_000);
    s.session.begin();
    s.sheet.send('ready');
    await flush();
    mock.timers.tick(29_000);
    await flush();
    mock.timers.tick(10 * RESPONSE_TIMEOUT_MS);
    await flush();
    assert.equal(cancels, 0);
    assert.equal(s.sheet.closed, false);
  });

  it('completePayment not called within 30 s of the authorization: the sheet is dismissed and oncancel fires', async () => {
    const s = setup();
    let cancels = 0;
    s.session.oncancel = () => cancels++;
    s.session.onpaymentauthorized = () => {};
    await validated(s);
    s.sheet.send('authorized', { payment: TOKEN });
    await flush();
    mock.timers.tick(RESPONSE_TIMEOUT_MS);
    await flush();
    assert.equal(cancels, 1);
    assert.equal(s.sheet.last('abort')?.type, 'abort');
    assert.throws(() => s.session.completePayment(0), isInvalidAccess);
  });

  it('a selection not answered within 30 s cancels too', async () => {
    const s = setup();
    let cancels = 0;
    s.session.oncancel = () => cancels++;
    s.session.onpaymentmethodselected = () => {};
    await validated(s);
    s.sheet.send('paymentMethodSelected', { paymentMethod: { network: 'Visa' } });
    await flush();
    mock.timers.tick(RESPONSE_TIMEOUT_MS);
    await flush();
    assert.equal(cancels, 1);
  });
});
