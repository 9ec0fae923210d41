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

async function freshCard(network: NetworkName = 'visa', user?: { email: string; password: string }) {
  const issued = await t.tessera.issuers.service.issueCard({
    issuerId: TESSERA_BANK,
    network,
    product: 'credit',
    holderName: 'Event Tester',
    creditLimit: 500_000n,
    expMonth: 11,
    expYear: new Date().getUTCFullYear() + 3,
  });
  const d = await runProvision(target.device, { card: issued.pan.reveal(), cvv: issued.cvv.reveal(), exp: { month: issued.expMonth, year: issued.expYear }, user }, quiet);
  await d.wallet.setDefaultCard(d.cardId);
  return { d, issued };
}

async function pay(d: ProvisionedDevice, amount = 100) {
  const prepared = await d.wallet.preparePayment({ biometric: 'match' });
  if (!prepared.ok) throw new Error('verification failed');
  return tap(target, d, terminal, kernelFor(terminal), amount);
}

async function drain() {
  for (let i = 0; i < 30 && (await t.tessera.outbox.runOnce()) > 0; i++);
}

async function deviceEvents(d: ProvisionedDevice, after = '0') {
  return (await d.client.events(after, 100)).data;
}

const seStatus = async (d: ProvisionedDevice) => (await d.se.listCards()).find((c) => c.tokenRef === d.tokenRef)?.status ?? 'absent';
const issuerKey = () => t.tessera.issuerKeys[TESSERA_BANK]!;

describe('card-status events on the push channel', () => {
  it("the user's suspend and resume: one card.status_changed each (committed with the change), applied to the SE", async () => {
    const { d } = await freshCard();
    const start = await d.wallet.sync.cursor();
    assert.equal(start, '0');
    let r = await t.request({ method: 'POST', url: `/platform/v1/cards/${d.cardId}/suspend`, auth: d.client.sessionToken });
    assert.equal(r.statusCode, 200, r.body);
    let evs = await deviceEvents(d);
    const cardEvents = evs.filter((e) => e.type.startsWith('card.'));
    assert.equal(cardEvents.length, 1);
    const data = cardEvents[0]!.data as { id: string; status: string; reason: string; suspended_by: string };
    assert.deepEqual([data.id, data.status, data.reason, data.suspended_by], [d.cardId, 'suspended', 'user_request', 'platform']);

    // The network's own event about the same change comes back through the outbox: no second device event.
    await drain();
    assert.equal((await deviceEvents(d)).filter((e) => e.type.startsWith('card.')).length, 1);

    assert.equal(await seStatus(d), 'active', 'the SE changes only when the wallet hears of it');
    const applied = await d.wallet.sync.syncEvents();
    assert.deepEqual(applied.filter((a) => a.type.startsWith('card.')).map((a) => a.effect), ['se_suspended']);
    assert.equal(await seStatus(d), 'suspended');
    assert.equal((await d.wallet.sync.localCards()).find((c) => c.id === d.cardId)?.status, 'suspended');
    // The SE itself now refuses to pay (no cryptogram), whatever the network would say.
    await assert.rejects(pay(d), (e: Error & { code?: string }) => e.code === 'se_request_invalid');
    assert.deepEqual(await d.wallet.sync.syncEvents(), [], 'nothing new: the cursor moved past it');

    r = await t.request({ method: 'POST', url: `/platform/v1/cards/${d.cardId}/resume`, auth: d.client.sessionToken });
    assert.equal(r.statusCode, 200);
    assert.deepEqual((await d.wallet.sync.syncEvents()).map((a) => a.effect), ['se_resumed']);
    assert.equal(await seStatus(d), 'active');
    assert.equal((await pay(d)).responseCode, '00');

    // Applying an old event again changes nothing.
    evs = await deviceEvents(d);
    const again = await d.wallet.sync.applyEvent(evs.find((e) => e.type === 'card.status_changed')!);
    assert.equal(again.type, 'card.status_changed');
  });

  it('lost device, issuer block/unblock, reissue (new expiry) and close all reach the device as events', async () => {
    const { d, issued } = await freshCard();
    const account = (await WalletPlatformClient.signIn(target.device, d.user)).client.sessionToken;
    const deviceId = (await d.wallet.deviceId())!;

    // Lost: the device's session stops; the event is there for when it is found (or for the user's other devices).
    let r = await t.request({ method: 'POST', url: `/platform/v1/devices/${deviceId}/lost`, auth: account });
    assert.equal(r.statusCode, 200, r.body);
    r = await t.request({ method: 'POST', url: `/platform/v1/devices/${deviceId}/found`, auth: account });
    assert.equal(r.statusCode, 200, r.body);
    let evs = (await deviceEvents(d)).filter((e) => e.type.startsWith('card.'));
    assert.deepEqual(
      evs.map((e) => `${e.type}:${(e.data as { status: string }).status}:${(e.data as { reason: string }).reason}`),
      ['card.status_changed:suspended:device_lost', 'card.status_changed:active:device_found'],
    );
    await d.wallet.sync.syncEvents();
    assert.equal(await seStatus(d), 'active');

    const base = `/issuer/${TESSERA_BANK}/v1/cards/${issued.cardId}`;
    r = await t.request({ method: 'POST', url: `${base}/block`, auth: issuerKey() });
    assert.ok([200, 202].includes(r.statusCode), r.body);
    await drain();
    assert.deepEqual((await d.wallet.sync.syncEvents()).map((a) => a.effect), ['se_suspended']);
    r = await t.request({ method: 'POST', url: `${base}/unblock`, auth: issuerKey() });
    await drain();
    assert.deepEqual((await d.wallet.sync.syncEvents()).map((a) => a.effect), ['se_resumed']);

    r = await t.request({ method: 'POST', url: `${base}/reissue`, auth: issuerKey(), headers: { 'idempotency-key': `re-${d.cardId}` }, payload: { exp_month: 4, exp_year: issued.expYear + 2 } });
    assert.ok([200, 202].includes(r.statusCode), r.body);
    await drain();
    const updated = await d.wallet.sync.syncEvents();
    assert.deepEqual(updated.map((a) => `${a.type}:${a.effect}`), ['card.updated:card_updated']);
    const local = (await d.wallet.sync.localCards()).find((c) => c.id === d.cardId)!;
    assert.deepEqual([local.exp_month, local.exp_year], [4, issued.expYear + 2]);
    assert.equal((await pay(d)).responseCode, '00', 'the same token pays after the reissue');

    r = await t.request({ method: 'POST', url: `${base}/close`, auth: issuerKey() });
    await drain();
    evs = await deviceEvents(d);
    assert.equal(evs.at(-1)!.type, 'card.status_changed');
    assert.equal((evs.at(-1)!.data as { status: string }).status, 'deleted');
    assert.deepEqual((await d.wallet.sync.syncEvents()).filter((a) => a.type.startsWith('card.')).map((a) => a.effect), ['se_deleted']);
    assert.equal(await seStatus(d), 'absent');
    assert.equal((await d.wallet.sync.localCards()).some((c) => c.id === d.cardId), false);
  });

  it("the event list needs a device session and shows only the user's own events", async () => {
    const { d } = await freshCard();
    const other = await freshCard();
    await t.request({ method: 'POST', url: `/platform/v1/cards/${d.cardId}/suspend`, auth: d.client.sessionToken });
    assert.equal((await deviceEvents(other.d)).filter((e) => e.type.startsWith('card.')).length, 0);
    const account = (await WalletPlatformClient.signIn(target.device, d.user)).client.sessionToken;
    assert.equal((await t.request({ method: 'GET', url: '/platform/v1/events/list', auth: account })).statusCode, 403);
    assert.equal((await t.request({ method: 'GET', url: '/platform/v1/events/list' })).statusCode, 401);
    assert.equal((await t.request({ method: 'GET', url: '/platform/v1/events/list?after=x', auth: d.client.sessionToken })).statusCode, 400);
  });
});
