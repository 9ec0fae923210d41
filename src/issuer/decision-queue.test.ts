import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DecisionQueue } from './decision-queue.js';

interface Item {
  issuerId: string;
  req: { key: string; fingerprint: Buffer | null };
  name: string;
}

const item = (name: string, key: string, card: number | null, issuerId = 'iss_a'): Item => ({ issuerId, name, req: { key, fingerprint: card === null ? null : Buffer.from([card]) } });

/** A queue whose batches are held until the test lets them go; it records what each batch held. */
function heldQueue(maxInFlight = 1) {
  const batches: string[][] = [];
  const releases: (() => void)[] = [];
  const queue = new DecisionQueue<Item, string>(
    (batch) =>
      new Promise((resolve) => {
        batches.push(batch.map((b) => b.name));
        releases.push(() => resolve(batch.map((b) => `decided ${b.name}`)));
      }),
    4,
    maxInFlight,
  );
  const releaseNext = async () => {
    releases.shift()!();
    await new Promise((r) => setImmediate(r));
  };
  return { queue, batches, releaseNext };
}

describe('the issuer decision queue', () => {
  it('sends a request at once when nothing is in flight; what arrives meanwhile goes together next, each caller getting its own answer', async () => {
    const { queue, batches, releaseNext } = heldQueue();
    const first = queue.submit(item('a', 'k1', 1));
    assert.deepEqual(batches, [['a']]);
    const later = [queue.submit(item('b', 'k2', 2)), queue.submit(item('c', 'k3', 3))];
    assert.equal(batches.length, 1, 'nothing more is sent while a batch is in flight');
    await releaseNext();
    assert.equal(await first, 'decided a');
    assert.deepEqual(batches[1], ['b', 'c']);
    await releaseNext();
    assert.deepEqual(await Promise.all(later), ['decided b', 'decided c']);
  });

  it('never puts two requests with one transaction key or one card in a batch; they wait, in order, for the next', async () => {
    const { queue, batches, releaseNext } = heldQueue();
    const all = [queue.submit(item('first', 'k0', 9))];
    all.push(
      queue.submit(item('a', 'k1', 1)),
      queue.submit(item('a-again', 'k1', 1)),
      queue.submit(item('same-card', 'k2', 1)),
      queue.submit(item('other-issuer-same-key', 'k1', 5, 'iss_b')),
      queue.submit(item('no-card', 'k3', null)),
      queue.submit(item('no-card-2', 'k4', null)),
    );
    await releaseNext();
    // At most 4 per batch; the second k1 and the second request of card 1 are left for later.
    assert.deepEqual(batches[1], ['no-card', 'no-card-2', 'a', 'other-issuer-same-key']);
    await releaseNext();
    assert.deepEqual(batches[2], ['a-again']);
    await releaseNext();
    assert.deepEqual(batches[3], ['same-card']);
    await releaseNext();
    assert.equal((await Promise.all(all)).length, 7);
  });

  it('orders a batch by card fingerprint, so every batch locks card rows in one order', async () => {
    const { queue, batches, releaseNext } = heldQueue();
    const all = [queue.submit(item('x', 'k0', 200))];
    all.push(queue.submit(item('c3', 'k1', 30)), queue.submit(item('c1', 'k2', 10)), queue.submit(item('c2', 'k3', 20)));
    await releaseNext();
    assert.deepEqual(batches[1], ['c1', 'c2', 'c3']);
    await releaseNext();
    await Promise.all(all);
  });

  it('a failed batch rejects each of its callers, and the queue goes on', async () => {
    let calls = 0;
    const queue = new DecisionQueue<Item, string>(async (batch) => {
      calls++;
      if (calls === 1) throw new Error('connection lost');
      return batch.map((b) => b.name);
    });
    await assert.rejects(queue.submit(item('a', 'k1', 1)), /connection lost/);
    assert.equal(await queue.submit(item('b', 'k2', 2)), 'b');
  });
});
