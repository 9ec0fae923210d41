import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { isRetryable, migrate, withRetry } from '../../src/infra/db/index.js';
import { AppError } from '../../src/infra/errors.js';
import { createTestEnv, type TestEnv } from '../helpers/env.js';
import { writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

let env: TestEnv;
before(async () => {
  env = await createTestEnv();
});
after(async () => {
  await env.close();
});

describe(`database (${process.env.DATABASE_URL ? 'PostgreSQL' : 'PGlite'})`, () => {
  it('applies migrations once, in order, and refuses an edited one', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mig-'));
    try {
      writeFileSync(join(dir, '0001_first.sql'), 'CREATE SCHEMA m1; CREATE TABLE m1.t (x int CHECK (x > 0));');
      writeFileSync(join(dir, '0002_second.sql'), 'ALTER TABLE m1.t ADD COLUMN y int;');
      const set = { module: 'm1', dir: pathToFileURL(`${dir}/`) };
      assert.deepEqual((await migrate(env.db, [set])).applied, ['m1/1_first', 'm1/2_second']);
      assert.deepEqual((await migrate(env.db, [set])).applied, []);
      writeFileSync(join(dir, '0002_second.sql'), 'ALTER TABLE m1.t ADD COLUMN z int;');
      await assert.rejects(migrate(env.db, [set]), /changed after it was applied/);
      writeFileSync(join(dir, 'bad.sql'), '');
      await assert.rejects(migrate(env.db, [set]), /NNNN_name\.sql/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('rolls a failed transaction back', async () => {
    await env.db.exec('CREATE TABLE rb (x int PRIMARY KEY)');
    await assert.rejects(
      env.db.tx(async (tx) => {
        await tx.query('INSERT INTO rb VALUES (1)');
        await tx.query('INSERT INTO rb VALUES (1)');
      }),
    );
    assert.equal((await env.db.query('SELECT * FROM rb')).rows.length, 0);
  });

  it('retries serialization failures so that concurrent read-modify-write never loses an update', async () => {
    await env.db.exec('CREATE TABLE counter (id int PRIMARY KEY, n int NOT NULL); INSERT INTO counter VALUES (1, 0);');
    const workers = 20;
    await Promise.all(
      Array.from({ length: workers }, () =>
        env.db.tx(async (tx) => {
          const { rows } = await tx.query<{ n: number }>('SELECT n FROM counter WHERE id = 1');
          await new Promise((r) => setTimeout(r, 5));
          await tx.query('UPDATE counter SET n = $1 WHERE id = 1', [rows[0]!.n + 1]);
        }, { isolation: 'serializable', retries: 50 }),
      ),
    );
    const { rows } = await env.db.query<{ n: number }>('SELECT n FROM counter WHERE id = 1');
    assert.equal(rows[0]!.n, workers);
  });

  it('turns exhausted retries into a catalogue error, not a driver error', async () => {
    const failure = Object.assign(new Error('could not serialize access'), { code: '40001' });
    assert.equal(isRetryable(failure), true);
    let attempts = 0;
    await assert.rejects(
      withRetry(async () => {
        attempts++;
        throw failure;
      }, 3),
      (err: unknown) => err instanceof AppError && err.code === 'busy_retry' && err.status === 409,
    );
    assert.equal(attempts, 4);
  });

  it('has CHECK constraints on state columns', async () => {
    await migrate(env.db, [{ module: 'infra', dir: new URL('../../src/infra/migrations/', import.meta.url) }]);
    await assert.rejects(
      env.db.query(`INSERT INTO infra.idempotency_keys (principal, idem_key, request_hash, method, route, status) VALUES ('p', 'k', decode(repeat('00', 32), 'hex'), 'POST', '/x', 'weird')`),
      (err: { code?: string }) => err.code === '23514',
    );
  });
});
