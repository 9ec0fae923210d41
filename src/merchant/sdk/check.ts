import { currencyByAlpha, currencyByNumeric } from '../../protocol/currency.js';
import type { PaymentHeader, PaymentPayload } from '../../protocol/paytoken/index.js';
import type { DecryptedPaymentToken } from './decrypt.js';

export interface ExpectedPayment {
  /** Minor units (what the merchant asked for: 1.00 USD = 100). */
  amount: number;
  /** ISO 4217, numeric ("840") or alphabetic ("USD"). */
  currencyCode: string;
  /** Hex SHA-256 of the payment request's applicationData, when the request had one. */
  applicationDataHash?: string;
}

export type PaymentMismatch = 'amount' | 'currency' | 'application_data';

export interface PaymentCheck {
  ok: boolean;
  /** What differs from the order; empty when ok. */
  mismatches: PaymentMismatch[];
}

function numericCurrency(code: string): string | undefined {
  if (/^\d{3}$/.test(code)) return currencyByNumeric(code)?.numeric ?? code;
  return currencyByAlpha(code)?.numeric;
}

/**
 * Compares a decrypted payment with the merchant's order: the amount (minor units), the currency,
 * and, when the order had applicationData, its hash in the (signed) header. Pass the result of
 * decryptPaymentToken / verifyAndDecrypt (the header is needed for applicationDataHash) or just
 * the payload. Values never appear in the result, only which fields differ.
 */
export function checkPayment(payment: DecryptedPaymentToken | PaymentPayload, expected: ExpectedPayment): PaymentCheck {
  const decrypted = 'payload' in payment && 'token' in payment ? payment : undefined;
  const payload: PaymentPayload = decrypted ? decrypted.payload : (payment as PaymentPayload);
  const header: PaymentHeader | undefined = decrypted?.token.paymentData.header;
  const mismatches: PaymentMismatch[] = [];
  if (!Number.isSafeInteger(expected.amount) || payload.transactionAmount !== expected.amount) mismatches.push('amount');
  const want = numericCurrency(expected.currencyCode);
  if (want === undefined || payload.currencyCode !== want) mismatches.push('currency');
  if (expected.applicationDataHash !== undefined) {
    const got = header?.applicationData;
    if (got === undefined || got.toLowerCase() !== expected.applicationDataHash.toLowerCase()) mismatches.push('application_data');
  }
  return { ok: mismatches.length === 0, mismatches };
}
