import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { InjectTransport } from '../../src/infra/transport.js';
import type { NetworkTransactionEvent } from '../../src/platform/transactions.js';
import { runProvision, type ProvisionedDevice } from '../../src/scenario/provision.js';
import { startTestTessera, type TestTessera } from '../helpers/tessera.js';

let t: TestTessera;
let first: ProvisionedDevice;
let second: ProvisionedDevice;

const quiet = { step: () => {}, detail: () => {} };
const STATUSES = ['approved', 'declined', 'timed_out'] as const;
const TYPES = ['nfc', 'inapp', 'web'] as const;
const DAY = 86_400_000;
const START = Date.UTC(2025, 0, 1);

interface Seeded {
  id: string;
  card: string;
  status: string;
  type: string;
  occurred: number;
}
const seeded: Seeded[] = [];

function event(d: ProvisionedDevice, i: number): NetworkTransactionEvent {
  return {
    network_transaction_id: randomUUID(),
    token_ref: d.tokenRef,
    brand: d.network,
    amount: 100 + i,
    currency: 'USD',
    merchant_name: `Shop ${i}`,
    status: STATUSES[i % 3]!,
    type: TYPES[i % 3 === 0 ? 0 : i % 2 === 0 ? 1 : 2],
    occurred_at: new Date(START + (i % 10) * DAY).toISOString(),
  };
}

async function record(d: ProvisionedDevice, i: number): Promise<Seeded> {
  const e = event(d, i);
  const r = await t.tessera.platform.transactions.recordFromNetwork(e);
  assert.equal(r.duplicate, false);
  return { id: r.id, card: d.cardId, status: e.status, type: e.type!, occurred: Date.parse(e.occurred_at!) };
}

interface Page {
  data: { id: string; card_id: string; status: string; type: string; occurred_at: string }[];
  has_more: boolean;
}

async function page(query: string): Promise<Page> {
  const r = await t.request({ method: 'GET', url: `/platform/v1/transactions?${query}`, auth: first.client.sessionToken });
  assert.equal(r.statusCode, 200, r.body);
  return r.json<Page>();
}

/** Every page of a query, forwards (starting_after), as a list of ids. */
async function all(filter: string, limit: number, between?: () => Promise<void>): Promise<string[]> {
  const ids: string[] = [];
  let cursor: string | undefined;
  for (;;) {
    const p = await page(`limit=${limit}${filter ? `&${filter}` : ''}${cursor ? `&starting_after=${cursor}` : ''}`);
    ids.push(...p.data.map((x) => x.id));
    if (!p.has_more) return ids;
    cursor = p.data.at(-1)!.id;
    if (between) await between();
  }
}

before(async () => {
  t = await startTestTessera();
  const transport = new InjectTransport(() => t.tessera.app);
  first = await runProvision(transport, {}, quiet);
  // A second device (and card) of the same user.
  second = await runProvision(transport, { user: first.user }, quiet);
  for (let i = 0; i < 45; i++) seeded.push(await record(i % 3 === 2 ? second : first, i));
});
after(async () => {
  await t.close();
});

const newestFirst = (ids: string[]) => [...ids].sort().reverse();

describe('transaction history: cursor pages', () => {
  it('pages through everything newest first with no duplicates and no gaps', async () => {
    const ids = await all('', 7);
    assert.deepEqual(ids, newestFirst(seeded.map((s) => s.id)));
  });

  it('stays exact while transactions are recorded concurrently: every row present at the start, once', async () => {
    const atStart = await all('', 100);
    let n = 1000;
    const inserted: string[] = [];
    // Another task records new transactions between (and during) page requests.
    let stop = false;
    const writer = (async () => {
      // Yields between writes: PGlite's one connection would otherwise never let the reader in.
      for (let k = 0; k < 40 && !stop; k++) {
        inserted.push((await record(n % 2 ? first : second, n++)).id);
        await sleep(1);
      }
    })();
    const seen = await all('', 5, async () => {
      inserted.push((await record(first, n++)).id);
    });
    stop = true;
    await writer;
    assert.ok(inserted.length > 5);
    assert.equal(new Set(seen).size, seen.length, 'no duplicates');
    // Strictly descending: the cursor never went back.
    assert.deepEqual(seen, newestFirst(seen));
    const seenSet = new Set(seen);
    for (const id of atStart) assert.ok(seenSet.has(id), `row ${id} present at the start was skipped`);
    // Rows inserted meanwhile are newer than the cursor: at most those recorded before the first page show up.
    for (const id of seen) assert.ok(atStart.includes(id) || inserted.includes(id));
    seeded.push(...(await Promise.all(inserted.map(async (id) => {
      const r = await t.request({ method: 'GET', url: `/platform/v1/transactions/${id}`, auth: first.client.sessionToken });
      const x = r.json<{ id: string; card_id: string; status: string; type: string; occurred_at: string }>();
      return { id: x.id, card: x.card_id, status: x.status, type: x.type, occurred: Date.parse(x.occurred_at) };
    }))));
  });

  it('pages backwards with ending_before to the same rows', async () => {
    const forward = await all('', 100);
    const oldest = forward.at(-1)!;
    const back: string[] = [];
    let cursor = oldest;
    for (;;) {
      const p = await page(`limit=6&ending_before=${cursor}`);
      back.unshift(...p.data.map((x) => x.id));
      if (!p.has_more || p.data.length === 0) break;
      cursor = p.data[0]!.id;
    }
    assert.deepEqual([...back, oldest], forward);
  });

  it('filters by status, type, card and date range, each paged exactly', async () => {
    const expect = (pred: (s: Seeded) => boolean) => newestFirst(seeded.filter(pred).map((s) => s.id));
    assert.deepEqual(await all('status=declined', 4), expect((s) => s.status === 'declined'));
    assert.deepEqual(await all('type=inapp', 4), expect((s) => s.type === 'inapp'));
    assert.deepEqual(await all(`card_id=${second.cardId}`, 4), expect((s) => s.card === second.cardId));
    const gte = new Date(START + 3 * DAY).toISOString();
    const lte = new Date(START + 6 * DAY).toISOString();
    assert.deepEqual(
      await all(`created_gte=${encodeURIComponent(gte)}&created_lte=${encodeURIComponent(lte)}`, 4),
      expect((s) => s.occurred >= Date.parse(gte) && s.occurred <= Date.parse(lte)),
    );
    assert.deepEqual(
      await all(`status=approved&card_id=${first.cardId}&type=nfc`, 3),
      expect((s) => s.status === 'approved' && s.card === first.cardId && s.type === 'nfc'),
    );
    assert.deepEqual(await all('status=refunded', 4), []);
  });

  it("never shows another user's transactions, even through a cursor", async () => {
    const transport = new InjectTransport(() => t.tessera.app);
    const stranger = await runProvision(transport, {}, quiet);
    const mine = await record(stranger, 5000);
    const r = await t.request({ method: 'GET', url: `/platform/v1/transactions?starting_after=${mine.id}&limit=100`, auth: first.client.sessionToken });
    assert.ok(!r.json<Page>().data.some((x) => x.id === mine.id));
    const own = await t.request({ method: 'GET', url: `/platform/v1/transactions?limit=100`, auth: stranger.client.sessionToken });
    assert.deepEqual(
      own.json<Page>().data.map((x) => x.id),
      [mine.id],
    );
    const get = await t.request({ method: 'GET', url: `/platform/v1/transactions/${mine.id}`, auth: first.client.sessionToken });
    assert.equal(get.statusCode, 404);
  });

  it('rejects limits outside 1..100 and unknown filters', async () => {
    for (const q of ['limit=0', 'limit=101', 'status=nope', 'created_gte=yesterday', 'colour=red']) {
      const r = await t.request({ method: 'GET', url: `/platform/v1/transactions?${q}`, auth: first.client.sessionToken });
      assert.equal(r.statusCode, 400, q);
    }
  });
});
