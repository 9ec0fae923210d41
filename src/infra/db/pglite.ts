import { mkdirSync } from 'node:fs';
import { PGlite } from '@electric-sql/pglite';
import { advisoryLockStatement, beginStatement, countStatement, queryStats, withRetry, type Database, type QueryResult, type Sql, type TxOptions } from './database.js';

/** The embedded database, which can also be dumped to start another PGlite from (openPglite's loadDataDir). */
export interface PgliteDatabase extends Database {
  dumpDataDir(): Promise<Blob>;
}

/**
 * The embedded database: PostgreSQL compiled to WebAssembly, one connection. Its transactions are
 * serialized by PGlite itself, so SERIALIZABLE never fails here, but the SQL is the same as on a server.
 * `dataDir` undefined means in memory (tests).
 */
export async function openPglite(dataDir: string | undefined, options: { loadDataDir?: Blob } = {}): Promise<PgliteDatabase> {
  if (dataDir) mkdirSync(dataDir, { recursive: true });
  // From a snapshot (dumpDataDir), PGlite skips initdb: seconds of CPU a throwaway platform need not spend.
  const pg = await PGlite.create({ ...(dataDir ? { dataDir } : {}), ...(options.loadDataDir ? { loadDataDir: options.loadDataDir } : {}) });
  let closed = false;

  const run = async <T,>(q: Pick<PGlite, "query">, text: string, params?: readonly unknown[]): Promise<QueryResult<T>> => {
    const started = performance.now();
    const r = await q.query<T>(text, params as unknown[] | undefined);
    countStatement(text, started);
    return { rows: r.rows, rowCount: r.affectedRows ?? r.rows.length };
  };

  return {
    kind: 'pglite',
    query: (text, params) => run(pg, text, params),
    exec: async (text) => {
      await pg.exec(text);
    },
    async tx<T>(fn: (tx: Sql) => Promise<T>, options: TxOptions = {}): Promise<T> {
      return withRetry(
        () =>
          pg.transaction(async (t) => {
            queryStats.transactions++;
            // PGlite has already sent BEGIN; the isolation level is set as the first statement.
            await t.query(beginStatement(options).replace('BEGIN ISOLATION LEVEL', 'SET TRANSACTION ISOLATION LEVEL'));
            const lock = advisoryLockStatement(options);
            if (lock) await t.query(lock);
            return fn({
              query: (text, params) => run(t, text, params),
              exec: async (text) => {
                await t.exec(text);
              },
            });
          }),
        options.retries ?? 10,
      );
    },
    dumpDataDir: () => pg.dumpDataDir('none'),
    async health() {
      const started = performance.now();
      try {
        await pg.query('SELECT 1');
        return { kind: 'pglite', ok: true, latency_ms: Math.round((performance.now() - started) * 100) / 100 };
      } catch {
        return { kind: 'pglite', ok: false, latency_ms: 0, error: 'query failed' };
      }
    },
    async close() {
      if (closed) return;
      closed = true;
      await pg.close();
    },
  };
}
