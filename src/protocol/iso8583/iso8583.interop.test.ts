// Cross-check against an independent implementation: the npm package `iso_8583` (zemuldo), configured
// for this wire profile (ASCII MTI, binary bitmaps, ASCII LL/LLL prefixes, binary fixed fields raw).
//
// Where it differs from our profile, and how the test deals with it:
// - it always writes a primary + secondary bitmap (bit 1 set, 16 bytes) even without fields above 64:
//   our unpacker accepts an empty secondary bitmap, and the comparison is by fields, not bytes;
// - fixed binary fields (DE 52, 64, 128) are given to it as hex with MaxLen in hex digits and written
//   raw: configured below, compared exactly;
// - variable-length fields are strings written as UTF-8, so DE 55 (raw bytes, LLLVAR counting bytes)
//   cannot be fed to it byte for byte. Our → theirs: it slices DE 55 by the same byte count (checked
//   through the fields after it and the UTF-8 view of the bytes). Theirs → ours: DE 55 values are
//   restricted to bytes below 80 (so its string and our bytes coincide);
// - DE 127 is a Postilion-specific structure to it (subfields with their own bitmap), so it is left out;
// - its character checks are narrower than ours (`ans` without @ # \, `an` without space): values are
//   generated from its sets when it does the packing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import fc from 'fast-check';
import { toHex } from '../bytes.js';
import { packMessage, unpackMessage, type IsoMessage } from './iso8583.js';
import { FIELDS } from './spec.js';
import { messageArb } from './arbitraries.test-helper.js';

interface TheirFormat {
  ContentType: string;
  Label: string;
  LenType: 'fixed' | 'llvar' | 'lllvar';
  MaxLen: number;
}
interface TheirMessage {
  getRawMessage(): Buffer | { error: string };
  getIsoJSON(buffer: Buffer, config: { lenHeader: boolean }): Record<string, string> | { error: string };
}
type TheirConstructor = new (msg?: Record<string, string>, formats?: Record<string, TheirFormat>) => TheirMessage;

const require = createRequire(import.meta.url);
const Iso8583 = require('iso_8583') as TheirConstructor;

const COMPARED = Object.keys(FIELDS).map(Number).filter((n) => n !== 127);

/** Our field table expressed in their configuration language. */
const THEIR_FORMATS: Record<string, TheirFormat> = Object.fromEntries(
  COMPARED.map((n) => {
    const spec = FIELDS[n]!;
    const fixedBinary = spec.format === 'b' && spec.lengthType === 'fixed';
    const format: TheirFormat = {
      ContentType: spec.format === 'b' ? (fixedBinary ? 'b' : 'z') : spec.format === 'an' ? 'ans' : spec.format,
      Label: spec.name,
      LenType: spec.lengthType,
      MaxLen: fixedBinary ? spec.length * 2 : spec.length,
    };
    return [String(n), format];
  }),
);

function toTheirs(msg: IsoMessage): Record<string, string> {
  const out: Record<string, string> = { 0: msg.mti };
  for (const [k, v] of Object.entries(msg.fields)) {
    out[k] = v instanceof Uint8Array ? (FIELDS[Number(k)]!.lengthType === 'fixed' ? toHex(v) : Buffer.from(v).toString('latin1')) : v;
  }
  return out;
}

function theirPack(msg: IsoMessage): Uint8Array {
  const raw = new Iso8583(toTheirs(msg), THEIR_FORMATS).getRawMessage();
  if (!Buffer.isBuffer(raw)) throw new Error(`iso_8583 refused to pack: ${raw.error}`);
  return new Uint8Array(raw);
}

function theirUnpack(bytes: Uint8Array): Record<string, string> {
  const json = new Iso8583(undefined, THEIR_FORMATS).getIsoJSON(Buffer.from(bytes), { lenHeader: false });
  if ('error' in json && typeof json.error === 'string') throw new Error(`iso_8583 refused to unpack: ${json.error}`);
  return json as Record<string, string>;
}

function assertTheySee(ours: IsoMessage, theirs: Record<string, string>): void {
  assert.equal(theirs['0'], ours.mti);
  const keys = Object.keys(theirs).filter((k) => k !== '0').map(Number).sort((a, b) => a - b);
  assert.deepEqual(keys, Object.keys(ours.fields).map(Number).sort((a, b) => a - b));
  for (const [k, v] of Object.entries(ours.fields)) {
    const n = Number(k);
    if (!(v instanceof Uint8Array)) assert.equal(theirs[k], v, `DE ${n}`);
    else if (FIELDS[n]!.lengthType === 'fixed') assert.equal(theirs[k]!.toUpperCase(), toHex(v), `DE ${n}`);
    else assert.equal(theirs[k], Buffer.from(v).toString('utf8'), `DE ${n} (as their UTF-8 view)`);
  }
}

const RUNS = 300;

test('a realistic authorization packed by us is read identically by iso_8583', () => {
  const msg: IsoMessage = {
    mti: '0100',
    fields: {
      2: '4761739001010119', 3: '000000', 4: '000000001000', 7: '0301120000', 11: '000123', 22: '071', 25: '00',
      41: 'TERM0001', 42: 'MERCHANT0000001', 48: '2603TSW420205', 49: '978',
      55: Uint8Array.from(Buffer.from('9F2608CC297291B6D757E49F2701809F36020363', 'hex')),
      90: '010000012303011200000000000001234500000000', 128: Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8),
    },
  };
  const theirs = theirUnpack(packMessage(msg));
  assertTheySee(msg, theirs);
  assert.equal(theirs['90'], msg.fields[90]); // the field after the binary DE 55 is aligned
});

test('a message packed by iso_8583 is read identically by us (including its always-present secondary bitmap)', () => {
  const msg: IsoMessage = {
    mti: '0110',
    fields: { 2: '4761739001010119', 3: '000000', 4: '000000001000', 11: '000123', 38: 'A1B2C3', 39: '00', 41: 'TERM0001', 49: '978', 52: Uint8Array.of(0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef), 55: Uint8Array.from(Buffer.from('5F2A0209785F340100', 'hex')) },
  };
  const bytes = theirPack(msg);
  assert.equal(bytes[4]! & 0x80, 0x80, 'they always announce a secondary bitmap');
  const ours = unpackMessage(bytes);
  assert.deepEqual(ours, msg);
});

test(`property: ${RUNS} generated messages packed by us are read by iso_8583 with the same fields`, () => {
  fc.assert(
    fc.property(messageArb({ fields: COMPARED, minVarLength: 1 }), (msg) => {
      assertTheySee(msg, theirUnpack(packMessage(msg)));
    }),
    { numRuns: RUNS },
  );
});

test(`property: ${RUNS} generated messages packed by iso_8583 are read by us with the same fields`, () => {
  const theirAns = Array.from({ length: 0x7f - 0x20 }, (_, k) => String.fromCharCode(0x20 + k)).filter((c) => !'@#\\'.includes(c)).join('');
  const arb = messageArb({
    fields: COMPARED,
    minVarLength: 1,
    chars: { ans: theirAns, an: '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz' },
    varBytes: fc.integer({ min: 0x00, max: 0x7f }),
  });
  fc.assert(
    fc.property(arb, (msg) => {
      // Their packer skips empty values and treats 0-length strings as absent: generated values are non-empty.
      const ours = unpackMessage(theirPack(msg));
      assert.equal(ours.mti, msg.mti);
      assert.deepEqual(
        Object.fromEntries(Object.entries(ours.fields).map(([k, v]) => [k, v instanceof Uint8Array ? toHex(v) : v])),
        Object.fromEntries(Object.entries(msg.fields).map(([k, v]) => [k, v instanceof Uint8Array ? toHex(v) : v])),
      );
    }),
    { numRuns: RUNS },
  );
});
