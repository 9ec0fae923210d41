import { parse } from '../args.js';
import { UsageError } from '../errors.js';
import { fromHex, toHex } from '../../protocol/bytes.js';
import { ProtocolError } from '../../protocol/errors.js';
import { describeMessage, packMessage, unpackMessage, type IsoMessage } from '../../protocol/iso8583/iso8583.js';
import { FIELDS } from '../../protocol/iso8583/spec.js';

const USAGE = 'usage: tessera iso8583 decode <hex> [--unmasked] | tessera iso8583 encode <json>';

/** The JSON shape `decode` prints (binary fields as hex) back into a message. */
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
  for (const [key, value] of Object.entries(fields)) {
    if (!/^[1-9]\d{0,2}$/.test(key)) throw new UsageError('field keys must be data element numbers');
    if (typeof value !== 'string') throw new UsageError(`DE ${key} must be a string`);
    const n = Number(key);
    const spec = FIELDS[n];
    if (!spec) throw new ProtocolError('iso8583_unknown_field', `DE ${n} is not in this profile`, `DE ${n}`);
    out[n] = spec.format === 'b' ? fromHex(value, `DE ${n}`) : value;
  }
  return { mti, fields: out };
}

/** `tessera iso8583 decode <hex> [--unmasked]` and `tessera iso8583 encode <json>`. */
export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, {
    unmasked: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const [sub, input, ...extra] = positionals;
  if (input === undefined || extra.length > 0) throw new UsageError(USAGE);
  if (sub === 'decode') {
    const msg = unpackMessage(fromHex(input.replace(/\s+/g, ''), 'message'));
    process.stdout.write(`${JSON.stringify(describeMessage(msg, { unmasked: values.unmasked === true }), null, 2)}\n`);
    return 0;
  }
  if (sub === 'encode') {
    if (values.unmasked) throw new UsageError('--unmasked applies to decode only');
    process.stdout.write(`${toHex(packMessage(messageFromJson(input)))}\n`);
    return 0;
  }
  throw new UsageError(USAGE);
}
