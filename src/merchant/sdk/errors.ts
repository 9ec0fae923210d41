/**
 * Why a payment token was rejected. Stable: merchants branch on these, the CLI prints their labels.
 * - signature: the CMS signature does not verify or does not cover the token's content (a changed
 *   ephemeral key, data, transactionId or applicationData shows here when verifying)
 * - chain: the signer's certificates do not lead to a trusted root
 * - expired: a certificate of the chain is outside its validity period at the verification time
 * - oid: the leaf or intermediate certificate lacks Apple's marker extension
 * - key_mismatch: no configured processing certificate matches header.publicKeyHash (or the
 *   certificate is not for the expected merchant identifier, or of the wrong key type)
 * - tampered: the data does not decrypt (GCM tag or RSA-OAEP failure): altered in transit
 * - replay: the transactionId was seen before, within the window
 * - signing_time: the CMS signingTime is missing or further than the replay window from now
 * - malformed: the token (or its signature, or its decrypted payload) is not well formed
 * - unsupported: a version or algorithm this SDK does not implement
 */
export type PaymentTokenErrorReason =
  | 'signature'
  | 'chain'
  | 'expired'
  | 'oid'
  | 'key_mismatch'
  | 'tampered'
  | 'replay'
  | 'signing_time'
  | 'malformed'
  | 'unsupported';

export const PAYMENT_TOKEN_ERROR_REASONS: readonly PaymentTokenErrorReason[] = [
  'signature',
  'chain',
  'expired',
  'oid',
  'key_mismatch',
  'tampered',
  'replay',
  'signing_time',
  'malformed',
  'unsupported',
];

/** How each reason reads for people (the first words of the error message). */
export const REASON_LABELS: Readonly<Record<PaymentTokenErrorReason, string>> = {
  signature: 'signature',
  chain: 'chain',
  expired: 'expired',
  oid: 'OID',
  key_mismatch: 'key mismatch',
  tampered: 'tampered data',
  replay: 'replay',
  signing_time: 'signing time',
  malformed: 'malformed',
  unsupported: 'unsupported',
};

/**
 * A payment token failed verification or decryption. The message is one line, `<label>: <detail>`,
 * and never carries key material, payload values or token bytes.
 */
export class PaymentTokenError extends Error {
  override readonly name = 'PaymentTokenError';

  constructor(
    readonly reason: PaymentTokenErrorReason,
    detail: string,
  ) {
    super(`${REASON_LABELS[reason]}: ${detail}`);
  }
}

/**
 * The merchant's own configuration is unusable (a root, certificate or private key that does not
 * parse, a private key that does not belong to its certificate, a processing certificate without
 * the merchant identifier extension). Not a verdict on any token.
 */
export class MerchantConfigError extends Error {
  override readonly name = 'MerchantConfigError';
}
