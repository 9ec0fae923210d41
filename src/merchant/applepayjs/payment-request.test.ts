import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createApplePaySession, type SheetMessage } from './index.js';
import { APPLE_PAY_METHOD, createPaymentRequest, paymentAddress } from './payment-request.js';

const flush = () => new Promise<void>((resolve) => setImmediate(resolve));

/** The sheet's end: records what the page sends, sends the sheet's messages (asynchronously, as postMessage). */
function fakeSheet() {
  const inbox: SheetMessage[] = [];
  let sid = '';
  let toPage: ((m: unknown) => void) | undefined;
  return {
    inbox,
    port: () => ({
      open: (s: string, onMessage: (m: unknown) => void) => {
        sid = s;
        toPage = onMessage;
        queueMicrotask(() => onMessage({ tessera: 'applepay/1', sid, type: 'ready' }));
      },
      send: (m: SheetMessage) => void inbox.push(structuredClone(m)),
      close: () => undefined,
    }),
    send: (type: string, extra: Record<string, unknown> = {}) => queueMicrotask(() => toPage?.({ tessera: 'applepay/1', sid, type, ...extra })),
    last: (type: string) => [...inbox].reverse().find((m) => m.type === type),
  };
}

const DATA = { version: 3, merchantIdentifier: 'merchant.com.example.shop', merchantCapabilities: ['supports3DS'], supportedNetworks: ['visa', 'masterCard'], countryCode: 'US' };
const usd = (value: string) => ({ currency: 'USD', value });
const DETAILS = {
  total: { label: 'Shop', amount: usd('10.00') },
  displayItems: [{ label: 'Item', amount: usd('10.00') }],
  shippingOptions: [
    { id: 'ground', label: 'Ground', amount: usd('0.00') },
    { id: 'air', label: 'Air', amount: usd('5.00'), selected: true },
  ],
  modifiers: [{ supportedMethods: APPLE_PAY_METHOD, total: { label: 'Shop', amount: usd('9.00') }, additionalDisplayItems: [{ label: 'Debit discount', amount: usd('-1.00') }], data: { paymentMethodType: 'debit' } }],
};
const SESSION = { merchantSessionIdentifier: 'm', signature: 's', merchantIdentifier: 'x', domainName: 'shop.example', nonce: 'n', epochTimestamp: Date.now(), expiresAt: Date.now() + 60_000 };

function setup(Native?: new (...args: unknown[]) => object) {
  const sheet = fakeSheet();
  const ApplePaySession = createApplePaySession({ port: () => sheet.port() as never, validationURL: 'https://127.0.0.1/startSession', merchantOrigin: 'https://shop.example' });
  return { sheet, PaymentRequest: createPaymentRequest(ApplePaySession, Native).PaymentRequest };
}

describe('PaymentRequest with the Apple Pay method', () => {
  it('hands other methods to the native PaymentRequest, and refuses them without one', () => {
    class Native {
      constructor(readonly args: unknown[]) {}
    }
    const { PaymentRequest } = setup(function (this: Native, ...args: unknown[]) {
      return new Native(args);
    } as never);
    const other = new PaymentRequest([{ supportedMethods: 'https://example.com/pay' }], DETAILS) as unknown as Native;
    assert.ok(other instanceof Native);
    assert.equal((other.args[0] as Array<{ supportedMethods: string }>)[0]!.supportedMethods, 'https://example.com/pay');
    assert.throws(() => new (setup().PaymentRequest)([{ supportedMethods: 'https://example.com/pay' }], DETAILS), RangeError);
    assert.throws(() => new PaymentRequest([{ supportedMethods: APPLE_PAY_METHOD, data: { ...DATA, merchantIdentifier: '' } }], DETAILS), TypeError);
    assert.throws(() => new PaymentRequest([{ supportedMethods: APPLE_PAY_METHOD, data: DATA }], { total: { label: 'x', amount: usd('ten') } }), TypeError);
  });

  it('runs the sheet: the Apple Pay request, merchant validation, shipping changes with updateWith, the modifier, the response', async () => {
    const { sheet, PaymentRequest } = setup();
    const request = new PaymentRequest([{ supportedMethods: APPLE_PAY_METHOD, data: DATA }], DETAILS, { requestShipping: true, requestPayerEmail: true });
    assert.equal(await request.canMakePayment(), true);
    assert.equal(request.shippingOption, 'air');
    const events: string[] = [];
    request.onmerchantvalidation = (e) => {
      events.push(`validation ${(e as unknown as { validationURL: string }).validationURL}`);
      (e as unknown as { complete(p: unknown): void }).complete(Promise.resolve(SESSION));
    };
    request.addEventListener('shippingaddresschange', (e) => {
      events.push(`address ${String(request.shippingAddress?.city)}`);
      (e as unknown as { updateWith(p: unknown): void }).updateWith(Promise.resolve({ total: { label: 'Shop', amount: usd('12.00') }, modifiers: [], shippingAddressErrors: { postalCode: 'No PO boxes' } }));
    });
    request.onpaymentmethodchange = (e) => events.push(`method ${String((e as unknown as { methodDetails: { type: string } }).methodDetails.type)}`);
    const shown = request.show();
    await flush();
    const show = sheet.last('show')!;
    const r = show.request as Record<string, unknown>;
    assert.equal(r.currencyCode, 'USD');
    assert.deepEqual(r.total, { label: 'Shop', amount: '10.00', type: 'final' });
    assert.deepEqual((r.shippingMethods as Array<{ identifier: string }>).map((m) => m.identifier), ['air', 'ground']);
    assert.deepEqual(r.requiredShippingContactFields, ['postalAddress', 'name', 'email']);
    assert.equal(r.merchantIdentifier, undefined);
    await flush();
    assert.ok(sheet.last('merchantValidated'));

    sheet.send('paymentMethodSelected', { paymentMethod: { type: 'debit', network: 'Visa', displayName: 'Visa 0001' } });
    await flush();
    const m = sheet.last('paymentMethodUpdate')!.update as { newTotal: { amount: string }; newLineItems: Array<{ label: string }> };
    assert.equal(m.newTotal.amount, '9.00');
    assert.deepEqual(m.newLineItems.map((i) => i.label), ['Item', 'Debit discount']);

    sheet.send('shippingContactSelected', { shippingContact: { locality: 'Portland', administrativeArea: 'OR', postalCode: '97201', countryCode: 'us' } });
    await flush();
    await flush();
    const u = sheet.last('shippingContactUpdate')!.update as { newTotal: { amount: string }; errors: Array<{ code: string; contactField: string; message: string }> };
    assert.equal(u.newTotal.amount, '12.00');
    assert.deepEqual(u.errors, [{ code: 'shippingContactInvalid', contactField: 'postalCode', message: 'No PO boxes' }]);
    assert.equal(request.shippingAddress?.country, 'US');

    // No listener for shippingoptionchange: the details as they are answer it.
    sheet.send('shippingMethodSelected', { shippingMethod: { identifier: 'ground' } });
    await flush();
    assert.ok(sheet.last('shippingMethodUpdate'));
    assert.equal(request.shippingOption, 'ground');

    sheet.send('authorized', { payment: { token: { paymentData: { version: 'EC_v1' } }, shippingContact: { emailAddress: 'ada@example.com', locality: 'Portland' } } });
    const response = await shown;
    assert.equal(response.methodName, APPLE_PAY_METHOD);
    assert.deepEqual((response.details as { token: unknown }).token, { paymentData: { version: 'EC_v1' } });
    assert.equal(response.payerEmail, 'ada@example.com');
    assert.equal(response.shippingOption, 'ground');
    assert.equal(response.shippingAddress?.city, 'Portland');
    await response.complete('success');
    await flush();
    assert.equal(sheet.last('completePayment')!.status, 0);
    await assert.rejects(response.complete('success'), { name: 'InvalidStateError' });
    assert.deepEqual(events, ['validation https://127.0.0.1/startSession', 'method debit', 'address Portland']);
  });

  it('rejects show() with AbortError when the user cancels or the page aborts, and only once shown', async () => {
    const { sheet, PaymentRequest } = setup();
    const make = () => new PaymentRequest([{ supportedMethods: APPLE_PAY_METHOD, data: DATA }], DETAILS);
    const cancelled = make();
    await assert.rejects(cancelled.abort(), { name: 'InvalidStateError' });
    const p = cancelled.show();
    await flush();
    sheet.send('cancel');
    await assert.rejects(p, { name: 'AbortError' });
    await assert.rejects(cancelled.show(), { name: 'InvalidStateError' });

    const aborted = make();
    const q = aborted.show();
    await flush();
    await aborted.abort();
    await assert.rejects(q, { name: 'AbortError' });
    assert.equal(sheet.last('abort')!.type, 'abort');
  });

  it('reads an Apple Pay contact as a PaymentAddress', () => {
    const a = paymentAddress({ givenName: 'Ada', familyName: 'Lovelace', addressLines: ['1 Main St'], locality: 'Portland', administrativeArea: 'OR', postalCode: '97201', countryCode: 'us', phoneNumber: '+1 503' })!;
    assert.deepEqual(JSON.parse(JSON.stringify(a)), { addressLine: ['1 Main St'], city: 'Portland', country: 'US', dependentLocality: '', organization: '', phone: '+1 503', postalCode: '97201', recipient: 'Ada Lovelace', region: 'OR', sortingCode: '' });
    assert.equal(paymentAddress(undefined), null);
  });
});
