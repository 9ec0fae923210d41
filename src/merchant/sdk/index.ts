/**
 * The merchant-side Apple Pay SDK: verify a payment token's signature and chain, decrypt it with
 * the merchant's processing key, and check the payment against the order. Works unchanged with
 * real Apple tokens (roots: Apple Root CA - G3) and with the platform's (roots: its root CA).
 *
 *   const { payload } = await verifyAndDecrypt(token, { roots: [rootPem], keys: [{ certificatePem, privateKeyPem }] });
 *   const { ok } = checkPayment(payload, { amount: 100, currencyCode: 'USD' });
 */
export { verifyPaymentToken, DEFAULT_REPLAY_WINDOW_SECONDS, type VerifyOptions, type VerifiedPaymentToken } from './verify.js';
export {
  decryptPaymentToken,
  verifyAndDecrypt,
  type DecryptOptions,
  type VerifyAndDecryptOptions,
  type DecryptedPaymentToken,
  type VerifiedDecryptedPaymentToken,
} from './decrypt.js';
export { checkPayment, type ExpectedPayment, type PaymentCheck, type PaymentMismatch } from './check.js';
export { MemoryReplayCache, type ReplayCache, type MemoryReplayCacheOptions } from './replay-cache.js';
export { loadMerchantKeys, type MerchantKeyPair, type LoadedMerchantKey } from './keys.js';
export {
  PaymentTokenError,
  MerchantConfigError,
  PAYMENT_TOKEN_ERROR_REASONS,
  REASON_LABELS,
  type PaymentTokenErrorReason,
} from './errors.js';
export type { PaymentPayload, ParsedPaymentToken, PKPaymentToken, PaymentData } from '../../protocol/paytoken/index.js';
