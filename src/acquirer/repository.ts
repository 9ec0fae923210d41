import type { Sql } from '../infra/db/database.js';
import type { Page, PageParams } from '../infra/http/pagination.js';
import { paginate } from '../infra/http/pagination.js';
import type { Network } from '../protocol/cards/index.js';
import type { MessageVault } from './message-vault.js';

export type EntityStatus = 'active' | 'suspended' | 'closed';
export type TerminalKind = 'contactless' | 'ecommerce';
export type AuthorizationStatus = 'pending' | 'approved' | 'declined' | 'timed_out' | 'reversed';
export type ReversalStatus = 'pending' | 'acknowledged' | 'failed';
export type ReversalReason = 'network_timeout' | 'network_error' | 'terminal_request';

export interface MerchantRow {
  id: string;
  name: string;
  mcc: string;
  country: string;
  city: string;
  currency: string;
  card_acceptor_id: string;
  name_location: string;
  status: EntityStatus;
  created_at: Date;
}

export interface TerminalRow {
  id: string;
  merchant_id: string;
  terminal_id: string;
  kind: TerminalKind;
  name: string;
  status: EntityStatus;
  created_at: Date;
}

const TERMINAL_CONTEXT_COLUMNS = 't.id, t.terminal_id, t.kind, t.status, t.merchant_id, m.status AS merchant_status, m.card_acceptor_id, m.name_location, m.mcc';

/** A terminal with what an authorization needs of its merchant: one query per message. */
export interface TerminalContext {
  next_stan: number;
  next_rrn: number;
  id: string;
  terminal_id: string;
  kind: TerminalKind;
  status: EntityStatus;
  merchant_id: string;
  merchant_status: EntityStatus;
  card_acceptor_id: string;
  name_location: string;
  mcc: string;
}

export interface AuthorizationRow {
  id: string;
  terminal_id: string;
  merchant_id: string;
  stan: string;
  transmitted: string;
  request_hash: Uint8Array;
  rrn: string;
  network_stan: string;
  network_transmitted: string;
  brand: Network | null;
  token_masked: string;
  amount: number;
  currency: string;
  forwarded: Uint8Array;
  status: AuthorizationStatus;
  response_code: string | null;
  auth_code: string | null;
  response: Uint8Array | null;
  latency_ms: number | null;
  created_at: Date;
}

export interface NewAuthorization {
  id: string;
  terminalId: string;
  merchantId: string;
  stan: string;
  transmitted: string;
  requestHash: Uint8Array;
  rrn: string;
  networkStan: string;
  networkTransmitted: string;
  brand: Network | null;
  tokenMasked: string;
  amount: number;
  currency: string;
  posEntryMode: string | null;
  forwarded: Uint8Array;
  createdAt: Date;
  /** Set when the acquirer answers at once (no network takes the number). */
  final?: Completion;
}

export interface Completion {
  status: Exclude<AuthorizationStatus, 'pending' | 'reversed'>;
  responseCode: string;
  authCode: string | null;
  response: Uint8Array;
  latencyMs: number;
  completedAt: Date;
}

export interface AuthorizationListRow {
  id: string;
  merchant_id: string;
  terminal_id: string;
  terminal_code: string;
  stan: string;
  transmitted: string;
  rrn: string;
  brand: Network | null;
  token_masked: string;
  amount: number;
  currency: string;
  status: AuthorizationStatus;
  response_code: string | null;
  auth_code: string | null;
  latency_ms: number | null;
  created_at: Date;
  reversal_status: ReversalStatus | null;
  reversal_reason: ReversalReason | null;
  reversal_attempts: number | null;
}

export interface NewReversal {
  id: string;
  authorizationId: string;
  reason: ReversalReason;
  brand: Network;
  stan: string;
  transmitted: string;
  message: Uint8Array;
  nextAttemptAt: Date;
  createdAt: Date;
}

export interface ClaimedReversal {
  id: string;
  authorization_id: string;
  brand: Network;
  stan: string;
  message: Uint8Array;
  attempts: number;
}

export interface ClearingRow {
  id: string;
  merchant_id: string;
  merchant_name: string;
  card_acceptor_id: string;
  terminal_code: string;
  rrn: string;
  stan: string;
  brand: Network;
  token_masked: string;
  amount: string;
  currency: string;
  auth_code: string | null;
  created_at: Date;
}

const MERCHANT_COLUMNS = 'id, name, mcc, country, city, currency, card_acceptor_id, name_location, status, created_at';
const TERMINAL_COLUMNS = 'id, merchant_id, terminal_id, kind, name, status, created_at';
const AUTHORIZATION_COLUMNS =
  'id, terminal_id, merchant_id, stan, transmitted, request_hash, rrn, network_stan, network_transmitted, brand, token_masked, amount, currency, forwarded, status, response_code, auth_code, response, latency_ms, created_at';

/** The stored row with its messages opened (they are sealed at rest: message-vault.ts). */
async function openAuthorization(v: MessageVault, row: AuthorizationRow): Promise<AuthorizationRow> {
  return {
    ...row,
    forwarded: await v.open(row.forwarded, 'authorizations.forwarded', row.id),
    response: await v.openNullable(row.response, 'authorizations.response', row.id),
  };
}

/** The completion with its answer sealed for the row `id`. */
async function sealCompletion(v: MessageVault, id: string, c: Completion): Promise<Completion> {
  return { ...c, response: await v.seal(c.response, 'authorizations.response', id) };
}

/**
 * The only place the acquirer's SQL lives. The messages it keeps (authorizations' forwarded 0100 and
 * answer, reversals' 0400, refunds' 0200) carry the token number: every function that writes or reads
 * one takes the acquirer's MessageVault, seals on the way in and opens on the way out.
 */
export const acquirerRepo = {
  // ---- Registry ----

  async insertMerchant(sql: Sql, m: Omit<MerchantRow, 'status' | 'created_at'>, onConflictDoNothing = false): Promise<MerchantRow | undefined> {
    const { rows } = await sql.query<MerchantRow>(
      `INSERT INTO acquirer.merchants (id, name, mcc, country, city, currency, card_acceptor_id, name_location)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ${onConflictDoNothing ? 'ON CONFLICT (card_acceptor_id) DO NOTHING' : ''} RETURNING ${MERCHANT_COLUMNS}`,
      [m.id, m.name, m.mcc, m.country, m.city, m.currency, m.card_acceptor_id, m.name_location],
    );
    return rows[0];
  },

  async merchantById(sql: Sql, id: string): Promise<MerchantRow | undefined> {
    const { rows } = await sql.query<MerchantRow>(`SELECT ${MERCHANT_COLUMNS} FROM acquirer.merchants WHERE id = $1`, [id]);
    return rows[0];
  },

  async merchantByCardAcceptorId(sql: Sql, cardAcceptorId: string): Promise<MerchantRow | undefined> {
    const { rows } = await sql.query<MerchantRow>(`SELECT ${MERCHANT_COLUMNS} FROM acquirer.merchants WHERE card_acceptor_id = $1`, [cardAcceptorId]);
    return rows[0];
  },

  listMerchants(sql: Sql, page: PageParams): Promise<Page<MerchantRow>> {
    return paginate<MerchantRow>(sql, `SELECT ${MERCHANT_COLUMNS} FROM acquirer.merchants WHERE true`, [], page);
  },

  async insertTerminal(sql: Sql, t: Omit<TerminalRow, 'status' | 'created_at'>, onConflictDoNothing = false): Promise<TerminalRow | undefined> {
    const { rows } = await sql.query<TerminalRow>(
      `INSERT INTO acquirer.terminals (id, merchant_id, terminal_id, kind, name) VALUES ($1, $2, $3, $4, $5)
       ${onConflictDoNothing ? 'ON CONFLICT (terminal_id) DO NOTHING' : ''} RETURNING ${TERMINAL_COLUMNS}`,
      [t.id, t.merchant_id, t.terminal_id, t.kind, t.name],
    );
    return rows[0];
  },

  async terminalByCode(sql: Sql, terminalId: string): Promise<TerminalRow | undefined> {
    const { rows } = await sql.query<TerminalRow>(`SELECT ${TERMINAL_COLUMNS} FROM acquirer.terminals WHERE terminal_id = $1`, [terminalId]);
    return rows[0];
  },

  listTerminals(sql: Sql, merchantId: string, page: PageParams): Promise<Page<TerminalRow>> {
    return paginate<TerminalRow>(sql, `SELECT ${TERMINAL_COLUMNS} FROM acquirer.terminals WHERE merchant_id = $1`, [merchantId], page);
  },

  /**
   * The terminal and its merchant, with the STAN and RRN counter values a new authorization will use
   * (taken whether or not it is one: a skipped value costs nothing, a round trip per message does).
   */
  async terminalForMessage(sql: Sql, id: string): Promise<TerminalContext | undefined> {
    const { rows } = await sql.query<TerminalContext>(
      `SELECT ${TERMINAL_CONTEXT_COLUMNS}, nextval('acquirer.stan_seq')::int AS next_stan, nextval('acquirer.rrn_seq')::int AS next_rrn
         FROM acquirer.terminals t JOIN acquirer.merchants m ON m.id = t.merchant_id
        WHERE t.id = $1`,
      [id],
    );
    return rows[0];
  },

  /** The terminal and its merchant as registered (no counter values). */
  async terminalById(sql: Sql, id: string): Promise<Omit<TerminalContext, 'next_stan' | 'next_rrn'> | undefined> {
    const { rows } = await sql.query<Omit<TerminalContext, 'next_stan' | 'next_rrn'>>(
      `SELECT ${TERMINAL_CONTEXT_COLUMNS} FROM acquirer.terminals t JOIN acquirer.merchants m ON m.id = t.merchant_id WHERE t.id = $1`,
      [id],
    );
    return rows[0];
  },

  // ---- Authorizations ----

  /** `count` STAN and RRN counter values from the sequences (never rolled back, never repeated within a cycle). */
  async counterBlock(sql: Sql, count: number): Promise<{ stan: number; rrn: number }[]> {
    const { rows } = await sql.query<{ stan: number; rrn: number }>(
      `SELECT nextval('acquirer.stan_seq')::int AS stan, nextval('acquirer.rrn_seq')::int AS rrn FROM generate_series(1, $1::int)`,
      [count],
    );
    return rows;
  },

  async nextStan(sql: Sql): Promise<number> {
    const { rows } = await sql.query<{ stan: number }>(`SELECT nextval('acquirer.stan_seq')::int AS stan`);
    return rows[0]!.stan;
  },

  async authorizationByTransmission(sql: Sql, v: MessageVault, terminalId: string, stan: string, transmitted: string): Promise<AuthorizationRow | undefined> {
    const { rows } = await sql.query<AuthorizationRow>(
      `SELECT ${AUTHORIZATION_COLUMNS} FROM acquirer.authorizations WHERE terminal_id = $1 AND stan = $2 AND transmitted = $3`,
      [terminalId, stan, transmitted],
    );
    return rows[0] && openAuthorization(v, rows[0]);
  },

  /** The id of the authorization recorded under this duplicate-transmission key (no message read). */
  async authorizationIdByTransmission(sql: Sql, terminalId: string, stan: string, transmitted: string): Promise<string | undefined> {
    const { rows } = await sql.query<{ id: string }>(
      'SELECT id FROM acquirer.authorizations WHERE terminal_id = $1 AND stan = $2 AND transmitted = $3',
      [terminalId, stan, transmitted],
    );
    return rows[0]?.id;
  },

  async authorizationById(sql: Sql, v: MessageVault, id: string): Promise<AuthorizationRow | undefined> {
    const { rows } = await sql.query<AuthorizationRow>(`SELECT ${AUTHORIZATION_COLUMNS} FROM acquirer.authorizations WHERE id = $1`, [id]);
    return rows[0] && openAuthorization(v, rows[0]);
  },

  /** Inserts unless the terminal sent this STAN and DE 7 before; undefined then. */
  async insertAuthorization(sql: Sql, v: MessageVault, a: NewAuthorization): Promise<{ id: string } | undefined> {
    const f = a.final && (await sealCompletion(v, a.id, a.final));
    const forwarded = await v.seal(a.forwarded, 'authorizations.forwarded', a.id);
    const { rows } = await sql.query<{ id: string }>(
      `INSERT INTO acquirer.authorizations
         (id, terminal_id, merchant_id, stan, transmitted, request_hash, rrn, network_stan, network_transmitted, brand, token_masked,
          amount, currency, pos_entry_mode, forwarded, created_at, status, response_code, auth_code, response, latency_ms, completed_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22)
       ON CONFLICT (terminal_id, stan, transmitted) DO NOTHING
       RETURNING id`,
      [
        a.id, a.terminalId, a.merchantId, a.stan, a.transmitted, a.requestHash, a.rrn, a.networkStan, a.networkTransmitted, a.brand, a.tokenMasked,
        a.amount, a.currency, a.posEntryMode, forwarded, a.createdAt,
        f ? f.status : 'pending', f?.responseCode ?? null, f?.authCode ?? null, f?.response ?? null, f?.latencyMs ?? null, f?.completedAt ?? null,
      ],
    );
    return rows[0];
  },

  /**
   * insertAuthorization for many pending authorizations (no `final`) in one statement (see infra/db/batcher.ts):
   * for each, its id when inserted, undefined when its duplicate-transmission key exists (also within the batch).
   */
  async insertPendingAuthorizations(sql: Sql, v: MessageVault, items: NewAuthorization[]): Promise<({ id: string } | undefined)[]> {
    const forwarded = await Promise.all(items.map((a) => v.seal(a.forwarded, 'authorizations.forwarded', a.id)));
    const { rows } = await sql.query<{ id: string }>(
      `INSERT INTO acquirer.authorizations
         (id, terminal_id, merchant_id, stan, transmitted, request_hash, rrn, network_stan, network_transmitted, brand, token_masked,
          amount, currency, pos_entry_mode, forwarded, created_at, status)
       SELECT id, terminal_id, merchant_id, stan, transmitted, decode(request_hash, 'hex'), rrn, network_stan, network_transmitted, brand, token_masked,
              amount::bigint, currency, pos_entry_mode, decode(forwarded, 'hex'), created_at::timestamptz, 'pending'
         FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[], $11::text[],
                     $12::text[], $13::text[], $14::text[], $15::text[], $16::text[])
           AS i (id, terminal_id, merchant_id, stan, transmitted, request_hash, rrn, network_stan, network_transmitted, brand, token_masked,
                 amount, currency, pos_entry_mode, forwarded, created_at)
       ON CONFLICT (terminal_id, stan, transmitted) DO NOTHING
       RETURNING id`,
      [
        items.map((a) => a.id),
        items.map((a) => a.terminalId),
        items.map((a) => a.merchantId),
        items.map((a) => a.stan),
        items.map((a) => a.transmitted),
        items.map((a) => Buffer.from(a.requestHash).toString('hex')),
        items.map((a) => a.rrn),
        items.map((a) => a.networkStan),
        items.map((a) => a.networkTransmitted),
        items.map((a) => a.brand),
        items.map((a) => a.tokenMasked),
        items.map((a) => String(a.amount)),
        items.map((a) => a.currency),
        items.map((a) => a.posEntryMode),
        forwarded.map((f) => f.toString('hex')),
        items.map((a) => a.createdAt.toISOString()),
      ],
    );
    const inserted = new Set(rows.map((r) => r.id));
    return items.map((a) => (inserted.has(a.id) ? { id: a.id } : undefined));
  },

  /** Records the answer unless one is recorded already (by a process answering for a crashed one); true when this one won. */
  async completeAuthorization(sql: Sql, v: MessageVault, id: string, completion: Completion): Promise<boolean> {
    const c = await sealCompletion(v, id, completion);
    const { rowCount } = await sql.query(
      `UPDATE acquirer.authorizations SET status = $2, response_code = $3, auth_code = $4, response = $5, latency_ms = $6, completed_at = $7
        WHERE id = $1 AND status = 'pending'`,
      [id, c.status, c.responseCode, c.authCode, c.response, c.latencyMs, c.completedAt],
    );
    return rowCount === 1;
  },

  /**
   * completeAuthorization and the authorization's outbox event (the row infra/outbox.ts's \`enqueue\`
   * writes) in ONE statement, atomic as a transaction: the event exists exactly when this call won.
   */
  async completeAuthorizationWithEvent(sql: Sql, v: MessageVault, id: string, completion: Completion, event: { eventId: string; topic: string; aggregateId: string; payload: unknown }): Promise<boolean> {
    const c = await sealCompletion(v, id, completion);
    const { rows } = await sql.query<{ won: number }>(
      `WITH u AS (
         UPDATE acquirer.authorizations SET status = $2, response_code = $3, auth_code = $4, response = $5, latency_ms = $6, completed_at = $7
          WHERE id = $1 AND status = 'pending'
         RETURNING id),
       e AS (
         INSERT INTO infra.outbox (event_id, topic, aggregate_id, payload) SELECT $8, $9, $10, $11::jsonb FROM u
         ON CONFLICT (event_id) DO NOTHING
         RETURNING event_id)
       SELECT (SELECT count(*) FROM u)::int AS won, (SELECT count(*) FROM e)::int AS events`,
      [id, c.status, c.responseCode, c.authCode, c.response, c.latencyMs, c.completedAt, event.eventId, event.topic, event.aggregateId, JSON.stringify(event.payload)],
    );
    return rows[0]?.won === 1;
  },

  /**
   * completeAuthorizationWithEvent for many authorizations in one statement (see infra/db/batcher.ts):
   * for each item, whether it won (its event written with it).
   */
  async completeAuthorizationsWithEvents(sql: Sql, v: MessageVault, items: { id: string; completion: Completion; event: { eventId: string; topic: string; aggregateId: string; payload: unknown } }[]): Promise<boolean[]> {
    const responses = await Promise.all(items.map((x) => v.seal(x.completion.response, 'authorizations.response', x.id)));
    const { rows } = await sql.query<{ id: string }>(
      `WITH i AS (
         SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::int[], $7::text[], $8::text[], $9::text[], $10::text[], $11::text[])
           AS i (id, status, response_code, auth_code, response, latency_ms, completed_at, event_id, topic, aggregate_id, payload)),
       u AS (
         UPDATE acquirer.authorizations a
            SET status = i.status, response_code = i.response_code, auth_code = i.auth_code, response = decode(i.response, 'hex'),
                latency_ms = i.latency_ms, completed_at = i.completed_at::timestamptz
           FROM i WHERE a.id = i.id AND a.status = 'pending'
         RETURNING a.id),
       e AS (
         INSERT INTO infra.outbox (event_id, topic, aggregate_id, payload)
         SELECT i.event_id, i.topic, i.aggregate_id, i.payload::jsonb FROM i JOIN u ON u.id = i.id
         ON CONFLICT (event_id) DO NOTHING
         RETURNING event_id)
       SELECT id FROM u`,
      [
        items.map((x) => x.id),
        items.map((x) => x.completion.status),
        items.map((x) => x.completion.responseCode),
        items.map((x) => x.completion.authCode),
        responses.map((r) => r.toString('hex')),
        items.map((x) => x.completion.latencyMs),
        items.map((x) => x.completion.completedAt.toISOString()),
        items.map((x) => x.event.eventId),
        items.map((x) => x.event.topic),
        items.map((x) => x.event.aggregateId),
        items.map((x) => JSON.stringify(x.event.payload)),
      ],
    );
    const won = new Set(rows.map((r) => r.id));
    return items.map((x) => won.has(x.id));
  },

  async responseOf(sql: Sql, v: MessageVault, id: string): Promise<Uint8Array | null> {
    const { rows } = await sql.query<{ response: Uint8Array | null }>('SELECT response FROM acquirer.authorizations WHERE id = $1', [id]);
    return v.openNullable(rows[0]?.response ?? null, 'authorizations.response', id);
  },

  /**
   * Authorizations created in [from, olderThan) still waiting for an answer: their process died or
   * stalled. No index covers `status` (see the migration): the created_at range keeps the scan short.
   */
  async stalePending(sql: Sql, v: MessageVault, from: Date, olderThan: Date, limit: number): Promise<AuthorizationRow[]> {
    const { rows } = await sql.query<AuthorizationRow>(
      `SELECT ${AUTHORIZATION_COLUMNS} FROM acquirer.authorizations WHERE created_at >= $1 AND created_at < $2 AND status = 'pending' ORDER BY created_at LIMIT $3`,
      [from, olderThan, limit],
    );
    return Promise.all(rows.map((r) => openAuthorization(v, r)));
  },

  listAuthorizations(sql: Sql, filter: { merchantId?: string | undefined; terminalId?: string | undefined }, page: PageParams): Promise<Page<AuthorizationListRow>> {
    return paginate<AuthorizationListRow>(
      sql,
      `SELECT * FROM (
         SELECT a.id, a.merchant_id, a.terminal_id, t.terminal_id AS terminal_code, a.stan, a.transmitted, a.rrn, a.brand, a.token_masked,
                a.amount, a.currency, a.status, a.response_code, a.auth_code, a.latency_ms, a.created_at,
                r.status AS reversal_status, r.reason AS reversal_reason, r.attempts AS reversal_attempts
           FROM acquirer.authorizations a
           JOIN acquirer.terminals t ON t.id = a.terminal_id
           LEFT JOIN acquirer.reversals r ON r.authorization_id = a.id
          WHERE ($1::text IS NULL OR a.merchant_id = $1) AND ($2::text IS NULL OR a.terminal_id = $2)
       ) x WHERE true`,
      [filter.merchantId ?? null, filter.terminalId ?? null],
      page,
    );
  },

  /** Approved authorizations of [from, to) with no reversal at all (owed or done): what is cleared. */
  async clearing(sql: Sql, from: Date, to: Date): Promise<ClearingRow[]> {
    const { rows } = await sql.query<ClearingRow>(
      `SELECT a.id, a.merchant_id, m.name AS merchant_name, m.card_acceptor_id, t.terminal_id AS terminal_code, a.rrn, a.stan, a.brand,
              a.token_masked, a.amount::text AS amount, a.currency, a.auth_code, a.created_at
         FROM acquirer.authorizations a
         JOIN acquirer.merchants m ON m.id = a.merchant_id
         JOIN acquirer.terminals t ON t.id = a.terminal_id
        WHERE a.status = 'approved' AND a.created_at >= $1 AND a.created_at < $2
          AND NOT EXISTS (SELECT 1 FROM acquirer.reversals r WHERE r.authorization_id = a.id)
        ORDER BY a.merchant_id, a.id`,
      [from, to],
    );
    return rows;
  },

  // ---- Reversals ----

  /** At most one reversal per authorization: true when this call created it. */
  async insertReversal(sql: Sql, v: MessageVault, r: NewReversal): Promise<boolean> {
    const message = await v.seal(r.message, 'reversals.message', r.id);
    const { rowCount } = await sql.query(
      `INSERT INTO acquirer.reversals (id, authorization_id, reason, brand, stan, transmitted, message, next_attempt_at, created_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
       ON CONFLICT (authorization_id) DO NOTHING`,
      [r.id, r.authorizationId, r.reason, r.brand, r.stan, r.transmitted, message, r.nextAttemptAt, r.createdAt],
    );
    return rowCount === 1;
  },

  async reversalOf(sql: Sql, v: MessageVault, authorizationId: string): Promise<{ id: string; status: ReversalStatus; reason: ReversalReason; attempts: number; message: Uint8Array } | undefined> {
    const { rows } = await sql.query<{ id: string; status: ReversalStatus; reason: ReversalReason; attempts: number; message: Uint8Array }>(
      'SELECT id, status, reason, attempts, message FROM acquirer.reversals WHERE authorization_id = $1',
      [authorizationId],
    );
    return rows[0] && { ...rows[0], message: await v.open(rows[0].message, 'reversals.message', rows[0].id) };
  },

  /**
   * Claims due reversals for one attempt each: their next attempt moves to `leaseUntil` before the call,
   * so another worker skips them while this one sends (and takes them up if this one dies). A reversal
   * waits while its authorization is still in flight: sent before the original, it could find nothing
   * to reverse and leave the original standing.
   */
  async claimDueReversals(sql: Sql, v: MessageVault, now: Date, leaseUntil: (attempt: number) => Date, limit: number): Promise<ClaimedReversal[]> {
    const { rows: due } = await sql.query<{ id: string; attempts: number }>(
      `SELECT r.id, r.attempts FROM acquirer.reversals r JOIN acquirer.authorizations a ON a.id = r.authorization_id
        WHERE r.status = 'pending' AND r.next_attempt_at <= $1 AND a.status <> 'pending'
        ORDER BY r.next_attempt_at LIMIT $2
        FOR UPDATE OF r SKIP LOCKED`,
      [now, limit],
    );
    const claimed: ClaimedReversal[] = [];
    for (const d of due) {
      const { rows } = await sql.query<ClaimedReversal>(
        `UPDATE acquirer.reversals SET attempts = attempts + 1, next_attempt_at = $2 WHERE id = $1 AND status = 'pending'
         RETURNING id, authorization_id, brand, stan, message, attempts`,
        [d.id, leaseUntil(d.attempts + 1)],
      );
      if (rows[0]) claimed.push({ ...rows[0], message: await v.open(rows[0].message, 'reversals.message', rows[0].id) });
    }
    return claimed;
  },

  /** Marks the reversal acknowledged and its authorization reversed; false when it was not pending. */
  async acknowledgeReversal(sql: Sql, id: string, responseCode: string, at: Date): Promise<boolean> {
    const { rows } = await sql.query<{ authorization_id: string }>(
      `UPDATE acquirer.reversals SET status = 'acknowledged', response_code = $2, acknowledged_at = $3, last_error = NULL
        WHERE id = $1 AND status = 'pending' RETURNING authorization_id`,
      [id, responseCode, at],
    );
    if (!rows[0]) return false;
    await sql.query(`UPDATE acquirer.authorizations SET status = 'reversed' WHERE id = $1 AND status IN ('approved', 'timed_out')`, [rows[0].authorization_id]);
    return true;
  },

  /** Records a failed attempt; after the last one the reversal is `failed` (for the operator). Returns the status. */
  async reversalAttemptFailed(sql: Sql, id: string, error: string, maxAttempts: number): Promise<ReversalStatus | undefined> {
    const { rows } = await sql.query<{ status: ReversalStatus }>(
      `UPDATE acquirer.reversals SET last_error = $2, status = CASE WHEN attempts >= $3 THEN 'failed' ELSE 'pending' END
        WHERE id = $1 AND status = 'pending' RETURNING status`,
      [id, error.slice(0, 200), maxAttempts],
    );
    return rows[0]?.status;
  },
};

// --- Refunds (src/acquirer/refunds.ts) ---

export interface AcquirerRefundRow {
  id: string;
  authorization_id: string;
  merchant_id: string;
  brand: string;
  amount: string;
  currency: string;
  status: 'pending' | 'approved' | 'declined';
  response_code: string | null;
  auth_code: string | null;
  message: Buffer;
  created_at: Date;
  completed_at: Date | null;
}

const REFUND_COLUMNS = 'id, authorization_id, merchant_id, brand, amount::text AS amount, currency, status, response_code, auth_code, message, created_at, completed_at';
/** A list shows no message (a list never opens one). */
const REFUND_LIST_COLUMNS = 'id, authorization_id, merchant_id, brand, amount::text AS amount, currency, status, response_code, auth_code, created_at, completed_at';

export const refundRepo = {
  async authorization(sql: Sql, v: MessageVault, id: string): Promise<{ id: string; merchant_id: string; brand: string | null; amount: string; currency: string; status: string; forwarded: Buffer; network_stan: string; network_transmitted: string } | undefined> {
    const { rows } = await sql.query<{ id: string; merchant_id: string; brand: string | null; amount: string; currency: string; status: string; forwarded: Buffer; network_stan: string; network_transmitted: string }>(
      'SELECT id, merchant_id, brand, amount::text AS amount, currency, status, forwarded, network_stan, network_transmitted FROM acquirer.authorizations WHERE id = $1',
      [id],
    );
    return rows[0] ? { ...rows[0], forwarded: Buffer.from(await v.open(rows[0].forwarded, 'authorizations.forwarded', rows[0].id)) } : undefined;
  },
  /** What the authorization's refunds (not declined) add up to, its row locked. */
  async refundedOf(sql: Sql, authorizationId: string): Promise<bigint> {
    await sql.query('SELECT 1 FROM acquirer.authorizations WHERE id = $1 FOR UPDATE', [authorizationId]);
    const { rows } = await sql.query<{ total: string }>("SELECT coalesce(sum(amount), 0)::text AS total FROM acquirer.refunds WHERE authorization_id = $1 AND status <> 'declined'", [authorizationId]);
    return BigInt(rows[0]!.total);
  },
  async insert(sql: Sql, v: MessageVault, r: { id: string; authorizationId: string; merchantId: string; brand: string; amount: bigint; currency: string; stan: string; transmitted: string; message: Uint8Array }): Promise<void> {
    await sql.query(
      `INSERT INTO acquirer.refunds (id, authorization_id, merchant_id, brand, amount, currency, stan, transmitted, message) VALUES ($1, $2, $3, $4, $5::bigint, $6, $7, $8, $9)`,
      [r.id, r.authorizationId, r.merchantId, r.brand, r.amount.toString(), r.currency, r.stan, r.transmitted, await v.seal(r.message, 'refunds.message', r.id)],
    );
  },
  async complete(sql: Sql, id: string, a: { status: 'approved' | 'declined'; responseCode: string; authCode: string | null }): Promise<void> {
    await sql.query(`UPDATE acquirer.refunds SET status = $2, response_code = $3, auth_code = $4, completed_at = now() WHERE id = $1 AND status = 'pending'`, [id, a.status, a.responseCode, a.authCode]);
  },
  async byId(sql: Sql, v: MessageVault, id: string): Promise<AcquirerRefundRow | undefined> {
    const { rows } = await sql.query<AcquirerRefundRow>(`SELECT ${REFUND_COLUMNS} FROM acquirer.refunds WHERE id = $1`, [id]);
    return rows[0] && { ...rows[0], message: Buffer.from(await v.open(rows[0].message, 'refunds.message', rows[0].id)) };
  },
  listQuery: `SELECT ${REFUND_LIST_COLUMNS} FROM acquirer.refunds WHERE merchant_id = $1`,
};
