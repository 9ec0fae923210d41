import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { ProtocolError } from '../errors.js';
import {
  NETWORKS,
  PAN_LENGTHS,
  TOKEN_BIN_RANGES,
  detectNetwork,
  generateToken,
  isCardBin,
  isTokenBin,
  last4,
  luhnCheck,
  luhnCheckDigit,
  maskPan,
  tokenBinFor,
  validatePan,
  type Network,
} from './cards.js';

const TEST_CARDS: [string, Network][] = [
  ['4111111111111111', 'visa'],
  ['4012888888881881', 'visa'],
  ['4222222222222', 'visa'],
  ['5555555555554444', 'mastercard'],
  ['5105105105105100', 'mastercard'],
  ['2223003122003222', 'mastercard'],
  ['378282246310005', 'amex'],
  ['371449635398431', 'amex'],
  ['6011111111111117', 'discover'],
  ['6011000990139424', 'discover'],
];

test('Luhn check and check digit on well-known test cards', () => {
  for (const [pan] of TEST_CARDS) {
    assert.equal(luhnCheck(pan), true, pan);
    assert.equal(luhnCheckDigit(pan.slice(0, -1)), pan.slice(-1), pan);
    assert.equal(luhnCheck(pan.slice(0, -1) + String((Number(pan.slice(-1)) + 1) % 10)), false);
  }
  assert.equal(luhnCheckDigit('7992739871'), '3');
  assert.equal(luhnCheck('79927398713'), true);
  assert.equal(luhnCheck(''), false);
  assert.equal(luhnCheck('4111 1111 1111 1111'), false);
  assert.throws(() => luhnCheckDigit('12a'), ProtocolError);
});

test('Luhn detects every single-digit error (property)', () => {
  fc.assert(
    fc.property(fc.stringMatching(/^\d{11,18}$/), fc.nat(), fc.integer({ min: 1, max: 9 }), (partial, i, d) => {
      const pan = partial + luhnCheckDigit(partial);
      assert.equal(luhnCheck(pan), true);
      const at = i % pan.length;
      const changed = pan.slice(0, at) + String((Number(pan[at]) + d) % 10) + pan.slice(at + 1);
      assert.equal(luhnCheck(changed), false);
    }),
  );
});

test('network detection from the BIN table', () => {
  for (const [pan, network] of TEST_CARDS) assert.equal(detectNetwork(pan), network, pan);
  const cases: [string, Network | null][] = [
    ['4', 'visa'], ['51', 'mastercard'], ['55', 'mastercard'], ['50', null], ['56', null],
    ['2221', 'mastercard'], ['2720', 'mastercard'], ['2220', null], ['2721', null],
    ['34', 'amex'], ['37', 'amex'], ['35', null], ['36', null],
    ['6011', 'discover'], ['6012', null], ['644', 'discover'], ['649', 'discover'], ['643', null], ['65', 'discover'], ['66', null],
    ['', null], ['x4', null], ['1234567890123456', null],
  ];
  for (const [prefix, network] of cases) assert.equal(detectNetwork(prefix), network, prefix);
});

test('validation reasons', () => {
  for (const [pan, network] of TEST_CARDS) assert.deepEqual(validatePan(pan), { ok: true, network });
  assert.deepEqual(validatePan('4111-1111-1111-1111'), { ok: false, reason: 'not_digits' });
  assert.deepEqual(validatePan(''), { ok: false, reason: 'not_digits' });
  assert.deepEqual(validatePan('41111111111'), { ok: false, reason: 'bad_length' });
  assert.deepEqual(validatePan('41111111111111111111'), { ok: false, reason: 'bad_length' });
  assert.deepEqual(validatePan('411111111111118'), { ok: false, reason: 'bad_length' }); // Visa has no 15-digit cards
  assert.deepEqual(validatePan('5555555555555554444'.slice(0, 15)), { ok: false, reason: 'bad_length' });
  assert.deepEqual(validatePan('4111111111111112'), { ok: false, reason: 'bad_luhn' });
  assert.deepEqual(validatePan('9111111111111111'), { ok: false, reason: 'unknown_bin' });
  for (const network of NETWORKS) {
    for (const length of PAN_LENGTHS[network]) {
      const partial = (tokenBinFor(network) + '0'.repeat(20)).slice(0, length - 1);
      assert.deepEqual(validatePan(partial + luhnCheckDigit(partial)), { ok: true, network });
    }
  }
});

test('masking and last 4', () => {
  assert.equal(maskPan('4111111111111111'), '411111******1111');
  assert.equal(maskPan('378282246310005'), '378282*****0005');
  assert.equal(maskPan('4222222222222'), '422222***2222');
  assert.equal(maskPan('6011000990139424123'), '601100*********4123');
  assert.equal(maskPan('411111111111'), '************');
  assert.equal(maskPan('4111 1111 1111 1111'), '*******************');
  assert.equal(maskPan(''), '');
  assert.equal(last4('4111111111111111'), '1111');
  assert.throws(() => last4('41a1'), ProtocolError);
  fc.assert(
    fc.property(fc.stringMatching(/^\d{13,19}$/), (pan) => {
      const masked = maskPan(pan);
      assert.equal(masked.length, pan.length);
      assert.equal(masked.replace(/\*/g, '').length, 10);
      assert.equal(masked.slice(0, 6) + masked.slice(-4), pan.slice(0, 6) + pan.slice(-4));
    }),
  );
});

test('token BIN ranges: one per network, in the network\'s IIN space, clear of the test cards', () => {
  for (const network of NETWORKS) {
    const bin = tokenBinFor(network);
    assert.match(bin, /^\d{6}$/);
    assert.equal(TOKEN_BIN_RANGES[network].bin, bin);
    assert.equal(detectNetwork(bin), network);
    assert.equal(isTokenBin(bin + '0000000000'), true);
  }
  for (const pan of [...TEST_CARDS.map(([p]) => p), '374245455400126', '6011000990139424']) {
    assert.equal(isTokenBin(pan), false, pan);
    assert.equal(isCardBin(pan), true, pan);
  }
  assert.equal(isTokenBin('4895'), false);
  assert.throws(() => tokenBinFor('jcb' as Network), ProtocolError);
});

test('generated tokens: Luhn-valid, right length, in the token range, never a card BIN (property)', () => {
  const random = fc.uint8Array({ minLength: 64, maxLength: 64 });
  fc.assert(
    fc.property(fc.constantFrom(...NETWORKS), random, (network, pool) => {
      let offset = 0;
      const source = (n: number): Uint8Array => {
        const out = new Uint8Array(n);
        for (let i = 0; i < n; i++) out[i] = pool[(offset++) % pool.length]!;
        return out;
      };
      let token: string;
      try {
        token = generateToken(network, source);
      } catch (err) {
        // Only a pool of nothing but bytes >= 250 can fail, and it must fail with the typed error.
        assert.ok(pool.every((b) => b >= 250));
        assert.ok(err instanceof ProtocolError && err.code === 'card_bad_randomness');
        return;
      }
      assert.equal(token.length, network === 'amex' ? 15 : 16);
      assert.equal(luhnCheck(token), true);
      assert.equal(token.startsWith(tokenBinFor(network)), true);
      assert.equal(isTokenBin(token), true);
      assert.equal(isCardBin(token), false);
      assert.equal(detectNetwork(token), network);
      assert.deepEqual(validatePan(token), { ok: true, network });
    }),
    { numRuns: 1000 },
  );
});

test('generateToken with a real random source gives distinct tokens; a useless source is an error', () => {
  const tokens = new Set(Array.from({ length: 200 }, () => generateToken('visa', (n) => new Uint8Array(randomBytes(n)))));
  assert.equal(tokens.size, 200);
  assert.throws(() => generateToken('visa', (n) => new Uint8Array(n).fill(255)), (e: unknown) => e instanceof ProtocolError && e.code === 'card_bad_randomness');
  assert.throws(() => generateToken('jcb' as Network, (n) => new Uint8Array(n)), ProtocolError);
});
