import { fromHex, isHex, utf8 } from '../bytes.js';
import { MAX_INPUT_BYTES, ProtocolError } from '../errors.js';
import { fromBase64 } from './encoding.js';
import {
  PAYMENT_PAYLOAD_KEY_ORDER,
  PAYMENT_TOKEN_VERSIONS,
  type Bytes,
  type ParsedPaymentToken,
  type PaymentData,
  type PaymentDataBytes,
  type PaymentMethod,
  type PaymentPayload,
  type PaymentTokenVersion,
} from './types.js';

/** Largest token JSON text accepted (the two base64 fields are bounded by MAX_INPUT_BYTES each). */
export const MAX_TOKEN_JSON_CHARS = 256 * 1024;
const MAX_KEY_MATERIAL_BYTES = 1024;
const MAX_HEX_ID_CHARS = 128;
const GCM_TAG_BYTES = 16;

/** Error codes of this module (ProtocolError.code). */
export type PaytokenErrorCode =
  | 'paytoken_malformed'
  | 'paytoken_unsupported'
  | 'paytoken_payload_malformed'
  | 'paytoken_decrypt_failed'
  | 'paytoken_bad_key'
  | 'paytoken_certificate_malformed'
  | 'paytoken_no_merchant_id';

const malformed = (message: string): never => {
  throw new ProtocolError('paytoken_malformed', message);
};

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function own(o: Json, key: string): unknown {
  return Object.prototype.hasOwnProperty.call(o, key) ? o[key] : undefined;
}

function base64Field(o: Json, key: string, where: string, min: number, max: number): { text: string; bytes: Bytes } {
  const v = own(o, key);
  if (typeof v !== 'string') return malformed(`${where}.${key} must be a base64 string`);
  if (v.length > Math.ceil(max / 3) * 4 + 4) return malformed(`${where}.${key} is too long`);
  const bytes = fromBase64(v, `${where}.${key}`);
  if (bytes.length < min || bytes.length > max) return malformed(`${where}.${key} has the wrong length`);
  return { text: v, bytes };
}

function hexField(o: Json, key: string, where: string): { text: string; bytes: Bytes } {
  const v = own(o, key);
  if (typeof v !== 'string') return malformed(`${where}.${key} must be a hex string`);
  if (v.length === 0 || v.length > MAX_HEX_ID_CHARS || !isHex(v)) return malformed(`${where}.${key} must be 2 to ${MAX_HEX_ID_CHARS} hex digits`);
  const bytes = new Uint8Array(v.length / 2);
  bytes.set(fromHex(v));
  return { text: v, bytes };
}

function parseJsonText(text: string, what: string, code: string): unknown {
  if (text.length > MAX_TOKEN_JSON_CHARS) throw new ProtocolError(code, `${what} is too large`);
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new ProtocolError(code, `${what} is not JSON`);
  }
}

function parsePaymentData(input: unknown): { paymentData: PaymentData; bytes: PaymentDataBytes; version: PaymentTokenVersion } {
  const pd = typeof input === 'string' ? parseJsonText(input, 'paymentData', 'paytoken_malformed') : input;
  if (!isObject(pd)) return malformed('paymentData must be an object');
  const version = own(pd, 'version');
  if (typeof version !== 'string') return malformed('paymentData.version must be a string');
  if (!(PAYMENT_TOKEN_VERSIONS as readonly string[]).includes(version)) {
    throw new ProtocolError('paytoken_unsupported', 'paymentData.version is not EC_v1 or RSA_v1');
  }
  const v = version as PaymentTokenVersion;
  const data = base64Field(pd, 'data', 'paymentData', GCM_TAG_BYTES, MAX_INPUT_BYTES);
  const signature = base64Field(pd, 'signature', 'paymentData', 1, MAX_INPUT_BYTES);
  const header = own(pd, 'header');
  if (!isObject(header)) return malformed('paymentData.header must be an object');
  const publicKeyHash = base64Field(header, 'publicKeyHash', 'header', 32, 32);
  const transactionId = hexField(header, 'transactionId', 'header');
  const applicationData = own(header, 'applicationData') === undefined ? undefined : hexField(header, 'applicationData', 'header');

  const keyName = v === 'EC_v1' ? 'ephemeralPublicKey' : 'wrappedKey';
  const otherName = v === 'EC_v1' ? 'wrappedKey' : 'ephemeralPublicKey';
  if (own(header, otherName) !== undefined) return malformed(`header.${otherName} does not belong in ${v}`);
  const keyMaterial = base64Field(header, keyName, 'header', 1, MAX_KEY_MATERIAL_BYTES);

  const common = {
    publicKeyHash: publicKeyHash.text,
    transactionId: transactionId.text,
    ...(applicationData ? { applicationData: applicationData.text } : {}),
  };
  const paymentData: PaymentData =
    v === 'EC_v1'
      ? { version: 'EC_v1', data: data.text, signature: signature.text, header: { ...common, ephemeralPublicKey: keyMaterial.text } }
      : { version: 'RSA_v1', data: data.text, signature: signature.text, header: { ...common, wrappedKey: keyMaterial.text } };
  const bytes: PaymentDataBytes = {
    keyMaterial: keyMaterial.bytes,
    data: data.bytes,
    signature: signature.bytes,
    publicKeyHash: publicKeyHash.bytes,
    transactionId: transactionId.bytes,
    ...(applicationData ? { applicationData: applicationData.bytes } : {}),
  };
  return { paymentData, bytes, version: v };
}

function parsePaymentMethod(input: unknown): Partial<PaymentMethod> {
  if (!isObject(input)) return malformed('paymentMethod must be an object');
  const out: Partial<PaymentMethod> = {};
  for (const key of ['displayName', 'network', 'type'] as const) {
    const v = own(input, key);
    if (v === undefined || v === null) continue;
    if (typeof v !== 'string') return malformed(`paymentMethod.${key} must be a string`);
    out[key] = v;
  }
  return out;
}

/**
 * Parses a full PKPaymentToken (`{ paymentMethod, transactionIdentifier, paymentData }`) or a bare
 * paymentData, given as parsed JSON or as JSON text; paymentData itself may also be JSON text (as
 * some relays pass it). Checks shapes, base64/hex encodings and lengths; verifies nothing
 * cryptographic. Throws ProtocolError `paytoken_malformed` or `paytoken_unsupported` (an unknown
 * version), with messages that name the field and never its value.
 */
export function parsePaymentToken(json: unknown): ParsedPaymentToken {
  const input = typeof json === 'string' ? parseJsonText(json, 'payment token', 'paytoken_malformed') : json;
  if (!isObject(input)) return malformed('payment token must be a JSON object');
  const full = own(input, 'paymentData') !== undefined;
  const { paymentData, bytes, version } = parsePaymentData(full ? own(input, 'paymentData') : input);
  const transactionId = paymentData.header.transactionId.toLowerCase();
  const result: ParsedPaymentToken = { version, paymentData, transactionId, bytes };
  if (full) {
    const method = own(input, 'paymentMethod');
    if (method !== undefined && method !== null) result.paymentMethod = parsePaymentMethod(method);
    const id = own(input, 'transactionIdentifier');
    if (id !== undefined && id !== null) {
      if (typeof id !== 'string') return malformed('transactionIdentifier must be a string');
      if (id.toLowerCase() !== transactionId) return malformed('transactionIdentifier differs from header.transactionId');
      result.transactionIdentifier = id;
    }
  }
  return result;
}

// ---- Decrypted payload ----

const payloadMalformed = (message: string): never => {
  throw new ProtocolError('paytoken_payload_malformed', message);
};

function requireString(o: Json, key: string, where: string, pattern?: RegExp): void {
  const v = own(o, key);
  if (typeof v !== 'string' || (pattern && !pattern.test(v))) payloadMalformed(`${where}${key} is missing or has the wrong format`);
}

function optionalString(o: Json, key: string, where: string): void {
  const v = own(o, key);
  if (v !== undefined && typeof v !== 'string') payloadMalformed(`${where}${key} must be a string`);
}

/**
 * Parses the decrypted `data` (UTF-8 JSON) and checks the fields a merchant relies on: the
 * device account number, expiry (YYMMDD), numeric currency, integer amount, the device
 * manufacturer identifier, and the 3DSecure or EMV payment data. Unknown keys are kept; key
 * order is preserved. Throws ProtocolError `paytoken_payload_malformed` (never echoing values).
 */
export function parsePaymentPayload(plaintext: Uint8Array | string): PaymentPayload {
  let text: string;
  if (typeof plaintext === 'string') text = plaintext;
  else {
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(plaintext);
    } catch {
      return payloadMalformed('decrypted payload is not UTF-8');
    }
  }
  const p = parseJsonText(text, 'decrypted payload', 'paytoken_payload_malformed');
  if (!isObject(p)) return payloadMalformed('decrypted payload must be a JSON object');
  requireString(p, 'applicationPrimaryAccountNumber', '', /^\d{8,19}$/);
  requireString(p, 'applicationExpirationDate', '', /^\d{6}$/);
  requireString(p, 'currencyCode', '', /^\d{3}$/);
  const amount = own(p, 'transactionAmount');
  if (typeof amount !== 'number' || !Number.isSafeInteger(amount) || amount < 0) payloadMalformed('transactionAmount must be a whole number of minor units');
  optionalString(p, 'cardholderName', '');
  requireString(p, 'deviceManufacturerIdentifier', '', /^[0-9A-Fa-f]+$/);
  const type = own(p, 'paymentDataType');
  const data = own(p, 'paymentData');
  if (!isObject(data)) return payloadMalformed('paymentData must be an object');
  if (type === '3DSecure') {
    requireString(data, 'onlinePaymentCryptogram', 'paymentData.', /^[A-Za-z0-9+/]+={0,2}$/);
    optionalString(data, 'eciIndicator', 'paymentData.');
  } else if (type === 'EMV') {
    requireString(data, 'emvData', 'paymentData.');
    optionalString(data, 'encryptedPINData', 'paymentData.');
  } else {
    payloadMalformed('paymentDataType must be 3DSecure or EMV');
  }
  const responses = own(p, 'authenticationResponses');
  if (responses !== undefined && !Array.isArray(responses)) payloadMalformed('authenticationResponses must be an array');
  optionalString(p, 'merchantTokenIdentifier', '');
  const metadata = own(p, 'merchantTokenMetadata');
  if (metadata !== undefined && !isObject(metadata)) payloadMalformed('merchantTokenMetadata must be an object');
  return p as unknown as PaymentPayload;
}

/**
 * UTF-8 JSON of a payload, for producers: the known keys in the order real tokens use
 * (PAYMENT_PAYLOAD_KEY_ORDER), then any others in insertion order; absent optional keys omitted.
 */
export function encodePaymentPayload(payload: PaymentPayload): Bytes {
  const source = payload as unknown as Json;
  const ordered: Json = {};
  for (const key of PAYMENT_PAYLOAD_KEY_ORDER) if (source[key] !== undefined) ordered[key] = source[key];
  for (const [key, value] of Object.entries(source)) if (!(key in ordered) && value !== undefined) ordered[key] = value;
  const bytes = utf8.encode(JSON.stringify(ordered));
  const out = new Uint8Array(bytes.length);
  out.set(bytes);
  return out;
}
