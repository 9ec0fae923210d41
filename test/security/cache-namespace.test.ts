import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, describe, it } from 'node:test';
import { MemoryCache } from '../../src/infra/cache/index.js';
import { loadConfig } from '../../src/infra/config.js';
import { InjectTransport } from '../../src/infra/transport.js';
import { runProvision } from '../../src/scenario/provision.js';
import { createTessera, type Tessera } from '../../src/server/tessera.js';
import { captureLogger, createTestDatabase, usingRedis } from '../helpers/env.js';

/**
 * Issue 16, point 5: two databases beside each other with the same KEK and the same cache store (the
 * REDIS_URL Redis, or one in-process store given to both) — a reset, a restore, the bench run twice.
 * Each must be served only its own cached lookups: with cache keys namespaced by the KEK, the second
 * platform handed its devices the first one's network encryption keys (`encrypted_card_invalid`).
 */
describe('the cache is namespaced by the deployment stored in the database, not by the KEK', () => {
  const kek = randomBytes(32).toString('base64');
  // Without Redis, one in-process store shared by both platforms stands for the shared Redis.
  const shared = usingRedis ? undefined : new MemoryCache();
  const open: Tessera[] = [];
  const drops: (() => Promise<void>)[] = [];
  const { logger } = captureLogger('warn');

  async function start(): Promise<Tessera> {
    const database = await createTestDatabase();
    drops.push(() => database.drop());
    const config = loadConfig({ ...process.env, ...(database.url ? { DATABASE_URL: database.url } : {}) }, { TESSERA_KEK: kek });
    const tessera = await createTessera({ config, logger, inMemory: true, ...(shared ? { cache: shared } : {}) });
    open.push(tessera);
    return tessera;
  }

  after(async () => {
    for (const t of open.splice(0).reverse()) await t.close();
    for (const d of drops.splice(0)) await d();
  });

  it('a second database with the same KEK and cache provisions cards with its own network keys', async () => {
    const quiet = { step: () => {}, detail: () => {} };
    const first = await start();
    // The first platform caches its networks' encryption keys (and API keys, tokens) while provisioning.
    for (const network of ['visa', 'mastercard'] as const) await runProvision(new InjectTransport(() => first.app), { network }, quiet);
    const second = await start();
    assert.equal(first.kek.currentId, second.kek.currentId, 'both run under the same KEK');
    for (const network of ['visa', 'mastercard'] as const) {
      const device = await runProvision(new InjectTransport(() => second.app), { network }, quiet);
      assert.ok(device.tokenRef, `the second platform provisions a ${network} card`);
    }
    // Both stay usable side by side.
    const again = await runProvision(new InjectTransport(() => first.app), { network: 'visa' }, quiet);
    assert.ok(again.tokenRef);
  });
});
