import { loadConfig, type Config } from '../infra/config.js';
import { createLogger } from '../infra/logger.js';
import { FetchTransport, InjectTransport } from '../infra/transport.js';
import { BusyRetryTransport } from '../scenario/busy-retry.js';
import type { Target } from '../scenario/harness.js';
import { openThrowawayDatabase } from '../scenario/throwaway.js';
import { createTessera, type Tessera } from '../server/tessera.js';

/** A running platform a bench drives over HTTP (--url): its operator key comes from TESSERA_ADMIN_KEY. */
export function remoteTarget(url: string): Target {
  const raw = new BusyRetryTransport(new FetchTransport(url, 'platform'));
  return { device: raw, raw, trace: undefined, tessera: undefined, adminKey: process.env.TESSERA_ADMIN_KEY, close: async () => {} };
}

/**
 * The bench's own platform in this process: on DATABASE_URL's PostgreSQL (REDIS_URL's cache) when set,
 * else a throwaway embedded one (from the schema snapshot, src/scenario/throwaway.ts). Set-up signs up
 * users and adds many cards: rate limits would refuse that and guard nothing here.
 *
 * The operator key the set-up uses: TESSERA_ADMIN_KEY when set, the one a fresh database made, or else
 * (a database that already has an operator key, shown once to whoever started it first) a key made for
 * this run and revoked when it ends.
 */
export async function inProcessTarget(overrides: Record<string, string>, log: (line: string) => void): Promise<{ target: Target; tessera: Tessera; config: Config }> {
  const config = loadConfig(process.env, { LOG_LEVEL: 'silent', TESSERA_RATE_LIMIT_FACTOR: '0', ...overrides });
  const throwaway = config.databaseUrl ? undefined : await openThrowawayDatabase();
  // In memory only on the embedded database: on a server the KEK must be the configured (or data folder's) one, or a second run could not read the first run's keys.
  const tessera = await createTessera({ config, logger: createLogger({ level: 'silent' }), inMemory: !config.databaseUrl, ...(throwaway ? { db: throwaway.db, migrated: throwaway.migrated } : {}) });
  let adminKey = config.adminKey ?? tessera.newAdminKey;
  let runKeyId: string | undefined;
  if (!adminKey) {
    const made = await tessera.apiKeys.create('admin', 'operator', 'bench: this run only (revoked at its end)');
    adminKey = made.secret;
    runKeyId = made.id;
  }
  tessera.startBackground();
  const raw = new BusyRetryTransport(new InjectTransport(() => tessera.app));
  log(`in-process platform on ${config.databaseUrl ? 'PostgreSQL (DATABASE_URL)' : 'embedded PGlite (in memory)'}, cache ${config.redisUrl ? 'Redis (REDIS_URL)' : 'in-process'}`);
  const target: Target = {
    device: raw,
    raw,
    trace: undefined,
    tessera,
    adminKey,
    close: async () => {
      if (runKeyId) await tessera.apiKeys.revoke(runKeyId).catch(() => false);
      await tessera.close();
    },
  };
  return { target, tessera, config };
}
