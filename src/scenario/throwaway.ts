import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Database } from '../infra/db/database.js';
import { openPglite, type PgliteDatabase } from '../infra/db/pglite.js';

/**
 * A throwaway embedded database (PGlite in memory) started from a snapshot of the migrated, empty schema.
 *
 * Most of a throwaway platform's start-up was PGlite's initdb and the migrations: several seconds of CPU
 * for the same result every time. The first start on a machine runs them and dumps the database right
 * after the migrations (before anything is seeded: the snapshot holds the schema and no key, no secret,
 * nothing derived from a KEK); later starts load that dump. The snapshot's name is a hash of PGlite's
 * version and every migration file, so a new or changed migration makes a new one. It lives in the user's
 * cache folder (TESSERA_CACHE_DIR, else $XDG_CACHE_HOME/tessera or ~/.cache/tessera; TESSERA_CACHE_DIR=""
 * turns it off), readable by the user only.
 */
export interface ThrowawayDatabase {
  db: PgliteDatabase;
  /** Pass as createTessera's `migrated`: writes the snapshot when this start had none. */
  migrated: (db: Database) => Promise<void>;
  /** How this start got its schema. */
  source: 'snapshot' | 'fresh';
}

const SRC = fileURLToPath(new URL('../', import.meta.url));

export function cacheDir(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env.TESSERA_CACHE_DIR !== undefined) return env.TESSERA_CACHE_DIR === '' ? undefined : env.TESSERA_CACHE_DIR;
  return join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'tessera');
}

function pgliteVersion(): string {
  try {
    return (JSON.parse(readFileSync(new URL('../package.json', import.meta.resolve('@electric-sql/pglite')), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

/** A hash of what the migrated schema depends on: PGlite's version and every migration file (name and content). */
export function schemaKey(srcDir: string = SRC): string {
  const hash = createHash('sha256').update(`pglite ${pgliteVersion()}\n`);
  const files = (readdirSync(srcDir, { recursive: true }) as string[])
    .filter((f) => f.endsWith('.sql') && f.split(/[\\/]/).at(-2) === 'migrations')
    .map((f) => relative(srcDir, join(srcDir, f)).split('\\').join('/'))
    .sort();
  for (const f of files) hash.update(`${f}\n`).update(readFileSync(join(srcDir, f))).update('\n');
  return hash.digest('hex').slice(0, 24);
}

export async function openThrowawayDatabase(env: NodeJS.ProcessEnv = process.env): Promise<ThrowawayDatabase> {
  const dir = cacheDir(env);
  const file = dir ? join(dir, `pglite-schema-${schemaKey()}.tar`) : undefined;
  let data: Buffer | undefined;
  try {
    if (file) data = readFileSync(file);
  } catch {
    data = undefined;
  }
  if (data) {
    try {
      const db = await openPglite(undefined, { loadDataDir: new Blob([new Uint8Array(data)]) });
      // Each database has its own identity (cache keys are namespaced by it): the snapshot's is not this one's.
      await db.exec("DO $$ BEGIN IF to_regclass('infra.deployment') IS NOT NULL THEN UPDATE infra.deployment SET id = replace(gen_random_uuid()::text, '-', ''); END IF; END $$");
      return { db, migrated: async () => {}, source: 'snapshot' };
    } catch {
      // An unreadable snapshot (truncated, another PGlite build): start fresh and write a new one.
      rmSync(file!, { force: true });
    }
  }
  const db = await openPglite(undefined);
  return {
    db,
    source: 'fresh',
    migrated: async () => {
      if (!dir || !file) return;
      try {
        const dump = Buffer.from(await (await db.dumpDataDir()).arrayBuffer());
        mkdirSync(dir, { recursive: true, mode: 0o700 });
        // Written aside and renamed: a process starting at the same moment reads the old one or the whole new one.
        const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
        writeFileSync(tmp, dump, { mode: 0o600 });
        chmodSync(tmp, 0o600);
        renameSync(tmp, file);
        for (const old of readdirSync(dir)) if (/^pglite-schema-[0-9a-f]+\.tar$/.test(old) && join(dir, old) !== file) rmSync(join(dir, old), { force: true });
      } catch {
        // No cache folder (read-only home, no space): the next start runs the migrations again, nothing else.
      }
    },
  };
}
