/**
 * Spec-driven ISO 8583 packer / unpacker for the wire profile described in spec.ts.
 * Errors are `ProtocolError`s naming the data element (`at` = `DE n`), never its value.
 */
import { ProtocolError, assertInputSize } from '../errors.js';
import { concatBytes, toHex } from '../bytes.js';
import { parseTlv, buildTlv } from '../tlv/tlv.js';
import { maskTlv } from '../tlv/tags.js';
import { FIELDS, SUPPORTED_MTIS, RESPONSE_MTI, DE48, type FieldSpec } from './spec.js';
import { packSubelements, parseSubelements } from './subelements.js';

export { packSubelements, parseSubelements } from './subelements.js';

export interface IsoMessage {
  mti: string;
  /** Strings for n/an/ans/z fields, bytes for binary ones (DE 52, 55, 64, 128). */
  fields: Record<number, string | Uint8Array>;
}

const CHARSETS: Record<Exclude<FieldSpec['format'], 'b'>, RegExp> = {
  n: /^[0-9]*$/,
  an: /^[A-Za-z0-9 ]*$/,
  ans: /^[\x20-\x7E]*$/,
  z: /^[0-9=D:;<>?]*$/,
};

const de = (n: number): string => `DE ${n}`;

function checkMti(mti: unknown): string {
  if (typeof mti !== 'string' || !SUPPORTED_MTIS.includes(mti)) {
    throw new ProtocolError('iso8583_bad_mti', 'MTI is not one this profile supports', 'MTI');
  }
  return mti;
}

/** The response MTI for a request MTI (0100 → 0110, 0420 → 0430, 0800 → 0810, ...). */
export function responseMti(mti: string): string {
  const r = RESPONSE_MTI[mti];
  if (!r) throw new ProtocolError('iso8583_bad_mti', 'MTI has no response type', 'MTI');
  return r;
}

function specFor(n: number): FieldSpec {
  const spec = FIELDS[n];
  if (!spec) throw new ProtocolError('iso8583_unknown_field', `${de(n)} is not in this profile`, de(n));
  return spec;
}

function lengthDigits(spec: FieldSpec): number {
  return spec.lengthType === 'llvar' ? 2 : spec.lengthType === 'lllvar' ? 3 : 0;
}

function checkLength(n: number, spec: FieldSpec, length: number): void {
  if (spec.lengthType === 'fixed' ? length !== spec.length : length > spec.length) {
    const want = spec.lengthType === 'fixed' ? `exactly ${spec.length}` : `at most ${spec.length}`;
    throw new ProtocolError('iso8583_bad_field', `${de(n)} must be ${want} ${spec.format === 'b' ? 'bytes' : 'characters'}`, de(n));
  }
}

function encodeField(n: number, spec: FieldSpec, value: unknown): Uint8Array {
  let body: Uint8Array;
  if (spec.format === 'b') {
    if (!(value instanceof Uint8Array)) throw new ProtocolError('iso8583_bad_field', `${de(n)} must be bytes`, de(n));
    body = value;
  } else {
    if (typeof value !== 'string') throw new ProtocolError('iso8583_bad_field', `${de(n)} must be a string`, de(n));
    if (!CHARSETS[spec.format].test(value)) {
      throw new ProtocolError('iso8583_bad_field', `${de(n)} has characters outside format ${spec.format}`, de(n));
    }
    body = new Uint8Array(value.length);
    for (let k = 0; k < value.length; k++) body[k] = value.charCodeAt(k);
  }
  checkLength(n, spec, body.length);
  const digits = lengthDigits(spec);
  if (digits === 0) return body;
  const prefix = String(body.length).padStart(digits, '0');
  const out = new Uint8Array(digits + body.length);
  for (let k = 0; k < digits; k++) out[k] = prefix.charCodeAt(k);
  out.set(body, digits);
  return out;
}

function fieldNumbers(fields: Record<number, string | Uint8Array>): number[] {
  const numbers: number[] = [];
  for (const key of Object.keys(fields)) {
    if (!/^[1-9]\d{0,2}$/.test(key)) throw new ProtocolError('iso8583_unknown_field', 'field key is not a data element number');
    if ((fields as Record<string, unknown>)[key] === undefined) continue;
    const n = Number(key);
    if (n < 2 || n > 128) throw new ProtocolError('iso8583_unknown_field', `${de(n)} cannot be set (bitmaps are computed)`, de(n));
    specFor(n);
    numbers.push(n);
  }
  return numbers.sort((a, b) => a - b);
}

/** Encodes a message: MTI, bitmap(s), fields in order. */
export function packMessage(msg: IsoMessage): Uint8Array {
  const mti = checkMti(msg.mti);
  const numbers = fieldNumbers(msg.fields);
  const secondary = numbers.some((n) => n > 64);
  const bitmap = new Uint8Array(secondary ? 16 : 8);
  if (secondary) bitmap[0] = 0x80;
  for (const n of numbers) bitmap[(n - 1) >> 3]! |= 0x80 >> ((n - 1) & 7);
  const parts: Uint8Array[] = [Uint8Array.from(mti, (c) => c.charCodeAt(0)), bitmap];
  for (const n of numbers) parts.push(encodeField(n, FIELDS[n]!, msg.fields[n]));
  return concatBytes(...parts);
}

function asciiAt(bytes: Uint8Array, start: number, end: number): string {
  let s = '';
  for (let k = start; k < end; k++) s += String.fromCharCode(bytes[k]!);
  return s;
}

/** Decodes a message (without its 2-byte frame length). Rejects unknown fields and trailing bytes. */
export function unpackMessage(bytes: Uint8Array): IsoMessage {
  assertInputSize(bytes, 'ISO 8583 message');
  if (bytes.length < 12) throw new ProtocolError('iso8583_truncated', 'message shorter than MTI and bitmap', 'MTI');
  const mti = checkMti(asciiAt(bytes, 0, 4));
  let offset = 4;
  const hasSecondary = (bytes[offset]! & 0x80) !== 0;
  const bitmapLength = hasSecondary ? 16 : 8;
  if (offset + bitmapLength > bytes.length) throw new ProtocolError('iso8583_truncated', 'secondary bitmap truncated', 'bitmap');
  const bitmap = bytes.subarray(offset, offset + bitmapLength);
  offset += bitmapLength;
  const fields: Record<number, string | Uint8Array> = {};
  for (let n = 2; n <= bitmapLength * 8; n++) {
    if ((bitmap[(n - 1) >> 3]! & (0x80 >> ((n - 1) & 7))) === 0) continue;
    const spec = specFor(n);
    let length = spec.length;
    const digits = lengthDigits(spec);
    if (digits > 0) {
      if (offset + digits > bytes.length) throw new ProtocolError('iso8583_truncated', `${de(n)} length prefix truncated`, de(n));
      const prefix = asciiAt(bytes, offset, offset + digits);
      if (!/^\d+$/.test(prefix)) throw new ProtocolError('iso8583_bad_field', `${de(n)} length prefix is not digits`, de(n));
      length = Number(prefix);
      checkLength(n, spec, length);
      offset += digits;
    }
    if (offset + length > bytes.length) throw new ProtocolError('iso8583_truncated', `${de(n)} truncated`, de(n));
    if (spec.format === 'b') {
      fields[n] = bytes.slice(offset, offset + length);
    } else {
      const text = asciiAt(bytes, offset, offset + length);
      if (!CHARSETS[spec.format].test(text)) {
        throw new ProtocolError('iso8583_bad_field', `${de(n)} has characters outside format ${spec.format}`, de(n));
      }
      fields[n] = text;
    }
    offset += length;
  }
  if (offset !== bytes.length) {
    throw new ProtocolError('iso8583_trailing_data', `${bytes.length - offset} bytes after the last field`, offset);
  }
  return { mti, fields };
}

// ---- Describing (for logs and the CLI) ----

/** First 6 and last 4 of a card number of 13 or more characters; anything shorter fully masked. */
export function maskPan(pan: string): string {
  if (pan.length < 13) return '*'.repeat(pan.length);
  return pan.slice(0, 6) + '*'.repeat(pan.length - 10) + pan.slice(-4);
}

function describeField(n: number, spec: FieldSpec | undefined, value: string | Uint8Array, unmasked: boolean): string {
  const text = value instanceof Uint8Array ? toHex(value) : value;
  if (unmasked || !spec) return text;
  switch (spec.mask) {
    case 'pan':
      return maskPan(text);
    case 'full':
      return '*'.repeat(text.length);
    case 'tlv':
      try {
        if (!(value instanceof Uint8Array)) return '*'.repeat(text.length);
        return toHex(buildTlv(maskTlv(parseTlv(value))));
      } catch {
        return '*'.repeat(text.length);
      }
    default:
      break;
  }
  if (n === 48 && typeof value === 'string') {
    try {
      const se = parseSubelements(value);
      const token = se.get(DE48.TOKEN_PAN);
      if (token !== undefined) se.set(DE48.TOKEN_PAN, maskPan(token));
      return packSubelements(se);
    } catch {
      return text;
    }
  }
  return text;
}

/**
 * A printable view: binary fields as upper-case hex, DE 2 (and the token PAN in DE 48 SE 33) as
 * first 6 / last 4, DE 35 and DE 52 as asterisks, DE 55 with sensitive EMV tags masked.
 * `unmasked: true` shows everything (for local debugging only).
 */
export function describeMessage(msg: IsoMessage, options: { unmasked?: boolean } = {}): { mti: string; fields: Record<string, string> } {
  const fields: Record<string, string> = {};
  const numbers = Object.keys(msg.fields)
    .filter((k) => /^[1-9]\d{0,2}$/.test(k) && (msg.fields as Record<string, unknown>)[k] !== undefined)
    .map(Number)
    .sort((a, b) => a - b);
  for (const n of numbers) fields[String(n)] = describeField(n, FIELDS[n], msg.fields[n]!, options.unmasked === true);
  return { mti: msg.mti, fields };
}

// ---- Stream framing ----

/** Prefixes a message with its 2-byte big-endian length. */
export function frameMessage(bytes: Uint8Array): Uint8Array {
  if (bytes.length > 0xffff) throw new ProtocolError('iso8583_too_long', 'message longer than 65535 bytes');
  return concatBytes(Uint8Array.of(bytes.length >> 8, bytes.length & 0xff), bytes);
}

/**
 * Splits a stream buffer into complete messages; `rest` is an incomplete frame to keep for the next
 * read. Zero-length frames (keep-alives) are skipped. Only slices, in time linear in the buffer.
 */
export function unframeMessages(buffer: Uint8Array): { messages: Uint8Array[]; rest: Uint8Array } {
  const messages: Uint8Array[] = [];
  let offset = 0;
  while (offset + 2 <= buffer.length) {
    const length = (buffer[offset]! << 8) | buffer[offset + 1]!;
    if (offset + 2 + length > buffer.length) break;
    if (length > 0) messages.push(buffer.slice(offset + 2, offset + 2 + length));
    offset += 2 + length;
  }
  return { messages, rest: buffer.slice(offset) };
}
