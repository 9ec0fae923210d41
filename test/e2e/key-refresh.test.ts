import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { InjectTransport } from '../../src/infra/transport.js';
import { SANDBOX_CREDIT_UNION, TESSERA_BANK } from '../../src/issuer/sandbox-cards.js';
import type { Target } from '../../src/scenario/harness.js';
import { runProvision, type ProvisionedDevice } from '../../src/scenario/provision.js';
import { kernelFor, sandboxTerminal, tap, type TerminalSetup } from '../../src/scenario/tap.js';
import { startTestTessera, type TestTessera } from '../helpers/tessera.js';

let t: TestTessera;
let target: Target;
let terminal: TerminalSetup;
const quiet = { step: () => {}, detail: () => {} };

before(async () => {
  t = await startTestTessera();
  const transport = new InjectTransport(() => t.tessera.app);
  target = { device: transport, raw: transport, trace: undefined, tessera: t.tessera, adminKey: t.adminKey, close: async () => {} };
  terminal = await sandboxTerminal(target);
});
after(async () => {
  await t.close();
});

async function freshCard(network: 'visa' | 'amex' = 'visa') {
  // Amex (AES keys) comes from the sandbox credit union; Visa (3DES) from Tessera Bank.
  const issued = await t.tessera.issuers.service.issueCard({ issuerId: network === 'amex' ? SANDBOX_CREDIT_UNION : TESSERA_BANK, network, product: 'credit', holderName: 'Key Tester', creditLimit: 500_000n, expMonth: 11, expYear: new Date().getUTCFullYear() + 3 });
  const d = await runProvision(target.device, { card: issued.pan.reveal(), cvv: issued.cvv.reveal(), exp: { month: issued.expMonth, year: issued.expYear } }, quiet);
  await d.wallet.setDefaultCard(d.cardId);
  return d;
}

async function pay(d: ProvisionedDevice, amount = 100) {
  assert.equal((await d.wallet.preparePayment({ biometric: 'match' })).ok, true);
  return tap(target, d, terminal, kernelFor(terminal), amount);
}

async function drain() {
  for (let i = 0; i < 40 && (await t.tessera.outbox.runOnce()) > 0; i++);
}

async function refresh(d: ProvisionedDevice, auth: string, body: object = {}) {
  const res = await t.request({ method: 'POST', url: `/network/${d.network}/v1/tokens/${d.tokenRef}/key-refresh`, auth, headers: { 'idempotency-key': `kr-${Math.random()}` }, payload: body });
  return { status: res.statusCode, body: res.json() as Record<string, unknown> & { error?: { code: string } } };
}

const issuerKey = () => t.tessera.issuerKeys[TESSERA_BANK]!;
const seCard = async (d: ProvisionedDevice) => (await d.se.listCards()).find((c) => c.tokenRef === d.tokenRef);

describe('token key refresh', () => {
  for (const network of ['visa', 'amex'] as const) {
    it(`${network}: new key, same number: the old key's cryptogram is declined 88; the device installs the new payload from its push channel and pays`, async () => {
      const d = await freshCard(network);
      assert.equal((await pay(d)).responseCode, '00');
      const before = await seCard(d);
      const r = await refresh(d, network === 'amex' ? t.tessera.issuerKeys[SANDBOX_CREDIT_UNION]! : issuerKey());
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.deepEqual([r.body.token_number_changed, r.body.token_last4, r.body.status], [false, before!.tokenLast4, 'active']);

      // The SE still holds the old key: the network refuses its cryptogram.
      const old = await pay(d);
      assert.equal(old.responseCode, '88', old.reason);

      await drain();
      const applied = await d.wallet.sync.syncEvents();
      assert.deepEqual(applied.filter((a) => a.type.startsWith('card.')).map((a) => `${a.type}:${a.effect}`), ['card.keys_refreshed:se_keys_replaced']);
      const after = await seCard(d);
      assert.equal(after!.tokenLast4, before!.tokenLast4);
      const paid = await pay(d);
      assert.equal(paid.responseCode, '00', paid.reason);
    });
  }

  it('with a new token number (operator): the old number is unknown (14), the device gets the new one, the wallet shows its last4', async () => {
    const d = await freshCard();
    assert.equal((await pay(d)).responseCode, '00');
    const before = await seCard(d);
    const r = await refresh(d, t.adminKey, { new_token_number: true, reason: 'compromise_suspected' });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.token_number_changed, true);
    assert.notEqual(r.body.token_last4, before!.tokenLast4);
    assert.equal((await pay(d)).responseCode, '14');
    await drain();
    // The payload in the outbox is a JWE to the SE: nothing of the key or number in clear.
    const { rows } = await t.env.db.query<{ payload: { provisioning_payload?: string; keys_refreshed?: boolean } }>(
      "SELECT payload FROM infra.outbox WHERE topic = 'network.token' AND aggregate_id = $1 AND payload->>'keys_refreshed' = 'true'",
      [d.tokenRef],
    );
    assert.equal(rows.length, 1);
    assert.equal(rows[0]!.payload.provisioning_payload!.split('.').length, 5);
    await d.wallet.sync.syncEvents();
    assert.equal((await seCard(d))!.tokenLast4, r.body.token_last4);
    assert.equal((await d.client.card(d.cardId)).token_last4, r.body.token_last4);
    const paid = await pay(d);
    assert.equal(paid.responseCode, '00', paid.reason);
    // The issuer heard of it.
    const n = await t.request({ method: 'GET', url: `/issuer/${TESSERA_BANK}/v1/token-notifications?token_ref=${d.tokenRef}`, auth: issuerKey() });
    assert.ok(n.json<{ data: { type: string }[] }>().data.some((x) => x.type === 'token.keys_refreshed'));
  });

  it("another issuer's or the platform's key cannot; a deleted token has no keys to refresh", async () => {
    const d = await freshCard();
    const other = (await t.tessera.apiKeys.create('issuer', 'iss_sandbox_credit_union', 'other')).secret;
    assert.equal((await refresh(d, other)).status, 404);
    const { rows } = await t.env.db.query<{ token_requestor_id: string }>("SELECT token_requestor_id FROM platform.token_requestors WHERE network = 'visa'");
    const platformKey = (await t.tessera.apiKeys.create('platform', rows[0]!.token_requestor_id, 'platform')).secret;
    assert.equal((await refresh(d, platformKey)).status, 403);
    await t.request({ method: 'DELETE', url: `/platform/v1/cards/${d.cardId}`, auth: d.client.sessionToken });
    const gone = await refresh(d, issuerKey());
    assert.equal(gone.status, 409);
  });
});
