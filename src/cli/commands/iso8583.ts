import { readFileSync } from 'node:fs';
import { parse } from '../args.js';
import { UsageError } from '../errors.js';
import { fromHex, toHex } from '../../protocol/bytes.js';
import { ProtocolError } from '../../protocol/errors.js';
import { describeMessage, packMessage, unpackMessage, type IsoMessage } from '../../protocol/iso8583/iso8583.js';
import { FIELDS } from '../../protocol/iso8583/spec.js';

const USAGE = 'usage: tessera iso8583 decode <hex> [--unmasked] | tessera iso8583 decode --trace FILE [--unmasked] | tessera iso8583 encode <json> (see --help)';

/** A decoded message as printed: each field by number with its name (spec.ts) and its value. */
interface NamedMessage {
  mti: string;
  fields: Record<string, { name: string; value: string }>;
}

/** The JSON shape `decode` prints (binary fields as hex; values as strings or `{name, value}`) back into a message. */
function messageFromJson(text: string): IsoMessage {
  let input: unknown;
  try {
    input = JSON.parse(text);
  } catch {
    throw new UsageError('input is not valid JSON');
  }
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new UsageError('input must be a JSON object {"mti": ..., "fields": {...}}');
  }
  const { mti, fields } = input as { mti?: unknown; fields?: unknown };
  if (typeof mti !== 'string') throw new UsageError('"mti" must be a string');
  if (typeof fields !== 'object' || fields === null || Array.isArray(fields)) throw new UsageError('"fields" must be an object');
  const out: Record<number, string | Uint8Array> = {};
  for (const [key, raw] of Object.entries(fields)) {
    if (!/^[1-9]\d{0,2}$/.test(key)) throw new UsageError('field keys must be data element numbers');
    const value = typeof raw === 'object' && raw !== null && 'value' in raw ? (raw as { value: unknown }).value : raw;
    if (typeof value !== 'string') throw new UsageError(`DE ${key} must be a string (or {"value": string})`);
    const n = Number(key);
    const spec = FIELDS[n];
    if (!spec) throw new ProtocolError('iso8583_unknown_field', `DE ${n} is not in this profile`, `DE ${n}`);
    out[n] = spec.format === 'b' ? fromHex(value, `DE ${n}`) : value;
  }
  return { mti, fields: out };
}

function named(msg: IsoMessage, unmasked: boolean, masked?: Map<number, number[]>): NamedMessage {
  const described = describeMessage(msg, { unmasked });
  const fields: NamedMessage['fields'] = {};
  for (const [key, shown] of Object.entries(described.fields)) {
    const n = Number(key);
    let value = shown;
    // Characters the trace had masked stay masked, whatever --unmasked says: they are not in the file.
    const stars = masked?.get(n);
    if (stars && value.length === String(msg.fields[n]).length) {
      const chars = [...value];
      for (const i of stars) chars[i] = '*';
      value = chars.join('');
    }
    fields[key] = { name: FIELDS[n]?.name ?? 'unknown', value };
  }
  return { mti: described.mti, fields };
}

/**
 * Unpacks a message from a trace, where card digits were replaced by '*' (src/infra/trace.ts maskIsoHex):
 * the stars are read as digits to get past the format checks, then put back, per field, where they were.
 * Binary fields keep their own bytes (a 0x2A there is data, not a mask).
 */
function unpackMasked(bytes: Uint8Array): { msg: IsoMessage; masked: Map<number, number[]> } {
  const starAt = new Set<number>();
  bytes.forEach((b, i) => {
    if (b === 0x2a) starAt.add(i);
  });
  if (starAt.size === 0) return { msg: unpackMessage(bytes), masked: new Map() };
  const msg = unpackMessage(bytes.map((b) => (b === 0x2a ? 0x30 : b)));
  const masked = new Map<number, number[]>();
  const fields: Record<number, string | Uint8Array> = {};
  let offset = 4 + ((bytes[4]! & 0x80) !== 0 ? 16 : 8);
  for (const n of Object.keys(msg.fields).map(Number).sort((a, b) => a - b)) {
    const spec = FIELDS[n]!;
    const value = msg.fields[n]!;
    const start = offset + (spec.lengthType === 'llvar' ? 2 : spec.lengthType === 'lllvar' ? 3 : 0);
    offset = start + value.length;
    if (value instanceof Uint8Array) {
      fields[n] = bytes.slice(start, offset);
      continue;
    }
    fields[n] = value;
    const stars: number[] = [];
    for (let i = 0; i < value.length; i++) if (starAt.has(start + i)) stars.push(i);
    if (stars.length > 0) masked.set(n, stars);
  }
  return { msg: { mti: msg.mti, fields }, masked };
}

/** Pretty JSON with one line per field: `"2": { "name": "primary account number", "value": "476173******0119" }`. */
function formatJson(value: unknown, indent = ''): string {
  if (Array.isArray(value)) return `[\n${value.map((v) => `${indent}  ${formatJson(v, `${indent}  `)}`).join(',\n')}\n${indent}]`;
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
  const inner = `${indent}  `;
  return `{\n${entries
    .map(([k, v]) => {
      const field = k !== 'fields' && typeof v === 'object' && v !== null && 'name' in v && 'value' in v;
      const text = field ? `{ "name": ${JSON.stringify((v as { name: string }).name)}, "value": ${JSON.stringify((v as { value: string }).value)} }` : formatJson(v, inner);
      return `${inner}${JSON.stringify(k)}: ${text}`;
    })
    .join(',\n')}\n${indent}}`;
}

interface TraceLine {
  ts?: unknown;
  from?: unknown;
  to?: unknown;
  protocol?: unknown;
  hex?: unknown;
}

/** Every ISO 8583 message of a `--trace` file (JSON Lines from src/infra/trace.ts), decoded, with who sent it to whom. */
function decodeTrace(file: string, unmasked: boolean): unknown[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const code = err && typeof err === 'object' && 'code' in err ? ` (${String(err.code)})` : '';
    throw new UsageError(`cannot read --trace ${file}${code}`);
  }
  const out: unknown[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === '') continue;
    let event: TraceLine;
    try {
      event = JSON.parse(line) as TraceLine;
    } catch {
      throw new UsageError(`--trace ${file} line ${i + 1} is not JSON (expected the JSON Lines of scenario --trace)`);
    }
    if (event.protocol !== 'iso8583' || typeof event.hex !== 'string') continue;
    try {
      const { msg, masked } = unpackMasked(fromHex(event.hex, 'message'));
      out.push({ line: i + 1, ts: event.ts, from: event.from, to: event.to, ...named(msg, unmasked, masked) });
    } catch (err) {
      if (err instanceof ProtocolError) throw new UsageError(`--trace ${file} line ${i + 1}: ${err.message}`);
      throw err;
    }
  }
  if (out.length === 0) throw new UsageError(`--trace ${file} has no ISO 8583 message (a tap's trace has them: tessera scenario tap --trace FILE)`);
  return out;
}

/** `tessera iso8583 decode <hex> | --trace FILE [--unmasked]` and `tessera iso8583 encode <json>`. */
export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, { unmasked: { type: 'boolean' }, trace: { type: 'string' } });
  const [sub, input, ...extra] = positionals;
  const unmasked = values.unmasked === true;
  if (extra.length > 0) throw new UsageError(USAGE);
  if (sub === 'decode') {
    if (values.trace !== undefined) {
      if (input !== undefined) throw new UsageError('give a hex message or --trace FILE, not both');
      process.stdout.write(`${formatJson(decodeTrace(values.trace, unmasked))}\n`);
      return 0;
    }
    if (input === undefined) throw new UsageError(USAGE);
    // A hex copied from a trace may carry its masked digits: they decode as masked.
    const { msg, masked } = unpackMasked(fromHex(input.replace(/\s+/g, ''), 'message'));
    process.stdout.write(`${formatJson(named(msg, unmasked, masked))}\n`);
    return 0;
  }
  if (sub === 'encode') {
    if (input === undefined) throw new UsageError(USAGE);
    if (values.unmasked || values.trace !== undefined) throw new UsageError('--unmasked and --trace apply to decode only');
    process.stdout.write(`${toHex(packMessage(messageFromJson(input)))}\n`);
    return 0;
  }
  throw new UsageError(USAGE);
}
