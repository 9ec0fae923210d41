import { PassThrough, type Readable } from 'node:stream';
import type { Database, Sql } from '../infra/db/database.js';

/**
 * The push channel to devices (docs/lifecycle.md): events about a user's transactions and cards,
 * stored in `platform.device_events` in the same transaction as the change, and streamed to the user's
 * devices as server-sent events by `GET /platform/v1/events`, resumable with Last-Event-ID.
 */

export type DeviceEventType = 'transaction.recorded' | 'transaction.updated' | 'card.status_changed' | (string & {});

export interface DeviceEventInput {
  userId: string;
  /** Only this device sees it; null or absent: every device of the user. */
  deviceId?: string | null;
  type: DeviceEventType;
  payload: unknown;
}

export interface DeviceEvent {
  id: string;
  type: string;
  device_id: string | null;
  payload: unknown;
  created_at: string;
}

/** Both keys of the per-user advisory lock; the first names this use. */
const LOCK_CLASS = 7263002;

/**
 * Records an event in the caller's transaction (call it where the change is written: card status
 * changes, transactions). A per-user lock held until commit makes the user's events commit in the
 * order of their ids, so a reader resuming after an id never misses an earlier one that committed late.
 * Returns the event's id (the stream's cursor).
 */
export async function recordDeviceEvent(tx: Sql, e: DeviceEventInput): Promise<string> {
  // One statement: the row comes out of the lock's CTE, so its id is drawn only once the lock is held.
  const { rows } = await tx.query<{ id: string | number }>(
    `WITH l AS (SELECT pg_advisory_xact_lock($5, hashtext($1)))
     INSERT INTO platform.device_events (user_id, device_id, type, payload) SELECT $1, $2, $3, $4::jsonb FROM l RETURNING id`,
    [e.userId, e.deviceId ?? null, e.type, JSON.stringify(e.payload), LOCK_CLASS],
  );
  return String(rows[0]!.id);
}

interface Row {
  id: string | number;
  type: string;
  device_id: string | null;
  payload: unknown;
  created_at: Date;
}

export interface PushOptions {
  /** How often an open stream looks for events written by other processes (no wake-up reaches it). */
  pollMs?: number;
  /** Comment lines that keep proxies from closing an idle stream. */
  heartbeatMs?: number;
  /** Events read per query. */
  batchSize?: number;
}

/** Serialises one event in the text/event-stream format. */
export function formatSse(e: DeviceEvent): string {
  return `id: ${e.id}\nevent: ${e.type}\ndata: ${JSON.stringify({ ...(e.payload as object), event_id: e.id, created_at: e.created_at })}\n\n`;
}

/**
 * Open streams, each woken when its user's events may have changed (this process recorded one: wake),
 * or on a timer (another process did). A wake-up only makes the stream read the table after its
 * cursor, so a lost or early wake-up costs latency, never an event.
 */
export class PushHub {
  readonly #subscribers = new Map<string, Set<() => void>>();
  readonly #pollMs: number;
  readonly #heartbeatMs: number;
  readonly #batchSize: number;

  constructor(
    private readonly db: Database,
    options: PushOptions = {},
  ) {
    this.#pollMs = options.pollMs ?? 1000;
    this.#heartbeatMs = options.heartbeatMs ?? 15_000;
    this.#batchSize = options.batchSize ?? 100;
  }

  /** Tells this user's open streams to look for new events (after the recording transaction committed). */
  wake(userId: string): void {
    for (const fn of this.#subscribers.get(userId) ?? []) fn();
  }

  /** How many streams are open (tests, health). */
  get open(): number {
    let n = 0;
    for (const s of this.#subscribers.values()) n += s.size;
    return n;
  }

  /** Events for this user and device after `afterId` (oldest first). */
  async after(userId: string, deviceId: string | null, afterId: bigint, limit = this.#batchSize): Promise<DeviceEvent[]> {
    const { rows } = await this.db.query<Row>(
      `SELECT id, type, device_id, payload, created_at FROM platform.device_events
        WHERE user_id = $1 AND id > $2 AND (device_id IS NULL OR device_id = $3)
        ORDER BY id LIMIT $4`,
      [userId, afterId.toString(), deviceId, limit],
    );
    return rows.map((r) => ({ id: String(r.id), type: r.type, device_id: r.device_id, payload: r.payload, created_at: new Date(r.created_at).toISOString() }));
  }

  /** The newest event id of the user (a fresh stream without Last-Event-ID starts there). */
  async latest(userId: string): Promise<bigint> {
    const { rows } = await this.db.query<{ id: string | number | null }>('SELECT max(id) AS id FROM platform.device_events WHERE user_id = $1', [userId]);
    return BigInt(rows[0]?.id ?? 0);
  }

  /**
   * A text/event-stream body: every event after `afterId`, then live ones, until the client goes away
   * (the stream is destroyed) or the server closes.
   */
  stream(userId: string, deviceId: string | null, afterId: bigint, log?: { warn(o: object, m: string): void }): Readable {
    const out = new PassThrough();
    let cursor = afterId;
    let closed = false;
    let pending = false;
    let running: Promise<void> | undefined;

    const pump = async () => {
      do {
        pending = false;
        for (;;) {
          const events = await this.after(userId, deviceId, cursor);
          if (closed) return;
          for (const e of events) {
            out.write(formatSse(e));
            cursor = BigInt(e.id);
          }
          if (events.length < this.#batchSize) break;
        }
      } while (pending && !closed);
    };
    const wake = () => {
      if (closed) return;
      if (running) {
        pending = true;
        return;
      }
      running = pump()
        .catch((err: unknown) => log?.warn({ err: { message: (err as Error).message } }, 'event stream read failed'))
        .finally(() => {
          running = undefined;
        });
    };

    let subs = this.#subscribers.get(userId);
    if (!subs) this.#subscribers.set(userId, (subs = new Set()));
    subs.add(wake);
    const poll = setInterval(wake, this.#pollMs);
    const beat = setInterval(() => out.write(': keep-alive\n\n'), this.#heartbeatMs);
    poll.unref();
    beat.unref();
    out.once('close', () => {
      closed = true;
      clearInterval(poll);
      clearInterval(beat);
      const s = this.#subscribers.get(userId);
      s?.delete(wake);
      if (s?.size === 0) this.#subscribers.delete(userId);
    });

    // The client reconnects after this many milliseconds (EventSource), then resumes from its last id.
    out.write(`retry: 2000\n: connected\n\n`);
    wake();
    return out;
  }
}
