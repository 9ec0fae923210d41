import assert from 'node:assert/strict';
import { createServer, request, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { InjectTransport } from '../../src/infra/transport.js';
import { verifySignature } from '../../src/infra/webhooks.js';
import type { Target } from '../../src/scenario/harness.js';
import { runProvision, type ProvisionedDevice } from '../../src/scenario/provision.js';
import { kernelFor, sandboxTerminal, tap, type TerminalSetup } from '../../src/scenario/tap.js';
import { createTessera, type Tessera } from '../../src/server/tessera.js';
import { createTestEnv, type TestEnv } from '../helpers/env.js';

let env: TestEnv;
let tessera: Tessera;
let target: Target;
let base: string;

const quiet = { step: () => {}, detail: () => {} };

before(async () => {
  env = await createTestEnv();
  tessera = await createTessera({ config: env.config, logger: env.logger, db: env.db, cache: env.cache });
  const transport = new InjectTransport(() => tessera.app);
  target = { device: transport, raw: transport, trace: undefined, tessera, adminKey: tessera.newAdminKey, close: async () => {} };
  await tessera.app.listen({ host: '127.0.0.1', port: 0 });
  base = `http://127.0.0.1:${(tessera.app.server.address() as AddressInfo).port}`;
});
after(async () => {
  await tessera.close();
  await env.close();
});

async function device(): Promise<ProvisionedDevice> {
  const d = await runProvision(target.device, {}, quiet);
  await d.wallet.setDefaultCard(d.cardId);
  return d;
}

async function pay(d: ProvisionedDevice, t: TerminalSetup, amount: number) {
  assert.equal((await d.wallet.preparePayment({ biometric: 'match' })).ok, true);
  const r = await tap(target, d, t, kernelFor(t, { cvmLimit: 1_000_000 }), amount);
  return r;
}

/** Runs the outbox until nothing it can deliver now is left (events of one object go one per round). */
async function drain(rounds = 20) {
  for (let i = 0; i < rounds; i++) if ((await tessera.outbox.runOnce()) === 0) return;
}

// ---- a minimal text/event-stream client over a real socket ----

interface SseEvent {
  id: string;
  event: string;
  data: Record<string, unknown>;
}

function openStream(token: string, lastEventId?: string): Promise<{ status: number; events: SseEvent[]; waitFor(n: number, ms?: number): Promise<SseEvent[]>; close(): void; res: IncomingMessage }> {
  return new Promise((resolve, reject) => {
    const req = request(`${base}/platform/v1/events`, { headers: { authorization: `Bearer ${token}`, accept: 'text/event-stream', ...(lastEventId ? { 'last-event-id': lastEventId } : {}) } }, (res) => {
      const events: SseEvent[] = [];
      let buffer = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buffer += chunk;
        let end;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const fields: Record<string, string> = {};
          for (const line of block.split('\n')) {
            if (line.startsWith(':') || !line.includes(':')) continue;
            const i = line.indexOf(':');
            fields[line.slice(0, i)] = line.slice(i + 1).replace(/^ /, '');
          }
          if (fields.data !== undefined) events.push({ id: fields.id ?? '', event: fields.event ?? 'message', data: JSON.parse(fields.data) as Record<string, unknown> });
        }
      });
      res.on('error', () => {});
      resolve({
        status: res.statusCode ?? 0,
        events,
        res,
        async waitFor(n, ms = 120_000) {
          const deadline = Date.now() + ms;
          while (events.length < n && Date.now() < deadline) await sleep(20);
          assert.ok(events.length >= n, `expected ${n} events, got ${events.length}`);
          return events;
        },
        close: () => req.destroy(),
      });
    });
    req.on('error', reject);
    req.end();
  });
}

describe('push channel: GET /platform/v1/events', () => {
  it('streams transactions as they are recorded; a reconnect with Last-Event-ID gets what it missed, then live ones', async () => {
    const terminal = await sandboxTerminal(target);
    const d = await device();
    const other = await device();
    const token = d.client.sessionToken;

    const s1 = await openStream(token);
    assert.equal(s1.status, 200);
    assert.match(String(s1.res.headers['content-type']), /^text\/event-stream/);
    const o1 = await openStream(other.client.sessionToken);

    await pay(d, terminal, 500);
    await drain();
    const [first] = await s1.waitFor(1);
    assert.equal(first!.event, 'transaction.recorded');
    assert.equal(first!.data.amount, 500);
    assert.equal(first!.data.object, 'transaction');
    assert.equal(first!.data.card_id, d.cardId);
    assert.match(first!.id, /^\d+$/);
    s1.close();

    // Missed while disconnected.
    await pay(d, terminal, 700);
    await drain();

    const s2 = await openStream(token, first!.id);
    const [missed] = await s2.waitFor(1);
    assert.equal(missed!.data.amount, 700);
    assert.ok(BigInt(missed!.id) > BigInt(first!.id));
    // Then live.
    await pay(d, terminal, 900);
    await drain();
    const got = await s2.waitFor(2);
    assert.deepEqual(
      got.map((e) => e.data.amount),
      [700, 900],
    );
    assert.equal(new Set(got.map((e) => e.id)).size, 2);

    // Replaying from 0 gives the whole history in order; another user saw none of it.
    const s3 = await openStream(token, '0');
    const all = await s3.waitFor(3);
    assert.deepEqual(
      all.map((e) => e.data.amount),
      [500, 700, 900],
    );
    await sleep(100);
    assert.equal(o1.events.length, 0);
    s2.close();
    s3.close();
    o1.close();
  });

  it('answers 401 without a session and 400 for a malformed Last-Event-ID, before any stream', async () => {
    const anon = await tessera.app.inject({ method: 'GET', url: '/platform/v1/events' });
    assert.equal(anon.statusCode, 401);
    const d = await device();
    const bad = await tessera.app.inject({ method: 'GET', url: '/platform/v1/events', headers: { authorization: `Bearer ${d.client.sessionToken}`, 'last-event-id': 'evt_x' } });
    assert.equal(bad.statusCode, 400);
    assert.equal(bad.json<{ error: { code: string } }>().error.code, 'parameter_invalid');
    const badQuery = await tessera.app.inject({ method: 'GET', url: '/platform/v1/events?last_event_id=-1', headers: { authorization: `Bearer ${d.client.sessionToken}` } });
    assert.equal(badQuery.statusCode, 400);
  });

  it('closes its streams when the server shuts down (no hanging close)', async () => {
    const d = await device();
    const s = await openStream(d.client.sessionToken);
    assert.ok(tessera.platform.push.open >= 1);
    s.close();
    await sleep(50);
    // The hub forgets a stream whose client went away.
    assert.equal(tessera.platform.push.open, 0);
  });
});

// ---- merchant webhooks ----

interface Receiver {
  url: string;
  mode: 'up' | '503';
  events: { id: string; type: string; data: { object: { amount: number; status: string; id: string } } }[];
  rejected: number;
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** A reference receiver written to docs/reference/api-conventions.md: verifies the signature, de-duplicates by event id. */
function receiver(secrets: () => string[]): Receiver {
  let server: Server | undefined;
  let port = 0;
  const seen = new Set<string>();
  const r: Receiver = {
    url: '',
    mode: 'up',
    events: [],
    rejected: 0,
    async start() {
      server = createServer((req, res) => {
        const chunks: Buffer[] = [];
        req.on('data', (c: Buffer) => chunks.push(c));
        req.on('end', () => {
          if (r.mode === '503') {
            res.writeHead(503).end();
            return;
          }
          const raw = Buffer.concat(chunks);
          try {
            verifySignature(req.headers.signature, raw, secrets(), { toleranceSeconds: 300 });
          } catch {
            r.rejected++;
            res.writeHead(400).end();
            return;
          }
          const event = JSON.parse(raw.toString('utf8')) as Receiver['events'][number];
          if (!seen.has(event.id)) {
            seen.add(event.id);
            r.events.push(event);
          }
          res.writeHead(200, { 'content-type': 'application/json' }).end('{"received":true}');
        });
      });
      await new Promise<void>((resolve) => server!.listen(port, '127.0.0.1', resolve));
      port = (server.address() as AddressInfo).port;
      r.url = `http://127.0.0.1:${port}/hooks`;
    },
    async stop() {
      const closed = new Promise<void>((resolve) => server!.close(() => resolve()));
      server!.closeAllConnections();
      await closed;
    },
  };
  return r;
}

describe('merchant webhooks', () => {
  it('registers endpoints for the merchant (admin or its own key), never shows the secret again', async () => {
    const transit = tessera.terminals.find((t) => t.key === 'transit')!;
    const coffee = tessera.terminals.find((t) => t.key === 'coffee')!;
    const own = (await tessera.apiKeys.create('merchant', transit.merchant_id, 'transit server')).secret;
    const stranger = (await tessera.apiKeys.create('merchant', coffee.merchant_id, 'coffee server')).secret;
    const path = `/acquirer/v1/merchants/${transit.merchant_id}/webhook-endpoints`;
    const post = (auth: string, url: string) => tessera.app.inject({ method: 'POST', url: path, headers: { authorization: `Bearer ${auth}` }, payload: { url } });

    assert.equal((await post(stranger, 'https://example.com/h')).statusCode, 404);
    assert.equal((await post(transit.api_key, 'https://example.com/h')).statusCode, 403);
    assert.equal((await tessera.app.inject({ method: 'POST', url: path, payload: { url: 'https://example.com/h' } })).statusCode, 401);
    assert.equal((await post(own, 'ftp://example.com/h')).statusCode, 400);
    assert.equal((await post(own, 'not a url')).statusCode, 400);

    const created = await post(tessera.newAdminKey!, 'https://example.com/admin-made');
    assert.equal(created.statusCode, 201);
    const body = created.json<{ id: string; secret: string; url: string }>();
    assert.match(body.id, /^we_/);
    assert.match(body.secret, /^whsec_[0-9A-Za-z]{40}$/);

    const list = await tessera.app.inject({ method: 'GET', url: path, headers: { authorization: `Bearer ${own}` } });
    assert.equal(list.statusCode, 200);
    assert.ok(!list.body.includes('whsec_'));
    assert.ok(list.json<{ data: { id: string }[] }>().data.some((e) => e.id === body.id));
    // At rest the secret is only wrapped.
    const { rows } = await tessera.db.query<{ secret_wrapped: Uint8Array }>('SELECT secret_wrapped FROM acquirer.webhook_endpoints WHERE id = $1', [body.id]);
    assert.ok(!Buffer.from(rows[0]!.secret_wrapped).toString('latin1').includes('whsec_'));
    // That endpoint would swallow the test's events: disable it.
    await tessera.db.query("UPDATE acquirer.webhook_endpoints SET status = 'disabled' WHERE id = $1", [body.id]);
  });

  it('delivers signed events in order; an endpoint that was down gets every event once it is back, in order', async () => {
    const transit = tessera.terminals.find((t) => t.key === 'transit')!;
    const terminal = await sandboxTerminal(target, 'transit');
    const key = (await tessera.apiKeys.create('merchant', transit.merchant_id, 'transit webhooks')).secret;
    const secrets: Record<string, string> = {};
    const flaky = receiver(() => [secrets.flaky!]);
    const steady = receiver(() => [secrets.steady!]);
    await flaky.start();
    await steady.start();
    for (const [name, r] of [['flaky', flaky], ['steady', steady]] as const) {
      const res = await tessera.app.inject({ method: 'POST', url: `/acquirer/v1/merchants/${transit.merchant_id}/webhook-endpoints`, headers: { authorization: `Bearer ${key}` }, payload: { url: r.url } });
      assert.equal(res.statusCode, 201);
      secrets[name] = res.json<{ secret: string }>().secret;
    }

    const d = await device();
    await pay(d, terminal, 101);
    await pay(d, terminal, 102);
    await drain();
    assert.deepEqual(
      flaky.events.map((e) => e.data.object.amount),
      [101, 102],
    );
    assert.equal(flaky.events[0]!.type, 'authorization.approved');
    assert.match(flaky.events[0]!.id, /^evt_/);
    assert.equal(flaky.rejected, 0);

    // Down: first answering 503, then not listening at all.
    flaky.mode = '503';
    await pay(d, terminal, 103);
    await pay(d, terminal, 104);
    await drain();
    const pending = async () =>
      (await tessera.db.query<{ n: number }>("SELECT count(*)::int AS n FROM infra.outbox WHERE topic = 'acquirer.transaction' AND delivered_at IS NULL")).rows[0]!.n;
    assert.equal(await pending(), 2);
    await flaky.stop();
    await pay(d, terminal, 105);
    // Time passes: the backoff is over.
    const retryNow = () => tessera.db.query("UPDATE infra.outbox SET next_attempt_at = now() WHERE topic = 'acquirer.transaction' AND delivered_at IS NULL");
    await retryNow();
    await drain();
    assert.equal(await pending(), 3);
    const { rows: attempts } = await tessera.db.query<{ status_code: number | null; error: string | null; succeeded: boolean }>(
      `SELECT d.status_code, d.error, d.succeeded FROM acquirer.webhook_deliveries d JOIN acquirer.webhook_endpoints e ON e.id = d.endpoint_id WHERE e.url = $1 ORDER BY d.id`,
      [flaky.url],
    );
    assert.ok(attempts.some((a) => a.status_code === 503 && !a.succeeded));
    assert.ok(attempts.some((a) => a.status_code === null && a.error === 'ECONNREFUSED'));
    // The steady endpoint took 103 at the first attempt (and is not sent it again); 104 and 105 wait
    // behind 103 in the merchant's order.
    assert.deepEqual(
      steady.events.map((e) => e.data.object.amount),
      [101, 102, 103],
    );

    // Back on the same port.
    flaky.mode = 'up';
    await flaky.start();
    await retryNow();
    await drain();
    assert.equal(await pending(), 0);
    assert.deepEqual(
      flaky.events.map((e) => e.data.object.amount),
      [101, 102, 103, 104, 105],
    );
    assert.deepEqual(
      steady.events.map((e) => e.data.object.amount),
      [101, 102, 103, 104, 105],
    );
    const { rows: steadyAttempts } = await tessera.db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM acquirer.webhook_deliveries d JOIN acquirer.webhook_endpoints e ON e.id = d.endpoint_id WHERE e.url = $1`,
      [steady.url],
    );
    assert.equal(steadyAttempts[0]!.n, 5);
    assert.equal(flaky.rejected + steady.rejected, 0);
    await flaky.stop();
    await steady.stop();
  });
});
