import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadConfig, type Config } from '../../src/infra/config.js';
import { openDatabase } from '../../src/infra/db/index.js';
import { InjectTransport } from '../../src/infra/transport.js';
import { SANDBOX_CARDS } from '../../src/issuer/sandbox-cards.js';
import type { Target } from '../../src/scenario/harness.js';
import { runProvision } from '../../src/scenario/provision.js';
import { kernelFor, tap, type TerminalSetup } from '../../src/scenario/tap.js';
import { createTessera, type Tessera } from '../../src/server/tessera.js';
import { captureLogger, createTestDatabase } from '../helpers/env.js';

interface Overview {
  demoUser: { email: string; password: string };
  testCards: { issuerId: string; issuerName: string; network: string; number: string; expiry: string; cvv: string; cardholderName: string; path: string; label: string }[];
  terminals: { terminalId: string; merchantId: string; merchantName: string; mcc: string; country: string; currency: string; apiKey: string; cardAcceptorId: string; city: string; kind: string }[];
  store: { merchantIdentifier: string; path: string } | null;
}

const quiet = { step: () => {}, detail: () => {} };

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? filesUnder(p) : [p];
  });
}

describe('the sandbox seed and GET /sandbox/v1', () => {
  let dir: string;
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let config: Config;
  let tessera: Tessera;
  let first: Overview;
  const { logger } = captureLogger('warn');

  const start = (over: Partial<Parameters<typeof createTessera>[0]> = {}) => createTessera({ config, logger, cacheKeyPrefix: `sandbox-test:${randomBytes(4).toString('hex')}:`, ...over });
  const overview = async (t: Tessera): Promise<Overview> => {
    const res = await t.app.inject({ method: 'GET', url: '/sandbox/v1' });
    assert.equal(res.statusCode, 200, res.body);
    return res.json<Overview>();
  };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tessera-sandbox-'));
    database = await createTestDatabase();
    // A fixed KEK, as a deployment has: every secret the sandbox shows is derived from it.
    const kek = randomBytes(32).toString('base64');
    config = loadConfig({ ...process.env, ...(database.url ? { DATABASE_URL: database.url } : { DATABASE_URL: '' }) }, { TESSERA_DATA_DIR: dir, TESSERA_KEK: kek, LOG_LEVEL: 'warn' });
    tessera = await start();
    first = await overview(tessera);
  });

  after(async () => {
    await tessera.close();
    await database.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('answers the C5 shape: demo user, test cards for every network and ID&V path, the coffee shop terminal with its key', async () => {
    assert.deepEqual(Object.keys(first).sort(), ['demoUser', 'store', 'terminals', 'testCards']);
    assert.equal(first.demoUser.email, 'demo@example.com');
    assert.match(first.demoUser.password, /^demo-[0-9A-Za-z]{16}$/);
    for (const network of ['visa', 'mastercard', 'amex', 'discover']) {
      for (const path of ['green', 'yellow', 'red']) {
        const card = first.testCards.find((c) => c.network === network && c.path === path);
        assert.ok(card, `a ${network} ${path} card`);
        assert.match(card.expiry, /^(0[1-9]|1[0-2])\/\d{2}$/);
        assert.match(card.cvv, network === 'amex' ? /^\d{4}$/ : /^\d{3}$/);
        assert.ok(card.issuerName && card.cardholderName && card.label && card.issuerId.startsWith('iss_'));
        assert.ok(SANDBOX_CARDS.some((s) => s.number === card.number), 'only the documented sandbox numbers are shown');
      }
    }
    const coffee = first.terminals.find((t) => t.terminalId === 'COFFEE01');
    assert.ok(coffee);
    assert.deepEqual({ ...coffee, apiKey: undefined, merchantId: undefined }, {
      terminalId: 'COFFEE01',
      merchantId: undefined,
      merchantName: 'Corner Coffee',
      mcc: '5814',
      country: 'US',
      currency: 'USD',
      apiKey: undefined,
      cardAcceptorId: 'TSSCORNERCOFFEE',
      city: 'San Francisco',
      kind: 'contactless',
    });
    assert.match(coffee.merchantId, /^mer_/);
    assert.match(coffee.apiKey, /^tsk_terminal_[0-9A-Za-z]{40}$/);
    assert.ok(first.store === null || (typeof first.store.merchantIdentifier === 'string' && first.store.path === '/store'));
    // The demo user signs in with the shown password.
    const signIn = await tessera.app.inject({ method: 'POST', url: '/platform/v1/sessions', payload: { email: first.demoUser.email, password: first.demoUser.password } });
    assert.equal(signIn.statusCode, 201, signIn.body);
  });

  it('the seeded terminal key works for a tap', async () => {
    const t = first.terminals.find((x) => x.terminalId === 'COFFEE01')!;
    const transport = new InjectTransport(() => tessera.app);
    const target: Target = { device: transport, raw: transport, trace: undefined, tessera, adminKey: undefined, close: async () => {} };
    const terminal: TerminalSetup = { apiKey: t.apiKey, terminalId: t.terminalId, cardAcceptorId: t.cardAcceptorId, merchantName: t.merchantName, city: t.city, country: t.country, mcc: t.mcc, currency: t.currency };
    const device = await runProvision(transport, { network: 'visa' }, quiet);
    await device.wallet.setDefaultCard(device.cardId);
    assert.equal((await device.wallet.preparePayment({ biometric: 'match' })).ok, true);
    const result = await tap(target, device, terminal, kernelFor(terminal), 450);
    assert.equal(result.responseCode, '00');
    assert.equal(result.approved, true);
  });

  it('is idempotent across a restart: the same demo user, keys and terminals', async () => {
    await tessera.close();
    tessera = await start();
    const again = await overview(tessera);
    assert.deepEqual(again, first);
    const { rows } = await tessera.db.query<{ n: number }>("SELECT count(*)::int AS n FROM platform.users WHERE email = 'demo@example.com'");
    assert.equal(rows[0]!.n, 1);
    const keys = await tessera.db.query<{ role: string; n: number }>("SELECT role, count(*)::int AS n FROM infra.api_keys WHERE role IN ('terminal', 'ops') AND revoked_at IS NULL GROUP BY role ORDER BY role");
    assert.deepEqual(keys.rows, [{ role: 'ops', n: 1 }, { role: 'terminal', n: 3 }]);
    const merchants = await tessera.db.query<{ n: number }>('SELECT count(*)::int AS n FROM acquirer.merchants');
    assert.equal(merchants.rows[0]!.n, 3);
  });

  it('two processes starting at once on one database seed it once', async () => {
    await tessera.close();
    // A fresh database: both processes race for the first seed.
    const db2 = await createTestDatabase();
    const dir2 = mkdtempSync(join(tmpdir(), 'tessera-sandbox-2-'));
    const c2 = loadConfig({ ...process.env, ...(db2.url ? { DATABASE_URL: db2.url } : { DATABASE_URL: '' }) }, { TESSERA_DATA_DIR: dir2, TESSERA_KEK: config.kek!, LOG_LEVEL: 'warn' });
    // PGlite is one process's database: the two "processes" share it; PostgreSQL: each opens its own pool.
    const shared = db2.url ? undefined : await openDatabase(c2, { inMemory: false });
    try {
      const both = await Promise.all([0, 1].map(() => createTessera({ config: c2, logger, cacheKeyPrefix: `sandbox-test:${randomBytes(4).toString('hex')}:`, ...(shared ? { db: shared } : {}) })));
      const [a, b] = await Promise.all(both.map(overview));
      assert.deepEqual(a, b);
      assert.equal(a!.demoUser.password, first.demoUser.password, 'derived from the same KEK');
      const { rows } = await both[0]!.db.query<{ email: number; merchants: number; terminals: number; ops: number }>(
        `SELECT (SELECT count(*)::int FROM platform.users WHERE email = 'demo@example.com') AS email,
                (SELECT count(*)::int FROM acquirer.merchants) AS merchants,
                (SELECT count(*)::int FROM acquirer.terminals) AS terminals,
                (SELECT count(*)::int FROM infra.api_keys WHERE role = 'ops') AS ops`,
      );
      assert.deepEqual(rows[0], { email: 1, merchants: 3, terminals: 3, ops: 1 });
      for (const t of both) {
        await t.app.close();
        await t.cache.close();
        if (!shared) await t.db.close();
      }
    } finally {
      await shared?.close();
      await db2.drop();
      rmSync(dir2, { recursive: true, force: true });
    }
    tessera = await start();
  });

  it('no seeded key, password or card number is in clear at rest', async () => {
    const opsKey = (await tessera.app.inject({ method: 'GET', url: '/sandbox/v1/ops-key' })).json<{ apiKey: string }>().apiKey;
    assert.match(opsKey, /^tsk_ops_/);
    const secrets = [first.demoUser.password, opsKey, ...first.terminals.map((t) => t.apiKey)];
    const numbers = SANDBOX_CARDS.map((c) => c.number);
    const { rows: tables } = await tessera.db.query<{ schema: string; name: string }>(
      `SELECT table_schema AS schema, table_name AS name FROM information_schema.tables
        WHERE table_schema IN ('infra', 'platform', 'network', 'issuer', 'acquirer') AND table_type = 'BASE TABLE'`,
    );
    assert.ok(tables.length > 15);
    for (const t of tables) {
      const { rows } = await tessera.db.query<{ j: string }>(`SELECT row_to_json(x)::text AS j FROM ${t.schema}.${t.name} x`);
      const text = rows.map((r) => r.j).join('\n');
      for (const s of secrets) assert.equal(text.includes(s), false, `${t.schema}.${t.name} holds a sandbox secret`);
      for (const n of numbers) assert.equal(text.includes(n), false, `${t.schema}.${t.name} holds a test card number`);
    }
    if (!database.url) {
      await tessera.close();
      const files = filesUnder(join(dir, 'pg'));
      assert.ok(files.length > 100);
      for (const f of files) {
        const bytes = readFileSync(f);
        for (const s of [...secrets, ...numbers]) assert.equal(bytes.includes(Buffer.from(s)), false, `${f} holds a secret or card number`);
      }
      tessera = await start();
    }
  });

  it('is absent when the sandbox is off', async () => {
    const off = loadConfig({ ...process.env, DATABASE_URL: '' }, { TESSERA_SANDBOX: '0', LOG_LEVEL: 'warn' });
    const t = await createTessera({ config: off, logger, inMemory: true });
    try {
      assert.equal(t.sandbox, undefined);
      for (const url of ['/sandbox/v1', '/sandbox/v1/ops-key']) {
        const res = await t.app.inject({ method: 'GET', url });
        assert.equal(res.statusCode, 404);
        assert.equal(res.json().error.code, 'route_not_found');
      }
      const { rows } = await t.db.query<{ n: number }>("SELECT count(*)::int AS n FROM platform.users WHERE email = 'demo@example.com'");
      assert.equal(rows[0]!.n, 0);
    } finally {
      await t.close();
    }
  });
});
