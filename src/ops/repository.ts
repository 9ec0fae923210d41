import type { Sql } from '../infra/db/database.js';

export interface OutboxTopicRow {
  topic: string;
  pending: number;
  retrying: number;
  delivered: number;
  oldest_pending_at: Date | null;
}

/** The outbox by topic: waiting for a first attempt, failed at least once and waiting for a retry, delivered. */
export async function outboxByTopic(sql: Sql): Promise<OutboxTopicRow[]> {
  const { rows } = await sql.query<OutboxTopicRow>(
    `SELECT topic,
            count(*) FILTER (WHERE delivered_at IS NULL AND attempts = 0)::int AS pending,
            count(*) FILTER (WHERE delivered_at IS NULL AND attempts > 0)::int AS retrying,
            count(*) FILTER (WHERE delivered_at IS NOT NULL)::int AS delivered,
            min(created_at) FILTER (WHERE delivered_at IS NULL) AS oldest_pending_at
       FROM infra.outbox GROUP BY topic ORDER BY topic`,
  );
  return rows;
}

export interface OutboxEventRow {
  event_id: string;
  topic: string;
  aggregate_id: string;
  attempts: number;
  last_error: string | null;
  created_at: Date;
  delivered_at: Date | null;
  next_attempt_at: Date;
}

/** The newest events (payloads left out), undelivered ones only when asked. */
export async function recentOutboxEvents(sql: Sql, options: { undeliveredOnly: boolean; limit: number }): Promise<OutboxEventRow[]> {
  const { rows } = await sql.query<OutboxEventRow>(
    `SELECT event_id, topic, aggregate_id, attempts, last_error, created_at, delivered_at, next_attempt_at
       FROM infra.outbox WHERE NOT $1::boolean OR delivered_at IS NULL ORDER BY id DESC LIMIT $2`,
    [options.undeliveredOnly, options.limit],
  );
  return rows;
}
