/**
 * Data Object Lists (EMV Book 3, 5.4): PDOL (9F38), CDOL1 (8C), CDOL2 (8D), DDOL (9F49) are
 * sequences of tag + one-byte length, and the card expects the values concatenated without tags.
 *
 * Building the data follows EMV's rules, by the tag's format in `TAGS`:
 * - value longer than asked: numeric (`n`) keeps its rightmost bytes, everything else its leftmost;
 * - value shorter: numeric is padded on the left with 00, compressed numeric (`cn`) on the right
 *   with FF, everything else on the right with 00;
 * - value missing: zeros of the asked length.
 */
import { ProtocolError, assertInputSize } from '../errors.js';
import { concatBytes } from '../bytes.js';
import { readTag } from './tlv.js';
import { TAGS } from './tags.js';

export interface DolEntry {
  tag: string;
  length: number;
}

/** Parses a DOL (the value of 9F38, 8C, 8D, 9F49). */
export function parseDol(bytes: Uint8Array): DolEntry[] {
  assertInputSize(bytes, 'DOL');
  const entries: DolEntry[] = [];
  let i = 0;
  while (i < bytes.length) {
    const { tag, next } = readTag(bytes, i);
    if (next >= bytes.length) throw new ProtocolError('tlv_truncated', `DOL length missing at offset ${next}`, next);
    entries.push({ tag, length: bytes[next]! });
    i = next + 1;
  }
  return entries;
}

function lookup(values: Map<string, Uint8Array> | Record<string, Uint8Array>, tag: string): Uint8Array | undefined {
  if (values instanceof Map) {
    return values.get(tag) ?? values.get(tag.toLowerCase());
  }
  for (const key of Object.keys(values)) {
    if (key.toUpperCase() === tag) return values[key];
  }
  return undefined;
}

/** Fits one value to the length a DOL asks for. */
export function fitDolValue(tag: string, value: Uint8Array | undefined, length: number): Uint8Array {
  const out = new Uint8Array(length);
  if (!value) return out;
  const format = TAGS[tag.toUpperCase()]?.format;
  if (value.length >= length) {
    out.set(format === 'n' ? value.subarray(value.length - length) : value.subarray(0, length));
    return out;
  }
  if (format === 'n') {
    out.set(value, length - value.length);
  } else {
    out.set(value, 0);
    if (format === 'cn') out.fill(0xff, value.length);
  }
  return out;
}

/** Concatenates the values a DOL asks for, fitted to its lengths. */
export function buildDolData(
  dol: DolEntry[],
  values: Map<string, Uint8Array> | Record<string, Uint8Array>,
): Uint8Array {
  return concatBytes(...dol.map((e) => fitDolValue(e.tag, lookup(values, e.tag.toUpperCase()), e.length)));
}

/** Splits DOL-related data back into values; the total length must match exactly. First entry of a tag wins. */
export function splitDolData(dol: DolEntry[], data: Uint8Array): Map<string, Uint8Array> {
  assertInputSize(data, 'DOL data');
  const total = dol.reduce((sum, e) => sum + e.length, 0);
  if (total !== data.length) {
    throw new ProtocolError('dol_length_mismatch', `DOL data is ${data.length} bytes, the DOL asks for ${total}`);
  }
  const map = new Map<string, Uint8Array>();
  let offset = 0;
  for (const e of dol) {
    const tag = e.tag.toUpperCase();
    if (!map.has(tag)) map.set(tag, data.slice(offset, offset + e.length));
    offset += e.length;
  }
  return map;
}
