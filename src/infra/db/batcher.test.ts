import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Batcher } from './batcher.js';

const tick = () => new Promise((r) => setImmediate(r));

/** A fake statement: records each call's items, answers when released. */
function fakeStatement() {
  const calls: { kind: 'many' | 'one'; items: number[] }[] = [];
  let gate: (() => void) | null = null;
  const held = () => new Promise<void>((r) => (gate = r));
  return {
    calls,
    release: () => gate?.(),
    many: async (items: number[]) => {
      calls.push({ kind: 'many', items });
      await held();
      return items.map((x) => x * 10);
    },
    one: async (item: number) => {
      calls.push({ kind: 'one', items: [item] });
      await held();
      return item * 10;
    },
  };
}

test('an item on a quiet batcher goes at once, alone; items arriving meanwhile go together after it', async () => {
  const st = fakeStatement();
  const b = new Batcher(st.many, st.one, { maxInFlight: 1 });
  const first = b.submit(1);
  assert.deepEqual(st.calls, [{ kind: 'one', items: [1] }]);
  const rest = [2, 3, 4].map((x) => b.submit(x));
  await tick();
  assert.equal(st.calls.length, 1, 'nothing else is sent while the first is in flight');
  st.release();
  assert.equal(await first, 10);
  await tick();
  assert.deepEqual(st.calls[1], { kind: 'many', items: [2, 3, 4] });
  st.release();
  assert.deepEqual(await Promise.all(rest), [20, 30, 40]);
});

test('batches are at most maxBatch items', async () => {
  const sizes: number[] = [];
  const b = new Batcher(
    async (items: number[]) => {
      sizes.push(items.length);
      await tick();
      return items;
    },
    async (x: number) => {
      sizes.push(1);
      await tick();
      return x;
    },
    { maxBatch: 3, maxInFlight: 1 },
  );
  const out = await Promise.all(Array.from({ length: 8 }, (_, i) => b.submit(i)));
  assert.deepEqual(out, [0, 1, 2, 3, 4, 5, 6, 7]);
  assert.deepEqual(sizes, [1, 3, 3, 1]);
});

test('a batch refused for one item\'s data (SQLSTATE 23xxx) is retried item by item: only that caller fails', async () => {
  const alone: number[] = [];
  const b = new Batcher(
    async () => {
      throw Object.assign(new Error('check violation'), { code: '23514' });
    },
    async (x: number) => {
      alone.push(x);
      await tick();
      if (x === 2) throw Object.assign(new Error('check violation'), { code: '23514' });
      return x;
    },
    { maxInFlight: 1 },
  );
  const first = b.submit(0);
  const results = await Promise.allSettled([1, 2, 3].map((x) => b.submit(x)));
  assert.equal(await first, 0);
  assert.deepEqual(results.map((r) => r.status), ['fulfilled', 'rejected', 'fulfilled']);
  assert.deepEqual(alone.sort(), [0, 1, 2, 3]);
});

test('any other failure of a batch (outcome unknown) reaches every caller and nothing is sent again', async () => {
  let ones = 0;
  const b = new Batcher(
    async () => {
      throw Object.assign(new Error('connection terminated'), { code: 'ECONNRESET' });
    },
    async (x: number) => {
      ones++;
      await tick();
      return x;
    },
    { maxInFlight: 1 },
  );
  const first = b.submit(0);
  const results = await Promise.allSettled([1, 2].map((x) => b.submit(x)));
  await first;
  assert.equal(ones, 1, 'only the first, which went alone');
  assert.ok(results.every((r) => r.status === 'rejected' && (r.reason as Error).message === 'connection terminated'));
});

test('a batch answering the wrong number of results fails its callers rather than guessing', async () => {
  const b = new Batcher(async () => [1], async (x: number) => {
    await tick();
    return x;
  }, { maxInFlight: 1 });
  const first = b.submit(0);
  const results = await Promise.allSettled([1, 2].map((x) => b.submit(x)));
  await first;
  assert.ok(results.every((r) => r.status === 'rejected'));
});

test('items with one key never share a batch: the later waits for the next, ahead of those after it; null keys never wait', async () => {
  const batches: number[][] = [];
  const b = new Batcher(
    async (items: number[]) => {
      batches.push(items);
      await tick();
      return items.map((x) => x * 10);
    },
    async (x: number) => {
      batches.push([x]);
      await tick();
      return x * 10;
    },
    // 100+ have no key; the others are keyed by their last digit.
    { maxInFlight: 1, maxBatch: 3, keys: (x) => (x >= 100 ? [] : [String(x % 10)]) },
  );
  const first = b.submit(0);
  const rest = [1, 11, 21, 100, 101, 2, 12, 3].map((x) => b.submit(x));
  assert.deepEqual(await Promise.all([first, ...rest]), [0, 10, 110, 210, 1000, 1010, 20, 120, 30]);
  assert.deepEqual(batches, [[0], [1, 100, 101], [11, 2, 3], [21, 12]]);
});
