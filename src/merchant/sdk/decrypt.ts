import { bytesEqual } from '../../protocol/bytes.js';
import {
  decryptPaymentData,
  merchantIdentifierHash,
  parsePaymentPayload,
  parsePaymentToken,
  type ParsedPaymentToken,
  type PaymentPayload,
} from '../../protocol/paytoken/index.js';
import { PaymentTokenError } from './errors.js';
import { guard } from './guard.js';
import { loadMerchantKeys, type LoadedMerchantKey, type MerchantKeyPair } from './keys.js';
import { recordTransaction, settingsOf, verifyWithoutRecording, type VerifyOptions } from './verify.js';

export interface DecryptOptions {
  /** The merchant's processing certificates and private keys (several during a rotation). */
  keys: readonly MerchantKeyPair[];
  /** When given, the chosen certificate must be for this merchant identifier (else 'key_mismatch'). */
  merchantIdentifier?: string;
}

export type VerifyAndDecryptOptions = VerifyOptions & DecryptOptions;

export interface DecryptedPaymentToken {
  token: ParsedPaymentToken;
  payload: PaymentPayload;
  /** header.transactionId, lower case. */
  transactionId: string;
  /** Which entry of `keys` decrypted it. */
  keyIndex: number;
  /**
   * The merchant token of a recurring, deferred or automatic-reload payment request (the payload's
   * merchantTokenIdentifier and merchantTokenMetadata): what the merchant keeps to charge again.
   * Absent for a one-off payment.
   */
  merchantToken?: { identifier: string; metadata: Record<string, unknown> | undefined };
}

export interface VerifiedDecryptedPaymentToken extends DecryptedPaymentToken {
  /** The CMS signingTime. */
  signingTime: Date;
}

async function chooseKey(token: ParsedPaymentToken, keys: LoadedMerchantKey[], merchantIdentifier: string | undefined): Promise<LoadedMerchantKey> {
  const key = keys.find((k) => bytesEqual(k.publicKeyHash, token.bytes.publicKeyHash));
  if (!key) throw new PaymentTokenError('key_mismatch', "no configured processing certificate matches the token's publicKeyHash");
  if ((token.version === 'EC_v1') !== (key.kind === 'ec')) {
    throw new PaymentTokenError('key_mismatch', `the matching processing key cannot decrypt ${token.version}`);
  }
  if (merchantIdentifier !== undefined && !bytesEqual(await merchantIdentifierHash(merchantIdentifier), key.merchantIdHash)) {
    throw new PaymentTokenError('key_mismatch', 'the processing certificate is not for the given merchant identifier');
  }
  return key;
}

async function decryptParsed(token: ParsedPaymentToken, keys: LoadedMerchantKey[], options: DecryptOptions): Promise<DecryptedPaymentToken> {
  return guard(async () => {
    const key = await chooseKey(token, keys, options.merchantIdentifier);
    const plaintext = await decryptPaymentData(token, key);
    try {
      const payload = parsePaymentPayload(plaintext);
      const merchantToken = payload.merchantTokenIdentifier !== undefined ? { identifier: payload.merchantTokenIdentifier, metadata: payload.merchantTokenMetadata } : undefined;
      return { token, payload, transactionId: token.transactionId, keyIndex: key.index, ...(merchantToken ? { merchantToken } : {}) };
    } finally {
      plaintext.fill(0);
    }
  });
}

/**
 * Decrypts a payment token WITHOUT verifying its signature (use verifyAndDecrypt for tokens from
 * the outside world): picks the key whose certificate's SPKI hash equals header.publicKeyHash,
 * then EC_v1 ECDH + KDF + AES-256-GCM or RSA_v1 RSA-OAEP + AES-128-GCM, and parses the payload.
 * Throws PaymentTokenError (malformed, unsupported, key_mismatch, tampered) or MerchantConfigError.
 */
export async function decryptPaymentToken(token: unknown, options: DecryptOptions): Promise<DecryptedPaymentToken> {
  const keys = await loadMerchantKeys(options?.keys);
  const parsed = await guard(async () => parsePaymentToken(token));
  return decryptParsed(parsed, keys, options);
}

/**
 * verifyPaymentToken then decryptPaymentToken; the transactionId is recorded in the replay cache
 * only once both succeeded.
 */
export async function verifyAndDecrypt(token: unknown, options: VerifyAndDecryptOptions): Promise<VerifiedDecryptedPaymentToken> {
  const settings = settingsOf(options);
  const keys = await loadMerchantKeys(options?.keys);
  const verified = await verifyWithoutRecording(token, settings);
  const decrypted = await decryptParsed(verified.token, keys, options);
  await recordTransaction(verified, settings);
  return { ...decrypted, signingTime: verified.signingTime };
}
