import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
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
