import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError } from './errors.js';

type Options = NonNullable<ParseArgsConfig['options']>;

/** util.parseArgs with strict checking, whose failures become one-line usage errors (exit 2). */
export function parse<O extends Options>(argv: string[], options: O, allowPositionals = true) {
  try {
    return parseArgs({ args: argv, options, allowPositionals, strict: true });
  } catch (err) {
    throw new UsageError(err instanceof Error ? err.message.split('\n')[0]! : 'bad arguments');
  }
}

export function requireOption(values: Record<string, unknown>, name: string): string {
  const v = values[name];
  if (typeof v !== 'string' || v.length === 0) throw new UsageError(`--${name} is required`);
  return v;
}

export function hexOption(values: Record<string, unknown>, name: string, lengths: number[]): string {
  const v = requireOption(values, name);
  if (!/^[0-9a-fA-F]*$/.test(v) || !lengths.includes(v.length)) {
    throw new UsageError(`--${name} must be ${lengths.join(' or ')} hex digits`);
  }
  return v.toUpperCase();
}

export function intOption(values: Record<string, unknown>, name: string, min: number, max: number, fallback?: number): number {
  const v = values[name];
  if (v === undefined && fallback !== undefined) return fallback;
  if (typeof v !== 'string' || !/^\d+$/.test(v)) throw new UsageError(`--${name} must be a whole number`);
  const n = Number(v);
  if (n < min || n > max) throw new UsageError(`--${name} must be between ${min} and ${max}`);
  return n;
}
