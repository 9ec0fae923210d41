import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { loadConfig } from '../../src/infra/config.js';
import { randomBase62 } from '../../src/infra/ids.js';
import { MemoryTraceSink } from '../../src/infra/trace.js';
import { InjectTransport } from '../../src/infra/transport.js';
import { vaultContext } from '../../src/network/service.js';
import { Secret } from '../../src/protocol/secret.js';
import { runProvision } from '../../src/scenario/provision.js';
import { createTessera, type Tessera } from '../../src/server/tessera.js';
import { captureLogger, createTestDatabase } from '../helpers/env.js';

const PANS = ['4111111111111111', '5555555555554444', '378282246310005', '6011111111111117', '4111110000000013'];
const CVV_PATTERNS = [/"cvv"\s*:\s*"\d{3,4}"/, /cvv[=:]\s*\d{3,4}\b/i];

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

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tessera-at-rest-'));
    database = await createTestDatabase();
    const config = loadConfig({ ...process.env, ...(database.url ? { DATABASE_URL: database.url } : {}) }, { TESSERA_DATA_DIR: dir, LOG_LEVEL: 'debug' });
    tessera = await createTessera({ config, logger, trace, cacheKeyPrefix: prefix });
    const transport = new InjectTransport(() => tessera.app);
    const quiet = { step: () => {}, detail: () => {} };
    for (const network of ['visa', 'mastercard', 'amex', 'discover'] as const) await runProvision(transport, { network }, quiet);
    await runProvision(transport, { card: '4111110000000013' }, quiet);
    // The keys each token holds, as the HSM derives them: none of them may appear outside the network's HSM.
    const { rows } = await tessera.db.query<{ token_ref: string; brand: string; psn: string; token_pan_encrypted: Buffer }>('SELECT token_ref, brand, psn, token_pan_encrypted FROM network.tokens');
    for (const r of rows) {
      const pan = await tessera.networks.vault.decryptString(r.token_pan_encrypted, vaultContext.tokenPan(r.token_ref));
      const key = await tessera.networks.hsm.deriveTokenKey(r.brand as never, Secret.pan(pan), r.psn);
      tokenKeys.push(Buffer.from(key.mk).toString('hex').toUpperCase());
    }
    assert.ok(tokenKeys.length >= 5);
  });

  after(async () => {
    await tessera.close();
    await database.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a logical dump of every table holds no card number, CVV or token key; the platform holds no token key', async () => {
    const { rows: tables } = await tessera.db.query<{ schema: string; name: string }>(
      `SELECT table_schema AS schema, table_name AS name FROM information_schema.tables WHERE table_schema IN ('infra', 'platform', 'network', 'issuer') AND table_type = 'BASE TABLE'`,
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
