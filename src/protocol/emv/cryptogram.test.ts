import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { concatBytes, fromHex as h, toHex } from '../bytes.js';
import { ProtocolError } from '../errors.js';
import { deriveIccMasterKeyA, keyCheckValue } from './keys.js';
import {
  CVNS,
  arpcMethod,
  arpcMethod1,
  arpcMethod2,
  cryptogramData,
  cryptogramInput,
  generateArpc,
  generateArqc,
  parseIad,
  sessionKey,
  verifyArpc,
  verifyArqc,
  type CryptogramInput,
  type Cvn,
} from './cryptogram.js';
import { EMV_VECTORS as V } from './test-vectors.js';

const RUNS = 300;

function input(icc: Record<string, string>, iad: string): CryptogramInput {
  const map = new Map<string, Uint8Array>(Object.entries(icc).map(([k, v]) => [k, h(v)]));
  map.set('9F10', h(iad));
  return cryptogramInput(map);
}

const mk = h(V.mk);
const visa10 = input(V.visa.icc, V.visa.cvn10.iad);
const visa18 = input(V.visa.icc, V.visa.cvn18.iad);
const mc16 = input(V.mastercard.icc, V.mastercard.cvn16.iad);
const mc20 = input(V.mastercard.icc, V.mastercard.cvn20.iad);

test('Visa CVN 10: ARQC and ARPC method 1 (MK)', () => {
  const arqc = generateArqc(10, mk, visa10);
  assert.equal(toHex(arqc), V.visa.cvn10.arqc);
  assert.equal(verifyArqc(10, mk, visa10, arqc), true);
  assert.equal(toHex(generateArpc(10, mk, visa10, arqc, { arc: h(V.visa.cvn10.arc) })), V.visa.cvn10.arpc);
  assert.equal(toHex(arpcMethod1(mk, arqc, h(V.visa.cvn10.arc))), V.visa.cvn10.arpc);
  assert.equal(toHex(cryptogramData(10, visa10).subarray(-4)), V.visa.cvn10.cvr);
});

test('Visa CVN 18: session key + KCV, ARQC, ARPC method 2', () => {
  const sk = sessionKey(18, mk, visa18);
  assert.equal(toHex(sk), V.visa.cvn18.sk);
  assert.equal(toHex(keyCheckValue(sk)), V.visa.cvn18.skKcv);
  const arqc = generateArqc(18, mk, visa18);
  assert.equal(toHex(arqc), V.visa.cvn18.arqc);
  assert.equal(verifyArqc(18, mk, visa18, arqc), true);
  assert.equal(toHex(generateArpc(18, mk, visa18, arqc, { csu: h(V.visa.cvn18.csu) })), V.visa.cvn18.arpc);
  assert.equal(toHex(generateArpc(18, mk, visa18, arqc, {})), V.visa.cvn18.arpc); // CSU defaults to 00000000
  assert.equal(toHex(arpcMethod2(sk, arqc, h(V.visa.cvn18.csu))), V.visa.cvn18.arpc);
  assert.equal(arpcMethod(18), 2);
});

test('Mastercard CVN 16: session key KCV, ARQC, ARPC method 1 (MK)', () => {
  assert.equal(toHex(keyCheckValue(sessionKey(16, mk, mc16))), V.mastercard.cvn16.skKcv);
  const arqc = generateArqc(16, mk, mc16);
  assert.equal(toHex(arqc), V.mastercard.cvn16.arqc);
  assert.equal(verifyArqc(16, mk, mc16, arqc), true);
  assert.equal(toHex(generateArpc(16, mk, mc16, arqc, { arc: h(V.mastercard.arc) })), V.mastercard.cvn16.arpc);
  assert.equal(toHex(cryptogramData(16, mc16).subarray(-6)), V.mastercard.cvr);
});

test('Mastercard CVN 20: session key KCV, ARQC, ARPC method 1 (session key)', () => {
  const sk = sessionKey(20, mk, mc20);
  assert.equal(toHex(keyCheckValue(sk)), V.mastercard.cvn20.skKcv);
  const arqc = generateArqc(20, mk, mc20);
  assert.equal(toHex(arqc), V.mastercard.cvn20.arqc);
  assert.equal(verifyArqc(20, mk, mc20, arqc), true);
  assert.equal(toHex(generateArpc(20, mk, mc20, arqc, { arc: h(V.mastercard.arc) })), V.mastercard.cvn20.arpc);
  assert.equal(toHex(arpcMethod1(sk, arqc, h(V.mastercard.arc))), V.mastercard.cvn20.arpc);
});

test('the vectors end to end from the IMK', () => {
  const derived = deriveIccMasterKeyA(h(V.imk), V.pan, V.psn);
  assert.equal(toHex(generateArqc(18, derived, visa18)), V.visa.cvn18.arqc);
  assert.equal(toHex(generateArqc(16, derived, mc16)), V.mastercard.cvn16.arqc);
});

test('cryptogram data layouts: CVN 17/21 add the 8-byte counters; CVN 22 covers all of 9F10', () => {
  const counters = '0102030405060708';
  const mc17 = input(V.mastercard.icc, '0111A000032200000000' + counters);
  const mc21 = input(V.mastercard.icc, '0115A000032200000000' + counters + 'FFFF');
  assert.equal(toHex(cryptogramData(17, mc17).subarray(-14)), V.mastercard.cvr + counters);
  assert.equal(toHex(cryptogramData(21, mc21).subarray(-14)), V.mastercard.cvr + counters);
  assert.equal(cryptogramData(17, mc17).length, 33 + 14); // 33 bytes of terminal data
  const visa22 = input(V.visa.icc, '06011603A0B800' + '0A0B0C');
  assert.equal(toHex(cryptogramData(22, visa22).subarray(-10)), '06011603A0B8000A0B0C');
  // CVN 17 uses the Mastercard session key and MK for the ARPC; CVN 21 the common key for both.
  const arqc17 = generateArqc(17, mk, mc17);
  assert.deepEqual(generateArpc(17, mk, mc17, arqc17, { arc: h('0010') }), arpcMethod1(mk, arqc17, h('0010')));
  const arqc21 = generateArqc(21, mk, mc21);
  assert.deepEqual(generateArpc(21, mk, mc21, arqc21, { arc: h('0010') }), arpcMethod1(sessionKey(21, mk, mc21), arqc21, h('0010')));
  assert.deepEqual(sessionKey(21, mk, mc21), sessionKey(20, mk, mc20));
});

test('parseIad splits both layouts and checks the CVN byte', () => {
  assert.deepEqual(parseIad(18, h(V.visa.cvn18.iad)), { dki: 1, cvn: 0x12, cvr: h('03A0B800') });
  const mc = parseIad(17, h('0211A00003220000AABB0102030405060708'));
  assert.equal(mc.dki, 2);
  assert.equal(toHex(mc.cvr), 'A00003220000');
  assert.equal(toHex(mc.dac!), 'AABB');
  assert.equal(toHex(mc.counters!), '0102030405060708');
  assert.throws(() => parseIad(18, h(V.visa.cvn10.iad)), (e: unknown) => e instanceof ProtocolError && e.code === 'emv_cvn_mismatch');
  assert.throws(() => parseIad(17, h(V.mastercard.cvn16.iad)), (e: unknown) => e instanceof ProtocolError && e.code === 'emv_bad_iad');
  assert.throws(() => parseIad(10, h('06010A03A0')), (e: unknown) => e instanceof ProtocolError && e.code === 'emv_bad_iad');
});

test('input errors are typed and echo no values', () => {
  const map = new Map(Object.entries(V.visa.icc).map(([k, v]) => [k, h(v)]));
  assert.throws(() => cryptogramInput(map), (e: unknown) => e instanceof ProtocolError && e.code === 'emv_missing_tag' && e.at === '9F10');
  map.set('9F10', h(V.visa.cvn18.iad));
  map.set('9F02', h('0000004000'));
  assert.throws(() => cryptogramInput(map), (e: unknown) => e instanceof ProtocolError && e.code === 'emv_bad_tag_length' && !e.message.includes('4000'));
  assert.throws(() => generateArqc(10, mk.subarray(0, 8), visa10), (e: unknown) => e instanceof ProtocolError && e.code === 'emv_bad_key_length');
  assert.throws(() => generateArqc(19 as Cvn, mk, visa10), (e: unknown) => e instanceof ProtocolError && e.code === 'emv_unsupported_cvn');
  assert.throws(() => generateArpc(16, mk, mc16, h(V.mastercard.cvn16.arqc), {}), (e: unknown) => e instanceof ProtocolError && e.code === 'emv_bad_arc');
  assert.throws(() => arpcMethod2(mk, h('00'), h('00000000')), (e: unknown) => e instanceof ProtocolError && e.code === 'emv_bad_arqc');
  assert.throws(() => arpcMethod2(mk, h(V.visa.cvn18.arqc), h('00000000'), new Uint8Array(9)), (e: unknown) => e instanceof ProtocolError && e.code === 'emv_bad_proprietary_data');
  assert.equal(verifyArqc(18, mk, visa18, h(V.visa.cvn18.arqc).subarray(0, 7)), false);
});

// --- Properties ----------------------------------------------------------------------------------

const bytes = (n: number) => fc.uint8Array({ minLength: n, maxLength: n });

function iadFor(cvn: Cvn, dki: number, cvr: Uint8Array, extra: Uint8Array): Uint8Array {
  if (cvn === 10 || cvn === 18 || cvn === 22) return concatBytes(Uint8Array.of(6, dki, cvn), cvr.subarray(0, 4), extra);
  return concatBytes(Uint8Array.of(dki, cvn), cvr, extra.length >= 10 ? extra : concatBytes(extra, new Uint8Array(10 - extra.length)));
}

const transaction = fc.record({
  cvn: fc.constantFrom(...CVNS),
  mk: bytes(16),
  '9F02': bytes(6), '9F03': bytes(6), '9F1A': bytes(2), '95': bytes(5), '5F2A': bytes(2), '9A': bytes(3),
  '9C': bytes(1), '9F37': bytes(4), '82': bytes(2), '9F36': bytes(2),
  dki: fc.integer({ min: 0, max: 255 }),
  cvr: bytes(6),
  extra: fc.uint8Array({ maxLength: 20 }),
}).map((t) => {
  const { cvn, mk: key, dki, cvr, extra, ...tags } = t;
  return { cvn, mk: key, input: { ...tags, '9F10': iadFor(cvn, dki, cvr, extra) } as CryptogramInput };
});

test('a generated ARQC verifies, and its ARPC verifies on the card side (property)', () => {
  fc.assert(
    fc.property(transaction, bytes(2), bytes(4), ({ cvn, mk: key, input: tx }, arc, csu) => {
      const arqc = generateArqc(cvn, key, tx);
      assert.equal(verifyArqc(cvn, key, tx, arqc), true);
      const response = { arc, csu };
      const arpc = generateArpc(cvn, key, tx, arqc, response);
      assert.equal(arpc.length, arpcMethod(cvn) === 1 ? 8 : 4);
      assert.equal(verifyArpc(cvn, key, tx, arqc, response, arpc), true);
    }),
    { numRuns: RUNS },
  );
});

test('verification fails on any single changed byte of amount, UN, ATC or ARQC (property)', () => {
  const change = fc.record({
    field: fc.constantFrom('9F02', '9F37', '9F36', 'arqc'),
    index: fc.nat(),
    delta: fc.integer({ min: 1, max: 255 }),
  });
  fc.assert(
    fc.property(transaction, change, ({ cvn, mk: key, input: tx }, { field, index, delta }) => {
      const arqc = generateArqc(cvn, key, tx);
      const target = field === 'arqc' ? Uint8Array.from(arqc) : Uint8Array.from(tx[field as '9F02' | '9F37' | '9F36']);
      target[index % target.length]! ^= delta;
      const ok = field === 'arqc' ? verifyArqc(cvn, key, tx, target) : verifyArqc(cvn, key, { ...tx, [field]: target }, arqc);
      assert.equal(ok, false);
    }),
    { numRuns: RUNS },
  );
});

test('verifyArpc refuses a changed ARPC or ARC (property)', () => {
  fc.assert(
    fc.property(transaction, bytes(2), fc.nat(), fc.integer({ min: 1, max: 255 }), ({ cvn, mk: key, input: tx }, arc, index, delta) => {
      const arqc = generateArqc(cvn, key, tx);
      const arpc = generateArpc(cvn, key, tx, arqc, { arc });
      const bad = Uint8Array.from(arpc);
      bad[index % bad.length]! ^= delta;
      assert.equal(verifyArpc(cvn, key, tx, arqc, { arc }, bad), false);
      if (arpcMethod(cvn) === 1) {
        const otherArc = Uint8Array.from(arc);
        otherArc[index % 2]! ^= delta;
        assert.equal(verifyArpc(cvn, key, tx, arqc, { arc: otherArc }, arpc), false);
      }
    }),
    { numRuns: 100 },
  );
});
