import { appendFileSync, writeFileSync } from 'node:fs';
import { luhnCheck, maskPan } from '../protocol/cards/index.js';
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
