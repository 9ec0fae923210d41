import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { InjectTransport } from '../../src/infra/transport.js';
import { TESSERA_BANK } from '../../src/issuer/sandbox-cards.js';
import { WalletPlatformClient } from '../../src/platform/client.js';
import type { Target } from '../../src/scenario/harness.js';
import { runProvision, type NetworkName, type ProvisionedDevice } from '../../src/scenario/provision.js';
import { kernelFor, sandboxTerminal, tap, type TerminalSetup } from '../../src/scenario/tap.js';
import { startTestTessera, type TestTessera } from '../helpers/tessera.js';

let t: TestTessera;
let target: Target;
let terminal: TerminalSetup;
const platformKeys: Partial<Record<NetworkName, string>> = {};
const quiet = { step: () => {}, detail: () => {} };

before(async () => {
  t = await startTestTessera();
  const transport = new InjectTransport(() => t.tessera.app);
  target = { device: transport, raw: transport, trace: undefined, tessera: t.tessera, adminKey: t.adminKey, close: async () => {} };
  terminal = await sandboxTerminal(target);
  const { rows } = await t.env.db.query<{ network: NetworkName; token_requestor_id: string }>('SELECT network, token_requestor_id FROM platform.token_requestors');
  for (const r of rows) platformKeys[r.network] = (await t.tessera.apiKeys.create('platform', r.token_requestor_id, 'lifecycle test')).secret;
});
after(async () => {
  await t.close();
});

/** A card of its own (reissue and close must not touch the shared sandbox cards), added to a new device. */
async function freshCard(network: NetworkName = 'visa', user?: { email: string; password: string }) {
  const issued = await t.tessera.issuers.service.issueCard({
    issuerId: TESSERA_BANK,
    network,
    product: 'credit',
    holderName: 'Lifecycle Tester',
    creditLimit: 500_000n,
    expMonth: 11,
    expYear: new Date().getUTCFullYear() + 3,
  });
  const d = await runProvision(target.device, { card: issued.pan.reveal(), cvv: issued.cvv.reveal(), exp: { month: issued.expMonth, year: issued.expYear }, user }, quiet);
  await d.wallet.setDefaultCard(d.cardId);
  return { d, issued };
}

async function pay(d: ProvisionedDevice, amount = 100) {
  assert.equal((await d.wallet.preparePayment({ biometric: 'match' })).ok, true);
  return tap(target, d, terminal, kernelFor(terminal), amount);
}

async function req(method: 'GET' | 'POST' | 'DELETE', url: string, auth: string | undefined, body?: unknown) {
  const res = await t.request({ method, url, ...(auth ? { auth } : {}), ...(body !== undefined ? { payload: body as object } : {}) });
  return { status: res.statusCode, body: res.json() as Record<string, unknown> & { error?: { code: string } } };
}

async function tokenRow(ref: string) {
  const { rows } = await t.env.db.query<{ status: string; suspended_by: string | null; status_reason: string | null; card_last4: string }>(
    'SELECT status, suspended_by, status_reason, card_last4 FROM network.tokens WHERE token_ref = $1',
    [ref],
  );
  return rows[0]!;
}

async function events(ref: string) {
  const { rows } = await t.env.db.query<{ payload: Record<string, unknown> }>("SELECT payload FROM infra.outbox WHERE topic = 'network.token' AND aggregate_id = $1 ORDER BY id", [ref]);
  return rows.map((r) => r.payload);
}

/** Delivers the outbox (one event per object and topic per round: several rounds). */
async function drain() {
  for (let i = 0; i < 20 && (await t.tessera.outbox.runOnce()) > 0; i++);
}

const issuerKey = () => t.tessera.issuerKeys[TESSERA_BANK]!;
const tokenUrl = (ref: string, action: string) => `/network/visa/v1/tokens/${ref}/${action}`;

describe('token lifecycle at the network', () => {
  it('every allowed and forbidden change, by the token requestor and by the issuer; the switch follows at once', async () => {
    const { d } = await freshCard('visa');
    const ref = d.tokenRef;
    const platform = platformKeys.visa!;
    assert.equal((await pay(d)).responseCode, '00', 'warms the token cache');

    const expectForbidden = async (action: string, key: string, status: string) => {
      const before = (await events(ref)).length;
      const r = await req('POST', tokenUrl(ref, action), key, { reason: 'user_request' });
      assert.equal(r.status, 409, `${action}: ${JSON.stringify(r.body)}`);
      assert.equal(r.body.error?.code, 'token_transition_forbidden');
      assert.equal((await tokenRow(ref)).status, status, 'nothing changed');
      assert.equal((await events(ref)).length, before, 'no event');
    };

    // active: resume is forbidden; the platform suspends.
    await expectForbidden('resume', platform, 'active');
    let r = await req('POST', tokenUrl(ref, 'suspend'), platform, { reason: 'user_request' });
    assert.equal(r.status, 200);
    assert.deepEqual([r.body.status, r.body.suspended_by], ['suspended', 'platform']);
    assert.equal((await pay(d)).responseCode, '62');
    await expectForbidden('suspend', platform, 'suspended');
    await expectForbidden('suspend', issuerKey(), 'suspended');
    // The platform resumes its own suspension.
    r = await req('POST', tokenUrl(ref, 'resume'), platform, { reason: 'user_request' });
    assert.equal(r.body.status, 'active');
    assert.equal((await pay(d)).responseCode, '00');

    // The issuer suspends: the platform may not resume, the issuer may.
    r = await req('POST', tokenUrl(ref, 'suspend'), issuerKey(), { reason: 'fraud' });
    assert.deepEqual([r.body.status, r.body.suspended_by], ['suspended', 'issuer']);
    assert.equal((await pay(d)).responseCode, '62');
    await expectForbidden('resume', platform, 'suspended');
    r = await req('POST', tokenUrl(ref, 'resume'), issuerKey(), { reason: 'cleared' });
    assert.equal(r.body.status, 'active');
    assert.equal((await pay(d)).responseCode, '00');

    // The platform suspends; the issuer may resume it too.
    await req('POST', tokenUrl(ref, 'suspend'), platform, { reason: 'user_request' });
    r = await req('POST', tokenUrl(ref, 'resume'), issuerKey(), { reason: 'cleared' });
    assert.equal(r.body.status, 'active');

    // Delete (from suspended) is final for everyone.
    await req('POST', tokenUrl(ref, 'suspend'), issuerKey(), { reason: 'fraud' });
    r = await req('POST', tokenUrl(ref, 'delete'), platform, { reason: 'user_removed' });
    assert.deepEqual([r.body.status, r.body.suspended_by], ['deleted', null]);
    assert.equal((await pay(d)).responseCode, '14');
    for (const action of ['suspend', 'resume', 'delete']) {
      await expectForbidden(action, platform, 'deleted');
      await expectForbidden(action, issuerKey(), 'deleted');
    }

    // Every change left its event, in order, with who and why.
    const statuses = (await events(ref)).map((e) => `${e.status}:${e.actor}:${e.reason}`);
    assert.deepEqual(statuses, [
      'suspended:platform:user_request',
      'active:platform:user_request',
      'suspended:issuer:fraud',
      'active:issuer:cleared',
      'suspended:platform:user_request',
      'active:issuer:cleared',
      'suspended:issuer:fraud',
      'deleted:platform:user_removed',
    ]);
    const last = (await events(ref)).at(-1)!;
    assert.equal(last.token_ref, ref);
    assert.equal(last.brand, 'visa');
    assert.equal(last.pan_updated, false);
    assert.match(String(last.occurred_at), /^\d{4}-\d\d-\d\dT/);
  });

  it('the database refuses forbidden status changes too (the trigger), whatever the code does', async () => {
    const { d } = await freshCard('visa');
    const code = (e: unknown) => (e as { code?: string }).code;
    await t.env.db.query("UPDATE network.tokens SET status = 'suspended' WHERE token_ref = $1", [d.tokenRef]);
    await assert.rejects(t.env.db.query("UPDATE network.tokens SET status = 'active' WHERE token_ref = $1", [d.tokenRef]), (e) => code(e) === '23514', 'suspended → active only through a resume');
    await assert.rejects(t.env.db.query("UPDATE network.tokens SET status = 'inactive' WHERE token_ref = $1", [d.tokenRef]), (e) => code(e) === '23514');
    await t.env.db.query("UPDATE network.tokens SET status = 'active', resumed_at = clock_timestamp() WHERE token_ref = $1", [d.tokenRef]);
    await t.env.db.query("UPDATE network.tokens SET status = 'deleted' WHERE token_ref = $1", [d.tokenRef]);
    for (const s of ['active', 'suspended', 'inactive']) {
      await assert.rejects(t.env.db.query('UPDATE network.tokens SET status = $2 WHERE token_ref = $1', [d.tokenRef, s]), (e) => code(e) === '23514', `deleted → ${s}`);
    }
  });

  it("another requestor's or another issuer's key, or no key: not found / refused, nothing changes", async () => {
    const { d } = await freshCard('visa');
    // API keys speak only for owners that exist: another wallet platform registered with the Visa network
    // (with the same device CA, which is not what tells them apart), and the deployment's own acquirer.
    const { rows: ca } = await t.env.db.query<{ device_ca_pem: string }>("SELECT device_ca_pem FROM network.token_requestors WHERE brand = 'visa' LIMIT 1");
    const other = await t.env.db.tx((tx) => t.tessera.networks.service.registerTokenRequestor(tx, 'visa', { name: 'Another Wallet', device_ca_pem: ca[0]!.device_ca_pem }));
    const otherRequestor = (await t.tessera.apiKeys.create('platform', other.id, 'other requestor')).secret;
    const otherIssuer = (await t.tessera.apiKeys.create('issuer', 'iss_sandbox_credit_union', 'other issuer')).secret;
    const { rows: acquirers } = await t.env.db.query<{ owner_id: string }>("SELECT owner_id FROM infra.api_keys WHERE role = 'acquirer' LIMIT 1");
    const acquirer = (await t.tessera.apiKeys.create('acquirer', acquirers[0]!.owner_id, 'acquirer')).secret;
    assert.equal((await req('POST', tokenUrl(d.tokenRef, 'suspend'), otherRequestor, { reason: 'x' })).status, 404);
    assert.equal((await req('POST', tokenUrl(d.tokenRef, 'suspend'), otherIssuer, { reason: 'x' })).status, 404);
    assert.equal((await req('POST', tokenUrl(d.tokenRef, 'suspend'), acquirer, { reason: 'x' })).status, 403);
    assert.equal((await req('POST', tokenUrl(d.tokenRef, 'suspend'), undefined, { reason: 'x' })).status, 401);
    assert.equal((await req('POST', `/network/mastercard/v1/tokens/${d.tokenRef}/suspend`, platformKeys.mastercard, { reason: 'x' })).status, 404, 'another brand');
    assert.equal((await tokenRow(d.tokenRef)).status, 'active');
  });
});

describe('the wallet: a card suspended, resumed, removed by its user', () => {
  it('suspend → declined, resume → approved, remove → token deleted and declined; another user gets 404', async () => {
    const { d } = await freshCard('visa');
    const session = d.client.sessionToken;
    const stranger = (await WalletPlatformClient.signUp(target.device, { email: `s-${Date.now()}@example.com`, password: 'pw-0123456789abc', name: 'S' })).client.sessionToken;
    assert.equal((await pay(d)).responseCode, '00');
    assert.equal((await req('POST', `/platform/v1/cards/${d.cardId}/suspend`, stranger)).status, 404);
    assert.equal((await req('DELETE', `/platform/v1/cards/${d.cardId}`, stranger)).status, 404);

    let r = await req('POST', `/platform/v1/cards/${d.cardId}/suspend`, session);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.status, 'suspended');
    assert.equal((await pay(d)).responseCode, '62');
    assert.equal((await req('POST', `/platform/v1/cards/${d.cardId}/suspend`, session)).body.error?.code, 'token_transition_forbidden');
    r = await req('POST', `/platform/v1/cards/${d.cardId}/resume`, session);
    assert.equal(r.body.status, 'active');
    assert.equal((await pay(d)).responseCode, '00');

    r = await req('DELETE', `/platform/v1/cards/${d.cardId}`, session);
    assert.equal(r.status, 200);
    assert.equal(r.body.status, 'deleted');
    assert.equal((await tokenRow(d.tokenRef)).status, 'deleted');
    assert.equal((await pay(d)).responseCode, '14');
    assert.equal((await d.client.cards()).length, 0, 'gone from the list');
    r = await req('POST', `/platform/v1/cards/${d.cardId}/resume`, session);
    assert.equal(r.status, 409);
    assert.equal(r.body.error?.code, 'token_transition_forbidden');
  });
});

describe('lost device ("Find My")', () => {
  it('lost from another session: tokens suspended at once (cache warm), device sessions stop; found: approved again; an issuer suspension stays', async () => {
    const { d } = await freshCard('visa');
    const second = await freshCard('mastercard', d.user);
    // The same user's second card on the first device? No: one card per device here; the phone is d.
    const account = (await WalletPlatformClient.signIn(target.device, d.user)).client.sessionToken;
    assert.equal((await pay(d)).responseCode, '00', 'warms the token cache');
    const deviceId = (await t.env.db.query<{ device_id: string }>('SELECT device_id FROM platform.cards WHERE id = $1', [d.cardId])).rows[0]!.device_id;

    const r = await req('POST', `/platform/v1/devices/${deviceId}/lost`, account);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal((r.body.device as { status: string }).status, 'lost');
    const declined = await pay(d);
    assert.equal(declined.responseCode, '62', 'declined at once, though the token was in the cache');
    assert.deepEqual(await tokenRow(d.tokenRef), { status: 'suspended', suspended_by: 'platform', status_reason: 'device_lost', card_last4: (await tokenRow(d.tokenRef)).card_last4 });
    // The lost device's own session no longer works (its cached principal was dropped).
    assert.equal((await req('GET', '/platform/v1/cards', d.client.sessionToken)).status, 401);
    // The other device is untouched.
    assert.equal((await pay(second.d)).responseCode, '00');

    const found = await req('POST', `/platform/v1/devices/${deviceId}/found`, account);
    assert.equal(found.status, 200);
    assert.equal((found.body.device as { status: string }).status, 'active');
    assert.equal((await pay(d)).responseCode, '00');
    assert.equal((await req('GET', '/platform/v1/cards', d.client.sessionToken)).status, 200);

    // Lost again; meanwhile the issuer deletes nothing but suspends another token of its own: found resumes only the platform's.
    const other = await freshCard('visa', d.user);
    const otherDevice = (await t.env.db.query<{ device_id: string }>('SELECT device_id FROM platform.cards WHERE id = $1', [other.d.cardId])).rows[0]!.device_id;
    await req('POST', tokenUrl(other.d.tokenRef, 'suspend'), issuerKey(), { reason: 'fraud' });
    await req('POST', `/platform/v1/devices/${otherDevice}/lost`, account);
    assert.equal((await tokenRow(other.d.tokenRef)).suspended_by, 'issuer');
    await req('POST', `/platform/v1/devices/${otherDevice}/found`, account);
    assert.equal((await tokenRow(other.d.tokenRef)).status, 'suspended', "the issuer's suspension stays");
  });

  it("erase: the device's tokens deleted, the device erased (final); another user's device is 404", async () => {
    const { d } = await freshCard('visa');
    const account = (await WalletPlatformClient.signIn(target.device, d.user)).client.sessionToken;
    const stranger = (await WalletPlatformClient.signUp(target.device, { email: `e-${Date.now()}@example.com`, password: 'pw-0123456789abc', name: 'E' })).client.sessionToken;
    const deviceId = (await t.env.db.query<{ device_id: string }>('SELECT device_id FROM platform.cards WHERE id = $1', [d.cardId])).rows[0]!.device_id;
    assert.equal((await req('POST', `/platform/v1/devices/${deviceId}/lost`, stranger)).status, 404);
    assert.equal((await req('POST', `/platform/v1/devices/${deviceId}/erase`, stranger)).status, 404);
    const r = await req('POST', `/platform/v1/devices/${deviceId}/erase`, account);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal((r.body.device as { status: string }).status, 'erased');
    assert.equal((await tokenRow(d.tokenRef)).status, 'deleted');
    assert.equal((await pay(d)).responseCode, '14');
    assert.equal((await req('POST', `/platform/v1/devices/${deviceId}/found`, account)).status, 409);
  });
});

describe('issuer events', () => {
  it('reissue with a new number: the same token pays again, the issuer sees the new card, the wallet shows the new last4', async () => {
    const { d, issued } = await freshCard('visa');
    assert.equal((await pay(d)).responseCode, '00');
    const r = await req('POST', `/issuer/${TESSERA_BANK}/v1/cards/${issued.cardId}/reissue`, issuerKey(), { new_number: true, exp_month: 6, exp_year: issued.expYear + 1 });
    assert.equal(r.status, 202, JSON.stringify(r.body));
    assert.equal((r.body.notification as { status: string }).status, 'pending');
    const newPan = String(r.body.number);
    // The network hears of it through the issuer's outbox.
    assert.equal((await tokenRow(d.tokenRef)).card_last4, issued.pan.reveal().slice(-4), 'not re-mapped before delivery');
    await drain();
    assert.notEqual(newPan, issued.pan.reveal());
    assert.ok(newPan.startsWith('411111'));
    const row = await tokenRow(d.tokenRef);
    assert.equal(row.status, 'active');
    assert.equal(row.card_last4, newPan.slice(-4));

    const paid = await pay(d, 250);
    assert.equal(paid.responseCode, '00', paid.reason);
    const fp = await t.tessera.issuers.service.cipher.fingerprint(newPan);
    const { rows } = await t.env.db.query<{ card_id: string }>('SELECT card_id FROM issuer.authorizations WHERE pan_fingerprint = $1', [fp]);
    assert.deepEqual(rows.map((x) => x.card_id), [issued.cardId], 'the issuer authorized the new number of the same card');

    const ev = (await events(d.tokenRef)).at(-1)!;
    assert.equal(ev.pan_updated, true);
    assert.equal(ev.status, 'active');
    await drain();
    const card = await d.client.card(d.cardId);
    assert.equal(card.last4, newPan.slice(-4));
    assert.equal(card.exp_month, 6);
    assert.equal(card.status, 'active');
  });

  it('block → tokens suspended by the issuer (62), the user cannot resume; unblock → approved; close → tokens deleted, mirrored in the wallet', async () => {
    const { d, issued } = await freshCard('visa');
    const base = `/issuer/${TESSERA_BANK}/v1/cards/${issued.cardId}`;
    let r = await req('POST', `${base}/block`, issuerKey());
    assert.equal(r.status, 202, JSON.stringify(r.body));
    assert.equal(r.body.status, 'blocked');
    await drain();
    assert.deepEqual([(await tokenRow(d.tokenRef)).status, (await tokenRow(d.tokenRef)).suspended_by], ['suspended', 'issuer']);
    assert.equal((await pay(d)).responseCode, '62');
    await drain();
    assert.equal((await d.client.card(d.cardId)).status, 'suspended', 'the platform consumed the event');
    assert.equal((await req('POST', `/platform/v1/cards/${d.cardId}/resume`, d.client.sessionToken)).body.error?.code, 'token_transition_forbidden');

    r = await req('POST', `${base}/unblock`, issuerKey());
    assert.equal(r.body.status, 'active');
    await drain();
    assert.equal((await pay(d)).responseCode, '00');

    r = await req('POST', `${base}/close`, issuerKey());
    assert.equal(r.body.status, 'closed');
    await drain();
    assert.equal((await tokenRow(d.tokenRef)).status, 'deleted');
    assert.equal((await pay(d)).responseCode, '14');
    await drain();
    assert.equal((await d.client.card(d.cardId)).status, 'deleted');
    assert.equal((await req('POST', `${base}/block`, issuerKey())).status, 409);
  });

  it("the issuer API takes only the issuer's own key; the network's card routes only issuer keys", async () => {
    const { issued } = await freshCard('visa');
    const other = (await t.tessera.apiKeys.create('issuer', 'iss_sandbox_credit_union', 'other')).secret;
    assert.equal((await req('POST', `/issuer/${TESSERA_BANK}/v1/cards/${issued.cardId}/block`, other)).status, 404);
    assert.equal((await req('POST', `/issuer/${TESSERA_BANK}/v1/cards/${issued.cardId}/block`, platformKeys.visa)).status, 403);
    assert.equal((await req('POST', '/network/visa/v1/pan-updates', platformKeys.visa, { old_pan: issued.pan.reveal(), exp_month: 1, exp_year: 2040 })).status, 403);
    assert.equal((await req('POST', '/network/visa/v1/pan-updates', other, { old_pan: issued.pan.reveal(), exp_month: 1, exp_year: 2040 })).status, 404);
    assert.equal((await req('POST', '/network/visa/v1/card-lifecycle', other, { pan: issued.pan.reveal(), action: 'delete', reason: 'x' })).status, 404);
  });
});
