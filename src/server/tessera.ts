import { readFileSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import type { Config } from '../infra/config.js';
import { openCache, type Cache } from '../infra/cache/index.js';
import { migrate, openDatabase, type Database, type MigrationSet } from '../infra/db/index.js';
import { buildHttpApp } from '../infra/http/app.js';
import { ApiKeys } from '../infra/http/auth.js';
import type { Logger } from '../infra/logger.js';
import { createOps } from '../ops/index.js';
import { createPlatform } from '../platform/index.js';
import { health } from './health.js';
import type { PartyModule } from './party.js';

export const VERSION: string = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

export interface TesseraOptions {
  config: Config;
  logger: Logger;
  /** Tests: PGlite in memory instead of the data folder (ignored when DATABASE_URL is set). */
  inMemory?: boolean;
  db?: Database;
  cache?: Cache;
  cacheKeyPrefix?: string;
}

export interface Tessera {
  app: FastifyInstance;
  db: Database;
  cache: Cache;
  apiKeys: ApiKeys;
  parties: PartyModule[];
  /** Set only on the start that created the operator's admin key: the one time it can be shown. */
  newAdminKey: string | undefined;
  close(): Promise<void>;
}

const INFRA_MIGRATIONS: MigrationSet = { module: 'infra', dir: new URL('../infra/migrations/', import.meta.url) };

/**
 * The composition root: every server-side party in one process, each under its own route prefix,
 * sharing one database (a schema each) and one cache.
 */
export async function createTessera(options: TesseraOptions): Promise<Tessera> {
  const { config, logger } = options;
  const db = options.db ?? (await openDatabase(config, { inMemory: options.inMemory ?? false }));
  const cache = options.cache ?? (await openCache(config.redisUrl, { logger, ...(options.cacheKeyPrefix ? { keyPrefix: options.cacheKeyPrefix } : {}) }));
  try {
    const apiKeys = new ApiKeys(db, cache);
    const platform = createPlatform({ db, cache });
    const parties: PartyModule[] = [platform, createOps({ apiKeys })];

    await migrate(db, [INFRA_MIGRATIONS, ...parties.flatMap((p) => (p.migrations ? [p.migrations] : []))]);

    let newAdminKey: string | undefined;
    if (config.adminKey) await apiKeys.ensure('admin', 'operator', 'operator (from TESSERA_ADMIN_KEY)', config.adminKey);
    else if ((await apiKeys.count('admin')) === 0) newAdminKey = (await apiKeys.create('admin', 'operator', 'operator (first start)')).secret;

    const app = await buildHttpApp(
      { db, cache, logger, apiKeys, sessions: platform.service.resolveSession },
      [health(db, cache, VERSION), ...parties.flatMap((p) => p.routes)],
      {
        title: 'Tessera',
        version: VERSION,
        description: 'A self-hosted mobile-wallet payment platform: wallet platform, card networks, issuers, acquirers and merchants. Errors: GET /v1/errors lists the catalogue.',
      },
    );
    return {
      app,
      db,
      cache,
      apiKeys,
      parties,
      newAdminKey,
      async close() {
        await app.close();
        await cache.close();
        await db.close();
      },
    };
  } catch (err) {
    await cache.close();
    await db.close();
    throw err;
  }
}
