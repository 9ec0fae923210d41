import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { detectNetwork, isTokenBin, luhnCheck, NETWORKS, PAN_LENGTHS } from '../protocol/cards/index.js';
import { Secret } from '../protocol/secret.js';
import { issuerIdForPan, SANDBOX_CARDS, SANDBOX_CREDIT_UNION, SANDBOX_ISSUERS, sandboxCard, TESSERA_BANK } from './sandbox-cards.js';

describe('sandbox issuers and test cards', () => {
  it('has the well-known public test numbers, with the documented CVVs', () => {
    const wellKnown = SANDBOX_CARDS.filter((c) => c.wellKnown);
    assert.deepEqual(wellKnown.map((c) => c.number).sort(), ['378282246310005', '4111111111111111', '5555555555554444', '6011111111111117']);
    for (const c of wellKnown) {
      assert.equal(c.cvv, c.network === 'amex' ? '1234' : '123');
      assert.equal(c.acceptAnyFutureExpiry, true);
      assert.equal(c.outcome, 'green');
    }
  });

  it('has, per network, a yellow, a red, a low-balance debit, an expired and a blocked card', () => {
    for (const network of NETWORKS) {
      const cards = SANDBOX_CARDS.filter((c) => c.network === network);
      assert.deepEqual(cards.map((c) => c.key.replace(`${network}_`, '')).sort(), ['blocked', 'debit_low_balance', 'expired', 'green', 'red', 'yellow']);
      assert.equal(cards.find((c) => c.key.endsWith('_yellow'))!.idvPolicy, 'yellow');
      assert.equal(cards.find((c) => c.key.endsWith('_red'))!.idvPolicy, 'red');
      const debit = cards.find((c) => c.key.endsWith('_debit_low_balance'))!;
      assert.equal(debit.product, 'debit');
      assert.ok(debit.account.postedBalance <= 1000 && debit.account.creditLimit === 0);
      assert.equal(cards.find((c) => c.key.endsWith('_expired'))!.status, 'expired');
      assert.equal(cards.find((c) => c.key.endsWith('_blocked'))!.status, 'blocked');
    }
  });

  it('uses only Luhn-valid numbers of the right network and length, in a range of their issuer, never a token range', () => {
    assert.equal(new Set(SANDBOX_CARDS.map((c) => c.number)).size, SANDBOX_CARDS.length);
    for (const c of SANDBOX_CARDS) {
      assert.ok(luhnCheck(c.number), c.key);
      assert.equal(detectNetwork(c.number), c.network, c.key);
      assert.ok(PAN_LENGTHS[c.network].includes(c.number.length), c.key);
      assert.ok(!isTokenBin(c.number), c.key);
      const issuer = SANDBOX_ISSUERS.find((i) => i.id === c.issuerId)!;
      assert.ok(issuer.bins.some((b) => b.network === c.network && c.number.startsWith(b.prefix)), c.key);
      assert.equal(issuerIdForPan(c.number), c.issuerId, c.key);
      assert.equal(sandboxCard(c.number), c);
    }
  });

  it('routes card numbers to issuers by BIN', () => {
    assert.equal(issuerIdForPan('4111111111111111'), TESSERA_BANK);
    assert.equal(issuerIdForPan(Secret.pan('5555555555554444')), TESSERA_BANK);
    assert.equal(issuerIdForPan('378282246310005'), SANDBOX_CREDIT_UNION);
    assert.equal(issuerIdForPan('6011111111111117'), SANDBOX_CREDIT_UNION);
    assert.equal(issuerIdForPan('4000056655665556'), undefined);
    assert.equal(issuerIdForPan('41111'), undefined);
    assert.equal(issuerIdForPan('not a number'), undefined);
  });
});
