import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { migrate } from '../../src/infra/db/index.js';
import { recordDeviceEvent } from '../../src/platform/push.js';
import { createTestEnv, type TestEnv } from '../helpers/env.js';

let env: TestEnv;
before(async () => {
  env = await createTestEnv();
  await migrate(env.db, [
    { module: 'infra', dir: new URL('../../src/infra/migrations/', import.meta.url) },
    { module: 'platform', dir: new URL('../../src/platform/migrations/', import.meta.url) },
  ]);
  await env.db.query("INSERT INTO platform.users (id, email, name, password_hash) VALUES ('usr_pushlock', 'push-lock@example.test', 'Push Lock', 'scrypt$x')");
});
after(async () => {
  await env.close();
});

describe('device events', () => {
  it("a user's second event waits for the first one's transaction, so ids commit in order", async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const steps: string[] = [];
    const first = env.db.tx(async (tx) => {
      const id = await recordDeviceEvent(tx, { userId: 'usr_pushlock', type: 'transaction.recorded', payload: { n: 1 } });
      steps.push('first recorded');
      await gate;
      return id;
    });
    await sleep(30);
    const second = env.db.tx(async (tx) => {
      const id = await recordDeviceEvent(tx, { userId: 'usr_pushlock', type: 'transaction.recorded', payload: { n: 2 } });
      steps.push('second recorded');
      return id;
    });
    await sleep(150);
    const whileOpen = [...steps];
    steps.push('first commits');
    release();
    const [a, b] = await Promise.all([first, second]);
    assert.deepEqual(whileOpen, ['first recorded'], 'the second is held while the first is open');
    assert.deepEqual(steps, ['first recorded', 'first commits', 'second recorded']);
    assert.ok(BigInt(b) > BigInt(a));
    const { rows } = await env.db.query<{ id: string; n: number }>("SELECT id::text, (payload->>'n')::int AS n FROM platform.device_events WHERE user_id = 'usr_pushlock' ORDER BY id");
    assert.deepEqual(rows.map((r) => r.n), [1, 2]);
  });
});
