import { createHash } from 'node:crypto';
import { AppError } from '../../infra/errors.js';

/**
 * Merchant tokens (Apple's MPAN): a payment request for a recurring, deferred or automatic-reload
 * payment asks for a token the merchant may charge again, and the decrypted payload then carries
 * `merchantTokenIdentifier` (stable for one card at one merchant: the same card paying the same
 * merchant again gets the same identifier) and `merchantTokenMetadata` (what the request agreed to).
 * A request carries at most one of the three; multiTokenContexts is not among them (it is one payment
 * split between merchants).
 */
export type MerchantTokenType = 'recurring' | 'deferred' | 'automaticReload';

export interface MerchantTokenRequest {
  type: MerchantTokenType;
  paymentDescription: string;
  managementURL: string;
  tokenNotificationURL?: string;
  billingAgreement?: string;
  /** The agreed schedule or threshold, as the request gave it (line items with amounts as strings). */
  terms: Record<string, unknown>;
}

const MEMBERS: Record<MerchantTokenType, string> = {
  recurring: 'recurringPaymentRequest',
  deferred: 'deferredPaymentRequest',
  automaticReload: 'automaticReloadPaymentRequest',
};

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function invalid(param: string, message: string): AppError {
  return new AppError('parameter_invalid', { param: `request.${param}`, message: `request.${param} ${message}.` });
}

function httpsUrl(v: unknown, param: string): string {
  if (typeof v !== 'string' || v.length > 2048) throw invalid(param, 'must be an https URL');
  let url: URL;
  try {
    url = new URL(v);
  } catch {
    throw invalid(param, 'must be an https URL');
  }
  // Loopback http is allowed for development, as for merchant domains.
  const loopback = url.hostname === 'localhost' || url.hostname === '127.0.0.1' || url.hostname === '[::1]';
  if (url.protocol !== 'https:' && !(loopback && url.protocol === 'http:')) throw invalid(param, 'must be an https URL');
  return v;
}

function lineItem(v: unknown, param: string): Record<string, unknown> {
  if (!isObject(v) || typeof v.label !== 'string' || typeof v.amount !== 'string' || !/^[0-9]+(\.[0-9]+)?$/.test(v.amount)) throw invalid(param, 'must be a line item with a label and a non-negative decimal amount');
  const out: Record<string, unknown> = { label: v.label.slice(0, 128), amount: v.amount };
  for (const k of ['paymentTiming', 'recurringPaymentStartDate', 'recurringPaymentEndDate', 'recurringPaymentIntervalUnit', 'recurringPaymentIntervalCount', 'deferredPaymentDate', 'automaticReloadPaymentThresholdAmount']) {
    const x = v[k];
    if (typeof x === 'string' || typeof x === 'number') out[k] = typeof x === 'string' ? x.slice(0, 64) : x;
  }
  return out;
}

/** The merchant-token part of a payment request, checked; undefined for a one-off payment. */
export function merchantTokenRequestOf(request: Record<string, unknown>): MerchantTokenRequest | undefined {
  const present = (Object.keys(MEMBERS) as MerchantTokenType[]).filter((t) => request[MEMBERS[t]] !== undefined);
  if (present.length === 0) return undefined;
  if (present.length > 1) throw invalid(MEMBERS[present[1]!], 'cannot be combined with another recurring, deferred or automatic-reload request');
  const type = present[0]!;
  const member = MEMBERS[type];
  const r = request[member];
  if (!isObject(r)) throw invalid(member, 'must be an object');
  if (typeof r.paymentDescription !== 'string' || r.paymentDescription.length === 0 || r.paymentDescription.length > 256) throw invalid(`${member}.paymentDescription`, 'must be a string of 1 to 256 characters');
  const terms: Record<string, unknown> = {};
  if (type === 'recurring') {
    terms.regularBilling = lineItem(r.regularBilling, `${member}.regularBilling`);
    if (r.trialBilling !== undefined) terms.trialBilling = lineItem(r.trialBilling, `${member}.trialBilling`);
  } else if (type === 'deferred') {
    terms.deferredBilling = lineItem(r.deferredBilling, `${member}.deferredBilling`);
    if (typeof r.freeCancellationDate === 'string') terms.freeCancellationDate = r.freeCancellationDate.slice(0, 64);
  } else {
    terms.automaticReloadBilling = lineItem(r.automaticReloadBilling, `${member}.automaticReloadBilling`);
  }
  const out: MerchantTokenRequest = { type, paymentDescription: r.paymentDescription, managementURL: httpsUrl(r.managementURL, `${member}.managementURL`), terms };
  if (r.tokenNotificationURL !== undefined) out.tokenNotificationURL = httpsUrl(r.tokenNotificationURL, `${member}.tokenNotificationURL`);
  if (r.billingAgreement !== undefined) {
    if (typeof r.billingAgreement !== 'string' || r.billingAgreement.length > 500) throw invalid(`${member}.billingAgreement`, 'must be a string of at most 500 characters');
    out.billingAgreement = r.billingAgreement;
  }
  return out;
}

/**
 * The payload fields of a merchant token: an identifier derived from the card and the merchant (the
 * platform's card id is internal, never shown elsewhere; the identifier reveals nothing of the card
 * number), and the metadata of the agreement.
 */
export function merchantTokenFields(req: MerchantTokenRequest, cardId: string, merchantIdentifier: string): { merchantTokenIdentifier: string; merchantTokenMetadata: Record<string, unknown> } {
  const id = createHash('sha256').update(`tessera-merchant-token/1\u0000${cardId}\u0000${merchantIdentifier}`, 'utf8').digest('hex').slice(0, 40).toUpperCase();
  return {
    merchantTokenIdentifier: `MTK${id}`,
    merchantTokenMetadata: {
      merchantTokenType: req.type,
      paymentDescription: req.paymentDescription,
      managementURL: req.managementURL,
      ...(req.tokenNotificationURL ? { tokenNotificationURL: req.tokenNotificationURL } : {}),
      ...(req.billingAgreement ? { billingAgreement: req.billingAgreement } : {}),
      ...req.terms,
    },
  };
}
