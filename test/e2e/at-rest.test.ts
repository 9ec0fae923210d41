import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { originalDataElements } from '../../src/acquirer/messages.js';
import { loadConfig } from '../../src/infra/config.js';
import { randomBase62 } from '../../src/infra/ids.js';
import { MemoryTraceSink } from '../../src/infra/trace.js';
import { InjectTransport } from '../../src/infra/transport.js';
import { vaultContext } from '../../src/network/service.js';
import { toHex } from '../../src/protocol/bytes.js';
import { packMessage } from '../../src/protocol/iso8583/iso8583.js';
import { Secret } from '../../src/protocol/secret.js';
import type { Target } from '../../src/scenario/harness.js';
import { runProvision, type ProvisionedDevice } from '../../src/scenario/provision.js';
import { kernelFor, sandboxTerminal, tap } from '../../src/scenario/tap.js';
import { createTessera, type Tessera } from '../../src/server/tessera.js';
import { captureLogger, createTestDatabase } from '../helpers/env.js';

const PANS = ['4111111111111111', '5555555555554444', '378282246310005', '6011111111111117', '4111110000000013'];
const CVV_PATTERNS = [/"cvv"\s*:\s*"\d{3,4}"/, /cvv[=:]\s*\d{3,4}\b/i];

/** A number as the acquirer could keep it: digits (text, or BCD read as hex), ASCII digits as hex, either case. */
function encodings(digits: string): string[] {
  const ascii = toHex(new TextEncoder().encode(digits));
  return [digits, ascii.toUpperCase(), ascii.toLowerCase()];
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? filesUnder(p) : [p];
  });
}

describe('nothing sensitive at rest (database files or dump, cache, logs, traces)', () => {
  let dir: string;
  let tessera: Tessera;
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  const trace = new MemoryTraceSink();
  const { logger, lines } = captureLogger('debug');
  const prefix = `at-rest:${randomBase62(8)}:`;
  const tokenKeys: string[] = [];
  /** The device token numbers (DE 2 of every tap). */
  const tokenPans: string[] = [];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tessera-at-rest-'));
    database = await createTestDatabase();
    const config = loadConfig({ ...process.env, ...(database.url ? { DATABASE_URL: database.url } : {}) }, { TESSERA_DATA_DIR: dir, LOG_LEVEL: 'debug' });
    tessera = await createTessera({ config, logger, trace, cacheKeyPrefix: prefix });
    const transport = new InjectTransport(() => tessera.app);
    const quiet = { step: () => {}, detail: () => {} };
    const devices: ProvisionedDevice[] = [];
    for (const network of ['visa', 'mastercard', 'amex', 'discover'] as const) devices.push(await runProvision(transport, { network }, quiet));
    await runProvision(transport, { card: '4111110000000013' }, quiet);
    // The acquirer's kept messages: a tap per brand (forwarded 0100 and its 0110), a refund (0200) and a
    // terminal's reversal (0400), each carrying the token number in DE 2.
    const target: Target = { device: transport, raw: transport, trace: undefined, tessera, adminKey: undefined, close: async () => {} };
    const terminal = await sandboxTerminal(target);
    const taps = [];
    for (const d of devices) {
      assert.equal((await d.wallet.preparePayment({ biometric: 'match' })).ok, true);
      const r = await tap(target, d, terminal, kernelFor(terminal), 1250);
      assert.equal(r.responseCode, '00', r.reason);
      taps.push(r);
    }
    const coffee = tessera.terminals.find((x) => x.key === 'coffee')!;
    const merchantKey = (await tessera.apiKeys.create('merchant', coffee.merchant_id, 'at-rest test')).secret;
    const { rows: approved } = await tessera.db.query<{ id: string }>("SELECT id FROM acquirer.authorizations WHERE status = 'approved' ORDER BY created_at, id");
    assert.equal(approved.length, devices.length);
    const refund = await tessera.app.inject({ method: 'POST', url: `/acquirer/v1/authorizations/${approved[0]!.id}/refunds`, headers: { authorization: `Bearer ${merchantKey}`, 'idempotency-key': 'at-rest-refund' }, payload: { amount: 250 } });
    assert.equal(refund.statusCode, 201, refund.body);
    const original = taps[1]!.request!;
    const reversal = packMessage({
      mti: '0400',
      fields: { ...original.fields, 11: '000999', 90: originalDataElements({ mti: '0100', stan: original.fields[11] as string, transmitted: original.fields[7] as string, acquirerId: '0', forwardingId: '0' }) },
    });
    const reversed = await tessera.app.inject({ method: 'POST', url: '/acquirer/v1/authorizations', headers: { authorization: `Bearer ${coffee.api_key}`, 'content-type': 'application/octet-stream' }, payload: Buffer.from(reversal) });
    assert.equal(reversed.statusCode, 200, reversed.body);
    const counts = await tessera.db.query<{ refunds: number; reversals: number }>('SELECT (SELECT count(*) FROM acquirer.refunds)::int AS refunds, (SELECT count(*) FROM acquirer.reversals)::int AS reversals');
    assert.deepEqual(counts.rows[0], { refunds: 1, reversals: 1 });
    // The keys each token holds, as the HSM derives them: none of them may appear outside the network's HSM.
    const { rows } = await tessera.db.query<{ token_ref: string; brand: string; psn: string; token_pan_encrypted: Buffer }>('SELECT token_ref, brand, psn, token_pan_encrypted FROM network.tokens');
    for (const r of rows) {
      const pan = await tessera.networks.vault.decryptString(r.token_pan_encrypted, vaultContext.tokenPan(r.token_ref));
      const key = await tessera.networks.hsm.deriveTokenKey(r.brand as never, Secret.pan(pan), r.psn);
      tokenKeys.push(Buffer.from(key.mk).toString('hex').toUpperCase());
      tokenPans.push(pan);
    }
    assert.ok(tokenKeys.length >= 5);
    for (const r of taps) assert.ok(tokenPans.includes(r.request!.fields[2] as string), 'each tap paid with a token number');
  });

  after(async () => {
    await tessera.close();
    await database.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a logical dump of every table holds no card number, CVV or token key; the platform holds no token key', async () => {
    const { rows: tables } = await tessera.db.query<{ schema: string; name: string }>(
      `SELECT table_schema AS schema, table_name AS name FROM information_schema.tables WHERE table_schema IN ('infra', 'platform', 'network', 'issuer', 'acquirer') AND table_type = 'BASE TABLE'`,
    );
    assert.ok(tables.length > 10);
    for (const t of tables) {
      const { rows } = await tessera.db.query<{ j: string }>(`SELECT row_to_json(x)::text AS j FROM ${t.schema}.${t.name} x`);
      const text = rows.map((r) => r.j).join('\n').toUpperCase();
      for (const pan of PANS) assert.equal(text.includes(pan), false, `${t.schema}.${t.name} holds a card number`);
      for (const p of CVV_PATTERNS) assert.doesNotMatch(text.toLowerCase(), p, `${t.schema}.${t.name} holds a CVV`);
      for (const k of tokenKeys) assert.equal(text.includes(k), false, `${t.schema}.${t.name} holds a token key`);
    }
  });

  it("the acquirer's tables hold no token number (kept messages sealed: PCI DSS 3.5, EMVCo tokenisation)", async () => {
    const { rows: tables } = await tessera.db.query<{ name: string }>(
      `SELECT table_name AS name FROM information_schema.tables WHERE table_schema = 'acquirer' AND table_type = 'BASE TABLE'`,
    );
    assert.ok(tables.some((t) => t.name === 'authorizations') && tables.some((t) => t.name === 'reversals') && tables.some((t) => t.name === 'refunds'));
    for (const t of tables) {
      // bytea columns render as hex in JSON: a token kept in a message shows as its ASCII hex (or its BCD digits).
      const { rows } = await tessera.db.query<{ j: string }>(`SELECT row_to_json(x)::text AS j FROM acquirer.${t.name} x`);
      const text = rows.map((r) => r.j).join('\n');
      for (const token of tokenPans) for (const e of encodings(token)) assert.equal(text.includes(e), false, `acquirer.${t.name} holds a token number (${e.slice(0, 6)}…)`);
    }
    // What a refund or reversal needs is still there: the acquirer opens its own messages.
    const { rows } = await tessera.db.query<{ id: string; message: Buffer }>('SELECT id, message FROM acquirer.reversals');
    const opened = await tessera.acquirer.messages.open(rows[0]!.message, 'reversals.message', rows[0]!.id);
    assert.ok(tokenPans.some((p) => Buffer.from(opened).includes(Buffer.from(p))), 'the sealed 0400 opens to a message carrying the token');
  });

  it('logs and traces hold no card number or CVV', () => {
    const text = lines.join('') + trace.events.map((e) => JSON.stringify(e)).join('\n');
    assert.ok(trace.events.length > 20);
    for (const pan of PANS) assert.equal(text.includes(pan), false, `a log or trace line holds ${pan.slice(0, 6)}…`);
    for (const p of CVV_PATTERNS) assert.doesNotMatch(text, p);
  });

  it('the cache holds no card number', async (t) => {
    if (!process.env.REDIS_URL) {
      t.diagnostic('in-process cache: nothing persists');
      return;
    }
    const redis = new Redis(process.env.REDIS_URL);
    try {
      const keys = await redis.keys(`${prefix}*`);
      const values = await Promise.all(keys.map((k) => redis.get(k).catch(() => '')));
      const text = keys.join('\n') + values.join('\n');
      for (const pan of PANS) assert.equal(text.includes(pan), false);
    } finally {
      redis.disconnect();
    }
  });

  it('the embedded database files hold no card number', async (t) => {
    if (database.url) {
      t.diagnostic('PostgreSQL server: covered by the logical dump above');
      return;
    }
    await tessera.close();
    const files = filesUnder(join(dir, 'pg'));
    assert.ok(files.length > 100, 'the PGlite data folder was written');
    for (const f of files) {
      const bytes = readFileSync(f);
      for (const pan of PANS) assert.equal(bytes.includes(Buffer.from(pan)), false, `${f} holds a card number`);
    }
  });
});
