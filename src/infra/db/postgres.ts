import pg from 'pg';
import { beginStatement, withRetry, type Database, type QueryResult, type Sql, type TxOptions } from './database.js';

// int8 and numeric come back as strings by default; amounts are bigint minor units that fit in a JS
// number up to 2^53, and counters too, so parse them as numbers where that is exact.
pg.types.setTypeParser(20, (v) => {
  const n = Number(v);
  return Number.isSafeInteger(n) ? n : v;
});

export async function openPostgres(url: string, poolSize: number): Promise<Database> {
  const pool = new pg.Pool({ connectionString: url, max: poolSize, connectionTimeoutMillis: 5000, idleTimeoutMillis: 30000 });
  // An idle client that loses its connection must not crash the process.
  pool.on('error', () => {});
  let closed = false;

  const run = async <T,>(q: pg.Pool | pg.PoolClient, text: string, params?: readonly unknown[]): Promise<QueryResult<T>> => {
    const r = await q.query(text, params as unknown[] | undefined);
    return { rows: r.rows as T[], rowCount: r.rowCount ?? r.rows.length };
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
        try {
          await client.query(beginStatement(options));
          const result = await fn({
            query: (text, params) => run(client, text, params),
            exec: async (text) => {
              await client.query(text);
            },
          });
          await client.query('COMMIT');
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
