/**
 * ApplePaySession, as Safari implements it (WebKit's ApplePaySession and @types/applepayjs), driving
 * the platform's payment sheet (/wallet/pay, in an iframe) through the postMessage protocol of
 * contract C2. Browser-safe: no Node APIs; the sheet is reached through a SheetPort (an iframe in the
 * browser, a message channel in tests).
 */
import {
  MAX_VERSION,
  plainErrors,
  validateLineItems,
  validatePaymentRequest,
  validateShippingMethods,
  validateStatus,
  validateTotal,
  validateUpdate,
  type PaymentRequest,
  type SheetUpdate,
} from './request.js';

export const PROTOCOL = 'applepay/1';
/** How long the page has to answer each event (merchant validation, selections, the authorization). */
export const RESPONSE_TIMEOUT_MS = 30_000;

/** A message between the page (this script) and the sheet: `{ tessera: 'applepay/1', sid, type, ... }`. */
export interface SheetMessage {
  tessera: typeof PROTOCOL;
  sid: string;
  type: string;
  [k: string]: unknown;
}

/**
 * The page's end of the link to the sheet. `open` shows the sheet for one session id and delivers
 * the messages that come from it (the port checks their origin and source); `send` posts to it.
 */
export interface SheetPort {
  open(sid: string, onMessage: (msg: unknown) => void): void;
  send(msg: SheetMessage): void;
  close(): void;
}

export interface ApplePayEnvironment {
  /** A new port per session. */
  port(): SheetPort;
  /** The merchant-validation URL the page's server posts to (over mutual TLS). */
  validationURL: string;
  /** The page's origin, shown on the sheet and checked against the merchant session's domain. */
  merchantOrigin: string;
  /** Opens the wallet where the user adds a card (openPaymentSetup). */
  openSetup?(merchantIdentifier: string): boolean;
  /** Whether the wallet has an active card (canMakePaymentsWithActiveCard); without it, true. */
  activeCard?(merchantIdentifier: string): Promise<boolean>;
}

type State = 'idle' | 'active' | 'shippingMethodSelected' | 'shippingContactSelected' | 'paymentMethodSelected' | 'couponCodeChanged' | 'authorized' | 'completed' | 'aborted' | 'canceled';
type ValidationState = 'idle' | 'validating' | 'complete';

function invalidAccess(message: string): DOMException {
  return new DOMException(message, 'InvalidAccessError');
}

function randomSid(): string {
  const b = new Uint8Array(16);
  crypto.getRandomValues(b);
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Whether an object is a merchant session as the validation endpoint answers it: its identifiers and
 * signature, its timestamps (not expired), and a domain that is the page's. The platform checks the
 * signature and single use when the payment is made.
 */
export function isMerchantSession(s: Record<string, unknown>, merchantOrigin: string, now = Date.now()): boolean {
  for (const k of ['merchantSessionIdentifier', 'signature', 'merchantIdentifier', 'domainName', 'nonce']) {
    if (typeof s[k] !== 'string' || (s[k] as string).length === 0) return false;
  }
  if (typeof s.epochTimestamp !== 'number' || typeof s.expiresAt !== 'number' || s.expiresAt <= now) return false;
  let url: URL;
  try {
    url = new URL(merchantOrigin);
  } catch {
    return false;
  }
  const domain = (s.domainName as string).toLowerCase();
  return domain === url.host.toLowerCase() || domain === url.hostname.toLowerCase();
}

export class ApplePayValidateMerchantEvent extends Event {
  constructor(readonly validationURL: string) {
    super('validatemerchant');
  }
}
export class ApplePayPaymentMethodSelectedEvent extends Event {
  constructor(readonly paymentMethod: unknown) {
    super('paymentmethodselected');
  }
}
export class ApplePayShippingContactSelectedEvent extends Event {
  constructor(readonly shippingContact: unknown) {
    super('shippingcontactselected');
  }
}
export class ApplePayShippingMethodSelectedEvent extends Event {
  constructor(readonly shippingMethod: unknown) {
    super('shippingmethodselected');
  }
}
export class ApplePayCouponCodeChangedEvent extends Event {
  constructor(readonly couponCode: string) {
    super('couponcodechanged');
  }
}
export class ApplePayPaymentAuthorizedEvent extends Event {
  constructor(readonly payment: unknown) {
    super('paymentauthorized');
  }
}
export class ApplePayCancelEvent extends Event {
  constructor(readonly sessionError: { code: string; info: Record<string, unknown> } | undefined = undefined) {
    super('cancel');
  }
}

/** Apple's error object for completePayment / complete…Selection `errors` (version 3+). */
export class ApplePayError extends Error {
  code: string;
  contactField?: string;
  constructor(errorCode: string, contactField?: string, message = '') {
    super(message);
    this.code = errorCode;
    if (contactField !== undefined) this.contactField = contactField;
  }
}

type Handler = ((event: Event) => void) | null;
const EVENTS = ['validatemerchant', 'paymentmethodselected', 'shippingcontactselected', 'shippingmethodselected', 'paymentauthorized', 'cancel', 'couponcodechanged'] as const;

/** Builds the ApplePaySession class for one environment (the browser build has one; tests make their own). */
export function createApplePaySession(env: ApplePayEnvironment) {
  return class ApplePaySession extends EventTarget {
    static readonly STATUS_SUCCESS = 0;
    static readonly STATUS_FAILURE = 1;
    static readonly STATUS_INVALID_BILLING_POSTAL_ADDRESS = 2;
    static readonly STATUS_INVALID_SHIPPING_POSTAL_ADDRESS = 3;
    static readonly STATUS_INVALID_SHIPPING_CONTACT = 4;
    static readonly STATUS_PIN_REQUIRED = 5;
    static readonly STATUS_PIN_INCORRECT = 6;
    static readonly STATUS_PIN_LOCKOUT = 7;

    static supportsVersion(version: number): boolean {
      return Number.isInteger(version) && version >= 1 && version <= MAX_VERSION;
    }

    static canMakePayments(): boolean {
      return true;
    }

    /**
     * True only when this browser's wallet has an active card on its phone: the wallet (on the
     * platform's origin) is asked and answers only yes or no.
     */
    static canMakePaymentsWithActiveCard(merchantIdentifier: string): Promise<boolean> {
      if (typeof merchantIdentifier !== 'string' || merchantIdentifier.length === 0) return Promise.reject(new TypeError('"merchantIdentifier" must be a non-empty string.'));
      return env.activeCard ? env.activeCard(merchantIdentifier).catch(() => false) : Promise.resolve(true);
    }

    static applePayCapabilities(merchantIdentifier: string): Promise<{ paymentCredentialStatus: string }> {
      if (typeof merchantIdentifier !== 'string' || merchantIdentifier.length === 0) return Promise.reject(new TypeError('"merchantIdentifier" must be a non-empty string.'));
      return Promise.resolve({ paymentCredentialStatus: 'paymentCredentialStatusUnknown' });
    }

    static openPaymentSetup(merchantIdentifier: string): Promise<boolean> {
      if (typeof merchantIdentifier !== 'string' || merchantIdentifier.length === 0) return Promise.reject(new TypeError('"merchantIdentifier" must be a non-empty string.'));
      return Promise.resolve(env.openSetup ? env.openSetup(merchantIdentifier) : false);
    }

    onvalidatemerchant: Handler = null;
    onpaymentmethodselected: Handler = null;
    onshippingcontactselected: Handler = null;
    onshippingmethodselected: Handler = null;
    onpaymentauthorized: Handler = null;
    oncancel: Handler = null;
    oncouponcodechanged: Handler = null;

    readonly #version: number;
    readonly #request: PaymentRequest;
    readonly #sid = randomSid();
    readonly #listeners = new Map<string, number>();
    #state: State = 'idle';
    #validation: ValidationState = 'idle';
    #port: SheetPort | undefined;
    #ready = false;
    #outbox: SheetMessage[] = [];
    #timer: ReturnType<typeof setTimeout> | undefined;
    /** Selections the sheet reported before the merchant was validated: delivered right after, in order. */
    #deferred: Record<string, unknown>[] = [];
    /** The total and line items as last set (the request's, then each update's): what the script answers for a page that does not listen. */
    #current: SheetUpdate;

    constructor(version: number, paymentRequest: PaymentRequest) {
      super();
      if (arguments.length < 2) throw new TypeError('ApplePaySession needs a version and a payment request.');
      if (!ApplePaySession.supportsVersion(version)) throw invalidAccess(`"${String(version)}" is not a supported version.`);
      this.#version = version;
      this.#request = validatePaymentRequest(paymentRequest);
      this.#current = { newTotal: this.#request.total, newLineItems: this.#request.lineItems ?? [] };
      for (const type of EVENTS) {
        super.addEventListener(type, (event) => {
          const h = (this as unknown as Record<string, Handler>)[`on${type}`];
          if (typeof h === 'function') h.call(this, event);
        });
      }
    }

    override addEventListener(type: string, listener: EventListenerOrEventListenerObject | null, options?: AddEventListenerOptions | boolean): void {
      if (listener) this.#listeners.set(type, (this.#listeners.get(type) ?? 0) + 1);
      super.addEventListener(type, listener, options);
    }

    override removeEventListener(type: string, listener: EventListenerOrEventListenerObject | null, options?: EventListenerOptions | boolean): void {
      if (listener && (this.#listeners.get(type) ?? 0) > 0) this.#listeners.set(type, this.#listeners.get(type)! - 1);
      super.removeEventListener(type, listener, options);
    }

    /** Whether the page listens for this event (if not, the script answers the sheet itself). */
    #handles(type: string): boolean {
      return typeof (this as unknown as Record<string, Handler>)[`on${type}`] === 'function' || (this.#listeners.get(type) ?? 0) > 0;
    }

    begin(): void {
      if (this.#state !== 'idle') throw invalidAccess('The session has already begun.');
      this.#state = 'active';
      this.#validation = 'validating';
      this.#port = env.port();
      this.#port.open(this.#sid, (msg) => this.#receive(msg));
      this.#send({ type: 'show', version: this.#version, request: this.#request, merchantOrigin: env.merchantOrigin });
      // The page has 30 s to validate itself; the event comes once begin() has returned, as in Safari.
      this.#arm();
      queueMicrotask(() => {
        if (this.#state === 'active' && this.#validation === 'validating') this.dispatchEvent(new ApplePayValidateMerchantEvent(env.validationURL));
      });
    }

    abort(): void {
      if (!this.#isLive()) throw invalidAccess('The session cannot be aborted now.');
      this.#send({ type: 'abort' });
      this.#finish('aborted');
    }

    completeMerchantValidation(merchantSession: unknown): void {
      if (this.#state !== 'active' || this.#validation !== 'validating') throw invalidAccess('Merchant validation is not pending.');
      if (!isObject(merchantSession)) throw new TypeError('The merchant session must be the object your server received.');
      if (!isMerchantSession(merchantSession, env.merchantOrigin)) {
        // Safari hands the object to the sheet, which refuses it and ends the session before the user
        // is asked anything (an error answer relayed as is, a session for another domain, an expired one).
        this.#send({ type: 'abort' });
        this.#finish('canceled');
        queueMicrotask(() => this.dispatchEvent(new ApplePayCancelEvent({ code: 'unknown', info: {} })));
        return;
      }
      this.#validation = 'complete';
      this.#disarm();
      this.#send({ type: 'merchantValidated', merchantSession: JSON.parse(JSON.stringify(merchantSession)) as unknown });
      const deferred = this.#deferred;
      this.#deferred = [];
      if (deferred.length > 0) queueMicrotask(() => deferred.forEach((m) => this.#receive(m)));
    }

    completePaymentMethodSelection(...args: unknown[]): void {
      if (this.#state !== 'paymentMethodSelected') throw invalidAccess('No payment method selection is pending.');
      let update: SheetUpdate;
      if (args.length === 1 && isObject(args[0]) && !('label' in args[0])) {
        if (this.#version < 3) throw new TypeError('The update form needs version 3 or later.');
        update = validateUpdate(args[0], { requireTotal: true });
      } else {
        update = { newTotal: validateTotal(args[0]), newLineItems: args[1] === undefined ? [] : validateLineItems(args[1], 'newLineItems') };
      }
      this.#answered('paymentMethodUpdate', update);
    }

    completeShippingContactSelection(...args: unknown[]): void {
      if (this.#state !== 'shippingContactSelected') throw invalidAccess('No shipping contact selection is pending.');
      let update: SheetUpdate;
      if (args.length === 1 && isObject(args[0])) {
        if (this.#version < 3) throw new TypeError('The update form needs version 3 or later.');
        update = validateUpdate(args[0], { requireTotal: true });
      } else {
        update = {
          status: validateStatus(args[0]),
          newShippingMethods: args[1] === undefined ? [] : validateShippingMethods(args[1]),
          newTotal: validateTotal(args[2]),
          newLineItems: args[3] === undefined ? [] : validateLineItems(args[3], 'newLineItems'),
        };
      }
      this.#answered('shippingContactUpdate', update);
    }

    completeShippingMethodSelection(...args: unknown[]): void {
      if (this.#state !== 'shippingMethodSelected') throw invalidAccess('No shipping method selection is pending.');
      let update: SheetUpdate;
      if (args.length === 1 && isObject(args[0])) {
        if (this.#version < 3) throw new TypeError('The update form needs version 3 or later.');
        update = validateUpdate(args[0], { requireTotal: true });
      } else {
        update = { status: validateStatus(args[0]), newTotal: validateTotal(args[1]), newLineItems: args[2] === undefined ? [] : validateLineItems(args[2], 'newLineItems') };
      }
      this.#answered('shippingMethodUpdate', update);
    }

    completeCouponCodeChange(update: unknown): void {
      if (this.#state !== 'couponCodeChanged') throw invalidAccess('No coupon code change is pending.');
      this.#answered('couponCodeUpdate', validateUpdate(update, { requireTotal: true }));
    }

    completePayment(result: unknown): void {
      if (this.#state !== 'authorized') throw invalidAccess('No authorized payment is waiting for completePayment.');
      let status: number;
      let errors: ReturnType<typeof plainErrors>;
      if (isObject(result)) {
        if (this.#version < 3) throw new TypeError('The result form needs version 3 or later.');
        status = validateStatus(result.status);
        errors = plainErrors(result.errors);
      } else {
        status = validateStatus(result);
      }
      this.#disarm();
      this.#send({ type: 'completePayment', status, ...(errors ? { errors } : {}) });
      if (status === ApplePaySession.STATUS_SUCCESS) this.#finish('completed');
      // Any other status leaves the sheet open: the user may try again (a new authorization) or cancel.
      else this.#state = 'active';
    }

    #isLive(): boolean {
      return this.#state !== 'idle' && this.#state !== 'completed' && this.#state !== 'aborted' && this.#state !== 'canceled';
    }

    #answered(type: string, update: SheetUpdate): void {
      if (update.newTotal) this.#current = { newTotal: update.newTotal, newLineItems: update.newLineItems ?? this.#current.newLineItems ?? [] };
      this.#disarm();
      this.#state = 'active';
      this.#send({ type, update });
    }

    #send(msg: { type: string; [k: string]: unknown }): void {
      const full: SheetMessage = { ...msg, tessera: PROTOCOL, sid: this.#sid };
      if (this.#ready) this.#port?.send(full);
      else this.#outbox.push(full);
    }

    #arm(): void {
      this.#disarm();
      this.#timer = setTimeout(() => this.#timeout(), RESPONSE_TIMEOUT_MS);
    }

    #disarm(): void {
      if (this.#timer !== undefined) clearTimeout(this.#timer);
      this.#timer = undefined;
    }

    /** The page did not answer in time: the sheet is dismissed and the page told, as Safari does. */
    #timeout(): void {
      this.#timer = undefined;
      if (!this.#isLive()) return;
      this.#send({ type: 'abort' });
      this.#cancel();
    }

    #cancel(): void {
      this.#finish('canceled');
      this.dispatchEvent(new ApplePayCancelEvent());
    }

    #finish(state: 'completed' | 'aborted' | 'canceled'): void {
      this.#disarm();
      this.#state = state;
      this.#validation = 'idle';
      const port = this.#port;
      this.#port = undefined;
      this.#outbox = [];
      // Let a final message (completePayment, abort) reach the sheet before it goes.
      if (port) {
        if (state === 'completed') setTimeout(() => port.close(), 0);
        else port.close();
      }
    }

    #receive(raw: unknown): void {
      if (!isObject(raw) || raw.tessera !== PROTOCOL || raw.sid !== this.#sid || typeof raw.type !== 'string') return;
      if (!this.#isLive()) return;
      switch (raw.type) {
        case 'ready': {
          if (this.#ready) return;
          this.#ready = true;
          const queued = this.#outbox;
          this.#outbox = [];
          for (const m of queued) this.#port?.send(m);
          return;
        }
        case 'cancel':
          this.#cancel();
          return;
        case 'paymentMethodSelected':
        case 'shippingContactSelected':
        case 'shippingMethodSelected':
        case 'couponCodeChanged':
          // Safari reports selections only to a validated merchant.
          if (this.#validation !== 'complete') {
            if (this.#deferred.length < 8) this.#deferred.push(raw);
            return;
          }
          break;
        default:
          break;
      }
      switch (raw.type) {
        case 'paymentMethodSelected':
          this.#selection('paymentMethodSelected', 'paymentmethodselected', 'paymentMethodUpdate', () => new ApplePayPaymentMethodSelectedEvent(raw.paymentMethod));
          return;
        case 'shippingContactSelected':
          this.#selection('shippingContactSelected', 'shippingcontactselected', 'shippingContactUpdate', () => new ApplePayShippingContactSelectedEvent(raw.shippingContact));
          return;
        case 'shippingMethodSelected':
          this.#selection('shippingMethodSelected', 'shippingmethodselected', 'shippingMethodUpdate', () => new ApplePayShippingMethodSelectedEvent(raw.shippingMethod));
          return;
        case 'couponCodeChanged':
          if (typeof raw.couponCode !== 'string') return;
          this.#selection('couponCodeChanged', 'couponcodechanged', 'couponCodeUpdate', () => new ApplePayCouponCodeChangedEvent(raw.couponCode as string));
          return;
        case 'authorized': {
          // Only once the merchant is validated, and not while the page owes an answer.
          if (this.#state !== 'active' || this.#validation !== 'complete') return;
          this.#state = 'authorized';
          this.#arm();
          this.dispatchEvent(new ApplePayPaymentAuthorizedEvent(raw.payment));
          return;
        }
        default:
          return;
      }
    }

    #selection(state: State, event: string, answer: string, make: () => Event): void {
      if (this.#state !== 'active') return;
      if (!this.#handles(event)) {
        // Nobody listens: the script answers for the page with the request's own total.
        this.#send({ type: answer, update: this.#current });
        return;
      }
      this.#state = state;
      this.#arm();
      this.dispatchEvent(make());
    }
  };
}

export type ApplePaySessionClass = ReturnType<typeof createApplePaySession>;
