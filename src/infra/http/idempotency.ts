import { createHmac } from 'node:crypto';
import { AppError } from '../errors.js';
import type { Database, Sql } from '../db/database.js';
import { ownerAlive } from '../lease.js';
import type { Logger } from '../logger.js';
import type { RouteResult } from './route.js';

/** How long a stored response is replayed (docs/reference/api-conventions.md). */
export const REPLAY_WINDOW_HOURS = 24;
/**
 * A request that held a key this long without finishing is taken to have died; a retry resumes it.
 * A key whose holder's process is known dead (its lease, src/infra/lease.ts) is free at once.
 */
export const LOCK_TIMEOUT_SECONDS = 60;

/**
 * SQL: the key is held by a request that may still be running (its lock fresh and its process alive;
 * `me`, the parameter holding this process's boot id, is alive by definition).
 */
const held = (me: string) => `(locked_at IS NOT NULL AND locked_at > now() - make_interval(secs => ${LOCK_TIMEOUT_SECONDS}) AND (owner_boot = ${me} OR ${ownerAlive('owner_boot')}))`;

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
export async function acquire(db: Database, principal: string, key: string, method: string, route: string, hash: Buffer, owner: string | null = null): Promise<Acquired> {
  return db.tx(
    async (tx) => {
      const inserted = await tx.query<{ id: number }>(
        `INSERT INTO infra.idempotency_keys (principal, idem_key, request_hash, method, route, locked_at, owner_boot)
         VALUES ($1, $2, $3, $4, $5, now(), $6) ON CONFLICT (principal, idem_key) DO NOTHING RETURNING id`,
        [principal, key, hash, method, route, owner],
      );
      if (inserted.rows[0]) return { kind: 'owner', id: inserted.rows[0].id, recovery: {} };

      const { rows } = await tx.query<Row>(
        `SELECT id, request_hash, status, recovery, response_status, response_body, response_headers,
                ${held('$4::text')} AS locked,
                (created_at < now() - make_interval(hours => $3)) AS expired
           FROM infra.idempotency_keys WHERE principal = $1 AND idem_key = $2 FOR UPDATE`,
        [principal, key, REPLAY_WINDOW_HOURS, owner],
      );
      const row = rows[0];
      if (!row) throw new AppError('busy_retry');
      if (row.expired && !row.locked) {
        // Past the replay window the key is free again: start afresh.
        await tx.query(
          `UPDATE infra.idempotency_keys SET request_hash = $2, method = $3, route = $4, status = 'started', locked_at = now(), owner_boot = $5,
             recovery = '{}'::jsonb, response_status = NULL, response_body = NULL, response_headers = NULL, created_at = now(), finished_at = NULL
           WHERE id = $1`,
          [row.id, hash, method, route, owner],
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
      // The earlier attempt died (its process is gone, or its lock timed out) or failed unexpectedly:
      // resume from its last recovery point.
      await tx.query('UPDATE infra.idempotency_keys SET locked_at = now(), owner_boot = $2 WHERE id = $1', [row.id, owner]);
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

/** Deletes keys past twice the replay window that no running request holds (finished or not). */
export async function purgeExpired(db: Database): Promise<number> {
  const { rowCount } = await db.query(`DELETE FROM infra.idempotency_keys WHERE created_at < now() - make_interval(hours => $1) AND NOT ${held('NULL')}`, [REPLAY_WINDOW_HOURS * 2]);
  return rowCount;
}

/** An unfinished key whose request is dead, claimed by the recovery worker (locked by its process now). */
export interface AbandonedKey {
  id: number;
  principal: string;
  idemKey: string;
  method: string;
  route: string;
  recovery: Record<string, unknown>;
}

/**
 * Settles a dead request of one route: undoes or completes what its recovery points say it reached and
 * answers what a retry with its key gets from now on (a definite 4xx or the response it would have had).
 */
export type RecoveryHandler = (key: AbandonedKey) => Promise<RouteResult>;

/** Keys this process is settling now (idempotency id → its principal and the outcome). */
const inProgress = new Map<number, { principal: string; done: Promise<boolean> }>();

/** The stored answer of a request the recovery worker ended with a definite error. */
export function errorResult(err: AppError): RouteResult {
  return { status: err.status, body: err.toBody('req_recovery'), ...(err.headers ? { headers: err.headers } : {}) };
}

/**
 * The recovery worker's round (at start and periodically): every unfinished key whose request is dead
 * (its process ended, or its lock timed out) is settled by its route's handler within seconds and gets
 * its final answer, so no user waits for a lock or a reservation to time out. A dead key of a route
 * with no handler keeps its recovery points (a retry resumes it at once), but not its lock.
 */
export async function recoverAbandoned(
  db: Database,
  owner: string,
  handlers: ReadonlyMap<string, RecoveryHandler>,
  options: { logger?: Logger; limit?: number; principal?: string } = {},
): Promise<{ settled: number; unlocked: number; failed: number }> {
  const routes = [...handlers.keys()];
  const { rows } = await db.query<{ id: number; principal: string; idem_key: string; method: string; route: string; recovery: Record<string, unknown> | null }>(
    `UPDATE infra.idempotency_keys SET locked_at = now(), owner_boot = $1
      WHERE id IN (SELECT id FROM infra.idempotency_keys
                    WHERE status = 'started' AND (method || ' ' || route) = ANY($2::text[]) AND ($4::text IS NULL OR principal = $4)
                      -- Dead (process gone, lock timed out), or released after an error and not retried for a lock's time.
                      AND ((locked_at IS NOT NULL AND NOT ${held('$1')}) OR (locked_at IS NULL AND created_at < now() - make_interval(secs => ${LOCK_TIMEOUT_SECONDS})))
                    ORDER BY id LIMIT $3 FOR UPDATE SKIP LOCKED)
        AND status = 'started'
      RETURNING id, principal, idem_key, method, route, recovery`,
    [owner, routes, options.limit ?? 100, options.principal ?? null],
  );
  let settled = 0;
  let failed = 0;
  const settle = async (r: (typeof rows)[number]): Promise<boolean> => {
    const handler = handlers.get(`${r.method} ${r.route}`)!;
    try {
      const result = await handler({ id: r.id, principal: r.principal, idemKey: r.idem_key, method: r.method, route: r.route, recovery: r.recovery ?? {} });
      await finish(db, r.id, result);
      return true;
    } catch (err) {
      // Another party unreachable, say: the next round tries again.
      options.logger?.warn({ err, idempotency_id: r.id, route: r.route }, 'could not settle a request left unfinished by a process that stopped; retrying later');
      await release(db, r.id).catch(() => {});
      return false;
    }
  };
  // Settled side by side; a request of the same principal waits for them (settling()).
  const mine = rows.map((r) => {
    const done = settle(r).finally(() => inProgress.delete(r.id));
    inProgress.set(r.id, { principal: r.principal, done });
    return done;
  });
  // …and for those another round of this process is settling right now.
  const others = options.principal === undefined ? [] : [...inProgress.entries()].filter(([id, e]) => e.principal === options.principal && !rows.some((r) => r.id === id)).map(([, e]) => e.done);
  for (const ok of await Promise.all([...mine, ...others])) if (ok) settled++;
  failed = rows.length - (await Promise.all(mine)).filter(Boolean).length;
  if (options.principal !== undefined) return { settled, unlocked: 0, failed };
  // Routes without a handler: a dead lock is dropped (a retry resumes at once, and nothing looks held).
  const unlocked = await db.query(
    `UPDATE infra.idempotency_keys SET locked_at = NULL
      WHERE status = 'started' AND locked_at IS NOT NULL AND NOT ${held('$2')} AND NOT ((method || ' ' || route) = ANY($1::text[]))`,
    [routes, owner],
  );
  if (settled || unlocked.rowCount) options.logger?.warn({ settled, unlocked: unlocked.rowCount }, 'requests left unfinished by a process that stopped: settled or unlocked');
  return { settled, unlocked: unlocked.rowCount, failed };
}
