import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { AppError } from '../errors.js';

export type Row = Record<string, unknown>;

export interface QueryResult<T = Row> {
  rows: T[];
  rowCount: number;
}

/** Something SQL can be sent to: the database itself or an open transaction. */
export interface Sql {
  query<T = Row>(text: string, params?: readonly unknown[]): Promise<QueryResult<T>>;
  /** Several statements, no parameters (migrations). */
  exec(text: string): Promise<void>;
}

export type Isolation = 'read committed' | 'repeatable read' | 'serializable';

export interface TxOptions {
  isolation?: Isolation;
  /** How often a serialization failure or deadlock is retried before the caller gets `busy_retry`. */
  retries?: number;
  readOnly?: boolean;
  /**
   * A transaction-scoped advisory lock on this key, taken right after BEGIN in the same round trip
   * (held until COMMIT or ROLLBACK). Statements after it, under READ COMMITTED, see everything committed
   * by earlier holders of the lock: transactions that all lock the key they decide on are serialized
   * on that key. Several keys are locked in the order of their lock ids, so transactions that lock
   * overlapping sets of keys wait for each other instead of deadlocking.
   */
  advisoryLock?: string | readonly string[];
}

export interface DatabaseHealth {
  kind: 'pglite' | 'postgres';
  ok: boolean;
  latency_ms: number;
  error?: string;
}

export interface Database extends Sql {
  readonly kind: 'pglite' | 'postgres';
  /**
   * Runs fn in one transaction. With SERIALIZABLE (the default where money or token state changes),
   * serialization failures (40001) and deadlocks (40P01) are retried with jittered backoff; fn must
   * therefore be safe to run again (no calls to other parties inside a transaction).
   */
  tx<T>(fn: (tx: Sql) => Promise<T>, options?: TxOptions): Promise<T>;
  health(): Promise<DatabaseHealth>;
  close(): Promise<void>;
}

const RETRYABLE = new Set(['40001', '40P01']);

export function isRetryable(err: unknown): boolean {
  return typeof err === 'object' && err !== null && 'code' in err && RETRYABLE.has(String((err as { code: unknown }).code));
}

export function isUniqueViolation(err: unknown, constraint?: string): boolean {
  if (typeof err !== 'object' || err === null || (err as { code?: unknown }).code !== '23505') return false;
  return constraint === undefined || (err as { constraint?: unknown }).constraint === constraint;
}

/**
 * Statements and transactions sent so far in this process (benchmarks report them per operation). With
 * TESSERA_DB_STATS=1 each statement's text is counted too (`byText`), to see where round trips go.
 */
export const queryStats = { statements: 0, transactions: 0, byText: null as Map<string, { n: number; ms: number }> | null };
if (process.env.TESSERA_DB_STATS === '1') queryStats.byText = new Map();

/**
 * The process ids of this database's server backends (PostgreSQL on this machine: benchmarks read their
 * CPU time from /proc); empty on the embedded database.
 */
export async function backendPids(db: Database): Promise<number[]> {
  if (db.kind !== 'postgres') return [];
  const { rows } = await db.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE datname = current_database()');
  return rows.map((r) => r.pid);
}

/** Counts one statement (drivers call it for every query they send). */
export function countStatement(text: string, started: number): void {
  queryStats.statements++;
  if (!queryStats.byText) return;
  const key = text.replace(/\s+/g, ' ').replace(/\d{6,}/g, 'N').slice(0, 110);
  const e = queryStats.byText.get(key) ?? { n: 0, ms: 0 };
  e.n++;
  e.ms += performance.now() - started;
  queryStats.byText.set(key, e);
}

/** Shared retry loop for both drivers. */
/** Serialization failures and deadlocks retried so far in this process (health and benchmarks report it). */
export const retryStats = { retried: 0, exhausted: 0 };

export async function withRetry<T>(attempt: () => Promise<T>, retries: number): Promise<T> {
  for (let i = 0; ; i++) {
    try {
      return await attempt();
    } catch (err) {
      if (!isRetryable(err)) throw err;
      retryStats.retried++;
      if (i >= retries) retryStats.exhausted++;
      if (i >= retries) throw new AppError('busy_retry');
      // Exponential backoff with full jitter, capped: spreads out the transactions that collided.
      await sleep(Math.random() * Math.min(100, 2 ** i * 2));
    }
  }
}

/** The signed 64-bit advisory lock id of a key (the first 8 bytes of its SHA-256): a number, never the key's text. */
export function advisoryLockId(key: string): bigint {
  return createHash('sha256').update(key).digest().readBigInt64BE(0);
}

/** The statement that takes `options.advisoryLock`, if any (no parameters: the lock ids are numbers). */
export function advisoryLockStatement(options: TxOptions): string | null {
  const keys = options.advisoryLock;
  if (keys === undefined) return null;
  const ids = [...new Set((typeof keys === 'string' ? [keys] : keys).map((k) => advisoryLockId(k)))].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  if (ids.length === 0) return null;
  if (ids.length === 1) return `SELECT pg_advisory_xact_lock(${ids[0]!.toString()})`;
  // unnest yields the array's elements in order, and each row takes its lock before the next is read.
  return `SELECT count(pg_advisory_xact_lock(k)) FROM unnest('{${ids.join(',')}}'::bigint[]) AS k`;
}

export function beginStatement(options: TxOptions): string {
  const isolation = options.isolation ?? 'serializable';
  return `BEGIN ISOLATION LEVEL ${isolation.toUpperCase()}${options.readOnly ? ' READ ONLY' : ''}`;
}
