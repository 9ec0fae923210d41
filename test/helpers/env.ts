import { Writable } from 'node:stream';
import pg from 'pg';
import { loadConfig, type Config } from '../../src/infra/config.js';
import { openCache, RedisCache, type Cache } from '../../src/infra/cache/index.js';
import { openDatabase, type Database } from '../../src/infra/db/index.js';
import { randomBase62 } from '../../src/infra/ids.js';
import { createLogger, type Logger } from '../../src/infra/logger.js';

/**
 * Test infrastructure that is real: with DATABASE_URL each test file gets its own fresh database on
 * that PostgreSQL server (created here, dropped at close); without it, PGlite in memory. With
 * REDIS_URL the cache is that Redis under a key prefix of its own.
 */
export const usingPostgres = Boolean(process.env.DATABASE_URL);
export const usingRedis = Boolean(process.env.REDIS_URL);

export interface TestEnv {
  config: Config;
  db: Database;
  cache: Cache;
  logger: Logger;
  /** Every log line written so far (for leak scans). */
  logLines: string[];
  close(): Promise<void>;
}

export async function createTestDatabase(): Promise<{ url: string | undefined; drop(): Promise<void> }> {
  const base = process.env.DATABASE_URL;
  if (!base) return { url: undefined, drop: async () => {} };
  const name = `tessera_t_${randomBase62(12).toLowerCase()}`;
  const admin = new pg.Client({ connectionString: base });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(base);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const c = new pg.Client({ connectionString: base });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}

export function captureLogger(level = process.env.TEST_LOG_LEVEL ?? 'info'): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(chunk.toString());
      if (process.env.TEST_LOG === '1') process.stderr.write(chunk);
      cb();
    },
  });
  return { logger: createLogger({ level, destination: stream }), lines };
}

export async function createTestEnv(overrides: Record<string, string> = {}): Promise<TestEnv> {
  const database = await createTestDatabase();
  const config = loadConfig(
    { ...process.env, ...(database.url ? { DATABASE_URL: database.url } : {}) },
    { DATABASE_POOL_SIZE: '10', ...overrides },
  );
  const { logger, lines } = captureLogger();
  const db = await openDatabase(config, { inMemory: true });
  const cache = await openCache(config.redisUrl, { logger, keyPrefix: `tessera-test:${randomBase62(10)}:` });
  return {
    config,
    db,
    cache,
    logger,
    logLines: lines,
    async close() {
      await cache.close();
      await db.close();
      await database.drop();
    },
  };
}

export function isRedisCache(cache: Cache): cache is RedisCache {
  return cache instanceof RedisCache;
}
