/**
 * Apple Pay payment tokens (EC_v1, RSA_v1): types, parsing, what is signed, the EC_v1 KDF,
 * AES-GCM with the zero IV, and the certificate fields the token refers to. Pure: WebCrypto only,
 * runs in Node and the browser. The merchant SDK (src/merchant/sdk) verifies and decrypts with
 * it; the platform (src/platform/pki) produces tokens with it. Errors are ProtocolErrors whose
 * messages name fields, never values.
 */
export * from './types.js';
export { parsePaymentToken, parsePaymentPayload, encodePaymentPayload, MAX_TOKEN_JSON_CHARS, type PaytokenErrorCode } from './parse.js';
export {
  signedContent,
  signedContentOf,
  deriveEcV1Key,
  ecV1KdfOtherInfo,
  decryptData,
  encryptData,
  importEcPublicKey,
  ecdhSharedSecret,
  unwrapRsaV1Key,
  wrapRsaV1Key,
  recoverSymmetricKey,
  decryptPaymentData,
  publicKeyHash,
  publicKeyHashMatches,
  merchantIdentifierHash,
  sha256,
  SYMMETRIC_KEY_BYTES,
  type SignedContentInput,
  type SignedContentParts,
  type MerchantDecryptionKey,
} from './crypto.js';
export {
  merchantIdHashFromCertificate,
  merchantIdHashExtensionValue,
  subjectPublicKeyInfoFromCertificate,
  certificateExtensions,
  type CertificateExtension,
} from './certificate.js';
export { toBase64, fromBase64, pemToDer, pemBlocksToDer, derToPem } from './encoding.js';
