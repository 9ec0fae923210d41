// fast-check generators of valid messages for this profile, driven by the field table (test code only).
import fc from 'fast-check';
import { FIELDS, SUPPORTED_MTIS, type FieldSpec } from './spec.js';
import type { IsoMessage } from './iso8583.js';

const DIGITS = '0123456789';
const LETTERS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const PRINTABLE = Array.from({ length: 0x7f - 0x20 }, (_, k) => String.fromCharCode(0x20 + k)).join('');
const CHARS: Record<Exclude<FieldSpec['format'], 'b'>, string> = {
  n: DIGITS,
  an: DIGITS + LETTERS + ' ',
  ans: PRINTABLE,
  z: DIGITS + '=D',
};

export interface ArbOptions {
  /** Characters allowed per format (to fit another implementation's narrower character sets). */
  chars?: Partial<Record<Exclude<FieldSpec['format'], 'b'>, string>>;
  /** Minimum length of variable fields. */
  minVarLength?: number;
  /** Only these fields. */
  fields?: number[];
  /** Binary values for variable fields (default: any bytes). */
  varBytes?: fc.Arbitrary<number>;
}

export function valueArb(spec: FieldSpec, options: ArbOptions = {}): fc.Arbitrary<string | Uint8Array> {
  const min = spec.lengthType === 'fixed' ? spec.length : Math.min(options.minVarLength ?? 0, spec.length);
  const max = spec.length;
  if (spec.format === 'b') {
    if (options.varBytes && spec.lengthType !== 'fixed') {
      return fc.array(options.varBytes, { minLength: min, maxLength: max }).map((a) => Uint8Array.from(a));
    }
    return fc.uint8Array({ minLength: min, maxLength: max });
  }
  const chars = options.chars?.[spec.format] ?? CHARS[spec.format];
  // Long variable fields: mostly short values, sometimes near the maximum.
  const maxShort = Math.min(max, Math.max(min, 40));
  const unit = fc.constantFrom(...chars.split(''));
  return fc.oneof(
    { weight: 5, arbitrary: fc.string({ unit, minLength: min, maxLength: maxShort }) },
    { weight: 1, arbitrary: fc.string({ unit, minLength: min, maxLength: max }) },
  );
}

export function messageArb(options: ArbOptions = {}): fc.Arbitrary<IsoMessage> {
  const numbers = options.fields ?? Object.keys(FIELDS).map(Number);
  const record: Record<string, fc.Arbitrary<string | Uint8Array>> = {};
  for (const n of numbers) record[String(n)] = valueArb(FIELDS[n]!, options);
  return fc.record({
    mti: fc.constantFrom(...SUPPORTED_MTIS),
    fields: fc.record(record, { requiredKeys: [] }),
  }) as unknown as fc.Arbitrary<IsoMessage>;
}
