/**
 * The W3C Payment Request API with the `https://apple.com/apple-pay` payment method, as Safari offers it
 * and payment providers' pages use it: a PaymentRequest whose Apple Pay method data and details are
 * turned into an Apple Pay payment request and run by the same ApplePaySession (same sheet, same
 * wallet). Any other payment method goes to the browser's own PaymentRequest when it has one.
 * Browser-safe: no Node APIs.
 */
import type { PaymentRequest as ApplePayRequest } from './request.js';
import { ApplePayError, type ApplePaySessionClass } from './session.js';

export const APPLE_PAY_METHOD = 'https://apple.com/apple-pay';

type Handler = ((event: Event) => void) | null;
type Session = InstanceType<ApplePaySessionClass>;

interface PaymentCurrencyAmount {
  currency: string;
  value: string;
}
interface PaymentItem {
  label: string;
  amount: PaymentCurrencyAmount;
  pending?: boolean;
}
interface ShippingOption extends PaymentItem {
  id: string;
  selected?: boolean;
}
interface Modifier {
  supportedMethods: string;
  total?: PaymentItem;
  additionalDisplayItems?: PaymentItem[];
  data?: Record<string, unknown>;
}
interface Details {
  id?: string;
  total?: PaymentItem;
  displayItems?: PaymentItem[];
  shippingOptions?: ShippingOption[];
  modifiers?: Modifier[];
  error?: string;
  shippingAddressErrors?: Record<string, string>;
  payerErrors?: Record<string, string>;
  paymentMethodErrors?: unknown;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function domException(message: string, name: string): DOMException {
  return new DOMException(message, name);
}

/** A PaymentItem (WebIDL: label and amount.value are DOMStrings, amount.currency a currency code). */
function paymentItem(v: unknown, what: string): PaymentItem {
  if (!isObject(v)) throw new TypeError(`"${what}" must be an object.`);
  if (!isObject(v.amount)) throw new TypeError(`"${what}.amount" must be an object with currency and value.`);
  const currency = String(v.amount.currency ?? '');
  const value = String(v.amount.value ?? '');
  if (!/^[A-Za-z]{3}$/.test(currency)) throw new RangeError(`"${currency}" is not a valid currency code.`);
  if (!/^-?[0-9]+(\.[0-9]+)?$/.test(value)) throw new TypeError(`"${value}" is not a valid decimal monetary value.`);
  return { label: String(v.label ?? ''), amount: { currency: currency.toUpperCase(), value }, ...(v.pending === true ? { pending: true } : {}) };
}

function paymentItems(v: unknown, what: string): PaymentItem[] | undefined {
  if (v === undefined) return undefined;
  if (!Array.isArray(v)) throw new TypeError(`"${what}" must be an array.`);
  return v.map((x, i) => paymentItem(x, `${what}[${i}]`));
}

function shippingOptions(v: unknown): ShippingOption[] | undefined {
  if (v === undefined) return undefined;
  if (!Array.isArray(v)) throw new TypeError('"shippingOptions" must be an array.');
  const out = v.map((x, i) => {
    const item = paymentItem(x, `shippingOptions[${i}]`);
    const o = x as Record<string, unknown>;
    return { ...item, id: String(o.id ?? ''), ...(o.selected === true ? { selected: true } : {}) };
  });
  // The spec: duplicate ids mean no shipping options at all.
  return new Set(out.map((o) => o.id)).size === out.length ? out : [];
}

function stringValues(o: Record<string, unknown>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of Object.keys(o)) out[k] = String(o[k]);
  return out;
}

/** The details dictionary (PaymentDetailsInit or PaymentDetailsUpdate) as plain, checked data. */
function readDetails(v: unknown, init: boolean): Details {
  if (!isObject(v)) throw new TypeError('The payment details must be an object.');
  const d: Details = {};
  if (v.id !== undefined) d.id = String(v.id);
  if (v.total !== undefined || init) {
    d.total = paymentItem(v.total, 'total');
    if (Number(d.total.amount.value) < 0) throw new TypeError('The total must not be negative.');
  }
  const items = paymentItems(v.displayItems, 'displayItems');
  if (items) d.displayItems = items;
  const options = shippingOptions(v.shippingOptions);
  if (options) d.shippingOptions = options;
  if (v.modifiers !== undefined) {
    if (!Array.isArray(v.modifiers)) throw new TypeError('"modifiers" must be an array.');
    d.modifiers = v.modifiers.map((m, i) => {
      if (!isObject(m)) throw new TypeError(`"modifiers[${i}]" must be an object.`);
      const out: Modifier = { supportedMethods: String(m.supportedMethods ?? '') };
      if (m.total !== undefined) out.total = paymentItem(m.total, `modifiers[${i}].total`);
      const extra = paymentItems(m.additionalDisplayItems, `modifiers[${i}].additionalDisplayItems`);
      if (extra) out.additionalDisplayItems = extra;
      if (isObject(m.data)) out.data = JSON.parse(JSON.stringify(m.data)) as Record<string, unknown>;
      return out;
    });
  }
  if (typeof v.error === 'string' && v.error.length > 0) d.error = v.error;
  if (isObject(v.shippingAddressErrors)) d.shippingAddressErrors = stringValues(v.shippingAddressErrors);
  if (isObject(v.payerErrors)) d.payerErrors = stringValues(v.payerErrors);
  return d;
}

const lineItem = (i: PaymentItem) => ({ label: i.label, amount: i.amount.value, type: i.pending ? 'pending' : 'final' });

/** AddressErrors members → the Apple Pay contact field they name. */
const ADDRESS_FIELDS: Record<string, string> = {
  addressLine: 'addressLines',
  city: 'locality',
  country: 'countryCode',
  dependentLocality: 'subLocality',
  organization: 'name',
  phone: 'phoneNumber',
  postalCode: 'postalCode',
  recipient: 'name',
  region: 'administrativeArea',
  sortingCode: 'postalCode',
};
const PAYER_FIELDS: Record<string, string> = { email: 'emailAddress', name: 'name', phone: 'phoneNumber' };

/** An Apple Pay contact as the PaymentAddress members a PaymentRequest page reads. */
export function paymentAddress(contact: unknown): Record<string, unknown> | null {
  if (!isObject(contact)) return null;
  const s = (k: string) => (typeof contact[k] === 'string' ? (contact[k] as string) : '');
  const recipient = [s('givenName'), s('familyName')].filter(Boolean).join(' ');
  const address = {
    addressLine: Array.isArray(contact.addressLines) ? contact.addressLines.map(String) : [],
    city: s('locality'),
    country: s('countryCode').toUpperCase(),
    dependentLocality: s('subLocality'),
    organization: '',
    phone: s('phoneNumber'),
    postalCode: s('postalCode'),
    recipient,
    region: s('administrativeArea'),
    sortingCode: '',
  };
  return { ...address, toJSON: () => ({ ...address }) };
}

export class MerchantValidationEvent extends Event {
  readonly methodName = APPLE_PAY_METHOD;
  #complete: (p: unknown) => void;
  constructor(
    readonly validationURL: string,
    complete: (p: unknown) => void,
  ) {
    super('merchantvalidation');
    this.#complete = complete;
  }
  complete(merchantSessionPromise: unknown): void {
    const c = this.#complete;
    this.#complete = () => {
      throw domException('complete() was already called.', 'InvalidStateError');
    };
    c(merchantSessionPromise);
  }
}

export class PaymentRequestUpdateEvent extends Event {
  #update: ((p: unknown) => void) | undefined;
  /** Whether updateWith was called while the event was dispatched. */
  waiting = false;
  constructor(type: string, update?: (p: unknown) => void) {
    super(type);
    this.#update = update;
  }
  updateWith(detailsPromise: unknown): void {
    if (!this.#update || this.waiting) throw domException('updateWith() cannot be called now.', 'InvalidStateError');
    this.waiting = true;
    this.#update(detailsPromise);
  }
}

export class PaymentMethodChangeEvent extends PaymentRequestUpdateEvent {
  constructor(
    readonly methodName: string,
    readonly methodDetails: unknown,
    update?: (p: unknown) => void,
  ) {
    super('paymentmethodchange', update);
  }
}

export interface PaymentResponseLike {
  readonly requestId: string;
  readonly methodName: string;
  readonly details: Record<string, unknown>;
  readonly shippingAddress: Record<string, unknown> | null;
  readonly shippingOption: string | null;
  readonly payerName: string | null;
  readonly payerEmail: string | null;
  readonly payerPhone: string | null;
  complete(result?: string): Promise<void>;
}

/**
 * Builds the PaymentRequest class the script installs: Apple Pay requests run on ApplePaySession;
 * a request for other methods only is handed to `Native` (the browser's own), or refused without it.
 */
export function createPaymentRequest(ApplePaySession: ApplePaySessionClass, Native?: new (...args: unknown[]) => object) {
  class PaymentResponse extends EventTarget implements PaymentResponseLike {
    readonly methodName = APPLE_PAY_METHOD;
    #done = false;
    constructor(
      readonly requestId: string,
      readonly details: Record<string, unknown>,
      readonly shippingAddress: Record<string, unknown> | null,
      readonly shippingOption: string | null,
      readonly payerName: string | null,
      readonly payerEmail: string | null,
      readonly payerPhone: string | null,
      private readonly finish: (result: string) => void,
    ) {
      super();
    }
    complete(result: string = 'unknown'): Promise<void> {
      if (this.#done) return Promise.reject(domException('complete() was already called.', 'InvalidStateError'));
      if (!['success', 'fail', 'unknown'].includes(result)) return Promise.reject(new TypeError(`"${String(result)}" is not a valid PaymentComplete value.`));
      this.#done = true;
      try {
        this.finish(result);
      } catch (err) {
        return Promise.reject(err as Error);
      }
      return Promise.resolve();
    }
    toJSON(): Record<string, unknown> {
      return { requestId: this.requestId, methodName: this.methodName, details: this.details, shippingAddress: this.shippingAddress, shippingOption: this.shippingOption, payerName: this.payerName, payerEmail: this.payerEmail, payerPhone: this.payerPhone };
    }
  }

  class ApplePayPaymentRequest extends EventTarget {
    onmerchantvalidation: Handler = null;
    onshippingaddresschange: Handler = null;
    onshippingoptionchange: Handler = null;
    onpaymentmethodchange: Handler = null;

    readonly id: string;
    shippingAddress: Record<string, unknown> | null = null;
    shippingOption: string | null = null;
    readonly shippingType: string | null;

    readonly #data: Record<string, unknown>;
    readonly #options: Record<string, unknown>;
    #details: Details;
    #state: 'created' | 'interactive' | 'closed' = 'created';
    #session: Session | undefined;
    #reject: ((err: unknown) => void) | undefined;
    #settled = false;
    #selectedType: string | undefined;

    constructor(data: Record<string, unknown>, details: unknown, options: unknown) {
      super();
      this.#data = data;
      this.#options = isObject(options) ? options : {};
      this.#details = readDetails(details, true);
      if (typeof data.merchantIdentifier !== 'string' || data.merchantIdentifier.length === 0) throw new TypeError('"merchantIdentifier" must be a non-empty string.');
      if (data.version !== undefined && !ApplePaySession.supportsVersion(Number(data.version))) throw new TypeError(`"${String(data.version)}" is not a supported version.`);
      this.id = this.#details.id ?? Array.from(crypto.getRandomValues(new Uint8Array(16)), (x) => x.toString(16).padStart(2, '0')).join('');
      const type = this.#options.shippingType;
      this.shippingType = this.#options.requestShipping === true ? (typeof type === 'string' ? type : 'shipping') : null;
      this.shippingOption = this.#details.shippingOptions?.filter((o) => o.selected).pop()?.id ?? null;
      // The Apple Pay request is built now, so a bad one throws here as Safari's constructor does.
      new ApplePaySession(this.#version(), this.#applePayRequest());
      for (const t of ['merchantvalidation', 'shippingaddresschange', 'shippingoptionchange', 'paymentmethodchange']) {
        super.addEventListener(t, (event) => {
          const h = (this as unknown as Record<string, Handler>)[`on${t}`];
          if (typeof h === 'function') h.call(this, event);
        });
      }
    }

    #version(): number {
      // The update forms of the complete… calls need version 3; PaymentRequest always uses them.
      return Math.max(3, Number(this.#data.version ?? 3));
    }

    #contactFields(): { shipping: string[]; billing: string[] } {
      const shipping = new Set<string>(Array.isArray(this.#data.requiredShippingContactFields) ? (this.#data.requiredShippingContactFields as string[]) : []);
      const billing = new Set<string>(Array.isArray(this.#data.requiredBillingContactFields) ? (this.#data.requiredBillingContactFields as string[]) : []);
      if (this.#options.requestShipping === true) shipping.add('postalAddress').add('name');
      if (this.#options.requestPayerName === true) shipping.add('name');
      if (this.#options.requestPayerEmail === true) shipping.add('email');
      if (this.#options.requestPayerPhone === true) shipping.add('phone');
      return { shipping: [...shipping], billing: [...billing] };
    }

    /** The total and line items, with the modifier for the selected card type applied. */
    #totals(): { total: ReturnType<typeof lineItem>; lineItems: Array<ReturnType<typeof lineItem>> } {
      const d = this.#details;
      let total = d.total!;
      let items = d.displayItems ?? [];
      const modifier = d.modifiers?.find((m) => m.supportedMethods === APPLE_PAY_METHOD && this.#selectedType !== undefined && m.data?.paymentMethodType === this.#selectedType);
      if (modifier) {
        if (modifier.total) total = modifier.total;
        if (modifier.additionalDisplayItems) items = [...items, ...modifier.additionalDisplayItems];
      }
      return { total: lineItem(total), lineItems: items.map(lineItem) };
    }

    #shippingMethods() {
      const options = this.#details.shippingOptions ?? [];
      // The selected option first: the sheet starts on the first method.
      const selected = options.find((o) => o.id === this.shippingOption);
      const ordered = selected ? [selected, ...options.filter((o) => o !== selected)] : options;
      return ordered.map((o) => ({ identifier: o.id, label: o.label, detail: '', amount: o.amount.value }));
    }

    #applePayRequest(): ApplePayRequest {
      const fields = this.#contactFields();
      const totals = this.#totals();
      const request: Record<string, unknown> = {
        ...this.#data,
        currencyCode: this.#details.total!.amount.currency,
        total: totals.total,
        lineItems: totals.lineItems,
        requiredShippingContactFields: fields.shipping,
        requiredBillingContactFields: fields.billing,
      };
      delete request.version;
      delete request.merchantIdentifier;
      if (this.#options.requestShipping === true) {
        request.shippingMethods = this.#shippingMethods();
        const t = this.#options.shippingType;
        request.shippingType = t === 'delivery' ? 'delivery' : t === 'pickup' ? 'storePickup' : 'shipping';
      }
      return request as ApplePayRequest;
    }

    /** An update from the page's details, in ApplePaySession's update form, with its errors as ApplePayErrors. */
    #update(event: string): Record<string, unknown> {
      const totals = this.#totals();
      const update: Record<string, unknown> = { newTotal: totals.total, newLineItems: totals.lineItems };
      if (this.#options.requestShipping === true && event !== 'paymentmethodchange') update.newShippingMethods = this.#shippingMethods();
      const errors: ApplePayError[] = [];
      const d = this.#details;
      const address = d.shippingAddressErrors ?? {};
      for (const k of Object.keys(address)) errors.push(new ApplePayError('shippingContactInvalid', ADDRESS_FIELDS[k] ?? 'postalAddress', address[k]));
      const payer = d.payerErrors ?? {};
      for (const k of Object.keys(payer)) errors.push(new ApplePayError('shippingContactInvalid', PAYER_FIELDS[k] ?? 'name', payer[k]));
      // An error with no shipping options left: Safari shows the address as unserviceable.
      if (d.error) errors.push(new ApplePayError(event === 'shippingaddresschange' && (d.shippingOptions?.length ?? 0) === 0 ? 'addressUnserviceable' : 'unknown', undefined, d.error));
      if (errors.length > 0) update.errors = errors;
      return update;
    }

    /**
     * Fires a PaymentRequestUpdateEvent; its updateWith promise (or, without one, the details as they
     * are) answers the sheet through `complete`. A rejected promise aborts the request, as the spec says.
     */
    #changed(make: (update: (p: unknown) => void) => PaymentRequestUpdateEvent, complete: (update: Record<string, unknown>) => void): void {
      const event = make((p: unknown) => {
        Promise.resolve(p).then(
          (details) => {
            if (this.#state !== 'interactive') return;
            try {
              const next = readDetails(details, false);
              this.#details = { ...this.#details, ...next, error: next.error, shippingAddressErrors: next.shippingAddressErrors, payerErrors: next.payerErrors } as Details;
              if (next.shippingOptions) this.shippingOption = next.shippingOptions.filter((o) => o.selected).pop()?.id ?? (next.shippingOptions.some((o) => o.id === this.shippingOption) ? this.shippingOption : null);
              complete(this.#update(event.type));
            } catch (err) {
              this.#fail(err);
            }
          },
          () => this.#fail(domException('The details promise was rejected.', 'AbortError')),
        );
      });
      this.dispatchEvent(event);
      if (!event.waiting) complete(this.#update(event.type));
    }

    #fail(err: unknown): void {
      if (this.#state !== 'interactive') return;
      try {
        this.#session?.abort();
      } catch {
        // already ended
      }
      this.#end(err);
    }

    #end(err: unknown): void {
      this.#state = 'closed';
      if (!this.#settled) {
        this.#settled = true;
        this.#reject?.(err);
      }
    }

    canMakePayment(): Promise<boolean> {
      if (this.#state !== 'created') return Promise.reject(domException('The request has already been shown.', 'InvalidStateError'));
      return Promise.resolve(ApplePaySession.canMakePayments());
    }

    hasEnrolledInstrument(): Promise<boolean> {
      if (this.#state !== 'created') return Promise.reject(domException('The request has already been shown.', 'InvalidStateError'));
      return ApplePaySession.canMakePaymentsWithActiveCard(this.#data.merchantIdentifier as string);
    }

    show(detailsPromise?: unknown): Promise<PaymentResponse> {
      if (this.#state !== 'created') return Promise.reject(domException('The request has already been shown.', 'InvalidStateError'));
      this.#state = 'interactive';
      return new Promise<PaymentResponse>((resolve, reject) => {
        this.#reject = reject;
        const begin = () => {
          if (this.#state !== 'interactive') return;
          let session: Session;
          try {
            session = new ApplePaySession(this.#version(), this.#applePayRequest());
          } catch (err) {
            this.#end(err);
            return;
          }
          this.#session = session;
          session.onvalidatemerchant = (e) => {
            const validationURL = (e as unknown as { validationURL: string }).validationURL;
            const event = new MerchantValidationEvent(validationURL, (p) => {
              Promise.resolve(p).then(
                (merchantSession) => {
                  if (this.#state === 'interactive') session.completeMerchantValidation(merchantSession);
                },
                () => this.#fail(domException('Merchant validation failed.', 'AbortError')),
              );
            });
            this.dispatchEvent(event);
          };
          session.onshippingcontactselected = (e) => {
            this.shippingAddress = paymentAddress((e as unknown as { shippingContact: unknown }).shippingContact);
            this.#changed((u) => new PaymentRequestUpdateEvent('shippingaddresschange', u), (u) => session.completeShippingContactSelection(u));
          };
          session.onshippingmethodselected = (e) => {
            const m = (e as unknown as { shippingMethod: { identifier?: unknown } }).shippingMethod;
            this.shippingOption = typeof m?.identifier === 'string' ? m.identifier : null;
            this.#changed((u) => new PaymentRequestUpdateEvent('shippingoptionchange', u), (u) => session.completeShippingMethodSelection(u));
          };
          session.onpaymentmethodselected = (e) => {
            const method = (e as unknown as { paymentMethod: unknown }).paymentMethod;
            this.#selectedType = isObject(method) && typeof method.type === 'string' ? method.type : undefined;
            this.#changed((u) => new PaymentMethodChangeEvent(APPLE_PAY_METHOD, method, u), (u) => session.completePaymentMethodSelection(u));
          };
          session.onpaymentauthorized = (e) => {
            const payment = (e as unknown as { payment: Record<string, unknown> }).payment;
            const shipping = isObject(payment.shippingContact) ? payment.shippingContact : undefined;
            const fields = this.#contactFields().shipping;
            const str = (k: string) => (shipping && typeof shipping[k] === 'string' ? (shipping[k] as string) : null);
            const name = shipping ? [str('givenName'), str('familyName')].filter(Boolean).join(' ') : '';
            if (this.#options.requestShipping === true && shipping) this.shippingAddress = paymentAddress(shipping);
            const response = new PaymentResponse(
              this.id,
              payment,
              this.#options.requestShipping === true ? this.shippingAddress : null,
              this.#options.requestShipping === true ? this.shippingOption : null,
              this.#options.requestPayerName === true && fields.includes('name') ? name || null : null,
              this.#options.requestPayerEmail === true ? str('emailAddress') : null,
              this.#options.requestPayerPhone === true ? str('phoneNumber') : null,
              (result) => {
                session.completePayment(result === 'fail' ? ApplePaySession.STATUS_FAILURE : ApplePaySession.STATUS_SUCCESS);
                // A failed payment leaves Safari's sheet to close; the request is over either way.
                if (result === 'fail') {
                  try {
                    session.abort();
                  } catch {
                    // already closed
                  }
                }
                this.#state = 'closed';
              },
            );
            if (!this.#settled) {
              this.#settled = true;
              resolve(response);
            }
          };
          session.oncancel = () => this.#end(domException('The user cancelled the payment.', 'AbortError'));
          session.begin();
        };
        if (detailsPromise === undefined) begin();
        else
          Promise.resolve(detailsPromise).then(
            (details) => {
              try {
                this.#details = { ...this.#details, ...readDetails(details, false) };
              } catch (err) {
                this.#end(err);
                return;
              }
              begin();
            },
            () => this.#end(domException('The details promise was rejected.', 'AbortError')),
          );
      });
    }

    abort(): Promise<void> {
      if (this.#state !== 'interactive') return Promise.reject(domException('The request is not being shown.', 'InvalidStateError'));
      try {
        this.#session?.abort();
      } catch {
        // the sheet is already gone
      }
      this.#end(domException('The request was aborted.', 'AbortError'));
      return Promise.resolve();
    }
  }

  const apple = (methodData: unknown): Record<string, unknown> | undefined => {
    if (!Array.isArray(methodData)) return undefined;
    const m = (methodData as unknown[]).find((x) => isObject(x) && x.supportedMethods === APPLE_PAY_METHOD) as Record<string, unknown> | undefined;
    return m ? (isObject(m.data) ? m.data : {}) : undefined;
  };

  function PaymentRequest(this: unknown, methodData: unknown, details: unknown, options?: unknown): object {
    if (!new.target) throw new TypeError("Failed to construct 'PaymentRequest': Please use the 'new' operator.");
    if (!Array.isArray(methodData) || methodData.length === 0) throw new TypeError('At least one payment method is required.');
    const data = apple(methodData);
    if (data) return new ApplePayPaymentRequest(data, details, options);
    if (Native) return new Native(methodData, details, options);
    throw new RangeError('None of the payment methods is supported.');
  }
  Object.defineProperty(PaymentRequest, Symbol.hasInstance, { value: (o: unknown) => o instanceof ApplePayPaymentRequest || (Native !== undefined && o instanceof Native) });
  PaymentRequest.prototype = Native ? Native.prototype : ApplePayPaymentRequest.prototype;
  return { PaymentRequest: PaymentRequest as unknown as new (methodData: unknown[], details: unknown, options?: unknown) => ApplePayPaymentRequest, PaymentResponse };
}
