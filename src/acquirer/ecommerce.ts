/**
 * E-commerce / in-app authorizations from merchant servers (docs/inapp.md, C4): the merchant's server
 * decrypts the payment token and sends its fields as JSON; the acquirer builds the 0100 the terminal
 * path would carry (DE 22 812, DE 2 the device token, DE 14 its expiry, the online cryptogram and the
 * ECI in DE 48 subelements 43 and 42) for the merchant's e-commerce terminal and puts it through the
 * same switch: duplicate detection, routing by BIN, the network deadline and the reversal on timeout.
 */
import type { Sql } from '../infra/db/database.js';
import { AppError, errorEntry, lookupError, registerErrors } from '../infra/errors.js';
import { packMessage, packSubelements, unpackMessage, type IsoMessage } from '../protocol/iso8583/iso8583.js';
import { DE48 } from '../protocol/iso8583/spec.js';
import { CURRENCIES } from './currencies.js';
import { maskedToken, traceNumber, transmissionDateTime } from './messages.js';
import { acquirerRepo as repo } from './repository.js';
import { isWellFormedPan } from './routing.js';

const ECOMMERCE_ERRORS = {
  terminal_not_ecommerce: errorEntry('permission_error', 403, "This API key's terminal is not an e-commerce terminal: create one with kind ecommerce for the merchant."),
} as const;
for (const [code, entry] of Object.entries(ECOMMERCE_ERRORS)) if (!lookupError(code)) registerErrors({ [code]: entry });

export interface EcommerceAuthorizationInput {
  orderReference: string;
  amount: number;
  currency: string;
  paymentDataType: '3DSecure';
  applicationPrimaryAccountNumber: string;
  /** YYMMDD. */
  applicationExpirationDate: string;
  /** Base64 (20 bytes for Tessera tokens). */
  onlinePaymentCryptogram: string;
  eciIndicator?: string | undefined;
  transactionId?: string | undefined;
}

export interface EcommerceAuthorizationView {
  id: string;
  object: 'ecommerce_authorization';
  orderReference: string;
  status: 'approved' | 'declined';
  responseCode: string;
  authCode?: string;
  declineReason?: string;
  amount: number;
  currency: string;
  tokenLast4: string;
}

/** What a merchant may read from DE 39 (docs/authorization.md's codes). */
const DECLINE_REASONS: Readonly<Record<string, string>> = {
  '05': 'do_not_honor',
  '12': 'invalid_transaction',
  '13': 'invalid_amount',
  '14': 'invalid_card_number',
  '51': 'insufficient_funds',
  '54': 'expired_card',
  '55': 'cardholder_verification_required',
  '57': 'not_permitted',
  '61': 'exceeds_amount_limit',
  '62': 'restricted_card',
  '63': 'security_violation',
  '88': 'cryptographic_failure',
  '91': 'issuer_or_network_unavailable',
  '94': 'duplicate_transmission',
  '96': 'system_malfunction',
};

/** DE 22 for an e-commerce / in-app payment with a token cryptogram: 81 (PAN entry via e-commerce), 2 (no PIN entry). */
export const ECOMMERCE_POS_ENTRY_MODE = '812';
/** DE 25: e-commerce. */
export const ECOMMERCE_POS_CONDITION = '59';

/** One packed 0100 ready to go, as a recovery point (JSON-safe). */
export interface BuiltMessage {
  terminal: string;
  stan: string;
  transmitted: string;
  /** Base64 of the packed 0100. */
  packed: string;
}

/**
 * The 0100 for the e-commerce terminal whose API key owner is `terminalRef`, with a fresh STAN and DE 7.
 * Throws permission_denied (not such a terminal), terminal_not_ecommerce, terminal_inactive, parameter_invalid.
 */
export async function buildEcommerceMessage(sql: Sql, terminalRef: string, input: EcommerceAuthorizationInput, now: Date): Promise<BuiltMessage> {
  const terminal = await repo.terminalForMessage(sql, terminalRef);
  if (!terminal) throw new AppError('permission_denied');
  if (terminal.kind !== 'ecommerce') throw new AppError('terminal_not_ecommerce');
  if (terminal.status !== 'active' || terminal.merchant_status !== 'active') throw new AppError('terminal_inactive');
  if (!isWellFormedPan(input.applicationPrimaryAccountNumber)) {
    throw new AppError('parameter_invalid', { param: 'applicationPrimaryAccountNumber', message: 'applicationPrimaryAccountNumber is not a card or token number.' });
  }
  if (!Number.isSafeInteger(input.amount) || input.amount < 1 || input.amount > 999_999_999_999) {
    throw new AppError('parameter_invalid', { param: 'amount', message: 'amount must be a positive integer in minor units.' });
  }
  const currency = CURRENCIES[input.currency];
  if (!currency) throw new AppError('parameter_invalid', { param: 'currency', message: 'currency is not one the acquirer settles in.' });
  const exp = input.applicationExpirationDate;
  if (!/^\d{2}(0[1-9]|1[0-2])(0[1-9]|[12]\d|3[01])$/.test(exp)) throw new AppError('parameter_invalid', { param: 'applicationExpirationDate', message: 'applicationExpirationDate must be YYMMDD.' });
  const cryptogram = Buffer.from(input.onlinePaymentCryptogram, 'base64');
  if (cryptogram.length < 8 || cryptogram.toString('base64') !== input.onlinePaymentCryptogram) {
    throw new AppError('parameter_invalid', { param: 'onlinePaymentCryptogram', message: 'onlinePaymentCryptogram must be base64 of 8 to 28 bytes.' });
  }
  const stan = traceNumber(terminal.next_stan);
  const transmitted = transmissionDateTime(now);
  const p = (n: number) => String(n).padStart(2, '0');
  const subelements: Record<string, string> = { [DE48.ECOM_CRYPTOGRAM]: input.onlinePaymentCryptogram };
  if (input.eciIndicator !== undefined) subelements[DE48.ECI] = input.eciIndicator.padStart(2, '0');
  const msg: IsoMessage = {
    mti: '0100',
    fields: {
      2: input.applicationPrimaryAccountNumber,
      3: '000000',
      4: String(input.amount).padStart(12, '0'),
      7: transmitted,
      11: stan,
      12: `${p(now.getUTCHours())}${p(now.getUTCMinutes())}${p(now.getUTCSeconds())}`,
      13: `${p(now.getUTCMonth() + 1)}${p(now.getUTCDate())}`,
      14: exp.slice(0, 4),
      22: ECOMMERCE_POS_ENTRY_MODE,
      25: ECOMMERCE_POS_CONDITION,
      41: terminal.terminal_id,
      42: terminal.card_acceptor_id,
      48: packSubelements(subelements),
      49: currency,
    },
  };
  return { terminal: terminal.id, stan, transmitted, packed: Buffer.from(packMessage(msg)).toString('base64') };
}

/** The merchant's view of the switch's 0110 (and of the acquirer's record of it). */
export async function ecommerceView(sql: Sql, built: BuiltMessage, answer: Uint8Array, input: EcommerceAuthorizationInput): Promise<EcommerceAuthorizationView> {
  const response = unpackMessage(answer);
  const code = typeof response.fields[39] === 'string' ? response.fields[39] : '96';
  const authCode = typeof response.fields[38] === 'string' ? response.fields[38] : undefined;
  const id = await repo.authorizationIdByTransmission(sql, built.terminal, built.stan, built.transmitted);
  // Every message built here passes the switch's checks on its face, so it is recorded.
  if (!id) throw new Error('the e-commerce authorization was not recorded by the switch');
  const approved = code === '00';
  return {
    id,
    object: 'ecommerce_authorization',
    orderReference: input.orderReference,
    status: approved ? 'approved' : 'declined',
    responseCode: code,
    ...(approved && authCode !== undefined ? { authCode } : {}),
    ...(!approved ? { declineReason: DECLINE_REASONS[code] ?? 'declined' } : {}),
    amount: input.amount,
    currency: input.currency,
    tokenLast4: maskedToken(input.applicationPrimaryAccountNumber).slice(-4),
  };
}
