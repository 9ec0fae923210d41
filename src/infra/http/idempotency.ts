import { createHmac } from 'node:crypto';
import { AppError } from '../errors.js';
import type { Database, Sql } from '../db/database.js';
import type { RouteResult } from './route.js';

/** How long a stored response is replayed (docs/reference/api-conventions.md). */
export const REPLAY_WINDOW_HOURS = 24;
/** A request that held a key this long without finishing is taken to have died; a retry resumes it. */
export const LOCK_TIMEOUT_SECONDS = 60;

export function validateIdempotencyKey(header: string | string[] | undefined): string | null {
  if (header === undefined) return null;
  if (typeof header !== 'string' || !/^[\x20-\x7e]{1,255}$/.test(header)) throw new AppError('idempotency_key_invalid', { param: 'Idempotency-Key' });
  return header;
}

/** Canonical JSON: object keys sorted, so the same parameters in another order are the same request. */
function canonical(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value instanceof Uint8Array) return `b:${Buffer.from(value).toString('base64')}`;
  const keys = Object.keys(value).sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonical((value as Record<string, unknown>)[k])}`).join(',')}}`;
}

/**
 * Keyed (HMAC-SHA-256): a request body can carry a card number, and a plain hash of it would let
 * anyone holding the table guess the missing digits (PCI DSS 3.5.1.1).
 */
export function requestHash(key: Uint8Array, method: string, route: string, params: unknown, body: unknown): Buffer {
  return createHmac('sha256', key).update(`${method} ${route}\n${canonical(params)}\n${canonical(body)}`).digest();
}

interface Row {
  id: number;
  request_hash: Buffer;
  status: 'started' | 'finished';
  locked: boolean;
  expired: boolean;
  recovery: Record<string, unknown>;
  response_status: number | null;
  response_body: unknown;
  response_headers: Record<string, string> | null;
}

export type Acquired = { kind: 'owner'; id: number; recovery: Record<string, unknown> } | { kind: 'replay'; result: RouteResult };

/**
 * Claims an idempotency key for this request, or says what to answer instead. The unique constraint
 * (principal, key) in PostgreSQL is the guard: the cache plays no part, so a Redis outage cannot let
 * a key run twice.
 */
export async function acquire(db: Database, principal: string, key: string, method: string, route: string, hash: Buffer): Promise<Acquired> {
  return db.tx(
    async (tx) => {
      const inserted = await tx.query<{ id: number }>(
        `INSERT INTO infra.idempotency_keys (principal, idem_key, request_hash, method, route, locked_at)
         VALUES ($1, $2, $3, $4, $5, now()) ON CONFLICT (principal, idem_key) DO NOTHING RETURNING id`,
        [principal, key, hash, method, route],
      );
      if (inserted.rows[0]) return { kind: 'owner', id: inserted.rows[0].id, recovery: {} };

      const { rows } = await tx.query<Row>(
        `SELECT id, request_hash, status, recovery, response_status, response_body, response_headers,
                (locked_at IS NOT NULL AND locked_at > now() - make_interval(secs => $3)) AS locked,
                (created_at < now() - make_interval(hours => $4)) AS expired
           FROM infra.idempotency_keys WHERE principal = $1 AND idem_key = $2 FOR UPDATE`,
        [principal, key, LOCK_TIMEOUT_SECONDS, REPLAY_WINDOW_HOURS],
      );
      const row = rows[0];
      if (!row) throw new AppError('busy_retry');
      if (row.expired && !row.locked) {
        // Past the replay window the key is free again: start afresh.
        await tx.query(
          `UPDATE infra.idempotency_keys SET request_hash = $2, method = $3, route = $4, status = 'started', locked_at = now(),
             recovery = '{}'::jsonb, response_status = NULL, response_body = NULL, response_headers = NULL, created_at = now(), finished_at = NULL
           WHERE id = $1`,
          [row.id, hash, method, route],
        );
        return { kind: 'owner', id: row.id, recovery: {} };
      }
      if (!Buffer.from(row.request_hash).equals(hash)) throw new AppError('idempotency_key_reused');
      if (row.status === 'finished') {
        return {
          kind: 'replay',
          result: { status: row.response_status!, body: row.response_body, headers: { ...(row.response_headers ?? {}), 'Idempotent-Replayed': 'true' } },
        };
      }
      if (row.locked) throw new AppError('idempotency_in_flight', { headers: { 'Retry-After': '1' } });
      // The earlier attempt died or failed unexpectedly: resume from its last recovery point.
      await tx.query('UPDATE infra.idempotency_keys SET locked_at = now() WHERE id = $1', [row.id]);
      return { kind: 'owner', id: row.id, recovery: row.recovery ?? {} };
    },
    { isolation: 'read committed' },
  );
}

/** Stores the final response; in 'atomic' mode this runs inside the effect's own transaction. */
export async function finish(sql: Sql, id: number, result: RouteResult): Promise<void> {
  await sql.query(
    `UPDATE infra.idempotency_keys SET status = 'finished', locked_at = NULL, finished_at = now(),
       response_status = $2, response_body = $3::jsonb, response_headers = $4::jsonb WHERE id = $1`,
    [id, result.status, JSON.stringify(result.body ?? null), JSON.stringify(result.headers ?? {})],
  );
}

/** An unexpected failure: keep the recovery points, free the key so a retry can resume. */
export async function release(db: Database, id: number): Promise<void> {
  await db.query('UPDATE infra.idempotency_keys SET locked_at = NULL WHERE id = $1', [id]);
}

export async function recordStep(sql: Sql, id: number, name: string, value: unknown): Promise<void> {
  await sql.query(`UPDATE infra.idempotency_keys SET recovery = recovery || jsonb_build_object($2::text, $3::jsonb) WHERE id = $1`, [id, name, JSON.stringify(value ?? null)]);
}

export async function purgeExpired(db: Database): Promise<number> {
  const { rowCount } = await db.query(`DELETE FROM infra.idempotency_keys WHERE created_at < now() - make_interval(hours => $1) AND locked_at IS NULL`, [REPLAY_WINDOW_HOURS * 2]);
  return rowCount;
}
