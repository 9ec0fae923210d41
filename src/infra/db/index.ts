import { join } from 'node:path';
import type { Config } from '../config.js';
import type { Database } from './database.js';
import { openPglite } from './pglite.js';
import { openPostgres } from './postgres.js';

export * from './database.js';
export { migrate, type MigrationSet } from './migrate.js';

/** DATABASE_URL → that PostgreSQL server; otherwise PGlite in `<data dir>/pg`. */
export async function openDatabase(config: Pick<Config, 'databaseUrl' | 'databasePoolSize' | 'dataDir'>, options: { inMemory?: boolean } = {}): Promise<Database> {
  if (config.databaseUrl) return openPostgres(config.databaseUrl, config.databasePoolSize);
  return openPglite(options.inMemory ? undefined : join(config.dataDir, 'pg'));
}
