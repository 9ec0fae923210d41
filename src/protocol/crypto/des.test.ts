import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createCipheriv, createDecipheriv } from 'node:crypto';
import fc from 'fast-check';
import { Des, TripleDes, adjustOddParity, hasOddParity, tripleDes } from './des.js';
import { fromHex as h, toHex, utf8 } from '../bytes.js';
import { ProtocolError } from '../errors.js';

const RUNS = 500;

test('DES: classic "Now is t" vector (key 0123456789ABCDEF)', () => {
  const des = new Des(h('0123456789ABCDEF'));
  assert.equal(toHex(des.encryptBlock(h('4E6F772069732074'))), '3FA40E8A984D4815');
  assert.equal(toHex(des.decryptBlock(h('3FA40E8A984D4815'))), '4E6F772069732074');
});

test('DES: textbook vector (key 133457799BBCDFF1)', () => {
  assert.equal(toHex(new Des(h('133457799BBCDFF1')).encryptBlock(h('0123456789ABCDEF'))), '85E813540F0AB405');
});

test('DES: FIPS 81 ECB and CBC examples ("Now is the time for all ")', () => {
  const des = new Des(h('0123456789ABCDEF'));
  const pt = utf8.encode('Now is the time for all ');
  assert.equal(toHex(des.encryptEcb(pt)), '3FA40E8A984D48156A271787AB8883F9893D51EC4B563B53');
  const iv = h('1234567890ABCDEF');
  const ct = des.encryptCbc(pt, iv);
  assert.equal(toHex(ct), 'E5C7CDDE872BF27C43E934008C389C0F683788499A7C05F6');
  assert.equal(utf8.decode(des.decryptCbc(ct, iv)), 'Now is the time for all ');
  assert.equal(utf8.decode(des.decryptEcb(des.encryptEcb(pt))), 'Now is the time for all ');
});

test('DES: weak-key and all-zero known answers', () => {
  // Known answers (NBS validation set): zero key / zero block, all-ones key / all-ones block.
  assert.equal(toHex(new Des(h('0000000000000000')).encryptBlock(h('0000000000000000'))), '8CA64DE9C1B123A7');
  assert.equal(toHex(new Des(h('FFFFFFFFFFFFFFFF')).encryptBlock(h('FFFFFFFFFFFFFFFF'))), '7359B2163E4EDC58');
});

test('3DES: NIST SP 800-67 three-key example', () => {
  const key = h('0123456789ABCDEF23456789ABCDEF01456789ABCDEF0123');
  const c = new TripleDes(key);
  const pt = utf8.encode('The qufck brown fox jump');
  const ct = c.encryptEcb(pt);
  assert.equal(toHex(ct), 'A826FD8CE53B855FCCE21C8112256FE668D5C05DD9B6B900');
  assert.equal(utf8.decode(c.decryptEcb(ct)), 'The qufck brown fox jump');
});

test('3DES with K1 = K2 (= K3) is single DES', () => {
  const k = h('0123456789ABCDEF');
  const single = new Des(k);
  const two = new TripleDes(h('0123456789ABCDEF0123456789ABCDEF'));
  const three = new TripleDes(h('0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF'));
  const block = h('4E6F772069732074');
  assert.deepEqual(two.encryptBlock(block), single.encryptBlock(block));
  assert.deepEqual(three.encryptBlock(block), single.encryptBlock(block));
});

function nodeCipher(name: string, key: Uint8Array, data: Uint8Array, decrypt: boolean, iv: Uint8Array | null = null): Uint8Array {
  const cipher = decrypt ? createDecipheriv(name, key, iv) : createCipheriv(name, key, iv);
  cipher.setAutoPadding(false);
  return new Uint8Array(Buffer.concat([cipher.update(data), cipher.final()]));
}

const bytes = (n: number) => fc.uint8Array({ minLength: n, maxLength: n });
const blocks = fc.integer({ min: 1, max: 6 }).chain((n) => bytes(8 * n));

test('3DES two-key and three-key ECB/CBC agree with OpenSSL (property)', () => {
  fc.assert(
    fc.property(fc.constantFrom(16, 24).chain((len) => bytes(len)), blocks, bytes(8), (key, data, iv) => {
      const ours = new TripleDes(key);
      const ecbName = key.length === 16 ? 'des-ede-ecb' : 'des-ede3-ecb';
      const cbcName = key.length === 16 ? 'des-ede-cbc' : 'des-ede3-cbc';
      const ecb = ours.encryptEcb(data);
      assert.deepEqual(ecb, nodeCipher(ecbName, key, data, false));
      assert.deepEqual(ours.decryptEcb(data), nodeCipher(ecbName, key, data, true));
      const cbc = ours.encryptCbc(data, iv);
      assert.deepEqual(cbc, nodeCipher(cbcName, key, data, false, iv));
      assert.deepEqual(ours.decryptCbc(cbc, iv), data);
      assert.deepEqual(ours.decryptEcb(ecb), data);
    }),
    { numRuns: RUNS },
  );
});

test('single DES decrypt inverts encrypt (property)', () => {
  fc.assert(
    fc.property(bytes(8), bytes(8), (key, block) => {
      const des = new Des(key);
      assert.deepEqual(des.decryptBlock(des.encryptBlock(block)), block);
    }),
    { numRuns: RUNS },
  );
});

test('parity bits do not change the cipher', () => {
  fc.assert(
    fc.property(bytes(16), bytes(8), (key, block) => {
      const flipped = key.map((b) => b ^ 1);
      assert.deepEqual(new TripleDes(key).encryptBlock(block), new TripleDes(flipped).encryptBlock(block));
    }),
    { numRuns: 100 },
  );
});

test('odd parity adjust', () => {
  assert.equal(toHex(adjustOddParity(h('0000FFFE0102'))), '0101FEFE0102');
  assert.equal(hasOddParity(h('0101FEFE0102')), true);
  assert.equal(hasOddParity(h('0000')), false);
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 24 }), (key) => {
      const adjusted = adjustOddParity(key);
      assert.equal(hasOddParity(adjusted), true);
      for (let i = 0; i < key.length; i++) assert.equal(adjusted[i]! & 0xfe, key[i]! & 0xfe);
    }),
  );
});

test('bad lengths are typed errors that do not echo the key', () => {
  const key = h('0123456789ABCDEF0123');
  for (const fn of [() => new Des(key), () => new TripleDes(key), () => new TripleDes(new Uint8Array(8))]) {
    assert.throws(fn, (err: unknown) => err instanceof ProtocolError && err.code === 'des_bad_key_length' && !err.message.includes('0123'));
  }
  const c = new TripleDes(new Uint8Array(16));
  assert.throws(() => c.encryptBlock(new Uint8Array(7)), (err: unknown) => err instanceof ProtocolError && err.code === 'des_bad_block');
  assert.throws(() => c.encryptEcb(new Uint8Array(9)), (err: unknown) => err instanceof ProtocolError && err.code === 'des_bad_length');
  assert.throws(() => c.encryptCbc(new Uint8Array(8), new Uint8Array(4)), (err: unknown) => err instanceof ProtocolError && err.code === 'des_bad_iv');
  assert.equal(tripleDes(c), c);
});
