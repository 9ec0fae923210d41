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

export function beginStatement(options: TxOptions): string {
  const isolation = options.isolation ?? 'serializable';
  return `BEGIN ISOLATION LEVEL ${isolation.toUpperCase()}${options.readOnly ? ' READ ONLY' : ''}`;
}
