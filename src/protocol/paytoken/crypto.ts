/**
 * The payment token's cryptography on WebCrypto (Node and the browser): what is signed, the EC_v1
 * key derivation, AES-GCM with the zero IV, ECDH and RSA-OAEP key recovery, and the hashes that
 * name keys and merchants. Key bytes and plaintext never reach an error message.
 */
import { bytesEqual, concatBytes, fromHex, isHex, utf8 } from '../bytes.js';
import { ProtocolError } from '../errors.js';
import { fromBase64, toBase64 } from './encoding.js';
import type { Bytes, EcV1Header, ParsedPaymentToken, PaymentTokenVersion, RsaV1Header } from './types.js';

function subtle(): SubtleCrypto {
  const s = globalThis.crypto?.subtle;
  if (!s) throw new ProtocolError('crypto_unavailable', 'WebCrypto (crypto.subtle) is not available');
  return s;
}

/** A copy on a fresh ArrayBuffer (what WebCrypto's BufferSource type wants). */
function own(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(new ArrayBuffer(bytes.length));
  out.set(bytes);
  return out;
}

// ---- What is signed ----

/** The fields the signature covers: paymentData without `signature` (a PaymentData fits). */
export type SignedContentInput =
  | { version: 'EC_v1'; data: string; header: EcV1Header }
  | { version: 'RSA_v1'; data: string; header: RsaV1Header };

/** The decoded parts the signature covers (PaymentDataBytes fits). */
export interface SignedContentParts {
  /** Ephemeral public key DER (EC_v1) or wrapped key (RSA_v1). */
  keyMaterial: Uint8Array;
  data: Uint8Array;
  transactionId: Uint8Array;
  applicationData?: Uint8Array;
}

/** keyMaterial ‖ data ‖ transactionId ‖ applicationData (when present). */
export function signedContentOf(parts: SignedContentParts): Bytes {
  return own(concatBytes(parts.keyMaterial, parts.data, parts.transactionId, parts.applicationData ?? new Uint8Array(0)));
}

/**
 * The detached content of the CMS signature: base64-decode(ephemeralPublicKey or wrappedKey) ‖
 * base64-decode(data) ‖ hex-decode(transactionId) ‖ hex-decode(applicationData, when present).
 * Throws ProtocolError `paytoken_malformed` on a field that does not decode.
 */
export function signedContent(paymentData: SignedContentInput): Bytes {
  const h = paymentData.header;
  const key = paymentData.version === 'EC_v1' ? (h as EcV1Header).ephemeralPublicKey : (h as RsaV1Header).wrappedKey;
  const name = paymentData.version === 'EC_v1' ? 'ephemeralPublicKey' : 'wrappedKey';
  if (typeof key !== 'string') throw new ProtocolError('paytoken_malformed', `header.${name} must be a base64 string`);
  if (typeof paymentData.data !== 'string') throw new ProtocolError('paytoken_malformed', 'paymentData.data must be a base64 string');
  const hex = (text: unknown, field: string): Uint8Array => {
    if (typeof text !== 'string' || !isHex(text)) throw new ProtocolError('paytoken_malformed', `header.${field} must be hex`);
    return fromHex(text);
  };
  return signedContentOf({
    keyMaterial: fromBase64(key, `header.${name}`),
    data: fromBase64(paymentData.data, 'paymentData.data'),
    transactionId: hex(h.transactionId, 'transactionId'),
    ...(h.applicationData !== undefined ? { applicationData: hex(h.applicationData, 'applicationData') } : {}),
  });
}

// ---- EC_v1 key derivation ----

/** 0x0D ‖ "id-aes256-GCM": the AlgorithmID of the NIST SP 800-56A concatenation KDF. */
const ALGORITHM_ID = concatBytes(Uint8Array.of(0x0d), utf8.encode('id-aes256-GCM'));
/** PartyUInfo: "Apple" (kept for our tokens too, so existing decrypters work). */
const PARTY_U_INFO = utf8.encode('Apple');
const COUNTER = Uint8Array.of(0, 0, 0, 1);

/** The 51 bytes after Z: 0x0D ‖ "id-aes256-GCM" ‖ "Apple" ‖ merchantIdentifierHash. */
export function ecV1KdfOtherInfo(merchantIdentifierHash: Uint8Array): Bytes {
  if (merchantIdentifierHash.length !== 32) throw new ProtocolError('paytoken_bad_key', 'merchant identifier hash must be 32 bytes');
  return own(concatBytes(ALGORITHM_ID, PARTY_U_INFO, merchantIdentifierHash));
}

/**
 * The EC_v1 symmetric key: SHA-256(00000001 ‖ Z ‖ 0x0D ‖ "id-aes256-GCM" ‖ "Apple" ‖
 * merchantIdentifierHash), where Z is the 32-byte ECDH x coordinate and merchantIdentifierHash the
 * 32-byte SHA-256 of the merchant identifier (the value of certificate extension 1.2.840.113635.100.6.32).
 */
export async function deriveEcV1Key(sharedSecretZ: Uint8Array, merchantIdentifierHash: Uint8Array): Promise<Bytes> {
  if (sharedSecretZ.length !== 32) throw new ProtocolError('paytoken_bad_key', 'shared secret Z must be 32 bytes');
  const input = concatBytes(COUNTER, sharedSecretZ, ecV1KdfOtherInfo(merchantIdentifierHash));
  const key = new Uint8Array(await subtle().digest('SHA-256', own(input)));
  input.fill(0);
  return key;
}

// ---- AES-GCM with the zero IV ----

const ZERO_IV = new Uint8Array(16);
export const SYMMETRIC_KEY_BYTES: Record<PaymentTokenVersion, number> = { EC_v1: 32, RSA_v1: 16 };

async function gcmKey(key: Uint8Array, usage: 'encrypt' | 'decrypt'): Promise<CryptoKey> {
  if (key.length !== 16 && key.length !== 32) throw new ProtocolError('paytoken_bad_key', 'AES-GCM key must be 16 (RSA_v1) or 32 (EC_v1) bytes');
  return subtle().importKey('raw', own(key), { name: 'AES-GCM' }, false, [usage]);
}

/**
 * Decrypts `data` (ciphertext ‖ 16-byte tag) with AES-GCM, IV = 16 zero bytes, no additional data.
 * A 32-byte key is EC_v1's AES-256, a 16-byte key RSA_v1's AES-128. Throws ProtocolError
 * `paytoken_decrypt_failed` when the tag does not verify (wrong key or altered data).
 */
export async function decryptData(key: Uint8Array, data: Uint8Array): Promise<Bytes> {
  const k = await gcmKey(key, 'decrypt');
  if (data.length < 16) throw new ProtocolError('paytoken_decrypt_failed', 'data is shorter than the GCM tag');
  try {
    return new Uint8Array(await subtle().decrypt({ name: 'AES-GCM', iv: ZERO_IV, tagLength: 128 }, k, own(data)));
  } catch {
    throw new ProtocolError('paytoken_decrypt_failed', 'data does not decrypt (GCM tag mismatch)');
  }
}

/** The producer's side of decryptData: ciphertext ‖ tag. Never reuse a key (the IV is fixed). */
export async function encryptData(key: Uint8Array, plaintext: Uint8Array): Promise<Bytes> {
  const k = await gcmKey(key, 'encrypt');
  return new Uint8Array(await subtle().encrypt({ name: 'AES-GCM', iv: ZERO_IV, tagLength: 128 }, k, own(plaintext)));
}

// ---- Key agreement / key transport ----

const P256 = { name: 'ECDH', namedCurve: 'P-256' } as const;
const RSA_OAEP = { name: 'RSA-OAEP', hash: 'SHA-256' } as const;

/** Imports a P-256 public key from DER SubjectPublicKeyInfo for ECDH. */
export async function importEcPublicKey(spki: Uint8Array): Promise<CryptoKey> {
  try {
    return await subtle().importKey('spki', own(spki), P256, true, []);
  } catch {
    throw new ProtocolError('paytoken_bad_key', 'ephemeral public key is not a P-256 SubjectPublicKeyInfo');
  }
}

/**
 * Z = ECDH(privateKey, public key): the 32-byte x coordinate. `privateKey` is a WebCrypto ECDH
 * P-256 key with usage deriveBits; `publicKeySpki` the DER SubjectPublicKeyInfo (the token's
 * ephemeralPublicKey decoded, or the merchant's key when producing).
 */
export async function ecdhSharedSecret(privateKey: CryptoKey, publicKeySpki: Uint8Array): Promise<Bytes> {
  const publicKey = await importEcPublicKey(publicKeySpki);
  try {
    return new Uint8Array(await subtle().deriveBits({ name: 'ECDH', public: publicKey }, privateKey, 256));
  } catch {
    throw new ProtocolError('paytoken_bad_key', 'ECDH key agreement failed');
  }
}

/** RSA_v1: the 16-byte AES key from wrappedKey with RSA-OAEP (SHA-256, MGF1-SHA-256). */
export async function unwrapRsaV1Key(privateKey: CryptoKey, wrappedKey: Uint8Array): Promise<Bytes> {
  let key: Bytes;
  try {
    key = new Uint8Array(await subtle().decrypt(RSA_OAEP, privateKey, own(wrappedKey)));
  } catch {
    throw new ProtocolError('paytoken_decrypt_failed', 'wrappedKey does not decrypt (RSA-OAEP)');
  }
  if (key.length !== 16) {
    key.fill(0);
    throw new ProtocolError('paytoken_decrypt_failed', 'wrappedKey does not hold a 16-byte key');
  }
  return key;
}

/** The producer's side of unwrapRsaV1Key: RSA-OAEP-SHA-256 to the merchant's public key. */
export async function wrapRsaV1Key(publicKey: CryptoKey, key: Uint8Array): Promise<Bytes> {
  if (key.length !== 16) throw new ProtocolError('paytoken_bad_key', 'RSA_v1 key must be 16 bytes');
  return new Uint8Array(await subtle().encrypt(RSA_OAEP, publicKey, own(key)));
}

/** The merchant's private key for a parsed token: WebCrypto key plus the certificate's merchant id hash. */
export interface MerchantDecryptionKey {
  /** EC_v1: ECDH P-256 with deriveBits. RSA_v1: RSA-OAEP SHA-256 with decrypt. */
  privateKey: CryptoKey;
  /** merchantIdHashFromCertificate(processing certificate); needed for EC_v1. */
  merchantIdHash: Uint8Array;
}

/**
 * The symmetric key of a parsed token (EC_v1: ECDH + KDF; RSA_v1: OAEP unwrap). Does not check
 * header.publicKeyHash: choose the key by it first.
 */
export async function recoverSymmetricKey(token: ParsedPaymentToken, key: MerchantDecryptionKey): Promise<Bytes> {
  if (token.version === 'RSA_v1') return unwrapRsaV1Key(key.privateKey, token.bytes.keyMaterial);
  const z = await ecdhSharedSecret(key.privateKey, token.bytes.keyMaterial);
  try {
    return await deriveEcV1Key(z, key.merchantIdHash);
  } finally {
    z.fill(0);
  }
}

/** The decrypted `data` of a parsed token (the payload's UTF-8 JSON bytes). */
export async function decryptPaymentData(token: ParsedPaymentToken, key: MerchantDecryptionKey): Promise<Bytes> {
  const symmetric = await recoverSymmetricKey(token, key);
  try {
    return await decryptData(symmetric, token.bytes.data);
  } finally {
    symmetric.fill(0);
  }
}

// ---- Hashes that name keys and merchants ----

/** header.publicKeyHash of a certificate: base64(SHA-256(DER SubjectPublicKeyInfo)). */
export async function publicKeyHash(spkiDer: Uint8Array): Promise<string> {
  return toBase64(new Uint8Array(await subtle().digest('SHA-256', own(spkiDer))));
}

/** Whether base64 `expected` (a header's publicKeyHash) names `spkiDer`. */
export async function publicKeyHashMatches(spkiDer: Uint8Array, expected: Uint8Array): Promise<boolean> {
  return bytesEqual(new Uint8Array(await subtle().digest('SHA-256', own(spkiDer))), expected);
}

/** SHA-256 of the merchant identifier's UTF-8 bytes (32 bytes; hex of it goes in the certificate). */
export async function merchantIdentifierHash(merchantIdentifier: string): Promise<Bytes> {
  return new Uint8Array(await subtle().digest('SHA-256', own(utf8.encode(merchantIdentifier))));
}

/** SHA-256 (for the CMS messageDigest of the signed content). */
export async function sha256(bytes: Uint8Array): Promise<Bytes> {
  return new Uint8Array(await subtle().digest('SHA-256', own(bytes)));
}
