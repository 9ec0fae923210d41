import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { fromHex, toHex } from '../bytes.js';
import { ProtocolError } from '../errors.js';
import { generateOnlineCryptogram, merchantBinding, onlineUnpredictableNumber, parseOnlineCryptogram, verifyOnlineCryptogram, type OnlineKeyScheme } from './online-cryptogram.js';

const MK = fromHex('0123456789ABCDEFFEDCBA9876543210');
const SCHEMES: OnlineKeyScheme[] = ['3des', 'A1', 'D1'];

test('layout: version, flags, ATC, UN = SHA-256(nonce)[0..4], merchant = SHA-256(id)[0..4], 8-byte MAC', async () => {
  const nonce = new Uint8Array(32).fill(7);
  const un = await onlineUnpredictableNumber(nonce);
  const merchant = await merchantBinding('merchant.test.spreedly.123merchant');
  assert.equal(toHex(merchant), '358DA589');
  const c = await generateOnlineCryptogram('3des', MK, { atc: 0x0102, un, merchant, amount: 1234, currency: '840' });
  assert.equal(c.length, 20);
  const p = parseOnlineCryptogram(c);
  assert.deepEqual([p.version, p.flags, p.atc], [1, 0x80, 0x0102]);
  assert.deepEqual(p.un, un);
  assert.deepEqual(p.merchant, merchant);
  // Deterministic for the same inputs.
  assert.deepEqual(await generateOnlineCryptogram('3des', MK, { atc: 0x0102, un, merchant, amount: 1234, currency: '840' }), c);
});

test('verifies for its amount, currency and key only; any flipped bit fails (property)', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.constantFrom(...SCHEMES),
      fc.integer({ min: 0, max: 0xffff }),
      fc.uint8Array({ minLength: 4, maxLength: 4 }),
      fc.uint8Array({ minLength: 4, maxLength: 4 }),
      fc.integer({ min: 0, max: 999_999_999_999 }),
      fc.integer({ min: 0, max: 159 }),
      async (scheme, atc, un, merchant, amount, bit) => {
        const c = await generateOnlineCryptogram(scheme, MK, { atc, un, merchant, amount, currency: '978' });
        assert.equal(await verifyOnlineCryptogram(scheme, MK, c, amount, '978'), true);
        assert.equal(await verifyOnlineCryptogram(scheme, MK, c, amount === 0 ? 1 : amount - 1, '978'), false);
        assert.equal(await verifyOnlineCryptogram(scheme, MK, c, amount, '840'), false);
        const other = Uint8Array.from(MK);
        other[0]! ^= 0x02;
        assert.equal(await verifyOnlineCryptogram(scheme, other, c, amount, '978'), false);
        const flipped = Uint8Array.from(c);
        flipped[Math.floor(bit / 8)]! ^= 1 << bit % 8;
        let ok: boolean;
        try {
          ok = await verifyOnlineCryptogram(scheme, MK, flipped, amount, '978');
        } catch (err) {
          ok = false;
          assert.ok(err instanceof ProtocolError);
        }
        assert.equal(ok, false);
      },
    ),
    { numRuns: 200 },
  );
});

test('3DES and AES schemes, and the two AES CVNs, give different cryptograms', async () => {
  const f = { atc: 9, un: fromHex('01020304'), merchant: fromHex('0A0B0C0D'), amount: 500, currency: '840' };
  const all = await Promise.all(SCHEMES.map((s) => generateOnlineCryptogram(s, MK, f)));
  assert.equal(new Set(all.map(toHex)).size, 3);
});

test('bad input is a ProtocolError, never a value in the message', async () => {
  assert.throws(() => parseOnlineCryptogram(new Uint8Array(19)), ProtocolError);
  assert.throws(() => parseOnlineCryptogram(Uint8Array.of(2, ...new Uint8Array(19))), ProtocolError);
  await assert.rejects(generateOnlineCryptogram('3des', MK, { atc: 70000, un: new Uint8Array(4), merchant: new Uint8Array(4), amount: 1, currency: '840' }), ProtocolError);
  await assert.rejects(generateOnlineCryptogram('3des', MK, { atc: 1, un: new Uint8Array(3), merchant: new Uint8Array(4), amount: 1, currency: '840' }), ProtocolError);
  await assert.rejects(generateOnlineCryptogram('3des', MK, { atc: 1, un: new Uint8Array(4), merchant: new Uint8Array(4), amount: 1, currency: 'USD' }), ProtocolError);
  await assert.rejects(generateOnlineCryptogram('3des', new Uint8Array(8), { atc: 1, un: new Uint8Array(4), merchant: new Uint8Array(4), amount: 1, currency: '840' }), ProtocolError);
  await assert.rejects(onlineUnpredictableNumber(new Uint8Array(4)), ProtocolError);
});
