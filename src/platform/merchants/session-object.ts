import { createHmac, timingSafeEqual } from 'node:crypto';
import { AppError } from '../../infra/errors.js';
import './errors.js';

/** Merchant sessions are valid this long (docs/reference/apple-pay-token.md). */
export const MERCHANT_SESSION_TTL_MS = 5 * 60_000;

/**
 * The opaque merchant session object the platform answers to startSession, with the fields real
 * sessions carry. The page hands it unchanged to completeMerchantValidation; the platform is the only
 * party that reads it back. `signature` is HMAC-SHA256 (hex), under a key derived from the KEK, over
 * every other field in a fixed order, so no field can be changed or a session made up.
 */
export interface MerchantSessionObject {
  epochTimestamp: number;
  expiresAt: number;
  merchantSessionIdentifier: string;
  nonce: string;
  /** Upper-case hex SHA-256 of the merchant identifier, as real sessions carry it. */
  merchantIdentifier: string;
  domainName: string;
  displayName: string;
  signature: string;
  operationalAnalyticsIdentifier: string;
  retries: number;
  pspId: string;
}

type Unsigned = Omit<MerchantSessionObject, 'signature'>;

const FIELDS: Record<keyof MerchantSessionObject, 'string' | 'number'> = {
  epochTimestamp: 'number',
  expiresAt: 'number',
  merchantSessionIdentifier: 'string',
  nonce: 'string',
  merchantIdentifier: 'string',
  domainName: 'string',
  displayName: 'string',
  signature: 'string',
  operationalAnalyticsIdentifier: 'string',
  retries: 'number',
  pspId: 'string',
};

function signedBytes(s: Unsigned): string {
  return JSON.stringify([
    'tessera-merchant-session/1',
    s.epochTimestamp,
    s.expiresAt,
    s.merchantSessionIdentifier,
    s.nonce,
    s.merchantIdentifier,
    s.domainName,
    s.displayName,
    s.operationalAnalyticsIdentifier,
    s.retries,
    s.pspId,
  ]);
}

export function signSession(key: Uint8Array, s: Unsigned): MerchantSessionObject {
  return { ...s, signature: createHmac('sha256', key).update(signedBytes(s), 'utf8').digest('hex') };
}

/**
 * Parses and verifies a session object (the object itself, or its JSON text) and returns it; throws
 * merchant_session_invalid when it is malformed, has fields it should not, or the signature fails.
 */
export function verifySession(key: Uint8Array, input: unknown): MerchantSessionObject {
  let value = input;
  if (typeof value === 'string') {
    if (value.length > 8192) throw new AppError('merchant_session_invalid');
    try {
      value = JSON.parse(value);
    } catch {
      throw new AppError('merchant_session_invalid');
    }
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new AppError('merchant_session_invalid');
  const obj = value as Record<string, unknown>;
  const keys = Object.keys(obj);
  if (keys.length !== Object.keys(FIELDS).length) throw new AppError('merchant_session_invalid');
  for (const k of keys) {
    const t = FIELDS[k as keyof MerchantSessionObject];
    if (!t || typeof obj[k] !== t) throw new AppError('merchant_session_invalid');
    if (t === 'string' && (obj[k] as string).length > 512) throw new AppError('merchant_session_invalid');
    if (t === 'number' && !Number.isSafeInteger(obj[k])) throw new AppError('merchant_session_invalid');
  }
  const s = obj as unknown as MerchantSessionObject;
  if (!/^[0-9a-f]{64}$/.test(s.signature)) throw new AppError('merchant_session_invalid');
  const expected = createHmac('sha256', key).update(signedBytes(s), 'utf8').digest();
  if (!timingSafeEqual(expected, Buffer.from(s.signature, 'hex'))) throw new AppError('merchant_session_invalid');
  return s;
}
