import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fromHex } from '../protocol/bytes.js';
import { computeCvv, expiryYymm } from './cvv.js';

describe('card verification values (Visa CVV / Mastercard CVC method)', () => {
  it('matches published vectors', () => {
    // Vectors of the open-source psec library and of a worked example with every intermediate value.
    assert.equal(computeCvv(fromHex('0123456789ABCDEFFEDCBA9876543210'), '1234567890123456', '9912', '220'), '170');
    assert.equal(computeCvv(fromHex('99999999999999998888888888888888'), '2222222222222222', '3333', '111'), '361');
    assert.equal(computeCvv(fromHex('D676DCF3AFB7350532EAF00EA253D875'), '4123450990122129', '0721', '202', 4), '2410');
  });

  it('depends on every input', () => {
    const cvk = fromHex('0123456789ABCDEFFEDCBA9876543210');
    const base = computeCvv(cvk, '4111111111111111', '3012', '000');
    const variants = [
      computeCvv(cvk, '4111111111111129', '3012', '000'),
      computeCvv(cvk, '4111111111111111', '3011', '000'),
      computeCvv(cvk, '4111111111111111', '3012', '101'),
      // (A key that differs only in a parity bit is the same DES key: change a key bit.)
      computeCvv(fromHex('1123456789ABCDEFFEDCBA9876543210'), '4111111111111111', '3012', '000'),
    ];
    // 3 digits collide by chance 1 in 1000; these fixed inputs do not.
    for (const v of variants) assert.notEqual(v, base);
    assert.match(computeCvv(cvk, '378282246310005', '3012', '000', 4), /^\d{4}$/);
  });

  it('refuses malformed input without echoing it', () => {
    assert.throws(() => computeCvv(new Uint8Array(8), '4111111111111111', '3012', '000'), /16 bytes/);
    assert.throws(() => computeCvv(new Uint8Array(16), '4111x', '3012', '000'), (e: Error) => !e.message.includes('4111'));
  });

  it('writes expiry as YYMM', () => {
    assert.equal(expiryYymm(7, 2021), '2107');
    assert.equal(expiryYymm(12, 2030), '3012');
  });
});
