import type { Database, Sql } from './db/database.js';
import { newId } from './ids.js';
import type { Logger } from './logger.js';

export interface OutboxEvent {
  id: number;
  event_id: string;
  topic: string;
  aggregate_id: string;
  payload: unknown;
  attempts: number;
  created_at: Date;
}

/**
 * Writes an event in the caller's transaction, so it exists exactly when the change it describes does
 * (docs/lifecycle.md: device push, merchant webhooks, issuer notifications). Returns its `evt_` id, which
 * receivers use to de-duplicate: delivery is at least once.
 */
export async function enqueue(tx: Sql, event: { topic: string; aggregateId: string; payload: unknown; eventId?: string }): Promise<string> {
  const eventId = event.eventId ?? newId('evt');
  await tx.query('INSERT INTO infra.outbox (event_id, topic, aggregate_id, payload) VALUES ($1, $2, $3, $4::jsonb) ON CONFLICT (event_id) DO NOTHING', [
    eventId,
    event.topic,
    event.aggregateId,
    JSON.stringify(event.payload),
  ]);
  for (const observe of enqueueObservers) observe(eventId);
  return eventId;
}

const enqueueObservers = new Set<(eventId: string) => void>();

/** For code that writes outbox rows with its own SQL (one statement with the change): tells the observers as enqueue() does. */
export function announceEnqueued(eventId: string): void {
  for (const observe of enqueueObservers) observe(eventId);
}

/**
 * Calls `fn` with the id of every event enqueued in this process, in the caller's async context (the
 * operations console ties an event's later delivery to the request that wrote it). Returns the undo.
 */
export function observeEnqueue(fn: (eventId: string) => void): () => void {
  enqueueObservers.add(fn);
  return () => enqueueObservers.delete(fn);
}

export type OutboxHandler = (event: OutboxEvent) => Promise<void>;

const MAX_BACKOFF_SECONDS = 600;

/**
 * Delivers outbox events to their topic's handler. Order is kept per aggregate (an object's events
 * arrive in the order they happened): an aggregate whose oldest pending event fails waits for it.
 * Different aggregates are delivered concurrently (`concurrency` at once), and a round that found a
 * full batch is followed at once by the next, so a busy platform's history and webhooks keep up with
 * its payments instead of trailing them by one event at a time every `intervalMs`.
 * Failures back off exponentially up to ten minutes.
 */
export class OutboxWorker {
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<number> | undefined;
  readonly #handlers = new Map<string, OutboxHandler>();

  constructor(
    private readonly db: Database,
    private readonly options: {
      intervalMs?: number;
      batchSize?: number;
      /** Aggregates delivered at once (each one's events in order). */
      concurrency?: number;
      logger?: Logger;
      /** Runs around each delivery (the operations console runs it in the trace of the request that enqueued the event). */
      around?: (event: OutboxEvent, deliver: () => Promise<void>) => Promise<void>;
    } = {},
  ) {}

  on(topicPrefix: string, handler: OutboxHandler): this {
    this.#handlers.set(topicPrefix, handler);
    return this;
  }

  #handlerFor(topic: string): OutboxHandler | undefined {
    for (const [prefix, h] of this.#handlers) if (topic === prefix || topic.startsWith(`${prefix}.`)) return h;
    return undefined;
  }

  start(): void {
    if (this.#timer) return;
    const batchSize = this.options.batchSize ?? 100;
    const tick = () => {
      this.#running ??= this.#round()
        .then((r) => r.found, (err: unknown) => {
          this.options.logger?.warn({ err: { message: (err as Error).message } }, 'outbox delivery round failed');
          return 0;
        })
        .then((found) => {
          this.#running = undefined;
          // A full batch leaves more behind it: go on now rather than at the next interval.
          if (found >= batchSize && this.#timer) setImmediate(tick);
          return found;
        });
    };
    this.#timer = setInterval(tick, this.options.intervalMs ?? 250);
    this.#timer.unref();
  }

  async stop(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#running;
  }

  /** The LIKE patterns of the topics this worker handles (each prefix and its sub-topics). */
  #patterns(): string[] {
    return [...this.#handlers.keys()].flatMap((p) => [p, `${p}.%`]);
  }

  /** Events of the handled topics not delivered yet (benchmarks report how far delivery trails). */
  async pending(): Promise<number> {
    const { rows } = await this.db.query<{ n: number }>('SELECT count(*)::int AS n FROM infra.outbox WHERE delivered_at IS NULL AND topic LIKE ANY($1::text[])', [this.#patterns()]);
    return rows[0]?.n ?? 0;
  }

  /** One delivery round; returns how many events were delivered. */
  async runOnce(): Promise<number> {
    return (await this.#round()).delivered;
  }

  async #round(): Promise<{ found: number; delivered: number }> {
    if (this.#handlers.size === 0) return { found: 0, delivered: 0 };
    // Only topics this worker handles: events nobody consumes must not fill every batch.
    const patterns = this.#patterns();
    // Due events in id order, so an object's older event is delivered before its newer ones in the same
    // round; an object whose older event is backing off after a failure waits for it.
    const { rows } = await this.db.query<OutboxEvent>(
      `SELECT o.id, o.event_id, o.topic, o.aggregate_id, o.payload, o.attempts, o.created_at
         FROM infra.outbox o
        WHERE o.delivered_at IS NULL AND o.next_attempt_at <= now() AND o.topic LIKE ANY($2::text[])
          AND NOT EXISTS (SELECT 1 FROM infra.outbox e WHERE e.aggregate_id = o.aggregate_id AND e.topic = o.topic
                           AND e.delivered_at IS NULL AND e.id < o.id AND e.next_attempt_at > now())
        ORDER BY o.id LIMIT $1`,
      [this.options.batchSize ?? 100, patterns],
    );
    // Each aggregate's events in id order, one after another; an aggregate's failure stops the rest of its events.
    const byAggregate = new Map<string, OutboxEvent[]>();
    for (const event of rows) {
      const list = byAggregate.get(event.aggregate_id);
      if (list) list.push(event);
      else byAggregate.set(event.aggregate_id, [event]);
    }
    const queues = [...byAggregate.values()];
    const delivered: number[] = [];
    const lane = async () => {
      for (let events = queues.shift(); events; events = queues.shift()) {
        for (const event of events) {
          if (!(await this.#deliver(event))) break;
          delivered.push(event.id);
        }
      }
    };
    // Every lane ends before the round does (a lane that failed, say on a lost connection, must not leave
    // others running into the next round), and what was delivered is marked even then.
    const lanes = await Promise.allSettled(Array.from({ length: Math.min(queues.length, this.options.concurrency ?? 8) }, lane));
    // The round's deliveries marked by one statement. Should it not be written (a crash, a lost
    // connection), those events are delivered again: receivers de-duplicate by event id.
    if (delivered.length > 0) {
      await this.db.query('UPDATE infra.outbox SET delivered_at = now(), attempts = attempts + 1, last_error = NULL WHERE id = ANY($1::bigint[]) AND delivered_at IS NULL', [delivered]);
    }
    const failed = lanes.find((l): l is PromiseRejectedResult => l.status === 'rejected');
    if (failed) throw failed.reason;
    return { found: rows.length, delivered: delivered.length };
  }

  /** One event to its handler; false when it failed (and was given its backoff). */
  async #deliver(event: OutboxEvent): Promise<boolean> {
    const handler = this.#handlerFor(event.topic);
    if (!handler) return false;
    try {
      await (this.options.around ? this.options.around(event, () => handler(event)) : handler(event));
      return true;
    } catch (err) {
      const backoff = Math.min(MAX_BACKOFF_SECONDS, 2 ** Math.min(event.attempts, 12));
      await this.db.query(
        `UPDATE infra.outbox SET attempts = attempts + 1, last_error = $2, next_attempt_at = now() + make_interval(secs => $3) WHERE id = $1`,
        [event.id, String((err as Error).message ?? 'failed').slice(0, 200), backoff],
      );
      return false;
    }
  }
}
