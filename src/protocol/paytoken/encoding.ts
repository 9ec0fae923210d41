/**
 * Base64 and PEM without Node's Buffer, so the payment-token module runs in the browser too.
 * Errors never echo the input.
 */
import { ProtocolError } from '../errors.js';
import type { Bytes } from './types.js';

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const DECODE = new Int16Array(128).fill(-1);
for (let i = 0; i < ALPHABET.length; i++) DECODE[ALPHABET.charCodeAt(i)] = i;

/** Standard base64 (RFC 4648 section 4), with padding. */
export function toBase64(bytes: Uint8Array): string {
  let out = '';
  let i = 0;
  for (; i + 2 < bytes.length; i += 3) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8) | bytes[i + 2]!;
    out += ALPHABET[n >> 18]! + ALPHABET[(n >> 12) & 63]! + ALPHABET[(n >> 6) & 63]! + ALPHABET[n & 63]!;
  }
  const rest = bytes.length - i;
  if (rest === 1) {
    const n = bytes[i]! << 16;
    out += ALPHABET[n >> 18]! + ALPHABET[(n >> 12) & 63]! + '==';
  } else if (rest === 2) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8);
    out += ALPHABET[n >> 18]! + ALPHABET[(n >> 12) & 63]! + ALPHABET[(n >> 6) & 63]! + '=';
  }
  return out;
}

/**
 * Decodes standard base64. Padding may be omitted (some relays strip it); anything else that is
 * not canonical base64 (other characters, whitespace, a stray "=", non-zero trailing bits) is
 * rejected with `code` and a message naming `what`, never the text.
 */
export function fromBase64(text: string, what = 'base64', code = 'paytoken_malformed'): Bytes {
  const fail = (): never => {
    throw new ProtocolError(code, `${what} is not valid base64`);
  };
  let end = text.length;
  if (end % 4 === 0 && end > 0) {
    if (text.charCodeAt(end - 1) === 61 /* = */) end--;
    if (text.charCodeAt(end - 1) === 61) end--;
  }
  if (end % 4 === 1) fail();
  const out = new Uint8Array(Math.floor((end * 3) / 4));
  let bits = 0;
  let acc = 0;
  let o = 0;
  for (let i = 0; i < end; i++) {
    const c = text.charCodeAt(i);
    const v = c < 128 ? DECODE[c]! : -1;
    if (v < 0) fail();
    acc = (acc << 6) | v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (acc >> bits) & 0xff;
      acc &= (1 << bits) - 1;
    }
  }
  if (acc !== 0) fail(); // non-canonical: leftover bits must be zero
  return out;
}

/**
 * The DER bytes of the first PEM block with the given label (e.g. "CERTIFICATE"). Text outside
 * the block (comments, other blocks) is ignored.
 */
export function pemToDer(pem: string, label = 'CERTIFICATE'): Bytes {
  const re = new RegExp(`-----BEGIN ${label}-----([A-Za-z0-9+/=\\s]*?)-----END ${label}-----`);
  const m = re.exec(pem);
  if (!m) throw new ProtocolError('pem_malformed', `no ${label} PEM block found`);
  return fromBase64(m[1]!.replace(/\s+/g, ''), `${label} PEM block`, 'pem_malformed');
}

/** Every PEM block with the given label, as DER, in order. */
export function pemBlocksToDer(pem: string, label = 'CERTIFICATE'): Bytes[] {
  const re = new RegExp(`-----BEGIN ${label}-----([A-Za-z0-9+/=\\s]*?)-----END ${label}-----`, 'g');
  const out: Bytes[] = [];
  for (const m of pem.matchAll(re)) out.push(fromBase64(m[1]!.replace(/\s+/g, ''), `${label} PEM block`, 'pem_malformed'));
  return out;
}

/** DER to PEM with 64-character lines. */
export function derToPem(der: Uint8Array, label = 'CERTIFICATE'): string {
  const b64 = toBase64(der);
  const lines: string[] = [];
  for (let i = 0; i < b64.length; i += 64) lines.push(b64.slice(i, i + 64));
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}
