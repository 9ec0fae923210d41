/**
 * The Apple Pay payment token (PKPaymentToken) and its decrypted payload, as real tokens carry them
 * (docs/reference/apple-pay-token.md). Shared by the merchant SDK (which verifies and decrypts)
 * and the platform (which produces tokens): keep these shapes stable.
 */

export const PAYMENT_TOKEN_VERSIONS = ['EC_v1', 'RSA_v1'] as const;
export type PaymentTokenVersion = (typeof PAYMENT_TOKEN_VERSIONS)[number];

/** Fields both header variants carry. */
export interface PaymentHeaderCommon {
  /** base64(SHA-256(DER SubjectPublicKeyInfo of the merchant payment-processing certificate)). */
  publicKeyHash: string;
  /** 32 random bytes as hex (lower case in real tokens). */
  transactionId: string;
  /** Hex SHA-256 of the payment request's applicationData, when the request had one. */
  applicationData?: string;
}

export interface EcV1Header extends PaymentHeaderCommon {
  /** base64 DER SubjectPublicKeyInfo of a fresh P-256 key (uncompressed point). */
  ephemeralPublicKey: string;
}

export interface RsaV1Header extends PaymentHeaderCommon {
  /** base64 of the AES-128 key encrypted with RSA-OAEP (SHA-256, MGF1-SHA-256). */
  wrappedKey: string;
}

export type PaymentHeader = EcV1Header | RsaV1Header;

export interface EcV1PaymentData {
  version: 'EC_v1';
  /** base64 of the AES-256-GCM ciphertext followed by the 16-byte tag. */
  data: string;
  /** base64 of a detached CMS SignedData (BER, indefinite lengths allowed). */
  signature: string;
  header: EcV1Header;
}

export interface RsaV1PaymentData {
  version: 'RSA_v1';
  /** base64 of the AES-128-GCM ciphertext followed by the 16-byte tag. */
  data: string;
  signature: string;
  header: RsaV1Header;
}

/** `paymentData`: exactly four keys (version, data, signature, header). */
export type PaymentData = EcV1PaymentData | RsaV1PaymentData;

/** ApplePayPaymentMethodType. */
export type PaymentMethodType = 'debit' | 'credit' | 'prepaid' | 'store';

export interface PaymentMethod {
  /** e.g. "Visa 0075". */
  displayName: string;
  /** e.g. "Visa", "MasterCard", "AmEx", "Discover". */
  network: string;
  /** A PaymentMethodType for tokens we produce; parsed tokens may carry other strings. */
  type: string;
}

/** What `onpaymentauthorized` hands the page as `event.payment.token`. */
export interface PKPaymentToken {
  paymentMethod: PaymentMethod;
  /** Hex, the same as paymentData.header.transactionId. */
  transactionIdentifier: string;
  paymentData: PaymentData;
}

/** The decoded bytes of a paymentData's fields. */
export interface PaymentDataBytes {
  /** The ephemeral public key (EC_v1) or the wrapped key (RSA_v1). */
  keyMaterial: Bytes;
  data: Bytes;
  signature: Bytes;
  publicKeyHash: Bytes;
  transactionId: Bytes;
  applicationData?: Bytes;
}

/** What parsePaymentToken returns for either a full PKPaymentToken or a bare paymentData. */
export interface ParsedPaymentToken {
  version: PaymentTokenVersion;
  /** Only the four known keys, as given (strings not re-encoded). */
  paymentData: PaymentData;
  /** Present when the input was a full PKPaymentToken with a paymentMethod (only its string fields). */
  paymentMethod?: Partial<PaymentMethod>;
  /** Present when the input was a full PKPaymentToken (then equal to header.transactionId, ignoring case). */
  transactionIdentifier?: string;
  /** header.transactionId in lower case: the key for replay detection. */
  transactionId: string;
  bytes: PaymentDataBytes;
}

// ---- The decrypted payload ----

export interface ThreeDSecurePaymentData {
  /** base64 of the 20-byte online payment cryptogram. */
  onlinePaymentCryptogram: string;
  /** Visa tokens carry one ("5", "7", ...); pass it on when present. */
  eciIndicator?: string;
}

export interface EmvPaymentData {
  /** base64, output of the Secure Element. */
  emvData: string;
  /** Hex, the PIN encrypted for the issuer, when a PIN was entered. */
  encryptedPINData?: string;
}

/** One entry of a multi-merchant payment's authenticationResponses. */
export interface AuthenticationResponse {
  merchantIdentifier: string;
  authenticationData: string;
  transactionAmount: number;
}

interface PaymentPayloadCommon {
  /** The device token (DPAN), never the card number. */
  applicationPrimaryAccountNumber: string;
  /** YYMMDD. */
  applicationExpirationDate: string;
  /** ISO 4217 numeric, as a string: "840". */
  currencyCode: string;
  /** Minor units. */
  transactionAmount: number;
  cardholderName?: string;
  /** Hex, e.g. "040010030273". */
  deviceManufacturerIdentifier: string;
  authenticationResponses?: AuthenticationResponse[];
  merchantTokenIdentifier?: string;
  merchantTokenMetadata?: Record<string, unknown>;
}

export interface ThreeDSecurePaymentPayload extends PaymentPayloadCommon {
  paymentDataType: '3DSecure';
  paymentData: ThreeDSecurePaymentData;
}

export interface EmvPaymentPayload extends PaymentPayloadCommon {
  paymentDataType: 'EMV';
  paymentData: EmvPaymentData;
}

/** The JSON inside `data`, key order as real tokens (see PAYMENT_PAYLOAD_KEY_ORDER). */
export type PaymentPayload = ThreeDSecurePaymentPayload | EmvPaymentPayload;

/** Key order of real decrypted payloads; producers should serialise in this order. */
export const PAYMENT_PAYLOAD_KEY_ORDER = [
  'applicationPrimaryAccountNumber',
  'applicationExpirationDate',
  'currencyCode',
  'transactionAmount',
  'cardholderName',
  'deviceManufacturerIdentifier',
  'paymentDataType',
  'paymentData',
  'authenticationResponses',
  'merchantTokenIdentifier',
  'merchantTokenMetadata',
] as const;

/** Bytes on a plain ArrayBuffer: what this module returns (accepted as a WebCrypto BufferSource). */
export type Bytes = Uint8Array<ArrayBuffer>;

// ---- Object identifiers ----

export const OID = {
  /** Leaf (payment-token signing) certificate marker; value DER NULL, only presence matters. */
  leafCertificate: '1.2.840.113635.100.6.29',
  /** Intermediate CA marker; value DER NULL. */
  intermediateCertificate: '1.2.840.113635.100.6.2.14',
  /** Merchant payment-processing certificate: DER UTF8String of hex SHA-256(merchantIdentifier). */
  merchantIdentifierHash: '1.2.840.113635.100.6.32',
  data: '1.2.840.113549.1.7.1',
  signedData: '1.2.840.113549.1.7.2',
  contentType: '1.2.840.113549.1.9.3',
  messageDigest: '1.2.840.113549.1.9.4',
  signingTime: '1.2.840.113549.1.9.5',
  cmsAlgorithmProtection: '1.2.840.113549.1.9.52',
  sha256: '2.16.840.1.101.3.4.2.1',
  ecdsaWithSha256: '1.2.840.10045.4.3.2',
  sha256WithRsaEncryption: '1.2.840.113549.1.1.11',
  rsaEncryption: '1.2.840.113549.1.1.1',
  ecPublicKey: '1.2.840.10045.2.1',
  prime256v1: '1.2.840.10045.3.1.7',
} as const;
