import { appendFileSync, writeFileSync } from 'node:fs';
import { luhnCheck, maskPan } from '../protocol/cards/index.js';
import { fromHex, toHex } from '../protocol/bytes.js';
import { parseResponse } from '../protocol/apdu/apdu.js';
import { unpackMessage, type IsoMessage } from '../protocol/iso8583/iso8583.js';
import { DE48, FIELDS } from '../protocol/iso8583/spec.js';
import { isSensitiveTag, maskTlv } from '../protocol/tlv/tags.js';
import { buildTlv, parseTlv, type TlvNode } from '../protocol/tlv/tlv.js';
import type { TraceEvent, TraceSink } from './transport.js';

const SECRET_KEYS = new Set(['cvv', 'cvc', 'password', 'code', 'otp', 'secret', 'mk', 'key_material']);
/** A card's or token's expiry beside its (masked) number: masked too, like 5F24 and DE 14. */
const EXPIRY_KEYS = new Set(['exp_month', 'exp_year', 'expiry', 'expiration', 'applicationExpirationDate', 'track2', 'track1']);

const MAX_TRACE_DEPTH = 64;

/** Masks what must not reach a trace: card numbers (Luhn-valid digit runs), CVVs, codes, credentials. */
export function maskForTrace(value: unknown, key?: string, depth = 0): unknown {
  if (typeof value === 'string') {
    if (key && SECRET_KEYS.has(key)) return '***';
    if (key && EXPIRY_KEYS.has(key)) return '**';
    const tlv = maskTlvHexString(value);
    if (tlv !== undefined) return tlv;
    return value
      .replace(/\d{13,19}/g, (digits) => (luhnCheck(digits) ? maskPan(digits) : digits))
      .replace(/\b(tss|tsk_[a-z]+)_[0-9A-Za-z]{8,}/g, '$1_…');
  }
  if (typeof value === 'number' && key && EXPIRY_KEYS.has(key)) return '**';
  // Bounded: whatever reaches a trace (the HTTP parser already refuses deep bodies), masking never overflows the stack.
  if (value && typeof value === 'object' && depth >= MAX_TRACE_DEPTH) return '[nested too deeply]';
  if (Array.isArray(value)) return value.map((v) => maskForTrace(v, undefined, depth + 1));
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = maskForTrace(v, k, depth + 1);
    return out;
  }
  return value;
}

export class MemoryTraceSink implements TraceSink {
  readonly events: TraceEvent[] = [];
  record(event: TraceEvent): void {
    this.events.push(event);
  }
}

/** JSON Lines, one message per line: `{ts, from, to, protocol, hex?, json?}`. */
export class JsonlTraceSink implements TraceSink {
  constructor(private readonly file: string) {
    writeFileSync(file, '');
  }
  record(event: TraceEvent): void {
    appendFileSync(this.file, `${JSON.stringify(event)}\n`);
  }
}

export class TeeTraceSink implements TraceSink {
  constructor(private readonly sinks: TraceSink[]) {}
  record(event: TraceEvent): void {
    for (const s of this.sinks) s.record(event);
  }
}

/**
 * An ISO 8583 message as hex for a trace, masked field by field so the hex still lines up and decodes:
 * - card and token numbers (DE 2, DE 48 SE 33, and any Luhn-valid 13-19 digit run inside one field or
 *   one DE 48 subelement) keep their first six and last four digits, the rest become '*';
 * - expiry dates (DE 14, DE 48 SE 34) and the track data of DE 35 / DE 45 after the card number
 *   (expiry, service code, discretionary data) become '*', separators kept;
 * - DE 55 (ICC data) is masked tag by tag like an APDU (5A, 57, 5F24, 9F6B, ... see maskTlv), DE 52
 *   (PIN block) and any binary field the profile marks sensitive become FF bytes.
 * Runs are looked for within a field, never across fields: digits of adjacent fields read together
 * are often Luhn-valid by chance. Only a message that does not parse is searched as a whole.
 */
export function maskIsoHex(bytes: Uint8Array): string {
  const out = Uint8Array.from(bytes);
  let msg: IsoMessage;
  try {
    msg = unpackMessage(bytes);
  } catch {
    // Not a message we can parse: mask card numbers (and what follows them as track data) by pattern.
    maskText(out, 0, out.length, 'scan');
    return toHex(out);
  }
  let offset = 4 + ((bytes[4]! & 0x80) !== 0 ? 16 : 8);
  const numbers = Object.keys(msg.fields).map(Number).sort((a, b) => a - b);
  for (const n of numbers) {
    const spec = FIELDS[n]!;
    const value = msg.fields[n]!;
    offset += spec.lengthType === 'llvar' ? 2 : spec.lengthType === 'lllvar' ? 3 : 0;
    const end = offset + value.length;
    if (value instanceof Uint8Array) {
      if (spec.mask === 'tlv') out.set(maskTlvBytes(value), offset);
      else if (spec.mask) out.fill(0xff, offset, end);
    } else if (spec.mask === 'pan') maskText(out, offset, end, 'pan');
    else if (n === 14) out.fill(STAR, offset, end);
    else if (n === 35 || n === 45 || spec.mask === 'full') maskText(out, offset, end, 'track');
    else if (n === 48) maskSubelements(out, offset, value);
    else maskText(out, offset, end, 'scan');
    offset = end;
  }
  return toHex(out);
}

const STAR = 0x2a;
const isDigit = (b: number | undefined): boolean => b !== undefined && b >= 0x30 && b <= 0x39;

/**
 * Masks ASCII in out[from, to): `pan` the whole range is one card number; `track` a card number then
 * track data (everything after the number but separators `=`, `^`, `D` becomes '*'); `scan` every
 * Luhn-valid 13-19 digit run, and the track data that follows one.
 */
function maskText(out: Uint8Array, from: number, to: number, how: 'pan' | 'track' | 'scan'): void {
  const maskNumber = (a: number, b: number) => {
    if (b - a < 13) out.fill(STAR, a, b);
    else out.fill(STAR, a + 6, b - 4);
  };
  const maskTrackAfter = (k: number) => {
    for (; k < to; k++) if (![0x3d, 0x5e, 0x44].includes(out[k]!)) out[k] = STAR;
  };
  if (how === 'pan') return maskNumber(from, to);
  if (how === 'track') {
    let k = from;
    while (k < to && !isDigit(out[k])) k++;
    let e = k;
    while (e < to && isDigit(out[e])) e++;
    maskNumber(k, e);
    out.fill(STAR, from, k);
    return maskTrackAfter(e);
  }
  let k = from;
  while (k < to) {
    if (!isDigit(out[k])) {
      k++;
      continue;
    }
    let e = k;
    while (e < to && isDigit(out[e])) e++;
    const run = String.fromCharCode(...out.subarray(k, e));
    if (e - k >= 13 && e - k <= 19 && luhnCheck(run)) {
      maskNumber(k, e);
      // Track data after a card number: `=` (track 2) or `^` (track 1) then expiry and the rest.
      if (out[e] === 0x3d || out[e] === 0x5e) {
        let f = e;
        while (f < to && out[f] !== 0x20 && out[f] !== 0x3f) f++;
        for (let x = e; x < f; x++) if (out[x] !== 0x3d && out[x] !== 0x5e) out[x] = STAR;
        e = f;
      }
    }
    k = e;
  }
}

/** DE 48 in place: the token number (SE 33) first 6 / last 4, its expiry (SE 34) masked, others scanned. */
function maskSubelements(out: Uint8Array, offset: number, value: string): void {
  let k = 0;
  // `id(2) length(2) value`, as parseSubelements reads them; anything that does not fit is scanned.
  while (k + 4 <= value.length && /^\d{4}$/.test(value.slice(k, k + 4))) {
    const id = value.slice(k, k + 2);
    const length = Number(value.slice(k + 2, k + 4));
    const from = offset + k + 4;
    const to = Math.min(from + length, offset + value.length);
    if (id === DE48.TOKEN_PAN) maskText(out, from, to, 'pan');
    else if (id === DE48.TOKEN_EXPIRY) out.fill(STAR, from, to);
    else maskText(out, from, to, 'scan');
    k += 4 + length;
  }
  if (k < value.length) maskText(out, offset + k, offset + value.length, 'scan');
}

/** BER-TLV bytes masked tag by tag (same length); anything that does not parse becomes FF bytes. */
function maskTlvBytes(value: Uint8Array): Uint8Array {
  try {
    const masked = buildTlv(maskTlv(parseTlv(value)));
    if (masked.length === value.length) return masked;
  } catch {
    // Not TLV: could hide anything.
  }
  return new Uint8Array(value.length).fill(0xff);
}

/**
 * An APDU as it may be kept in a trace or a log: a response's TLV data with card numbers and other
 * sensitive tags masked (maskTlv; undecodable data replaced by FF bytes); commands unchanged (names,
 * AIDs and DOL data: amounts, dates, the unpredictable number, never card data).
 */
export function maskApduHex(hex: string, from: string): string {
  const bytes = fromHex(hex);
  if (from === 'terminal') return toHex(bytes);
  const res = parseResponse(bytes);
  const data = res.data.length ? maskTlvBytes(res.data) : res.data;
  return toHex(Uint8Array.from([...data, res.sw1, res.sw2]));
}

/**
 * A hex string inside a traced JSON body that is BER-TLV, or an APDU response carrying TLV, with a
 * sensitive tag in it: masked tag by tag. Anything else: undefined (left to the other rules).
 */
function maskTlvHexString(value: string): string | undefined {
  if (value.length < 8 || value.length > 8192 || value.length % 2 !== 0 || !/^[0-9A-Fa-f]+$/.test(value)) return undefined;
  const bytes = fromHex(value);
  for (const data of [bytes, bytes.subarray(0, bytes.length - 2)]) {
    try {
      const nodes = parseTlv(data);
      if (!hasSensitive(nodes)) continue;
      const masked = toHex(buildTlv(maskTlv(nodes)));
      return data.length === bytes.length ? masked : masked + value.slice(-4).toUpperCase();
    } catch {
      // Not TLV.
    }
  }
  return undefined;
}

function hasSensitive(nodes: TlvNode[]): boolean {
  return nodes.some((n) => (n.children ? hasSensitive(n.children) : isSensitiveTag(n.tag)));
}
