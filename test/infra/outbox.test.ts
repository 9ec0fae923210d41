import assert from 'node:assert/strict';
import { after, before, describe, it, mock } from 'node:test';
import { migrate } from '../../src/infra/db/index.js';
import { enqueue, OutboxWorker } from '../../src/infra/outbox.js';
import { createTestEnv, type TestEnv } from '../helpers/env.js';

let env: TestEnv;
before(async () => {
  env = await createTestEnv();
  await migrate(env.db, [{ module: 'infra', dir: new URL('../../src/infra/migrations/', import.meta.url) }]);
});
after(async () => {
  await env.close();
});

describe('outbox', () => {
  it('delivers at least once, in order per object, and a failing object waits while others go on', async () => {
    for (let i = 0; i < 3; i++) await enqueue(env.db, { topic: 'demo.changed', aggregateId: 'obj_a', payload: { n: i } });
    for (let i = 0; i < 3; i++) await enqueue(env.db, { topic: 'demo.changed', aggregateId: 'obj_b', payload: { n: i } });
    const seen: string[] = [];
    let failA = true;
    const worker = new OutboxWorker(env.db).on('demo', async (e) => {
      const p = e.payload as { n: number };
      if (e.aggregate_id === 'obj_a' && failA) throw new Error('receiver down');
      seen.push(`${e.aggregate_id}:${p.n}`);
    });
    await worker.runOnce();
    assert.deepEqual(seen, ['obj_b:0', 'obj_b:1', 'obj_b:2'], 'b delivered in order; a blocked behind its failed first event');
    // a's first event backs off; once the receiver is back and the backoff is over, a arrives in order.
    failA = false;
    await env.db.query("UPDATE infra.outbox SET next_attempt_at = now() WHERE delivered_at IS NULL");
    await worker.runOnce();
    assert.deepEqual(seen.slice(3), ['obj_a:0', 'obj_a:1', 'obj_a:2']);
    const { rows } = await env.db.query<{ n: number }>('SELECT count(*)::int AS n FROM infra.outbox WHERE delivered_at IS NULL');
    assert.equal(rows[0]!.n, 0);
  });

  it('different objects are delivered concurrently, each one\'s events still in order', async () => {
    for (const agg of ['c_a', 'c_b', 'c_c']) for (let i = 0; i < 3; i++) await enqueue(env.db, { topic: 'conc.changed', aggregateId: agg, payload: { n: i } });
    const seen: string[] = [];
    let inFlight = 0;
    let most = 0;
    const worker = new OutboxWorker(env.db, { concurrency: 3 }).on('conc', async (e) => {
      inFlight++;
      most = Math.max(most, inFlight);
      await new Promise((r) => setTimeout(r, 5));
      inFlight--;
      seen.push(`${e.aggregate_id}:${(e.payload as { n: number }).n}`);
    });
    assert.equal(await worker.runOnce(), 9);
    assert.equal(most, 3, 'three objects at once');
    for (const agg of ['c_a', 'c_b', 'c_c']) assert.deepEqual(seen.filter((x) => x.startsWith(agg)), [0, 1, 2].map((n) => `${agg}:${n}`));
  });

  it('a round that found a full batch is followed at once by the next, not at the next interval', async () => {
    for (let i = 0; i < 35; i++) await enqueue(env.db, { topic: 'full.changed', aggregateId: `f_${i}`, payload: {} });
    let got = 0;
    // The worker's interval is under the test's control: exactly one tick ever comes, so every round
    // after the first happens only because the one before it found a full batch, however slow the machine.
    mock.timers.enable({ apis: ['setInterval'] });
    const worker = new OutboxWorker(env.db, { batchSize: 10, intervalMs: 1_000 }).on('full', async () => {
      got++;
    });
    try {
      worker.start();
      mock.timers.tick(1_000);
      const until = Date.now() + 120_000; // a safety net, not a deadline
      while (got < 35 && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
      assert.equal(got, 35);
    } finally {
      await worker.stop();
      mock.timers.reset();
    }
  });

  it('a round that fails (the database lost mid-round) still marks what it delivered, after every object\'s delivery ended', async () => {
    await enqueue(env.db, { topic: 'lost.changed', aggregateId: 'l_fails', payload: {} });
    for (let i = 0; i < 3; i++) await enqueue(env.db, { topic: 'lost.changed', aggregateId: `l_ok_${i}`, payload: {} });
    // Recording the failure's backoff fails: that object's lane ends in an error.
    const db = new Proxy(env.db, {
      get: (target, prop, receiver) =>
        prop === 'query'
          ? (text: string, params?: unknown[]) => (text.includes('make_interval') ? Promise.reject(new Error('connection lost')) : target.query(text, params))
          : Reflect.get(target, prop, receiver),
    });
    const delivered: string[] = [];
    let running = 0;
    const worker = new OutboxWorker(db, { concurrency: 2 }).on('lost', async (e) => {
      if (e.aggregate_id === 'l_fails') throw new Error('receiver down');
      running++;
      await new Promise((r) => setTimeout(r, 20));
      running--;
      delivered.push(e.aggregate_id);
    });
    await assert.rejects(worker.runOnce(), /connection lost/);
    assert.equal(running, 0, 'no delivery outlives its round');
    assert.deepEqual(delivered.sort(), ['l_ok_0', 'l_ok_1', 'l_ok_2']);
    const { rows } = await env.db.query<{ aggregate_id: string }>("SELECT aggregate_id FROM infra.outbox WHERE topic = 'lost.changed' AND delivered_at IS NULL");
    assert.deepEqual(rows.map((r) => r.aggregate_id), ['l_fails']);
  });

  it('events nobody handles do not fill the batches', async () => {
    for (let i = 0; i < 30; i++) await enqueue(env.db, { topic: 'unhandled.thing', aggregateId: `u_${i}`, payload: {} });
    await enqueue(env.db, { topic: 'wanted.thing', aggregateId: 'w', payload: {} });
    let got = 0;
    const worker = new OutboxWorker(env.db, { batchSize: 10 }).on('wanted', async () => {
      got++;
    });
    await worker.runOnce();
    assert.equal(got, 1);
  });

  it('an event id is written once (de-duplication key for receivers)', async () => {
    await enqueue(env.db, { topic: 'x.y', aggregateId: 'a', payload: {}, eventId: 'evt_fixed_1' });
    await enqueue(env.db, { topic: 'x.y', aggregateId: 'a', payload: {}, eventId: 'evt_fixed_1' });
    const { rows } = await env.db.query<{ n: number }>("SELECT count(*)::int AS n FROM infra.outbox WHERE event_id = 'evt_fixed_1'");
    assert.equal(rows[0]!.n, 1);
  });
});
