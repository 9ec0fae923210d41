import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { InjectTransport } from '../../src/infra/transport.js';
import { TESSERA_BANK } from '../../src/issuer/sandbox-cards.js';
import type { Target } from '../../src/scenario/harness.js';
import { runProvision, type ProvisionedDevice } from '../../src/scenario/provision.js';
import { kernelFor, sandboxTerminal, tap, type TerminalSetup } from '../../src/scenario/tap.js';
import { startTestTessera, type TestTessera } from '../helpers/tessera.js';

let t: TestTessera;
let target: Target;
let terminal: TerminalSetup;
let merchantKey: string;
let merchantId: string;
const quiet = { step: () => {}, detail: () => {} };

before(async () => {
  t = await startTestTessera();
  const transport = new InjectTransport(() => t.tessera.app);
  target = { device: transport, raw: transport, trace: undefined, tessera: t.tessera, adminKey: t.adminKey, close: async () => {} };
  terminal = await sandboxTerminal(target);
  const coffee = t.tessera.terminals.find((x) => x.key === 'coffee')!;
  merchantId = coffee.merchant_id;
  merchantKey = (await t.tessera.apiKeys.create('merchant', merchantId, 'refunds test')).secret;
});
after(async () => {
  await t.close();
});

async function freshCard() {
  const issued = await t.tessera.issuers.service.issueCard({ issuerId: TESSERA_BANK, network: 'visa', product: 'credit', holderName: 'Refund Tester', creditLimit: 500_000n, expMonth: 11, expYear: new Date().getUTCFullYear() + 3 });
  const d = await runProvision(target.device, { card: issued.pan.reveal(), cvv: issued.cvv.reveal(), exp: { month: issued.expMonth, year: issued.expYear } }, quiet);
  await d.wallet.setDefaultCard(d.cardId);
  return { d, issued };
}

async function pay(d: ProvisionedDevice, amount: number) {
  assert.equal((await d.wallet.preparePayment({ biometric: 'match' })).ok, true);
  const r = await tap(target, d, terminal, kernelFor(terminal), amount);
  assert.equal(r.responseCode, '00', r.reason);
  const { rows } = await t.env.db.query<{ id: string }>("SELECT id FROM acquirer.authorizations WHERE status = 'approved' ORDER BY created_at DESC, id DESC LIMIT 1");
  return rows[0]!.id;
}

async function drain() {
  for (let i = 0; i < 40 && (await t.tessera.outbox.runOnce()) > 0; i++);
}

async function refund(authId: string, body: object, key = randomUUID(), auth = merchantKey) {
  const res = await t.request({ method: 'POST', url: `/acquirer/v1/authorizations/${authId}/refunds`, auth, headers: { 'idempotency-key': key }, payload: body });
  return { status: res.statusCode, body: res.json() as Record<string, unknown> & { error?: { code: string } } };
}

async function history(d: ProvisionedDevice) {
  const r = await t.request({ method: 'GET', url: '/platform/v1/transactions?limit=100', auth: d.client.sessionToken });
  return r.json<{ data: { id: string; type: string; status: string; amount: number; original_id: string | null }[] }>().data;
}

describe('refunds: merchant → acquirer (0200) → network → issuer credit → history', () => {
  it('partial then full refund: credited once each, ledger balanced, linked in the history, the original shows refunded; more is refused', async () => {
    const { d, issued } = await freshCard();
    const authId = await pay(d, 1000);
    const posted = async () => (await t.tessera.issuers.service.accountView(TESSERA_BANK, issued.accountId)).posted;
    const before = await posted();

    const key = randomUUID();
    const first = await refund(authId, { amount: 400 }, key);
    assert.equal(first.status, 201, JSON.stringify(first.body));
    assert.deepEqual([first.body.status, first.body.response_code, first.body.amount, first.body.currency], ['approved', '00', 400, 'USD']);
    assert.equal(await posted(), before + 400, 'the issuer credited the account');
    // The same request again: the same refund, no second credit.
    const again = await refund(authId, { amount: 400 }, key);
    assert.equal(again.body.id, first.body.id);
    assert.equal(await posted(), before + 400);

    const second = await refund(authId, {});
    assert.equal(second.status, 409, 'the default (whole amount) would exceed what is left');
    assert.equal(second.body.error?.code, 'refund_not_allowed');
    const rest = await refund(authId, { amount: 600 });
    assert.equal(rest.body.status, 'approved');
    assert.equal(await posted(), before + 1000);
    const more = await refund(authId, { amount: 1 });
    assert.equal(more.status, 409);

    const report = await t.tessera.issuers.service.checkInvariants();
    assert.equal(report.ok, true, JSON.stringify(report));
    const { rows } = await t.env.db.query<{ transaction_id: string; total: string; n: number }>(
      "SELECT transaction_id, sum(amount)::text AS total, count(*)::int AS n FROM issuer.ledger_entries WHERE kind = 'refund' AND transaction_id IN (SELECT id FROM issuer.refunds WHERE card_id = $1) GROUP BY transaction_id",
      [issued.cardId],
    );
    assert.equal(rows.length, 2);
    assert.ok(rows.every((r) => r.total === '0' && r.n === 2), 'each refund posting sums to zero');

    await drain();
    const h = await history(d);
    const original = h.find((x) => x.type === 'nfc' && x.amount === 1000)!;
    assert.equal(original.status, 'refunded');
    const refunds = h.filter((x) => x.type === 'refund');
    assert.deepEqual(refunds.map((x) => x.amount).sort((a, b) => a - b), [400, 600]);
    assert.ok(refunds.every((x) => x.original_id === original.id && x.status === 'approved'));
    // The device's log, reconciled from the history, has them too.
    const rec = await d.wallet.sync.reconcileTransactions();
    assert.ok(rec.added >= 3);
    const log = await d.wallet.transactions();
    assert.equal(log.filter((x) => x.type === 'refund').length, 2);
    assert.equal(log.find((x) => x.id === original.id)?.status, 'refunded');

    // On the merchant's list; another merchant sees nothing of it.
    const list = await t.request({ method: 'GET', url: `/acquirer/v1/merchants/${merchantId}/refunds?limit=100`, auth: merchantKey });
    assert.equal(list.statusCode, 200);
    assert.ok([first.body.id, rest.body.id].every((id) => list.json<{ data: { id: string }[] }>().data.some((x) => x.id === id)));
    const transit = t.tessera.terminals.find((x) => x.key === 'transit')!;
    const stranger = (await t.tessera.apiKeys.create('merchant', transit.merchant_id, 'stranger')).secret;
    assert.equal((await refund(authId, { amount: 1 }, randomUUID(), stranger)).status, 404);
    assert.equal((await t.request({ method: 'GET', url: `/acquirer/v1/merchants/${merchantId}/refunds`, auth: stranger })).statusCode, 404);
  });

  it('refuses what cannot be refunded: unknown or declined authorizations, bad amounts, no Idempotency-Key', async () => {
    const { d } = await freshCard();
    const authId = await pay(d, 500);
    assert.equal((await refund('auth_nope', { amount: 1 })).status, 404);
    assert.equal((await refund(authId, { amount: 0 })).status, 400);
    assert.equal((await refund(authId, { amount: 501 })).status, 400);
    const res = await t.request({ method: 'POST', url: `/acquirer/v1/authorizations/${authId}/refunds`, auth: merchantKey, payload: { amount: 1 } });
    assert.equal(res.statusCode, 400);
    const { rows } = await t.env.db.query<{ id: string }>("UPDATE acquirer.authorizations SET status = 'declined' WHERE id = $1 RETURNING id", [authId]);
    assert.equal(rows.length, 1);
    assert.equal((await refund(authId, { amount: 1 })).body.error?.code, 'refund_not_allowed');
  });

  it('a reversed authorization gets a reversal entry of its own, linked to the original, once', async () => {
    const { d } = await freshCard();
    const event = { network_transaction_id: randomUUID(), token_ref: d.tokenRef, brand: 'visa', amount: 777, currency: 'USD', merchant_name: 'Reversed Shop', status: 'approved', type: 'nfc' };
    const recorded = await t.tessera.platform.transactions.recordFromNetwork(event);
    await t.tessera.platform.transactions.recordFromNetwork({ ...event, status: 'reversed' });
    await t.tessera.platform.transactions.recordFromNetwork({ ...event, status: 'reversed' });
    const h = await history(d);
    assert.equal(h.find((x) => x.id === recorded.id)?.status, 'reversed');
    const reversals = h.filter((x) => x.type === 'reversal');
    assert.equal(reversals.length, 1);
    assert.deepEqual([reversals[0]!.original_id, reversals[0]!.amount], [recorded.id, 777]);
    const filtered = await t.request({ method: 'GET', url: '/platform/v1/transactions?type=reversal', auth: d.client.sessionToken });
    assert.equal(filtered.json<{ data: unknown[] }>().data.length, 1);
  });
});
