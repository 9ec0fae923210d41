import pg from 'pg';
import { advisoryLockStatement, beginStatement, countStatement, queryStats, withRetry, type Database, type QueryResult, type Sql, type TxOptions } from './database.js';

// int8 and numeric come back as strings by default; amounts are bigint minor units that fit in a JS
// number up to 2^53, and counters too, so parse them as numbers where that is exact.
pg.types.setTypeParser(20, (v) => {
  const n = Number(v);
  return Number.isSafeInteger(n) ? n : v;
});

/** Distinct statement texts prepared by name at most (per process; each connection prepares those it runs). */
const MAX_PREPARED = 2000;

export async function openPostgres(url: string, poolSize: number): Promise<Database> {
  const pool = new pg.Pool({ connectionString: url, max: poolSize, connectionTimeoutMillis: 5000, idleTimeoutMillis: 30000 });
  // An idle client that loses its connection must not crash the process.
  pool.on('error', () => {});
  let closed = false;

  // Statements with parameters run as named prepared statements: each connection parses and plans a
  // text once, then only binds and executes it (the hot paths' statements are long CTEs). Texts are
  // fixed in the repositories; the cap only guards against a caller that builds unbounded variants.
  const names = new Map<string, string>();
  const nameOf = (text: string): string | undefined => {
    let name = names.get(text);
    if (name === undefined && names.size < MAX_PREPARED) {
      name = `tessera_${names.size}`;
      names.set(text, name);
    }
    return name;
  };

  const run = async <T,>(q: pg.Pool | pg.PoolClient, text: string, params?: readonly unknown[]): Promise<QueryResult<T>> => {
    const started = performance.now();
    const name = params !== undefined && params.length > 0 ? nameOf(text) : undefined;
    const r = name !== undefined ? await q.query({ name, text, values: params as unknown[] }) : await q.query(text, params as unknown[] | undefined);
    countStatement(text, started);
    // Several statements in one text (BEGIN with its advisory lock) answer one result each: the last counts.
    const last = Array.isArray(r) ? (r.at(-1) as pg.QueryResult) : r;
    return { rows: last.rows as T[], rowCount: last.rowCount ?? last.rows.length };
  };

  const db: Database = {
    kind: 'postgres',
    query: (text, params) => run(pool, text, params),
    exec: async (text) => {
      await pool.query(text);
    },
    async tx<T>(fn: (tx: Sql) => Promise<T>, options: TxOptions = {}): Promise<T> {
      return withRetry(async () => {
        const client = await pool.connect();
        let broken = false;
        queryStats.transactions++;
        try {
          // BEGIN and the advisory lock in one round trip (the simple protocol takes several statements).
          const lock = advisoryLockStatement(options);
          await run(client, lock ? `${beginStatement(options)}; ${lock}` : beginStatement(options));
          const result = await fn({
            query: (text, params) => run(client, text, params),
            exec: async (text) => {
              await client.query(text);
            },
          });
          await run(client, 'COMMIT');
          return result;
        } catch (err) {
          try {
            await client.query('ROLLBACK');
          } catch {
            broken = true;
          }
          throw err;
        } finally {
          client.release(broken);
        }
      }, options.retries ?? 10);
    },
    async health() {
      const started = performance.now();
      try {
        await pool.query('SELECT 1');
        return { kind: 'postgres', ok: true, latency_ms: Math.round((performance.now() - started) * 100) / 100 };
      } catch (err) {
        return { kind: 'postgres', ok: false, latency_ms: 0, error: (err as { code?: string }).code ?? 'unreachable' };
      }
    },
    async close() {
      if (closed) return;
      closed = true;
      await pool.end();
    },
  };
  // Fail at start, with a clear message, rather than on the first request.
  await pool.query('SELECT 1');
  return db;
}
