import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { fromHex as h, toHex } from '../bytes.js';
import { ProtocolError } from '../errors.js';
import { Des, TripleDes } from '../crypto/des.js';
import { RetailMac, macAlgorithm3, padIso9797 } from './mac.js';
import { EMV_VECTORS as V } from './test-vectors.js';

test('MAC algorithm 3, padding 2 (pyemv vector)', () => {
  assert.equal(toHex(macAlgorithm3(h(V.macAlone.key), h(V.macAlone.data), 2)), V.macAlone.mac);
  assert.equal(toHex(new RetailMac(h(V.macAlone.key)).mac(h(V.macAlone.data), 2)), V.macAlone.mac);
});

test('padding methods 1 and 2', () => {
  assert.equal(toHex(padIso9797(h(''), 1)), '0000000000000000');
  assert.equal(toHex(padIso9797(h('01'), 1)), '0100000000000000');
  assert.equal(toHex(padIso9797(h('0102030405060708'), 1)), '0102030405060708');
  assert.equal(toHex(padIso9797(h(''), 2)), '8000000000000000');
  assert.equal(toHex(padIso9797(h('0102030405060708'), 2)), '01020304050607088000000000000000');
  assert.equal(toHex(padIso9797(h('01020304050607'), 2)), '0102030405060780');
  assert.throws(() => padIso9797(h('01'), 3 as 1), ProtocolError);
});

test('MAC algorithm 3 = DES-CBC under K then 3DES(K‖K′) on the last block (property)', () => {
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), fc.uint8Array({ maxLength: 64 }), fc.constantFrom(1 as const, 2 as const), (key, data, padding) => {
      const padded = padIso9797(data, padding);
      const cbc = new Des(key.subarray(0, 8)).encryptCbc(padded.subarray(0, padded.length - 8));
      const chain = cbc.length > 0 ? cbc.subarray(cbc.length - 8) : new Uint8Array(8);
      const last = padded.subarray(padded.length - 8).map((b, i) => b ^ chain[i]!);
      assert.deepEqual(macAlgorithm3(key, data, padding), new TripleDes(key).encryptBlock(last));
    }),
    { numRuns: 300 },
  );
});

test('MAC key must be 16 bytes', () => {
  assert.throws(() => new RetailMac(new Uint8Array(24)), (err: unknown) => err instanceof ProtocolError && err.code === 'mac_bad_key_length');
});
