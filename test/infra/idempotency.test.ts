import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { Type } from 'typebox';
import type { FastifyInstance } from 'fastify';
import { RedisCache, type Cache } from '../../src/infra/cache/index.js';
import { migrate } from '../../src/infra/db/index.js';
import { AppError } from '../../src/infra/errors.js';
import { buildHttpApp } from '../../src/infra/http/app.js';
import { ApiKeys } from '../../src/infra/http/auth.js';
import { defineRoute, type RouteSpec } from '../../src/infra/http/route.js';
import { createTestEnv, type TestEnv } from '../helpers/env.js';

let env: TestEnv;
let key: string;
let otherKey: string;
let downstreamCalls = 0;
let failNextDownstream = false;

/** A route whose effect is a row: the number of rows is the number of effects. */
const atomicRoute = defineRoute({
  method: 'POST',
  url: '/test/v1/effects',
  operationId: 'v1_effects_create',
  summary: 'test effect',
  tags: ['test'],
  auth: { kind: 'apiKey', roles: ['merchant'] },
  idempotency: 'atomic',
  body: Type.Object({ amount: Type.Integer({ minimum: 0 }), reject: Type.Optional(Type.Boolean()) }, { additionalProperties: false }),
  response: { 201: Type.Object({ id: Type.Integer(), amount: Type.Integer(), at: Type.String() }) },
  async handler({ body, tx }) {
    const { rows } = await tx.query<{ id: number }>('INSERT INTO test_effects (kind, amount) VALUES ($1, $2) RETURNING id', ['atomic', body.amount]);
    // Holds the transaction open a little, so concurrent requests really overlap.
    await sleep(30);
    if (body.reject) throw new AppError('resource_conflict', { message: 'rejected on purpose' });
    return { status: 201, body: { id: rows[0]!.id, amount: body.amount, at: new Date().toISOString() } };
  },
});

/** Two phases around a call to another party that cannot be rolled back. */
const phasedRoute = defineRoute({
  method: 'POST',
  url: '/test/v1/transfers',
  operationId: 'v1_transfers_create',
  summary: 'test phased',
  tags: ['test'],
  auth: { kind: 'apiKey', roles: ['merchant'] },
  idempotency: 'phased',
  body: Type.Object({ amount: Type.Integer() }),
  response: { 201: Type.Object({ local: Type.Integer(), remote: Type.Integer() }) },
  async handler({ body, step }) {
    const local = await step('record', async (tx) => (await tx.query<{ id: number }>('INSERT INTO test_effects (kind, amount) VALUES ($1, $2) RETURNING id', ['phased', body.amount])).rows[0]!.id);
    const remote = await step('downstream', async () => {
      downstreamCalls++;
      if (failNextDownstream) {
        failNextDownstream = false;
        throw new Error('downstream timed out');
      }
      return downstreamCalls;
    });
    return { status: 201, body: { local, remote } };
  },
});

async function appWith(cache: Cache): Promise<FastifyInstance> {
  const apiKeys = new ApiKeys(env.db, cache);
  return buildHttpApp({ db: env.db, cache, logger: env.logger, apiKeys }, [atomicRoute, phasedRoute] as RouteSpec[], { title: 't', version: '0' });
}

async function effects(kind = 'atomic'): Promise<number> {
  const { rows } = await env.db.query<{ n: number }>('SELECT count(*)::int AS n FROM test_effects WHERE kind = $1', [kind]);
  return rows[0]!.n;
}

before(async () => {
  env = await createTestEnv();
  await migrate(env.db, [{ module: 'infra', dir: new URL('../../src/infra/migrations/', import.meta.url) }]);
  await env.db.exec('CREATE TABLE test_effects (id serial PRIMARY KEY, kind text NOT NULL, amount int NOT NULL)');
  const keys = new ApiKeys(env.db, env.cache);
  key = (await keys.create('merchant', 'mer_a')).secret;
  otherKey = (await keys.create('merchant', 'mer_b')).secret;
});
after(async () => {
  await env.close();
});

async function fire(app: FastifyInstance, n: number, idemKey: string, payload: unknown, secret = key) {
  return Promise.all(
    Array.from({ length: n }, () =>
      app.inject({ method: 'POST', url: '/test/v1/effects', headers: { authorization: `Bearer ${secret}`, 'idempotency-key': idemKey }, payload: payload as object }),
    ),
  );
}

describe(`idempotency (${process.env.DATABASE_URL ? 'PostgreSQL' : 'PGlite'}, ${process.env.REDIS_URL ? 'Redis' : 'memory cache'})`, () => {
  it('50 concurrent requests with one key make one effect; every answer is the stored one or 409 in flight', async () => {
    const app = await appWith(env.cache);
    const before = await effects();
    const responses = await fire(app, 50, 'concurrent-1', { amount: 1234 });
    assert.equal((await effects()) - before, 1, 'exactly one effect');
    const done = responses.filter((r) => r.statusCode === 201);
    const inFlight = responses.filter((r) => r.statusCode === 409);
    assert.equal(done.length + inFlight.length, 50, `unexpected statuses ${responses.map((r) => r.statusCode).join(',')}`);
    for (const r of inFlight) assert.equal(r.json().error.code, 'idempotency_in_flight');
    const bodies = new Set(done.map((r) => r.body));
    assert.equal(bodies.size, 1, 'every completed answer is identical');

    // Afterwards every retry gets the very same response back, marked as a replay.
    const replays = await fire(app, 10, 'concurrent-1', { amount: 1234 });
    for (const r of replays) {
      assert.equal(r.statusCode, 201);
      assert.equal(r.body, [...bodies][0]);
      assert.equal(r.headers['idempotent-replayed'], 'true');
    }
    assert.equal((await effects()) - before, 1);
    await app.close();
  });

  it('the same key with a different body is refused with 422; key order in the body does not matter', async () => {
    const app = await appWith(env.cache);
    const first = await fire(app, 1, 'body-check', { amount: 5 });
    assert.equal(first[0]!.statusCode, 201);
    const different = await fire(app, 1, 'body-check', { amount: 6 });
    assert.equal(different[0]!.statusCode, 422);
    assert.equal(different[0]!.json().error.code, 'idempotency_key_reused');
    assert.equal(different[0]!.json().error.type, 'idempotency_error');
    await app.close();
  });

  it('keys are scoped to the principal: another merchant with the same key gets its own effect', async () => {
    const app = await appWith(env.cache);
    const before = await effects();
    const a = await fire(app, 1, 'shared-key', { amount: 7 });
    const b = await fire(app, 1, 'shared-key', { amount: 7 }, otherKey);
    assert.equal(a[0]!.statusCode, 201);
    assert.equal(b[0]!.statusCode, 201);
    assert.notEqual(a[0]!.json().id, b[0]!.json().id);
    assert.equal((await effects()) - before, 2);
    await app.close();
  });

  it('a definite error is stored and replayed; the effect of the failed attempt is rolled back', async () => {
    const app = await appWith(env.cache);
    const before = await effects();
    const first = await fire(app, 1, 'err-1', { amount: 1, reject: true });
    assert.equal(first[0]!.statusCode, 409);
    const again = await fire(app, 1, 'err-1', { amount: 1, reject: true });
    assert.equal(again[0]!.statusCode, 409);
    assert.equal(again[0]!.json().error.message, 'rejected on purpose');
    assert.equal(again[0]!.headers['idempotent-replayed'], 'true');
    assert.equal(await effects(), before);
    await app.close();
  });

  it('rejects malformed keys with 400', async () => {
    const app = await appWith(env.cache);
    for (const bad of ['', 'x'.repeat(256), 'tab\there']) {
      const res = await app.inject({ method: 'POST', url: '/test/v1/effects', headers: { authorization: `Bearer ${key}`, 'idempotency-key': bad }, payload: { amount: 1 } });
      assert.equal(res.statusCode, 400, JSON.stringify(bad));
      assert.equal(res.json().error.code, 'idempotency_key_invalid');
    }
    await app.close();
  });

  it('phased flows resume from their last recovery point and never repeat a finished call', async () => {
    const app = await appWith(env.cache);
    const send = () => app.inject({ method: 'POST', url: '/test/v1/transfers', headers: { authorization: `Bearer ${key}`, 'idempotency-key': 'phased-1' }, payload: { amount: 10 } });
    failNextDownstream = true;
    const callsBefore = downstreamCalls;
    const first = await send();
    assert.equal(first.statusCode, 500, 'the downstream failure is an unexpected error');
    assert.equal(first.json().error.code, 'internal_error');
    assert.doesNotMatch(first.body, /timed out/, 'internals stay out of the body');
    const second = await send();
    assert.equal(second.statusCode, 201);
    assert.equal(await effects('phased'), 1, 'the first phase ran once');
    const third = await send();
    assert.equal(third.body, second.body);
    assert.equal(downstreamCalls - callsBefore, 2, 'the failed call and the one retry: nothing after it finished');
    await app.close();
  });

  it('Redis stopped: still exactly one effect per key, because PostgreSQL is the guard', async () => {
    const port = await freePort();
    let server: ChildProcess | undefined;
    const haveRedis = spawnSync('redis-server', ['--version']).status === 0;
    if (haveRedis) {
      server = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
      await waitForPort(port);
    }
    // With a redis-server binary: a real Redis that is killed mid-test. Without one: a port nobody
    // listens on, which is what a stopped Redis looks like to the client.
    const cache = new RedisCache(`redis://127.0.0.1:${port}`, { keyPrefix: 'idem-test:' });
    await cache.ready(1000);
    const app = await appWith(cache);
    if (server) {
      assert.equal((await cache.health()).ok, true);
      server.kill('SIGKILL');
      await new Promise((r) => server!.once('exit', r));
    }
    const before = await effects();
    const responses = await fire(app, 50, 'redis-down-1', { amount: 99 });
    assert.equal((await effects()) - before, 1);
    assert.ok(responses.every((r) => r.statusCode === 201 || r.statusCode === 409));
    assert.equal((await cache.health()).ok, false, 'the cache reports itself down');
    await app.close();
    await cache.close();
  });
});

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

async function waitForPort(port: number): Promise<void> {
  const { Socket } = await import('node:net');
  const until = Date.now() + 60_000; // a safety net: a busy machine may take a while to start it
  while (Date.now() < until) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = new Socket();
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
      s.connect(port, '127.0.0.1');
    });
    if (ok) return;
    await sleep(50);
  }
  throw new Error('redis-server did not start');
}
