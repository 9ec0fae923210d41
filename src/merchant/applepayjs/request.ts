/**
 * The payment request and update shapes of Apple Pay JS, and their validation as Safari does it: a bad
 * request is a TypeError thrown by the constructor (or by the complete… call that carries it).
 * Browser-safe: no imports.
 */

export interface LineItem {
  label: string;
  amount: string;
  type?: 'final' | 'pending';
  [k: string]: unknown;
}

export interface ShippingMethod {
  identifier: string;
  label: string;
  detail: string;
  amount: string;
  [k: string]: unknown;
}

export interface PaymentRequest {
  countryCode: string;
  currencyCode: string;
  merchantCapabilities: string[];
  supportedNetworks: string[];
  total: LineItem;
  lineItems?: LineItem[];
  shippingMethods?: ShippingMethod[];
  applicationData?: string;
  [k: string]: unknown;
}

export interface SheetUpdate {
  status?: number;
  newTotal?: LineItem;
  newLineItems?: LineItem[];
  newShippingMethods?: ShippingMethod[];
  errors?: PlainApplePayError[];
  [k: string]: unknown;
}

export interface PlainApplePayError {
  code: string;
  contactField?: string;
  message: string;
}

export const MAX_VERSION = 14;

const NETWORKS = new Set([
  'amex', 'bancomat', 'bancontact', 'cartesBancaires', 'chinaUnionPay', 'dankort', 'discover', 'eftpos', 'electron', 'elo', 'girocard',
  'interac', 'jcb', 'mada', 'maestro', 'masterCard', 'mir', 'privateLabel', 'visa', 'vPay',
]);
const CAPABILITIES = new Set(['supports3DS', 'supportsEMV', 'supportsCredit', 'supportsDebit']);
const CONTACT_FIELDS = new Set(['email', 'name', 'phone', 'postalAddress', 'phoneticName']);
const SHIPPING_TYPES = new Set(['shipping', 'delivery', 'storePickup', 'servicePickup']);
const ERROR_CODES = new Set(['shippingContactInvalid', 'billingContactInvalid', 'addressUnserviceable', 'couponCodeInvalid', 'couponCodeExpired', 'unknown']);
const AMOUNT_RE = /^-?[0-9]+(\.[0-9]+)?$/;
/** Safari's ceiling for a total. */
const MAX_AMOUNT = 100_000_000_000;

function fail(message: string): never {
  throw new TypeError(message);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * WebIDL's DOMString conversion, as Safari applies it to the dictionary members declared DOMString
 * (label, amount, identifier, detail): numbers and other values become their string form (42 → "42",
 * 4.5 → "4.5"); an absent member stays absent; a Symbol cannot be converted.
 */
export function domString(v: unknown, what: string): string | undefined {
  if (v === undefined) return undefined;
  if (typeof v === 'symbol') fail(`"${what}" cannot be converted to a string.`);
  return String(v);
}

function validateLineItem(item: unknown, what: string): LineItem {
  if (!isObject(item)) fail(`"${what}" must be an object.`);
  const label = domString(item.label, `${what}.label`);
  const amount = domString(item.amount, `${what}.amount`);
  if (label === undefined || label.length === 0) fail(`Missing label for "${what}".`);
  if (amount === undefined || !AMOUNT_RE.test(amount)) fail(`"${what}.amount" is not a valid amount.`);
  if (item.type !== undefined && item.type !== 'final' && item.type !== 'pending') fail(`"${what}.type" must be "final" or "pending".`);
  return { ...item, label, amount } as LineItem;
}

export function validateTotal(total: unknown): LineItem {
  const t = validateLineItem(total, 'total');
  const n = Number(t.amount);
  if (n < 0) fail('Total amount must not be negative.');
  if (n > MAX_AMOUNT) fail('Total amount is too big.');
  return t;
}

export function validateLineItems(items: unknown, what = 'lineItems'): LineItem[] {
  if (!Array.isArray(items)) fail(`"${what}" must be an array.`);
  return items.map((i, n) => validateLineItem(i, `${what}[${n}]`));
}

export function validateShippingMethods(methods: unknown): ShippingMethod[] {
  if (!Array.isArray(methods)) fail('"shippingMethods" must be an array.');
  return methods.map((m, n) => {
    const item = validateLineItem(m, `shippingMethods[${n}]`) as unknown as ShippingMethod;
    const identifier = domString(item.identifier, `shippingMethods[${n}].identifier`);
    const detail = domString(item.detail, `shippingMethods[${n}].detail`);
    if (identifier === undefined) fail(`Missing identifier for "shippingMethods[${n}]".`);
    if (detail === undefined) fail(`Missing detail for "shippingMethods[${n}]".`);
    if (Number(item.amount) < 0) fail('Shipping method amount must not be negative.');
    return { ...item, identifier, detail };
  });
}

function validateContactFields(v: unknown, name: string): void {
  if (v === undefined) return;
  if (!Array.isArray(v)) fail(`"${name}" must be an array.`);
  for (const f of v) if (typeof f !== 'string' || !CONTACT_FIELDS.has(f)) fail(`"${String(f)}" is not a valid contact field.`);
}

/** Validates a payment request the way Safari's ApplePaySession constructor does. */
export function validatePaymentRequest(request: unknown): PaymentRequest {
  if (!isObject(request)) fail('The payment request must be an object.');
  const r = request;
  if (typeof r.countryCode !== 'string' || !/^[A-Z]{2}$/.test(r.countryCode)) fail(`"${String(r.countryCode)}" is not a valid country code.`);
  if (typeof r.currencyCode !== 'string' || !/^[A-Z]{3}$/.test(r.currencyCode)) fail(`"${String(r.currencyCode)}" is not a valid currency code.`);
  if (!Array.isArray(r.supportedNetworks) || r.supportedNetworks.length === 0) fail('At least one supported network must be provided.');
  for (const n of r.supportedNetworks) if (typeof n !== 'string' || !NETWORKS.has(n)) fail(`"${String(n)}" is not a valid payment network.`);
  if (!Array.isArray(r.merchantCapabilities) || r.merchantCapabilities.length === 0) fail('At least one merchant capability must be provided.');
  for (const c of r.merchantCapabilities) if (typeof c !== 'string' || !CAPABILITIES.has(c)) fail(`"${String(c)}" is not a valid merchant capability.`);
  if (!r.merchantCapabilities.includes('supports3DS')) fail('The "supports3DS" merchant capability is required.');
  const total = validateTotal(r.total);
  const lineItems = r.lineItems === undefined ? undefined : validateLineItems(r.lineItems);
  const shippingMethods = r.shippingMethods === undefined ? undefined : validateShippingMethods(r.shippingMethods);
  validateContactFields(r.requiredBillingContactFields, 'requiredBillingContactFields');
  validateContactFields(r.requiredShippingContactFields, 'requiredShippingContactFields');
  if (r.shippingType !== undefined && (typeof r.shippingType !== 'string' || !SHIPPING_TYPES.has(r.shippingType))) fail(`"${String(r.shippingType)}" is not a valid shipping type.`);
  if (r.applicationData !== undefined && (typeof r.applicationData !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(r.applicationData))) fail('"applicationData" must be a base64 string.');
  if (r.supportedCountries !== undefined) {
    if (!Array.isArray(r.supportedCountries)) fail('"supportedCountries" must be an array.');
    for (const c of r.supportedCountries) if (typeof c !== 'string' || !/^[A-Z]{2}$/.test(c)) fail(`"${String(c)}" is not a valid country code.`);
  }
  // A deep, plain copy with the converted members: later changes to the page's object do not reach the sheet.
  const copy = JSON.parse(JSON.stringify(r)) as PaymentRequest;
  copy.total = total;
  if (lineItems) copy.lineItems = lineItems;
  if (shippingMethods) copy.shippingMethods = shippingMethods;
  return JSON.parse(JSON.stringify(copy)) as PaymentRequest;
}

/** ApplePayError instances (or look-alikes) as plain objects that survive postMessage. */
export function plainErrors(errors: unknown): PlainApplePayError[] | undefined {
  if (errors === undefined) return undefined;
  if (!Array.isArray(errors)) fail('"errors" must be an array.');
  return errors.map((e) => {
    if (!isObject(e) && !(e instanceof Error)) fail('Each error must be an ApplePayError.');
    const o = e as unknown as Record<string, unknown>;
    if (typeof o.code !== 'string' || !ERROR_CODES.has(o.code)) fail(`"${String(o.code)}" is not a valid error code.`);
    return { code: o.code, ...(typeof o.contactField === 'string' ? { contactField: o.contactField } : {}), message: typeof o.message === 'string' ? o.message : '' };
  });
}

/** Validates an update object (the version 3+ forms of the complete… calls). */
export function validateUpdate(update: unknown, opts: { requireTotal: boolean }): SheetUpdate {
  if (!isObject(update)) fail('The update must be an object.');
  const out: SheetUpdate = {};
  if (update.newTotal !== undefined || opts.requireTotal) out.newTotal = validateTotal(update.newTotal);
  if (update.newLineItems !== undefined) out.newLineItems = validateLineItems(update.newLineItems, 'newLineItems');
  if (update.newShippingMethods !== undefined) out.newShippingMethods = validateShippingMethods(update.newShippingMethods);
  const errors = plainErrors(update.errors);
  if (errors) out.errors = errors;
  return JSON.parse(JSON.stringify(out)) as SheetUpdate;
}

export function validateStatus(status: unknown): number {
  if (typeof status !== 'number' || !Number.isInteger(status) || status < 0 || status > 7) fail(`"${String(status)}" is not a valid status.`);
  return status;
}
