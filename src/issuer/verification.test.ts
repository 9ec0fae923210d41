import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { randomBase62 } from '../infra/ids.js';
import { NETWORKS, type Network } from '../protocol/cards/index.js';
import { startIssuerTestEnv, type IssuerTestEnv } from '../../test/helpers/issuer-env.js';
import { issuerIdForPan, SANDBOX_CARDS, TESSERA_BANK, type SandboxCard } from './sandbox-cards.js';

let t: IssuerTestEnv;
before(async () => {
  t = await startIssuerTestEnv();
});
after(async () => {
  await t.close();
});

function card(network: Network, variant: string): SandboxCard {
  return SANDBOX_CARDS.find((c) => c.key === `${network}_${variant}`)!;
}

function request(c: { number: string; network: Network; cvv: string }, over: Record<string, unknown> = {}) {
  return {
    pan: c.number,
    exp_month: 11,
    exp_year: 2029,
    cvv: c.cvv,
    name: 'ADA LOVELACE',
    network: c.network,
    token_requestor_id: '40010030273',
    token_ref: `tok_${randomBase62(20)}`,
    device: { id: 'dev_test_phone', kind: 'phone' },
    device_score: 5,
    ...over,
  };
}

/** By default the key of the network the request names (a network key speaks for its own brand only). */
async function verify(issuerId: string, payload: Record<string, unknown>, auth = t.keys.networks[payload.network as Network] ?? t.keys.network, headers: Record<string, string> = {}) {
  return t.request({ method: 'POST', url: `/issuer/${issuerId}/v1/card-verifications`, payload, auth, headers });
}

describe('issuer identity and verification decisions', () => {
  it('seeds idempotently', async () => {
    const before = await t.env.db.query<{ n: number }>('SELECT count(*)::int AS n FROM issuer.cards');
    await t.issuers.seed();
    const afterSeed = await t.env.db.query<{ n: number }>('SELECT count(*)::int AS n FROM issuer.cards');
    assert.equal(afterSeed.rows[0]!.n, before.rows[0]!.n);
    assert.equal(before.rows[0]!.n, SANDBOX_CARDS.length);
  });

  for (const network of NETWORKS) {
    describe(network, () => {
      it('green: the well-known test card, any future expiry, the documented CVV', async () => {
        const c = card(network, 'green');
        const res = await verify(issuerIdForPan(c.number)!, request(c, { exp_month: 1, exp_year: 2031 }));
        assert.equal(res.statusCode, 200, res.body);
        const v = res.json();
        assert.match(v.id, /^civ_/);
        assert.equal(v.object, 'card_verification');
        assert.equal(v.decision, 'green');
        assert.equal(v.status, 'verified');
        assert.deepEqual(v.reasons, []);
        assert.deepEqual(v.methods, []);
        assert.equal(v.card.last4, c.number.slice(-4));
        assert.equal(v.card.product, 'credit');
        assert.match(v.card.par_seed, /^[0-9A-Z]{25}$/);
        assert.match(v.card.account_id, /^acct_/);
        assert.equal(v.card.issuer_id, c.issuerId);
        assert.ok(v.card.issuer_name.length > 0);
      });

      it('yellow: step-up with masked SMS and e-mail destinations', async () => {
        const c = card(network, 'yellow');
        const res = await verify(c.issuerId, request(c));
        assert.equal(res.statusCode, 200, res.body);
        const v = res.json();
        assert.equal(v.decision, 'yellow');
        assert.equal(v.status, 'pending');
        assert.deepEqual(v.reasons, ['risk']);
        assert.deepEqual(v.methods, [
          { id: 'sms', type: 'sms', destination: `•••• ${c.phone.slice(-4)}` },
          { id: 'email', type: 'email', destination: `${c.email[0]}•••${c.email.slice(c.email.indexOf('@'))}` },
        ]);
        assert.ok(!JSON.stringify(v).includes(c.phone) && !JSON.stringify(v).includes(c.email));
      });

      it('yellow: a low device score on a green card (new_device)', async () => {
        const c = card(network, 'green');
        const res = await verify(c.issuerId, request(c, { device_score: 2 }));
        assert.equal(res.json().decision, 'yellow');
        assert.deepEqual(res.json().reasons, ['new_device']);
        const ok = await verify(c.issuerId, request(c, { device_score: 3 }));
        assert.equal(ok.json().decision, 'green');
      });

      it('red: the issuer always declines (risk)', async () => {
        const c = card(network, 'red');
        const res = await verify(c.issuerId, request(c));
        assert.equal(res.statusCode, 200);
        assert.equal(res.json().decision, 'red');
        assert.equal(res.json().status, 'declined');
        assert.deepEqual(res.json().reasons, ['risk']);
      });

      it('red: a blocked card (card_not_active)', async () => {
        const c = card(network, 'blocked');
        const res = await verify(c.issuerId, request(c));
        assert.equal(res.json().decision, 'red');
        assert.deepEqual(res.json().reasons, ['card_not_active']);
      });

      it('green: the low-balance debit card', async () => {
        const c = card(network, 'debit_low_balance');
        const res = await verify(c.issuerId, request(c));
        assert.equal(res.json().decision, 'green');
        assert.equal(res.json().card.product, 'debit');
        const balance = await t.issuers.service.accountBalance(res.json().card.account_id);
        assert.equal(balance?.posted_balance, 500n);
        assert.equal(balance?.credit_limit, 0n);
      });

      it('card_expired: the expired card, whatever expiry is given', async () => {
        const c = card(network, 'expired');
        for (const [m, y] of [[12, 2020], [12, 2030], [6, 2026]] as const) {
          const res = await verify(c.issuerId, request(c, { exp_month: m, exp_year: y }));
          assert.equal(res.statusCode, 402);
          assert.equal(res.json().error.code, 'card_expired');
          assert.equal(res.json().error.type, 'card_error');
        }
      });

      it('card_cvv_incorrect: a wrong CVV, or one of the wrong length', async () => {
        const c = card(network, 'green');
        const wrong = network === 'amex' ? ['1235', '123'] : ['124', '1234'];
        for (const cvv of wrong) {
          const res = await verify(c.issuerId, request(c, { cvv }));
          assert.equal(res.statusCode, 402);
          assert.equal(res.json().error.code, 'card_cvv_incorrect');
          assert.equal(res.json().error.param, 'cvv');
          assert.ok(!res.body.includes(c.number) && !res.body.includes(`"${cvv}"`));
        }
      });
    });
  }

  it('card_expired: a past expiry on a card that takes any future one; this month still counts', async () => {
    const c = card('visa', 'green');
    const past = await verify(c.issuerId, request(c, { exp_month: 5, exp_year: 2026 }));
    assert.equal(past.json().error.code, 'card_expired');
    const thisMonth = await verify(c.issuerId, request(c, { exp_month: 6, exp_year: 2026 }));
    assert.equal(thisMonth.json().decision, 'green');
  });

  it('card_not_supported: an unknown number, another issuer\'s card, a network that does not match, a bad Luhn', async () => {
    const visa = card('visa', 'green');
    const amex = card('amex', 'green');
    const cases = [
      [TESSERA_BANK, request({ number: '4111110000000997', network: 'visa', cvv: '123' })],
      [TESSERA_BANK, request(amex)],
      [TESSERA_BANK, request(visa, { network: 'mastercard' })],
      [TESSERA_BANK, request({ number: '4111111111111112', network: 'visa', cvv: '123' })],
      [amex.issuerId, request(visa)],
    ] as const;
    for (const [issuerId, payload] of cases) {
      const res = await verify(issuerId, payload);
      assert.equal(res.statusCode, 402, res.body);
      assert.equal(res.json().error.code, 'card_not_supported');
    }
  });

  it('a network key named after a brand asks only about that brand', async () => {
    const mc = card('mastercard', 'green');
    const res = await verify(mc.issuerId, request(mc), t.keys.visaNetwork);
    assert.equal(res.json().error.code, 'card_not_supported');
    const visa = card('visa', 'green');
    assert.equal((await verify(visa.issuerId, request(visa), t.keys.visaNetwork)).json().decision, 'green');
  });

  it('a network key whose owner is no brand is refused, fails closed, and learns nothing of the card (issue 16, point 4)', async () => {
    // Keys made without owner checks (as an older deployment may hold): the issuer still refuses them.
    const bogus = (await t.apiKeys.create('network', 'bogus-net')).secret;
    const visa = card('visa', 'green');
    const count = async () => (await t.env.db.query<{ n: number }>('SELECT count(*)::int AS n FROM issuer.verifications')).rows[0]!.n;
    const before = await count();
    for (const payload of [request(visa), request(visa, { cvv: '999' })]) {
      const res = await verify(visa.issuerId, payload, bogus);
      assert.equal(res.statusCode, 403, res.body);
      assert.equal(res.json().error.code, 'permission_denied');
      assert.equal(res.json().decision, undefined);
    }
    const iso = await t.request({ method: 'POST', url: `/issuer/${visa.issuerId}/v1/iso8583`, auth: bogus, headers: { 'content-type': 'application/octet-stream' }, payload: Buffer.from('0100') });
    assert.equal(iso.statusCode, 403, iso.body);
    assert.equal(await count(), before, 'no verification recorded');
  });

  it('5 wrong CVVs in 24 hours turn the card red (too_many_attempts), even with the right CVV; the window slides', async () => {
    const c = card('discover', 'yellow');
    for (let i = 0; i < 5; i++) {
      const res = await verify(c.issuerId, request(c, { cvv: '999' }));
      assert.equal(res.json().error.code, 'card_cvv_incorrect', `attempt ${i + 1}`);
    }
    for (const cvv of ['123', '999']) {
      const res = await verify(c.issuerId, request(c, { cvv }));
      assert.equal(res.statusCode, 200);
      assert.equal(res.json().decision, 'red');
      assert.deepEqual(res.json().reasons, ['too_many_attempts']);
    }
    t.clock.advance(24 * 3600 * 1000 + 1000);
    const later = await verify(c.issuerId, request(c));
    assert.equal(later.json().decision, 'yellow');
    t.clock.advance(-(24 * 3600 * 1000 + 1000));
  });

  it('concurrent wrong CVVs are all counted', async () => {
    const c = card('mastercard', 'debit_low_balance');
    const results = await Promise.all(Array.from({ length: 8 }, () => verify(c.issuerId, request(c, { cvv: '000' }))));
    // Counted one after the other: five failures, then the card is red for the rest.
    assert.equal(results.filter((r) => r.json().error?.code === 'card_cvv_incorrect').length, 5);
    assert.equal(results.filter((r) => r.json().reasons?.[0] === 'too_many_attempts').length, 3);
    const res = await verify(c.issuerId, request(c));
    assert.deepEqual(res.json().reasons, ['too_many_attempts']);
  });

  it('cards issued with a CVV computed under the issuer key: checked by recomputing it, expiry must match', async () => {
    const issued = await t.issuers.service.issueCard({ issuerId: TESSERA_BANK, network: 'visa', product: 'credit', holderName: 'EDSGER DIJKSTRA', expMonth: 4, expYear: 2029, creditLimit: 100_000n, phone: '+15555550199', email: 'edsger@example.com' });
    assert.match(issued.cvv.reveal(), /^\d{3}$/);
    assert.equal(String(issued.pan), `411111******${issued.last4}`);
    const c = { number: issued.pan.reveal(), network: 'visa' as const, cvv: issued.cvv.reveal() };
    const ok = await verify(TESSERA_BANK, request(c, { exp_month: 4, exp_year: 2029 }));
    assert.equal(ok.json().decision, 'green', ok.body);
    const otherExpiry = await verify(TESSERA_BANK, request(c, { exp_month: 5, exp_year: 2029 }));
    assert.equal(otherExpiry.json().error.code, 'card_expired');
    const wrongCvv = String((Number(issued.cvv.reveal()) + 1) % 1000).padStart(3, '0');
    const bad = await verify(TESSERA_BANK, request(c, { exp_month: 4, exp_year: 2029, cvv: wrongCvv }));
    assert.equal(bad.json().error.code, 'card_cvv_incorrect');

    const amex = await t.issuers.service.issueCard({ issuerId: card('amex', 'green').issuerId, network: 'amex', product: 'credit', holderName: 'BARBARA LISKOV', expMonth: 9, expYear: 2028 });
    assert.match(amex.cvv.reveal(), /^\d{4}$/);
    assert.equal(amex.pan.reveal().length, 15);
    const res = await verify(card('amex', 'green').issuerId, request({ number: amex.pan.reveal(), network: 'amex', cvv: amex.cvv.reveal() }, { exp_month: 9, exp_year: 2028 }));
    assert.equal(res.json().decision, 'green');
  });

  it('a card the issuer blocks later is red', async () => {
    const issued = await t.issuers.service.issueCard({ issuerId: TESSERA_BANK, network: 'mastercard', product: 'debit', holderName: 'JOHN VON NEUMANN', expMonth: 1, expYear: 2030, postedBalance: 10_000n });
    await t.issuers.service.setCardStatus(issued.cardId, 'blocked');
    const res = await verify(TESSERA_BANK, request({ number: issued.pan.reveal(), network: 'mastercard', cvv: issued.cvv.reveal() }, { exp_month: 1, exp_year: 2030 }));
    assert.deepEqual(res.json().reasons, ['card_not_active']);
  });

  it('a retried request for the same token gets the same verification; another card with that token is a conflict', async () => {
    const c = card('amex', 'yellow');
    const payload = request(c);
    const first = await verify(c.issuerId, payload);
    const second = await verify(c.issuerId, payload);
    assert.equal(second.json().id, first.json().id);
    const other = card('amex', 'green');
    const conflict = await verify(c.issuerId, request(other, { token_ref: payload.token_ref }));
    assert.equal(conflict.statusCode, 409);
    assert.equal(conflict.json().error.param, 'token_ref');
  });

  it('replays the stored answer for the same Idempotency-Key, refuses it with other parameters', async () => {
    const c = card('visa', 'yellow');
    const payload = request(c);
    const headers = { 'idempotency-key': `idv-${randomBase62(8)}` };
    const first = await verify(c.issuerId, payload, t.keys.network, headers);
    const again = await verify(c.issuerId, payload, t.keys.network, headers);
    assert.equal(again.statusCode, 200);
    assert.equal(again.headers['idempotent-replayed'], 'true');
    assert.equal(again.json().id, first.json().id);
    const changed = await verify(c.issuerId, { ...payload, device_score: 4 }, t.keys.network, headers);
    assert.equal(changed.statusCode, 422);
    // An error is an answer too: the retry gets it back without a second CVV failure counted.
    const wrong = request(card('visa', 'debit_low_balance'), { cvv: '321' });
    const errHeaders = { 'idempotency-key': `idv-${randomBase62(8)}` };
    const e1 = await verify(TESSERA_BANK, wrong, t.keys.network, errHeaders);
    const e2 = await verify(TESSERA_BANK, wrong, t.keys.network, errHeaders);
    assert.equal(e1.json().error.code, 'card_cvv_incorrect');
    assert.equal(e2.json().error.code, 'card_cvv_incorrect');
    assert.equal(e2.headers['idempotent-replayed'], 'true');
  });

  it('rejects malformed bodies with a parameter error that does not echo values', async () => {
    const c = card('visa', 'green');
    const cases: Record<string, unknown>[] = [
      { ...request(c), pan: '4111-1111' },
      { ...request(c), cvv: '12' },
      { ...request(c), exp_month: 13 },
      { ...request(c), device_score: 6 },
      { ...request(c), network: 'diners' },
      { ...request(c), token_requestor_id: '123' },
      { ...request(c), extra: true },
      { ...request(c), device: { id: 'd', kind: 'tablet' } },
    ];
    for (const payload of cases) {
      const res = await verify(c.issuerId, payload);
      assert.equal(res.statusCode, 400, JSON.stringify(payload));
      assert.equal(res.json().error.code, 'parameter_invalid');
      assert.ok(!res.body.includes('4111'));
    }
  });
});
