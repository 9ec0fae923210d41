import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { InjectTransport } from '../../src/infra/transport.js';
import type { NetworkTransactionEvent } from '../../src/platform/transactions.js';
import { runProvision, type ProvisionedDevice } from '../../src/scenario/provision.js';
import { startTestTessera, type TestTessera } from '../helpers/tessera.js';

let t: TestTessera;
const quiet = { step: () => {}, detail: () => {} };

before(async () => {
  t = await startTestTessera();
});
after(async () => {
  await t.close();
});

const device = () => runProvision(new InjectTransport(() => t.tessera.app), {}, quiet);

function event(d: ProvisionedDevice, i: number, extra: Partial<NetworkTransactionEvent> = {}): NetworkTransactionEvent {
  return { network_transaction_id: randomUUID(), token_ref: d.tokenRef, brand: d.network, amount: 100 + i, currency: 'USD', merchant_name: `Shop ${i}`, status: 'approved', type: 'nfc', occurred_at: new Date(Date.UTC(2025, 0, 1) + i * 60_000).toISOString(), ...extra };
}

describe('the device log reconciles with the platform history', () => {
  it('pages since the last cursor, merged by id: nothing twice, statuses updated (also a transaction the device logged itself)', async () => {
    const d = await device();
    const events: NetworkTransactionEvent[] = [];
    const ids: string[] = [];
    const record = async (n: number) => {
      for (let i = 0; i < n; i++) {
        const e = event(d, events.length);
        events.push(e);
        ids.push((await t.tessera.platform.transactions.recordFromNetwork(e)).id);
      }
    };
    await record(30);
    // The device logged the newest one itself at the tap (pending), under the platform's id.
    await d.wallet.recordTransaction({ id: ids.at(-1)!, cardId: d.cardId, amount: 129, currency: 'USD', merchant: 'Shop 29', status: 'pending', at: events.at(-1)!.occurred_at! });

    let r = await d.wallet.sync.reconcileTransactions();
    assert.deepEqual([r.added, r.updated], [29, 1]);
    let log = await d.wallet.transactions();
    assert.equal(log.length, 30);
    assert.equal(log.find((x) => x.id === ids.at(-1))!.status, 'approved');

    // 230 more: several pages since the cursor, each once.
    await record(230);
    r = await d.wallet.sync.reconcileTransactions();
    assert.deepEqual([r.added, r.updated], [230, 0]);
    log = await d.wallet.transactions();
    assert.equal(log.length, 260);
    assert.equal(new Set(log.map((x) => x.id)).size, 260, 'no duplicates');
    assert.deepEqual(log.map((x) => x.id), [...ids].reverse(), 'newest first, all of them');
    assert.equal(r.cursor, ids.at(-1));
    assert.deepEqual(await d.wallet.sync.reconcileTransactions(), { added: 0, updated: 0, cursor: ids.at(-1) });

    // A status change of an older one reaches the log through the push channel; its reversal entry through either.
    await t.tessera.platform.transactions.recordFromNetwork({ ...events[5]!, status: 'reversed' });
    const applied = await d.wallet.sync.syncEvents();
    assert.ok(applied.some((a) => a.type === 'transaction.updated' && a.effect === 'logged'));
    log = await d.wallet.transactions();
    assert.equal(log.find((x) => x.id === ids[5])!.status, 'reversed');
    const reversal = log.find((x) => x.type === 'reversal');
    assert.equal(reversal?.originalId, ids[5]);
    r = await d.wallet.sync.reconcileTransactions();
    assert.equal(r.added, 0, 'the reversal entry came by push already: not added twice');
    assert.equal((await d.wallet.transactions()).filter((x) => x.type === 'reversal').length, 1);
  });
});

describe('brief caching of card lists and history (cache-aside, invalidated by every change)', () => {
  it('serves a repeated read from the cache; a change through the platform is visible in the very next read', async () => {
    const d = await device();
    const token = d.client.sessionToken;
    const list = async (url: string) => (await t.request({ method: 'GET', url, auth: token })).json<{ data: Record<string, unknown>[] }>().data;

    assert.equal((await list('/platform/v1/cards'))[0]!.status, 'active');
    // Behind the platform's back (no invalidation): the cached list is what a read gets for a few seconds.
    await t.env.db.query("UPDATE platform.cards SET issuer_name = 'Changed Behind' WHERE id = $1", [d.cardId]);
    assert.notEqual((await list('/platform/v1/cards'))[0]!.issuer_name, 'Changed Behind', 'served from the cache');
    // A change through the platform: visible at once.
    const r = await t.request({ method: 'POST', url: `/platform/v1/cards/${d.cardId}/suspend`, auth: token });
    assert.equal(r.statusCode, 200);
    const after = (await list('/platform/v1/cards'))[0]!;
    assert.deepEqual([after.status, after.issuer_name], ['suspended', 'Changed Behind']);
    // The network's event about the same change (through the outbox) leaves the list right too.
    for (let i = 0; i < 20 && (await t.tessera.outbox.runOnce()) > 0; i++);
    assert.equal((await list('/platform/v1/cards'))[0]!.status, 'suspended');

    // History: the same.
    const first = await t.tessera.platform.transactions.recordFromNetwork(event(d, 1));
    assert.equal((await list('/platform/v1/transactions'))[0]!.id, first.id);
    await t.env.db.query("UPDATE platform.transactions SET merchant_name = 'Behind' WHERE id = $1", [first.id]);
    assert.notEqual((await list('/platform/v1/transactions'))[0]!.merchant_name, 'Behind', 'served from the cache');
    const second = await t.tessera.platform.transactions.recordFromNetwork(event(d, 2));
    const h = await list('/platform/v1/transactions');
    assert.deepEqual(h.map((x) => x.id), [second.id, first.id]);
    // Filters and pages are cached apart, and dropped together.
    assert.equal((await list('/platform/v1/transactions?limit=1'))[0]!.id, second.id);
    await t.tessera.platform.transactions.recordFromNetwork({ ...event(d, 3), status: 'declined' });
    assert.equal((await list('/platform/v1/transactions?status=declined')).length, 1);
  });
});
