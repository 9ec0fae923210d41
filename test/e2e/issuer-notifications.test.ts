import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { InjectTransport, PartyUnavailable, type Transport } from '../../src/infra/transport.js';
import { TESSERA_BANK } from '../../src/issuer/sandbox-cards.js';
import type { Target } from '../../src/scenario/harness.js';
import { runProvision, type ProvisionedDevice } from '../../src/scenario/provision.js';
import { kernelFor, sandboxTerminal, tap, type TerminalSetup } from '../../src/scenario/tap.js';
import { createTessera, type Tessera } from '../../src/server/tessera.js';
import { createTestEnv, type TestEnv } from '../helpers/env.js';

let env: TestEnv;
let tessera: Tessera;
let target: Target;
let terminal: TerminalSetup;
/** While true, the issuers' calls to the networks' lifecycle API get no answer (the network is down). */
let networkDown = false;
const quiet = { step: () => {}, detail: () => {} };

before(async () => {
  env = await createTestEnv();
  tessera = await createTessera({
    config: env.config,
    logger: env.logger,
    db: env.db,
    cache: env.cache,
    wrapTransport: (_hop, inner): Transport => ({
      async request(req) {
        if (networkDown && /^\/network\/[a-z]+\/v1\/(pan-updates|card-lifecycle)$/.test(req.path)) throw new PartyUnavailable('network', 'connection refused');
        return inner.request(req);
      },
    }),
  });
  const transport = new InjectTransport(() => tessera.app);
  target = { device: transport, raw: transport, trace: undefined, tessera, adminKey: tessera.newAdminKey, close: async () => {} };
  terminal = await sandboxTerminal(target);
});
after(async () => {
  await tessera.close();
  await env.close();
});

async function freshCard() {
  const issued = await tessera.issuers.service.issueCard({
    issuerId: TESSERA_BANK,
    network: 'visa',
    product: 'credit',
    holderName: 'Notified Tester',
    creditLimit: 500_000n,
    expMonth: 11,
    expYear: new Date().getUTCFullYear() + 3,
  });
  const d = await runProvision(target.device, { card: issued.pan.reveal(), cvv: issued.cvv.reveal(), exp: { month: issued.expMonth, year: issued.expYear } }, quiet);
  await d.wallet.setDefaultCard(d.cardId);
  return { d, issued };
}

async function pay(d: ProvisionedDevice, amount = 100) {
  assert.equal((await d.wallet.preparePayment({ biometric: 'match' })).ok, true);
  return tap(target, d, terminal, kernelFor(terminal), amount);
}

/** Delivers what is due; events backing off after a failure are made due again first. */
async function drain(retryNow = false) {
  if (retryNow) await tessera.db.query('UPDATE infra.outbox SET next_attempt_at = now() WHERE delivered_at IS NULL');
  for (let i = 0; i < 40 && (await tessera.outbox.runOnce()) > 0; i++);
}

const issuerKey = () => tessera.issuerKeys[TESSERA_BANK]!;
async function req(method: 'GET' | 'POST', url: string, auth: string, body?: object, headers: Record<string, string> = {}) {
  const res = await tessera.app.inject({ method, url, headers: { authorization: `Bearer ${auth}`, ...headers }, ...(body ? { payload: body } : {}) });
  return { status: res.statusCode, headers: res.headers, body: res.json() as Record<string, unknown> & { error?: { code: string } } };
}
async function token(ref: string) {
  return (await tessera.db.query<{ status: string; suspended_by: string | null; card_last4: string }>('SELECT status, suspended_by, card_last4 FROM network.tokens WHERE token_ref = $1', [ref])).rows[0]!;
}
async function notifications(cardId: string) {
  const r = await req('GET', `/issuer/${TESSERA_BANK}/v1/cards/${cardId}/network-notifications`, issuerKey());
  assert.equal(r.status, 200);
  return r.body.data as { event_id: string; action: string; status: string; tokens_changed: number | null }[];
}

describe('issuer → network notifications through the outbox', () => {
  it('answers at once while the network is down; the outbox delivers later, in order per card', async () => {
    const { d, issued } = await freshCard();
    const base = `/issuer/${TESSERA_BANK}/v1/cards/${issued.cardId}`;
    networkDown = true;
    try {
      const blocked = await req('POST', `${base}/block`, issuerKey());
      assert.equal(blocked.status, 202, JSON.stringify(blocked.body));
      assert.equal(blocked.body.status, 'blocked');
      const unblocked = await req('POST', `${base}/unblock`, issuerKey());
      assert.equal(unblocked.status, 202);
      const again = await req('POST', `${base}/unblock`, issuerKey());
      assert.equal(again.status, 200, 'no change, nothing sent');
      assert.equal(again.body.notification, null);
      const blockedAgain = await req('POST', `${base}/block`, issuerKey());
      assert.equal(blockedAgain.status, 202);
      await drain();
      assert.equal((await token(d.tokenRef)).status, 'active', 'the network has not heard yet');
      assert.deepEqual((await notifications(issued.cardId)).map((n) => `${n.action}:${n.status}`), ['block:pending', 'unblock:pending', 'block:pending']);
      // The issuer itself declines the blocked card at once.
      assert.equal((await pay(d)).responseCode, '62');
    } finally {
      networkDown = false;
    }
    await drain(true);
    const sent = await notifications(issued.cardId);
    assert.deepEqual(sent.map((n) => `${n.action}:${n.status}:${n.tokens_changed}`), ['block:delivered:1', 'unblock:delivered:1', 'block:delivered:1']);
    // Delivered in the order they were made: the last (block) wins.
    assert.deepEqual(await token(d.tokenRef), { status: 'suspended', suspended_by: 'issuer', card_last4: issued.pan.reveal().slice(-4) });
    const { rows } = await tessera.db.query<{ payload: { status: string } }>("SELECT payload FROM infra.outbox WHERE topic = 'network.token' AND aggregate_id = $1 ORDER BY id", [d.tokenRef]);
    assert.deepEqual(rows.map((r) => r.payload.status), ['suspended', 'active', 'suspended']);
  });

  it('a redelivered event changes nothing at the network (de-duplicated by event id), also past the idempotency window', async () => {
    const { d, issued } = await freshCard();
    const r = await req('POST', `/issuer/${TESSERA_BANK}/v1/cards/${issued.cardId}/block`, issuerKey());
    const eventId = (r.body.notification as { event_id: string }).event_id;
    await drain();
    assert.equal((await token(d.tokenRef)).status, 'suspended');
    // The issuer unblocks the token directly at the network; then the old block event arrives again.
    assert.equal((await req('POST', `/network/visa/v1/tokens/${d.tokenRef}/resume`, issuerKey(), { reason: 'cleared' })).status, 200);
    await tessera.db.query('DELETE FROM infra.idempotency_keys'); // the 24-hour replay window has passed
    await tessera.db.query('UPDATE infra.outbox SET delivered_at = NULL, next_attempt_at = now() WHERE event_id = $1', [eventId]);
    await drain();
    assert.equal((await token(d.tokenRef)).status, 'active', 'the old block was not applied twice');
    const { rows } = await tessera.db.query<{ n: number }>('SELECT count(*)::int AS n FROM network.issuer_events WHERE event_id = $1', [eventId]);
    assert.equal(rows[0]!.n, 1);
    // Called by hand with that event id: answered, nothing changed.
    const pan = issued.pan.reveal();
    const dup = await req('POST', '/network/visa/v1/card-lifecycle', issuerKey(), { pan, action: 'suspend', reason: 'fraud', event_id: eventId }, { 'idempotency-key': 'by-hand-1' });
    assert.equal(dup.status, 200);
    assert.deepEqual(dup.body.data, []);
    assert.equal((await token(d.tokenRef)).status, 'active');
  });

  it('no card number in clear in the outbox', async () => {
    const { issued } = await freshCard();
    const r = await req('POST', `/issuer/${TESSERA_BANK}/v1/cards/${issued.cardId}/reissue`, issuerKey(), { new_number: true }, { 'idempotency-key': `clear-${issued.cardId}` });
    assert.equal(r.status, 202);
    const { rows } = await tessera.db.query<{ payload: unknown }>("SELECT payload FROM infra.outbox WHERE topic = 'issuer.card'");
    const text = JSON.stringify(rows);
    assert.ok(!text.includes(issued.pan.reveal()));
    assert.ok(!text.includes(String(r.body.number)));
    const keys = await tessera.db.query<{ response_body: unknown }>('SELECT response_body FROM infra.idempotency_keys');
    assert.ok(!JSON.stringify(keys.rows).includes(String(r.body.number)), 'the reissue answer is not stored in clear for replays');
    await drain();
  });
});

describe('reissue with an Idempotency-Key', () => {
  it('a retry (also concurrent) answers the same new number; one reissue, one notification; other parameters: 422', async () => {
    const { d, issued } = await freshCard();
    const url = `/issuer/${TESSERA_BANK}/v1/cards/${issued.cardId}/reissue`;
    const key = { 'idempotency-key': `reissue-${issued.cardId}` };
    const body = { new_number: true, exp_month: 3, exp_year: issued.expYear + 1 };
    const [a, b] = await Promise.all([req('POST', url, issuerKey(), body, key), req('POST', url, issuerKey(), body, key)]);
    assert.equal(a.status, 202, JSON.stringify(a.body));
    assert.equal(b.status, 202, JSON.stringify(b.body));
    assert.equal(a.body.number, b.body.number);
    assert.notEqual(a.body.number, issued.pan.reveal());
    const c = await req('POST', url, issuerKey(), body, key);
    assert.equal(c.body.number, a.body.number);
    assert.equal(c.body.cvv, a.body.cvv);
    assert.equal(c.headers['idempotent-replayed'], 'true');
    assert.equal((await notifications(issued.cardId)).length, 1);
    const other = await req('POST', url, issuerKey(), { ...body, exp_month: 4 }, key);
    assert.equal(other.status, 422);
    assert.equal(other.body.error?.code, 'idempotency_key_reused');

    await drain();
    assert.equal((await notifications(issued.cardId))[0]!.status, 'delivered');
    assert.equal((await token(d.tokenRef)).card_last4, String(a.body.number).slice(-4));
    assert.equal((await pay(d)).responseCode, '00', 'the same token pays for the new number');
  });
});

describe('issuer notifications: the network tells the issuer about its tokens', () => {
  it('token created, suspended, resumed, deleted, re-mapped: recorded once each against the card, listed newest first', async () => {
    const { d, issued } = await freshCard();
    const session = d.client.sessionToken;
    await tessera.app.inject({ method: 'POST', url: `/platform/v1/cards/${d.cardId}/suspend`, headers: { authorization: `Bearer ${session}` } });
    await tessera.app.inject({ method: 'POST', url: `/platform/v1/cards/${d.cardId}/resume`, headers: { authorization: `Bearer ${session}` } });
    await req('POST', `/issuer/${TESSERA_BANK}/v1/cards/${issued.cardId}/reissue`, issuerKey(), { exp_month: 2 }, { 'idempotency-key': `n-${issued.cardId}` });
    await drain();
    await tessera.app.inject({ method: 'DELETE', url: `/platform/v1/cards/${d.cardId}`, headers: { authorization: `Bearer ${session}` } });
    await drain();
    const list = async () => {
      const r = await req('GET', `/issuer/${TESSERA_BANK}/v1/token-notifications?token_ref=${d.tokenRef}&limit=100`, issuerKey());
      assert.equal(r.status, 200, JSON.stringify(r.body));
      return r.body.data as { type: string; card_id: string | null; actor: string; reason: string; status: string }[];
    };
    const got = await list();
    assert.deepEqual(got.map((n) => n.type).reverse(), ['token.created', 'token.suspended', 'token.resumed', 'token.pan_updated', 'token.deleted']);
    assert.ok(got.every((n) => n.card_id === issued.cardId), 'matched to the card by its PAR');
    assert.equal(got.at(-1)!.actor, 'network');
    // Redelivered (even past the idempotency window): still once each.
    await tessera.db.query('DELETE FROM infra.idempotency_keys');
    await tessera.db.query("UPDATE infra.outbox SET delivered_at = NULL, next_attempt_at = now() WHERE topic = 'network.issuer_token' AND aggregate_id = $1", [d.tokenRef]);
    await drain();
    assert.equal((await list()).length, 5);
    // By card, too; another issuer's key sees nothing; a non-network key cannot post.
    const byCard = await req('GET', `/issuer/${TESSERA_BANK}/v1/token-notifications?card_id=${issued.cardId}`, issuerKey());
    assert.equal((byCard.body.data as unknown[]).length, 5);
    const other = (await tessera.apiKeys.create('issuer', 'iss_sandbox_credit_union', 'other')).secret;
    assert.equal((await req('GET', `/issuer/${TESSERA_BANK}/v1/token-notifications`, other)).status, 404);
    const posted = await req('POST', `/issuer/${TESSERA_BANK}/v1/network-events/tokens`, issuerKey(), {
      event_id: 'evt_x1', issuer_id: TESSERA_BANK, brand: 'visa', token_ref: d.tokenRef, type: 'token.deleted', status: 'deleted', reason: 'x', actor: 'network', occurred_at: new Date().toISOString(),
    }, { 'idempotency-key': 'forged' });
    assert.equal(posted.status, 403);
  });
});
