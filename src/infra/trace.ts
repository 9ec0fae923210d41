import { appendFileSync, writeFileSync } from 'node:fs';
import { luhnCheck, maskPan } from '../protocol/cards/index.js';
import { toHex } from '../protocol/bytes.js';
import { parseSubelements, unpackMessage } from '../protocol/iso8583/iso8583.js';
import { DE48 } from '../protocol/iso8583/spec.js';
import type { TraceEvent, TraceSink } from './transport.js';

const SECRET_KEYS = new Set(['cvv', 'cvc', 'password', 'code', 'otp', 'secret', 'mk', 'key_material']);

/** Masks what must not reach a trace: card numbers (Luhn-valid digit runs), CVVs, codes, credentials. */
export function maskForTrace(value: unknown, key?: string): unknown {
  if (typeof value === 'string') {
    if (key && SECRET_KEYS.has(key)) return '***';
    return value
      .replace(/\d{13,19}/g, (digits) => (luhnCheck(digits) ? maskPan(digits) : digits))
      .replace(/\b(tss|tsk_[a-z]+)_[0-9A-Za-z]{8,}/g, '$1_…');
  }
  if (Array.isArray(value)) return value.map((v) => maskForTrace(v));
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = maskForTrace(v, k);
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
 * An ISO 8583 message as hex for a trace, with every card number in it masked in place: the ASCII
 * digits of DE2, of the token in DE 48 and of any Luhn-valid 13-19 digit run inside one field (or one
 * DE 48 subelement: track data, say) become '*' except the first six and last four, so the hex still
 * lines up field by field. Runs are looked for within a field, never across fields: digits of adjacent
 * fields (DE 12, DE 13, DE 14, the length of DE 32, ...) read together are often Luhn-valid by chance,
 * and masking them would break the message. Only a message that does not parse is searched as a whole.
 */
export function maskIsoHex(bytes: Uint8Array): string {
  const out = Uint8Array.from(bytes);
  const pans = new Set<string>();
  const scan = (value: string): void => {
    for (const m of value.matchAll(/\d{13,19}/g)) if (luhnCheck(m[0])) pans.add(m[0]);
  };
  let parsed = false;
  try {
    const msg = unpackMessage(bytes);
    parsed = true;
    const de2 = msg.fields[2];
    if (typeof de2 === 'string') pans.add(de2);
    for (const [n, value] of Object.entries(msg.fields)) {
      if (typeof value !== 'string') continue;
      if (n === '48') {
        // The token number the network passes the issuer in DE 48 (subelement 33).
        let se: Map<string, string> | undefined;
        try {
          se = parseSubelements(value);
        } catch {
          se = undefined;
        }
        if (se) {
          const token = se.get(DE48.TOKEN_PAN);
          if (token && /^\d{13,19}$/.test(token)) pans.add(token);
          for (const v of se.values()) scan(v);
          continue;
        }
      }
      scan(value);
    }
  } catch {
    // Not a message we can parse: mask by pattern only.
  }
  const text = Array.from(out, (b) => (b >= 0x30 && b <= 0x39 ? String.fromCharCode(b) : ' ')).join('');
  if (!parsed) scan(text);
  for (const pan of pans) {
    let from = 0;
    for (;;) {
      const i = text.indexOf(pan, from);
      if (i < 0) break;
      for (let k = i + 6; k < i + pan.length - 4; k++) out[k] = 0x2a;
      from = i + pan.length;
    }
  }
  return toHex(out);
}
