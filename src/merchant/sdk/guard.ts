import { ProtocolError } from '../../protocol/errors.js';
import { MerchantConfigError, PaymentTokenError, type PaymentTokenErrorReason } from './errors.js';

const REASON_OF_CODE: Record<string, PaymentTokenErrorReason> = {
  paytoken_unsupported: 'unsupported',
  paytoken_decrypt_failed: 'tampered',
};

/** A protocol-layer error as the SDK's reason (its message names fields only, never values). */
export function fromProtocolError(err: ProtocolError): PaymentTokenError {
  return new PaymentTokenError(REASON_OF_CODE[err.code] ?? 'malformed', err.message.split('\n')[0]!);
}

/**
 * Runs token processing so that it fails only with PaymentTokenError (or MerchantConfigError for
 * the merchant's own settings): anything unexpected a parser throws on hostile input becomes
 * 'malformed', without its message (which could quote input).
 */
export async function guard<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof PaymentTokenError || err instanceof MerchantConfigError) throw err;
    if (err instanceof ProtocolError) throw fromProtocolError(err);
    throw new PaymentTokenError('malformed', 'the token could not be processed');
  }
}
