import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { toHex } from '../bytes.js';
import { ProtocolError } from '../errors.js';
import { packMessage, unpackMessage, describeMessage, unframeMessages, frameMessage, packSubelements, parseSubelements } from './iso8583.js';
import { SUPPORTED_MTIS } from './spec.js';
import { messageArb } from './arbitraries.test-helper.js';

const FUZZ_RUNS = Number(process.env.FUZZ_RUNS ?? 100000);
const ROUND_TRIP_RUNS = 2000;

const normalise = (fields: Record<number, string | Uint8Array>): Record<string, string> =>
  Object.fromEntries(Object.entries(fields).map(([k, v]) => [k, v instanceof Uint8Array ? `b:${toHex(v)}` : `s:${v}`]));

test('round trip: unpack(pack(m)) equals m and pack(unpack(x)) === x for generated valid messages', () => {
  fc.assert(
    fc.property(messageArb(), (msg) => {
      const bytes = packMessage(msg);
      const back = unpackMessage(bytes);
      assert.equal(back.mti, msg.mti);
      assert.deepEqual(normalise(back.fields), normalise(msg.fields));
      assert.equal(toHex(packMessage(back)), toHex(bytes));
      describeMessage(back); // never throws on a valid message
      const { messages, rest } = unframeMessages(frameMessage(bytes));
      assert.equal(messages.length, 1);
      assert.equal(rest.length, 0);
    }),
    { numRuns: ROUND_TRIP_RUNS },
  );
});

test('round trip: DE 48 subelements', () => {
  const id = fc.integer({ min: 0, max: 99 }).map((n) => String(n).padStart(2, '0'));
  const value = fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength: 99 });
  fc.assert(
    fc.property(fc.dictionary(id, value, { maxKeys: 12 }), (dict) => {
      const packed = packSubelements(dict);
      assert.deepEqual(Object.fromEntries(parseSubelements(packed)), Object.fromEntries(Object.entries(dict)));
    }),
    { numRuns: ROUND_TRIP_RUNS },
  );
});

const mutationArb = fc.array(
  fc.record({
    kind: fc.constantFrom('flip', 'set', 'delete', 'insert', 'truncate'),
    at: fc.nat(),
    // digits half of the time, so that mutated length prefixes and numeric fields still often parse
    byte: fc.oneof(fc.integer({ min: 0x30, max: 0x39 }), fc.integer({ min: 0, max: 255 })),
  }),
  { minLength: 1, maxLength: 3 },
);

function mutate(input: Uint8Array, ops: { kind: string; at: number; byte: number }[]): Uint8Array {
  const b = [...input];
  for (const op of ops) {
    const at = b.length === 0 ? 0 : op.at % b.length;
    if (op.kind === 'flip' && b.length) b[at] = b[at]! ^ (1 << (op.byte & 7));
    else if (op.kind === 'set' && b.length) b[at] = op.byte;
    else if (op.kind === 'delete') b.splice(at, 1);
    else if (op.kind === 'insert') b.splice(at, 0, op.byte);
    else if (op.kind === 'truncate') b.length = at;
  }
  return Uint8Array.from(b);
}

test(`robustness: ${FUZZ_RUNS} random and mutated messages give a message or a ProtocolError`, { timeout: 600_000 }, () => {
  const started = performance.now();
  let parsed = 0;
  const pool = fc.sample(messageArb(), { numRuns: 300, seed: 7 }).map(packMessage);
  const mtiPrefixed = fc
    .tuple(fc.constantFrom(...SUPPORTED_MTIS), fc.uint8Array({ minLength: 8, maxLength: 200 }))
    .map(([mti, rest]) => Uint8Array.from([...mti].map((c) => c.charCodeAt(0)).concat([...rest])));
  const mutated = fc.tuple(fc.nat({ max: pool.length - 1 }), mutationArb).map(([k, ops]) => mutate(pool[k]!, ops));
  fc.assert(
    fc.property(
      fc.oneof({ weight: 1, arbitrary: fc.uint8Array({ maxLength: 200 }) }, { weight: 2, arbitrary: mtiPrefixed }, { weight: 5, arbitrary: mutated }),
      (bytes) => {
        try {
          const msg = unpackMessage(bytes);
          parsed++;
          // What unpacks is valid: it packs back to the same bytes unless the secondary bitmap was empty.
          const again = packMessage(msg);
          if (again.length === bytes.length) assert.equal(toHex(again), toHex(bytes));
          describeMessage(msg);
        } catch (err) {
          if (!(err instanceof ProtocolError)) throw err;
        }
      },
    ),
    { numRuns: FUZZ_RUNS },
  );
  console.log(`  iso8583: ${FUZZ_RUNS} runs (${parsed} unpacked) in ${Math.round(performance.now() - started)} ms`);
});
