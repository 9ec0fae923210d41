import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Database } from './database.js';

/** A module's migrations: SQL files named NNNN_what.sql in one folder, applied in order, never edited. */
export interface MigrationSet {
  module: string;
  dir: URL;
}

interface Migration {
  module: string;
  version: number;
  name: string;
  sql: string;
  checksum: string;
}

export class MigrationError extends Error {
  override readonly name = 'MigrationError';
}

function load(set: MigrationSet): Migration[] {
  const dir = fileURLToPath(set.dir);
  return readdirSync(dir)
    .filter((f) => f.endsWith('.sql'))
    .sort()
    .map((file) => {
      const m = /^(\d{4})_([a-z0-9_]+)\.sql$/.exec(file);
      if (!m) throw new MigrationError(`migration file name must be NNNN_name.sql: ${set.module}/${file}`);
      const sql = readFileSync(`${dir}/${file}`, 'utf8');
      return { module: set.module, version: Number(m[1]), name: m[2]!, sql, checksum: createHash('sha256').update(sql).digest('hex') };
    });
}

/**
 * Applies pending migrations, module by module in the order given (infra first). An advisory lock keeps
 * two processes starting at once from racing; an applied migration whose file changed is an error, since
 * migrations are forward-only.
 */
export async function migrate(db: Database, sets: MigrationSet[]): Promise<{ applied: string[] }> {
  const applied: string[] = [];
  // Under the same lock as the migrations: two processes starting at once on a fresh database would
  // otherwise race in CREATE ... IF NOT EXISTS, which is not atomic in PostgreSQL (one fails on pg_type).
  // What is applied already is read once here: a start with nothing to apply needs no transaction per migration.
  const done = await db.tx(
    async (tx) => {
      await tx.query('SELECT pg_advisory_xact_lock(7263001)');
      await tx.query('CREATE SCHEMA IF NOT EXISTS infra');
      await tx.query(`CREATE TABLE IF NOT EXISTS infra.schema_migrations (
        module text NOT NULL,
        version integer NOT NULL CHECK (version > 0),
        name text NOT NULL,
        checksum text NOT NULL,
        applied_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (module, version)
      )`);
      const { rows } = await tx.query<{ module: string; version: number; checksum: string }>('SELECT module, version, checksum FROM infra.schema_migrations');
      return new Map(rows.map((r) => [`${r.module}/${r.version}`, r.checksum]));
    },
    { isolation: 'read committed', retries: 0 },
  );
  for (const set of sets) {
    for (const m of load(set)) {
      const checksum = done.get(`${m.module}/${m.version}`);
      if (checksum === m.checksum) continue;
      if (checksum !== undefined) throw new MigrationError(`migration ${m.module}/${m.version}_${m.name} was changed after it was applied; add a new migration instead`);
      await db.tx(
        async (tx) => {
          // Transaction-scoped lock: released at commit, held while this migration runs.
          await tx.query('SELECT pg_advisory_xact_lock(7263001)');
          const { rows } = await tx.query<{ checksum: string }>('SELECT checksum FROM infra.schema_migrations WHERE module = $1 AND version = $2', [m.module, m.version]);
          if (rows[0]) {
            if (rows[0].checksum !== m.checksum) {
              throw new MigrationError(`migration ${m.module}/${m.version}_${m.name} was changed after it was applied; add a new migration instead`);
            }
            return;
          }
          // Multi-statement SQL: send through the simple protocol (no parameters).
          await tx.exec(m.sql);
          await tx.query('INSERT INTO infra.schema_migrations (module, version, name, checksum) VALUES ($1, $2, $3, $4)', [m.module, m.version, m.name, m.checksum]);
          applied.push(`${m.module}/${m.version}_${m.name}`);
        },
        { isolation: 'read committed', retries: 0 },
      );
    }
  }
  return { applied };
}
