import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Webhook signatures (docs/reference/api-conventions.md): `Signature: t=<unix>,v1=<hex HMAC-SHA256 of "t.raw_body">`.
 * During a secret rotation the sender signs with every live secret and the header carries several v1
 * values; a receiver accepts the body when any of them matches any of its secrets. Knows no party.
 */

export const SIGNATURE_HEADER = 'Signature';
export const DEFAULT_TOLERANCE_SECONDS = 300;

type Bytes = string | Uint8Array;

const toBuffer = (b: Bytes) => (typeof b === 'string' ? Buffer.from(b, 'utf8') : Buffer.from(b.buffer, b.byteOffset, b.byteLength));

function mac(secret: Bytes, t: number, body: Bytes): Buffer {
  return createHmac('sha256', toBuffer(secret)).update(`${t}.`).update(toBuffer(body)).digest();
}

/** The header value for `body` sent at `now`, one v1 per secret (the new one first during a rotation). */
export function signPayload(secret: Bytes | readonly Bytes[], body: Bytes, now: Date = new Date()): string {
  const t = Math.floor(now.getTime() / 1000);
  const secrets = Array.isArray(secret) ? (secret as readonly Bytes[]) : [secret as Bytes];
  if (secrets.length === 0) throw new Error('signPayload needs at least one secret');
  return [`t=${t}`, ...secrets.map((s) => `v1=${mac(s, t, body).toString('hex')}`)].join(',');
}

export type VerifyFailure = 'header_missing' | 'header_invalid' | 'timestamp_outside_tolerance' | 'signature_mismatch';

export class WebhookSignatureError extends Error {
  override readonly name = 'WebhookSignatureError';
  constructor(readonly reason: VerifyFailure) {
    super(`webhook signature rejected: ${reason}`);
  }
}

function parse(header: string): { t: number; v1: Buffer[] } | null {
  let t: number | undefined;
  const v1: Buffer[] = [];
  for (const part of header.split(',')) {
    const eq = part.indexOf('=');
    if (eq <= 0) return null;
    const k = part.slice(0, eq).trim();
    const v = part.slice(eq + 1).trim();
    if (k === 't') {
      if (!/^\d{1,12}$/.test(v) || t !== undefined) return null;
      t = Number(v);
    } else if (k === 'v1') {
      // Exactly 32 bytes of hex: anything else can never match and is not compared.
      if (/^[0-9a-f]{64}$/i.test(v)) v1.push(Buffer.from(v, 'hex'));
    }
    // Other schemes (v0, future versions) are ignored, as receivers of such headers do.
  }
  if (t === undefined || v1.length === 0) return null;
  return { t, v1 };
}

/**
 * Checks a `Signature` header against the raw body and the receiver's secrets (several while a secret
 * is rotated). Compares in constant time, rejects timestamps more than `toleranceSeconds` away from
 * `now` (replays). Returns the signed timestamp; throws WebhookSignatureError otherwise.
 */
export function verifySignature(
  header: string | string[] | undefined | null,
  body: Bytes,
  secrets: readonly Bytes[],
  options: { toleranceSeconds?: number; now?: Date } = {},
): { timestamp: number } {
  if (header === undefined || header === null || (Array.isArray(header) && header.length === 0)) throw new WebhookSignatureError('header_missing');
  const parsed = parse(Array.isArray(header) ? header.join(',') : header);
  if (!parsed) throw new WebhookSignatureError('header_invalid');
  const tolerance = options.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS;
  const now = Math.floor((options.now ?? new Date()).getTime() / 1000);
  if (Math.abs(now - parsed.t) > tolerance) throw new WebhookSignatureError('timestamp_outside_tolerance');
  let ok = false;
  // Every pair is compared (no early exit): the time taken says nothing about which one matched.
  for (const s of secrets) {
    const expected = mac(s, parsed.t, body);
    for (const candidate of parsed.v1) if (timingSafeEqual(expected, candidate)) ok = true;
  }
  if (!ok) throw new WebhookSignatureError('signature_mismatch');
  return { timestamp: parsed.t };
}
