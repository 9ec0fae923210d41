import type { Sql } from '../infra/db/database.js';
import { paginate, type Page, type PageParams } from '../infra/http/pagination.js';
import type { Network } from '../protocol/cards/index.js';

export type KeyPurpose = 'cvk' | 'sandbox_cvv' | 'otp';
export type CardStatus = 'active' | 'blocked' | 'closed' | 'expired';
export type IdvPolicy = 'green' | 'yellow' | 'red';
export type Decision = 'green' | 'yellow' | 'red';
export type VerificationStatus = 'pending' | 'code_sent' | 'verified' | 'locked' | 'expired' | 'declined';

export interface IssuerRow {
  id: string;
  name: string;
  country: string;
}

export interface CardRow {
  id: string;
  account_id: string;
  issuer_id: string;
  issuer_name: string;
  network: Network;
  last4: string;
  exp_month: number;
  exp_year: number;
  product: 'credit' | 'debit';
  status: CardStatus;
  account_status: 'open' | 'frozen' | 'closed';
  par_seed: string;
  cvv_method: 'cvk' | 'sandbox_fixed';
  sandbox_cvv_mac: Buffer | null;
  accept_any_future_expiry: boolean;
  idv_policy: IdvPolicy;
  cardholder_phone: string | null;
  cardholder_email: string | null;
}

export interface VerificationRow {
  id: string;
  issuer_id: string;
  card_id: string;
  requester: string;
  decision: Decision;
  reasons: string[];
  status: VerificationStatus;
  otp_hmac: Buffer | null;
  otp_method: 'sms' | 'email' | null;
  otp_expires_at: Date | null;
  otp_sent_count: number;
  attempts: number;
  created_at: Date;
  // From the card, for the answer and the messages.
  last4: string;
  product: 'credit' | 'debit';
  par_seed: string;
  account_id: string;
  issuer_name: string;
  cardholder_phone: string | null;
  cardholder_email: string | null;
}

export interface MessageRow {
  id: string;
  channel: 'sms' | 'email';
  destination: string;
  body: string;
  created_at: Date;
}

const CARD_COLUMNS = `c.id, c.account_id, a.issuer_id, i.name AS issuer_name, c.network, c.last4, c.exp_month, c.exp_year, c.product,
  c.status, a.status AS account_status, c.par_seed, c.cvv_method, c.sandbox_cvv_mac, c.accept_any_future_expiry, c.idv_policy,
  c.cardholder_phone, c.cardholder_email`;

const VERIFICATION_COLUMNS = `v.id, v.issuer_id, v.card_id, v.requester, v.decision, v.reasons, v.status, v.otp_hmac, v.otp_method,
  v.otp_expires_at, v.otp_sent_count, v.attempts, v.created_at, c.last4, c.product, c.par_seed, c.account_id, i.name AS issuer_name,
  c.cardholder_phone, c.cardholder_email`;

/** Drivers hand smallint back as a number, bytea as a Buffer or Uint8Array: one shape for the service. */
function normaliseVerification(r: VerificationRow): VerificationRow {
  return { ...r, otp_hmac: r.otp_hmac ? Buffer.from(r.otp_hmac) : null, attempts: Number(r.attempts), otp_sent_count: Number(r.otp_sent_count), reasons: r.reasons ?? [] };
}

function normaliseCard(r: CardRow): CardRow {
  return { ...r, exp_month: Number(r.exp_month), exp_year: Number(r.exp_year), sandbox_cvv_mac: r.sandbox_cvv_mac ? Buffer.from(r.sandbox_cvv_mac) : null };
}

/** The only place the issuers' SQL lives. */
export const issuerRepo = {
  async upsertIssuer(sql: Sql, i: IssuerRow): Promise<void> {
    await sql.query(
      `INSERT INTO issuer.issuers (id, name, country) VALUES ($1, $2, $3)
       ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, country = EXCLUDED.country
       WHERE issuer.issuers.name IS DISTINCT FROM EXCLUDED.name OR issuer.issuers.country IS DISTINCT FROM EXCLUDED.country`,
      [i.id, i.name, i.country],
    );
  },

  async insertBinRange(sql: Sql, b: { prefix: string; issuerId: string; network: Network }): Promise<void> {
    await sql.query('INSERT INTO issuer.bin_ranges (prefix, issuer_id, network) VALUES ($1, $2, $3) ON CONFLICT (prefix) DO NOTHING', [b.prefix, b.issuerId, b.network]);
  },

  async binRanges(sql: Sql, issuerId: string): Promise<{ prefix: string; network: Network }[]> {
    const { rows } = await sql.query<{ prefix: string; network: Network }>('SELECT prefix, network FROM issuer.bin_ranges WHERE issuer_id = $1 ORDER BY prefix', [issuerId]);
    return rows;
  },

  async issuerById(sql: Sql, id: string): Promise<IssuerRow | undefined> {
    const { rows } = await sql.query<IssuerRow>('SELECT id, name, country FROM issuer.issuers WHERE id = $1', [id]);
    return rows[0];
  },

  async insertKeyIfMissing(sql: Sql, k: { issuerId: string; purpose: KeyPurpose; kekId: string; wrapped: Buffer }): Promise<void> {
    await sql.query(
      'INSERT INTO issuer.issuer_keys (issuer_id, purpose, kek_id, wrapped) VALUES ($1, $2, $3, $4) ON CONFLICT (issuer_id, purpose) DO NOTHING',
      [k.issuerId, k.purpose, k.kekId, k.wrapped],
    );
  },

  async key(sql: Sql, issuerId: string, purpose: KeyPurpose): Promise<{ kek_id: string; wrapped: Buffer } | undefined> {
    const { rows } = await sql.query<{ kek_id: string; wrapped: Buffer }>('SELECT kek_id, wrapped FROM issuer.issuer_keys WHERE issuer_id = $1 AND purpose = $2', [issuerId, purpose]);
    return rows[0] ? { kek_id: rows[0].kek_id, wrapped: Buffer.from(rows[0].wrapped) } : undefined;
  },

  async insertAccount(sql: Sql, a: { id: string; issuerId: string; holderName: string; currency: string; postedBalance: bigint; creditLimit: bigint }): Promise<void> {
    await sql.query(
      'INSERT INTO issuer.accounts (id, issuer_id, holder_name, currency, posted_balance, credit_limit) VALUES ($1, $2, $3, $4, $5::bigint, $6::bigint)',
      [a.id, a.issuerId, a.holderName, a.currency, a.postedBalance.toString(), a.creditLimit.toString()],
    );
  },

  async accountBalance(sql: Sql, id: string): Promise<{ posted_balance: bigint; credit_limit: bigint; currency: string } | undefined> {
    const { rows } = await sql.query<{ posted_balance: string; credit_limit: string; currency: string }>(
      'SELECT posted_balance::text AS posted_balance, credit_limit::text AS credit_limit, currency FROM issuer.accounts WHERE id = $1',
      [id],
    );
    const r = rows[0];
    return r ? { posted_balance: BigInt(r.posted_balance), credit_limit: BigInt(r.credit_limit), currency: r.currency } : undefined;
  },

  async insertCard(
    sql: Sql,
    c: {
      id: string;
      accountId: string;
      network: Network;
      panEncrypted: Buffer;
      panFingerprint: Buffer;
      last4: string;
      expMonth: number;
      expYear: number;
      product: 'credit' | 'debit';
      status: CardStatus;
      parSeed: string;
      cvvMethod: 'cvk' | 'sandbox_fixed';
      sandboxCvvMac: Buffer | null;
      acceptAnyFutureExpiry: boolean;
      idvPolicy: IdvPolicy;
      phone: string | null;
      email: string | null;
    },
  ): Promise<void> {
    await sql.query(
      `INSERT INTO issuer.cards (id, account_id, network, pan_encrypted, pan_fingerprint, last4, exp_month, exp_year, product, status, par_seed,
         cvv_method, sandbox_cvv_mac, accept_any_future_expiry, idv_policy, cardholder_phone, cardholder_email)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)`,
      [c.id, c.accountId, c.network, c.panEncrypted, c.panFingerprint, c.last4, c.expMonth, c.expYear, c.product, c.status, c.parSeed, c.cvvMethod, c.sandboxCvvMac, c.acceptAnyFutureExpiry, c.idvPolicy, c.phone, c.email],
    );
  },

  async cardExists(sql: Sql, fingerprint: Buffer): Promise<boolean> {
    const { rows } = await sql.query('SELECT 1 FROM issuer.cards WHERE pan_fingerprint = $1', [fingerprint]);
    return rows.length > 0;
  },

  /** The card of this issuer with this fingerprint, locked: its CVV failures are counted under the lock. */
  async cardForUpdate(sql: Sql, issuerId: string, fingerprint: Buffer): Promise<CardRow | undefined> {
    const { rows } = await sql.query<CardRow>(
      `SELECT ${CARD_COLUMNS}
         FROM issuer.cards c JOIN issuer.accounts a ON a.id = c.account_id JOIN issuer.issuers i ON i.id = a.issuer_id
        WHERE c.pan_fingerprint = $1 AND a.issuer_id = $2
        FOR UPDATE OF c`,
      [fingerprint, issuerId],
    );
    return rows[0] ? normaliseCard(rows[0]) : undefined;
  },

  async cardById(sql: Sql, id: string): Promise<CardRow | undefined> {
    const { rows } = await sql.query<CardRow>(
      `SELECT ${CARD_COLUMNS}
         FROM issuer.cards c JOIN issuer.accounts a ON a.id = c.account_id JOIN issuer.issuers i ON i.id = a.issuer_id
        WHERE c.id = $1`,
      [id],
    );
    return rows[0] ? normaliseCard(rows[0]) : undefined;
  },

  async cardPanEncrypted(sql: Sql, id: string): Promise<Buffer | undefined> {
    const { rows } = await sql.query<{ pan_encrypted: Buffer }>('SELECT pan_encrypted FROM issuer.cards WHERE id = $1', [id]);
    return rows[0] ? Buffer.from(rows[0].pan_encrypted) : undefined;
  },

  /** A reissue: the card keeps its id, account and PAR seed; number (encrypted + fingerprint) and expiry change. */
  async reissueCard(sql: Sql, id: string, r: { panEncrypted: Buffer; panFingerprint: Buffer; last4: string; expMonth: number; expYear: number }): Promise<void> {
    await sql.query(
      `UPDATE issuer.cards SET pan_encrypted = $2, pan_fingerprint = $3, last4 = $4, exp_month = $5, exp_year = $6, reissued_at = now(),
              status = CASE WHEN status = 'expired' THEN 'active' ELSE status END
        WHERE id = $1`,
      [id, r.panEncrypted, r.panFingerprint, r.last4, r.expMonth, r.expYear],
    );
  },

  async setCardStatusFrom(sql: Sql, id: string, from: CardStatus[], to: CardStatus): Promise<boolean> {
    const { rowCount } = await sql.query('UPDATE issuer.cards SET status = $3, status_changed_at = now() WHERE id = $1 AND status = ANY($2::text[])', [id, from, to]);
    return rowCount === 1;
  },

  async setCardStatus(sql: Sql, id: string, status: CardStatus): Promise<void> {
    await sql.query('UPDATE issuer.cards SET status = $2 WHERE id = $1', [id, status]);
  },

  async countCvvFailures(sql: Sql, cardId: string, since: Date): Promise<number> {
    const { rows } = await sql.query<{ n: number }>('SELECT count(*)::int AS n FROM issuer.cvv_failures WHERE card_id = $1 AND failed_at > $2', [cardId, since]);
    return Number(rows[0]?.n ?? 0);
  },

  async insertCvvFailure(sql: Sql, cardId: string, at: Date): Promise<void> {
    await sql.query('INSERT INTO issuer.cvv_failures (card_id, failed_at) VALUES ($1, $2)', [cardId, at]);
  },

  async insertVerification(
    sql: Sql,
    v: {
      id: string;
      issuerId: string;
      cardId: string;
      requester: string;
      network: Network;
      tokenRequestorId: string;
      tokenRef: string;
      deviceId: string;
      deviceKind: 'phone' | 'watch';
      deviceScore: number;
      decision: Decision;
      reasons: string[];
      status: VerificationStatus;
      at: Date;
    },
  ): Promise<void> {
    await sql.query(
      `INSERT INTO issuer.verifications (id, issuer_id, card_id, requester, network, token_requestor_id, token_ref, device_id, device_kind,
         device_score, decision, reasons, status, created_at, updated_at, verified_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12::text[], $13, $14, $14, CASE WHEN $13 = 'verified' THEN $14::timestamptz END)`,
      [v.id, v.issuerId, v.cardId, v.requester, v.network, v.tokenRequestorId, v.tokenRef, v.deviceId, v.deviceKind, v.deviceScore, v.decision, v.reasons, v.status, v.at],
    );
  },

  async verificationByToken(sql: Sql, issuerId: string, tokenRef: string): Promise<VerificationRow | undefined> {
    const { rows } = await sql.query<VerificationRow>(
      `SELECT ${VERIFICATION_COLUMNS}
         FROM issuer.verifications v JOIN issuer.cards c ON c.id = v.card_id JOIN issuer.issuers i ON i.id = v.issuer_id
        WHERE v.issuer_id = $1 AND v.token_ref = $2`,
      [issuerId, tokenRef],
    );
    return rows[0] ? normaliseVerification(rows[0]) : undefined;
  },

  async verification(sql: Sql, issuerId: string, id: string, forUpdate: boolean): Promise<VerificationRow | undefined> {
    const { rows } = await sql.query<VerificationRow>(
      `SELECT ${VERIFICATION_COLUMNS}
         FROM issuer.verifications v JOIN issuer.cards c ON c.id = v.card_id JOIN issuer.issuers i ON i.id = v.issuer_id
        WHERE v.issuer_id = $1 AND v.id = $2${forUpdate ? ' FOR UPDATE OF v' : ''}`,
      [issuerId, id],
    );
    return rows[0] ? normaliseVerification(rows[0]) : undefined;
  },

  async markCodeSent(sql: Sql, id: string, u: { otpHmac: Buffer; method: 'sms' | 'email'; expiresAt: Date; at: Date }): Promise<void> {
    await sql.query(
      `UPDATE issuer.verifications SET status = 'code_sent', otp_hmac = $2, otp_method = $3, otp_expires_at = $4,
         otp_sent_count = otp_sent_count + 1, updated_at = $5 WHERE id = $1`,
      [id, u.otpHmac, u.method, u.expiresAt, u.at],
    );
  },

  /** A wrong code: one attempt more; the third locks the verification and forgets the code. */
  async recordWrongCode(sql: Sql, id: string, attempts: number, locked: boolean, at: Date): Promise<void> {
    await sql.query(
      `UPDATE issuer.verifications SET attempts = $2, status = CASE WHEN $3 THEN 'locked' ELSE status END,
         otp_hmac = CASE WHEN $3 THEN NULL ELSE otp_hmac END, updated_at = $4 WHERE id = $1`,
      [id, attempts, locked, at],
    );
  },

  async markExpired(sql: Sql, id: string, at: Date): Promise<void> {
    await sql.query(`UPDATE issuer.verifications SET status = 'expired', otp_hmac = NULL, updated_at = $2 WHERE id = $1`, [id, at]);
  },

  async markVerified(sql: Sql, id: string, at: Date): Promise<void> {
    await sql.query(`UPDATE issuer.verifications SET status = 'verified', otp_hmac = NULL, verified_at = $2, updated_at = $2 WHERE id = $1`, [id, at]);
  },

  async insertMessage(sql: Sql, m: { id: string; verificationId: string; channel: 'sms' | 'email'; destination: string; body: string; at: Date }): Promise<void> {
    await sql.query('INSERT INTO issuer.sandbox_messages (id, verification_id, channel, destination, body, created_at) VALUES ($1, $2, $3, $4, $5, $6)', [
      m.id,
      m.verificationId,
      m.channel,
      m.destination,
      m.body,
      m.at,
    ]);
  },

  async messages(sql: Sql, verificationId: string): Promise<MessageRow[]> {
    const { rows } = await sql.query<MessageRow>(
      'SELECT id, channel, destination, body, created_at FROM issuer.sandbox_messages WHERE verification_id = $1 ORDER BY seq DESC',
      [verificationId],
    );
    return rows;
  },
};

// --- Authorizations, holds, reversals and the ledger (migration 0002) -----------------------------------

export interface AuthorizationRow {
  id: string;
  issuer_id: string;
  txn_key: string;
  pan_fingerprint: Buffer | null;
  card_id: string | null;
  account_id: string | null;
  processing_code: string | null;
  amount: bigint;
  currency_numeric: string | null;
  response_code: string;
  auth_code: string | null;
  reason: string;
}

export interface ReversalRow {
  id: string;
  txn_key: string;
  outcome: 'released' | 'nothing_held' | 'before_original';
  authorization_id: string | null;
}

/** A card with what an authorization needs of its account. */
export interface AuthorizationCardRow {
  id: string;
  account_id: string;
  issuer_id: string;
  network: Network;
  last4: string;
  exp_month: number;
  exp_year: number;
  product: 'credit' | 'debit';
  status: CardStatus;
  accept_any_future_expiry: boolean;
  account_status: 'open' | 'frozen' | 'closed';
  currency: string;
  posted_balance: bigint;
  credit_limit: bigint;
  /** Sum of the account's active holds, kept on the account row. */
  held: bigint;
  velocity_window_start: Date | null;
  velocity_count: number;
}

export interface HoldRow {
  id: string;
  authorization_id: string;
  account_id: string;
  card_id: string;
  amount: bigint;
  currency: string;
  status: 'active' | 'released' | 'captured';
}

export interface AccountBalanceRow {
  id: string;
  issuer_id: string;
  currency: string;
  posted_balance: bigint;
  credit_limit: bigint;
  held: bigint;
}

const AUTHORIZATION_COLUMNS = `id, issuer_id, txn_key, pan_fingerprint, card_id, account_id, processing_code, amount::text AS amount,
  currency_numeric, response_code, auth_code, reason`;

function normaliseAuthorization(r: Omit<AuthorizationRow, 'amount'> & { amount: string }): AuthorizationRow {
  return { ...r, amount: BigInt(r.amount), pan_fingerprint: r.pan_fingerprint ? Buffer.from(r.pan_fingerprint) : null };
}

/** The only place the authorization SQL lives; every call takes the caller's transaction. */
export const authorizationRepo = {
  async authorizationByKey(sql: Sql, issuerId: string, txnKey: string): Promise<AuthorizationRow | undefined> {
    const { rows } = await sql.query<Omit<AuthorizationRow, 'amount'> & { amount: string }>(`SELECT ${AUTHORIZATION_COLUMNS} FROM issuer.authorizations WHERE issuer_id = $1 AND txn_key = $2`, [issuerId, txnKey]);
    return rows[0] ? normaliseAuthorization(rows[0]) : undefined;
  },

  async reversalByKey(sql: Sql, issuerId: string, txnKey: string): Promise<ReversalRow | undefined> {
    const { rows } = await sql.query<ReversalRow>('SELECT id, txn_key, outcome, authorization_id FROM issuer.reversals WHERE issuer_id = $1 AND txn_key = $2', [issuerId, txnKey]);
    return rows[0];
  },

  /** Moves the account's running total of active holds (a hold placed: +amount; released: -amount). */
  async adjustHeld(sql: Sql, accountId: string, delta: bigint): Promise<void> {
    await sql.query('UPDATE issuer.accounts SET held = held + $2 WHERE id = $1', [accountId, delta.toString()]);
  },

  async holdOfAuthorization(sql: Sql, authorizationId: string): Promise<HoldRow | undefined> {
    const { rows } = await sql.query<HoldRow & { amount: string }>(
      'SELECT id, authorization_id, account_id, card_id, amount::text AS amount, currency, status FROM issuer.holds WHERE authorization_id = $1',
      [authorizationId],
    );
    return rows[0] ? { ...rows[0], amount: BigInt(rows[0].amount) } : undefined;
  },

  /** Active → released, once: false when the hold was not active any more. */
  async releaseHold(sql: Sql, holdId: string, at: Date): Promise<boolean> {
    const { rowCount } = await sql.query(`UPDATE issuer.holds SET status = 'released', released_at = $2 WHERE id = $1 AND status = 'active'`, [holdId, at]);
    return rowCount === 1;
  },

  async insertReversal(
    sql: Sql,
    r: { id: string; issuerId: string; txnKey: string; mti: '0400' | '0420'; stan: string | null; transmitted: string | null; outcome: ReversalRow['outcome']; authorizationId: string | null; panFingerprint: Buffer | null; amount: bigint | null; at: Date },
  ): Promise<void> {
    await sql.query(
      `INSERT INTO issuer.reversals (id, issuer_id, txn_key, mti, stan, transmitted, outcome, authorization_id, pan_fingerprint, amount, created_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10::bigint, $11)`,
      [r.id, r.issuerId, r.txnKey, r.mti, r.stan, r.transmitted, r.outcome, r.authorizationId, r.panFingerprint, r.amount === null ? null : r.amount.toString(), r.at],
    );
  },

  /** One balanced posting: the entries must sum to zero (checked here and by the invariant queries). */
  async insertPosting(
    sql: Sql,
    p: { issuerId: string; transactionId: string; kind: 'hold' | 'release'; holdId: string; currency: string; at: Date; entries: { ledgerAccount: string; amount: bigint }[] },
  ): Promise<void> {
    if (p.entries.reduce((s, e) => s + e.amount, 0n) !== 0n) throw new Error('unbalanced ledger posting');
    for (const e of p.entries) {
      await sql.query(
        `INSERT INTO issuer.ledger_entries (issuer_id, transaction_id, ledger_account, amount, currency, kind, hold_id, created_at)
         VALUES ($1, $2, $3, $4::bigint, $5, $6, $7, $8)`,
        [p.issuerId, p.transactionId, e.ledgerAccount, e.amount.toString(), p.currency, p.kind, p.holdId, p.at],
      );
    }
  },

  async accountBalance(sql: Sql, accountId: string): Promise<AccountBalanceRow | undefined> {
    const { rows } = await sql.query<{ id: string; issuer_id: string; currency: string; posted_balance: string; credit_limit: string; held: string }>(
      `SELECT a.id, a.issuer_id, a.currency, a.posted_balance::text AS posted_balance, a.credit_limit::text AS credit_limit,
              (SELECT coalesce(sum(h.amount), 0) FROM issuer.holds h WHERE h.account_id = a.id AND h.status = 'active')::text AS held
         FROM issuer.accounts a WHERE a.id = $1`,
      [accountId],
    );
    const r = rows[0];
    return r ? { id: r.id, issuer_id: r.issuer_id, currency: r.currency, posted_balance: BigInt(r.posted_balance), credit_limit: BigInt(r.credit_limit), held: BigInt(r.held) } : undefined;
  },

  async cardRefByFingerprint(sql: Sql, fingerprint: Buffer): Promise<{ card_id: string; account_id: string; issuer_id: string } | undefined> {
    const { rows } = await sql.query<{ card_id: string; account_id: string; issuer_id: string }>(
      'SELECT c.id AS card_id, c.account_id, a.issuer_id FROM issuer.cards c JOIN issuer.accounts a ON a.id = c.account_id WHERE c.pan_fingerprint = $1',
      [fingerprint],
    );
    return rows[0];
  },

  // The invariants (tests and the crash test run them).

  async ledgerTotal(sql: Sql): Promise<bigint> {
    const { rows } = await sql.query<{ total: string }>('SELECT coalesce(sum(amount), 0)::text AS total FROM issuer.ledger_entries');
    return BigInt(rows[0]?.total ?? '0');
  },

  async unbalancedTransactions(sql: Sql): Promise<{ transaction_id: string; total: bigint }[]> {
    const { rows } = await sql.query<{ transaction_id: string; total: string }>(
      'SELECT transaction_id, sum(amount)::text AS total FROM issuer.ledger_entries GROUP BY transaction_id HAVING sum(amount) <> 0 ORDER BY transaction_id LIMIT 100',
    );
    return rows.map((r) => ({ transaction_id: r.transaction_id, total: BigInt(r.total) }));
  },

  /**
   * Cards whose active holds differ from their open approvals (approved, not reversed, hold not
   * captured), in count or amount.
   */
  async holdMismatches(sql: Sql): Promise<{ card_id: string; active_holds: number; active_amount: bigint; open_approvals: number; open_amount: bigint }[]> {
    const { rows } = await sql.query<{ card_id: string; active_holds: number; active_amount: string; open_approvals: number; open_amount: string }>(
      `WITH open_approvals AS (
         SELECT a.card_id, count(*)::int AS n, sum(a.amount) AS amount
           FROM issuer.authorizations a
          WHERE a.response_code = '00'
            AND NOT EXISTS (SELECT 1 FROM issuer.reversals r WHERE r.issuer_id = a.issuer_id AND r.txn_key = a.txn_key)
            AND NOT EXISTS (SELECT 1 FROM issuer.holds h WHERE h.authorization_id = a.id AND h.status = 'captured')
          GROUP BY a.card_id
       ), active AS (
         SELECT h.card_id, count(*)::int AS n, sum(h.amount) AS amount
           FROM issuer.holds h JOIN issuer.authorizations a ON a.id = h.authorization_id AND a.response_code = '00'
          WHERE h.status = 'active'
          GROUP BY h.card_id
       )
       SELECT coalesce(o.card_id, h.card_id) AS card_id, coalesce(h.n, 0) AS active_holds, coalesce(h.amount, 0)::text AS active_amount,
              coalesce(o.n, 0) AS open_approvals, coalesce(o.amount, 0)::text AS open_amount
         FROM open_approvals o FULL JOIN active h ON h.card_id = o.card_id
        WHERE coalesce(o.n, 0) <> coalesce(h.n, 0) OR coalesce(o.amount, 0) <> coalesce(h.amount, 0)
        ORDER BY 1 LIMIT 100`,
    );
    return rows.map((r) => ({ card_id: r.card_id, active_holds: Number(r.active_holds), active_amount: BigInt(r.active_amount), open_approvals: Number(r.open_approvals), open_amount: BigInt(r.open_amount) }));
  },

  /** Accounts whose ledger (minus their entries) differs from their active holds. */
  /** Accounts whose running `held` total is not the sum of their active holds. */
  async heldTotalMismatches(sql: Sql): Promise<number> {
    const { rows } = await sql.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM issuer.accounts a
        WHERE a.held <> coalesce((SELECT sum(h.amount) FROM issuer.holds h WHERE h.account_id = a.id AND h.status = 'active'), 0)`,
    );
    return rows[0]?.n ?? 0;
  },

  async ledgerHoldMismatches(sql: Sql): Promise<{ account_id: string; ledger_held: bigint; active_holds: bigint }[]> {
    const { rows } = await sql.query<{ account_id: string; ledger_held: string; active_holds: string }>(
      `WITH ledger AS (
         SELECT ledger_account AS account_id, -sum(amount) AS held FROM issuer.ledger_entries WHERE ledger_account LIKE 'acct\\_%' AND kind <> 'refund' GROUP BY ledger_account
       ), active AS (
         SELECT account_id, sum(amount) AS held FROM issuer.holds WHERE status = 'active' GROUP BY account_id
       )
       SELECT coalesce(l.account_id, h.account_id) AS account_id, coalesce(l.held, 0)::text AS ledger_held, coalesce(h.held, 0)::text AS active_holds
         FROM ledger l FULL JOIN active h ON h.account_id = l.account_id
        WHERE coalesce(l.held, 0) <> coalesce(h.held, 0)
        ORDER BY 1 LIMIT 100`,
    );
    return rows.map((r) => ({ account_id: r.account_id, ledger_held: BigInt(r.ledger_held), active_holds: BigInt(r.active_holds) }));
  },

  // The decisions on 0100s in two statements (src/issuer/authorizations.ts, "Concurrency"): what they read,
  // with the card and account rows locked, then everything they write. One decision or several at once
  // (concurrent 0100s of different transaction keys and cards): the same two statements.

  /**
   * Everything the decisions read, in one round trip, in the order of `requests`: for each, an earlier
   * decision under its key, a reversal under it (a tombstone), and its issuer's card with its fingerprint
   * with the card's account. The card and account rows are locked FOR UPDATE until the transaction ends
   * (the card's velocity and the account's running totals are what a decision reads and writes), in the
   * order of the requests.
   */
  async decisionContexts(sql: Sql, requests: readonly { issuerId: string; txnKey: string; fingerprint: Buffer | null }[]): Promise<DecisionContext[]> {
    const { rows } = await sql.query<{ n: string; existing: ExistingJson | null; reversed: boolean; card: CardJson | null }>(
      `WITH req AS (
         SELECT r.issuer_id, r.txn_key, decode(r.fp, 'hex') AS fp, r.n
           FROM unnest($1::text[], $2::text[], $3::text[]) WITH ORDINALITY AS r (issuer_id, txn_key, fp, n)),
       card AS (
         -- Looked up and locked one request at a time, in the requests' order (by index: a set-wise join
         -- may scan the whole table). Callers order requests by fingerprint.
         SELECT x.* FROM req CROSS JOIN LATERAL (
           SELECT c.id, c.account_id, a.issuer_id, c.network, c.last4, c.exp_month, c.exp_year, c.product, c.status, c.accept_any_future_expiry,
                  c.velocity_window_start, c.velocity_count,
                  a.status AS account_status, a.currency, a.posted_balance::text AS posted_balance, a.credit_limit::text AS credit_limit, a.held::text AS held,
                  c.pan_fingerprint
             FROM issuer.cards c JOIN issuer.accounts a ON a.id = c.account_id
            WHERE c.pan_fingerprint = req.fp
            FOR UPDATE OF c, a) x)
       SELECT req.n::text AS n,
              (SELECT row_to_json(x) FROM (SELECT id, issuer_id, txn_key, encode(pan_fingerprint, 'hex') AS pan_fingerprint, card_id, account_id, processing_code,
                                                  amount::text AS amount, currency_numeric, response_code, auth_code, reason
                                             FROM issuer.authorizations au WHERE au.issuer_id = req.issuer_id AND au.txn_key = req.txn_key) x) AS existing,
              EXISTS (SELECT 1 FROM issuer.reversals rv WHERE rv.issuer_id = req.issuer_id AND rv.txn_key = req.txn_key) AS reversed,
              (SELECT row_to_json(k) FROM (SELECT id, account_id, issuer_id, network, last4, exp_month, exp_year, product, status, accept_any_future_expiry,
                                                  velocity_window_start, velocity_count, account_status, currency, posted_balance, credit_limit, held
                                             FROM card WHERE card.pan_fingerprint = req.fp AND card.issuer_id = req.issuer_id) k) AS card
         FROM req ORDER BY req.n`,
      [requests.map((r) => r.issuerId), requests.map((r) => r.txnKey), requests.map((r) => (r.fingerprint ? r.fingerprint.toString('hex') : null))],
    );
    if (rows.length !== requests.length) throw new Error(`decision contexts: ${requests.length} asked, ${rows.length} read`);
    return rows.map((r) => {
      const e = r.existing;
      const c = r.card;
      return {
        existing: e ? { ...e, amount: BigInt(e.amount), pan_fingerprint: e.pan_fingerprint === null ? null : Buffer.from(e.pan_fingerprint, 'hex') } : undefined,
        reversed: r.reversed,
        card: c
          ? {
              ...c,
              exp_month: Number(c.exp_month),
              exp_year: Number(c.exp_year),
              posted_balance: BigInt(c.posted_balance),
              credit_limit: BigInt(c.credit_limit),
              held: BigInt(c.held),
              velocity_window_start: c.velocity_window_start === null ? null : new Date(c.velocity_window_start),
              velocity_count: Number(c.velocity_count),
            }
          : undefined,
      };
    });
  },

  /**
   * The decisions' writes in ONE statement: the authorizations; for each approval its hold, the
   * account's running total, the card's velocity count and the balanced ledger posting (no outbox
   * event: nothing consumes one, see authorizations.ts). Foreign keys are checked at the end of the
   * statement, when the rows it inserted exist. The cards of one call's approvals are distinct (their
   * velocity is counted from the card row as read); accounts may repeat (their totals are summed).
   */
  async recordDecisions(sql: Sql, decisions: readonly DecisionWrite[]): Promise<void> {
    const approvals = decisions.filter((d): d is DecisionWrite & { approval: NonNullable<DecisionWrite['approval']> } => d.approval !== undefined);
    for (const d of approvals) if (d.authorization.amount <= 0n) throw new Error('an approval holds a positive amount');
    if (new Set(approvals.map((d) => d.approval.cardId)).size !== approvals.length) throw new Error('two approvals of one card in one statement');
    const a = decisions.map((d) => d.authorization);
    const iso = (d: Date) => d.toISOString();
    const { rows } = await sql.query<{ auths: number; holds: number; accounts: number; cards: number; entries: number }>(
      `WITH ai AS (
         SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[],
                              $11::text[], $12::text[], $13::text[], $14::text[], $15::text[], $16::text[], $17::text[], $18::text[])
           AS i (id, issuer_id, txn_key, pan_fingerprint, card_id, account_id, processing_code, amount, currency_numeric, pos_entry_mode, rrn,
                 merchant_id, merchant_name, response_code, auth_code, reason, cdcvm, created_at)),
       auth AS (
         INSERT INTO issuer.authorizations (id, issuer_id, txn_key, pan_fingerprint, card_id, account_id, processing_code, amount, currency_numeric,
           pos_entry_mode, rrn, merchant_id, merchant_name, response_code, auth_code, reason, cdcvm, created_at)
         SELECT id, issuer_id, txn_key, decode(pan_fingerprint, 'hex'), card_id, account_id, processing_code, amount::bigint, currency_numeric,
                pos_entry_mode, rrn, merchant_id, merchant_name, response_code, auth_code, reason, cdcvm::boolean, created_at::timestamptz
           FROM ai
         RETURNING id, issuer_id, txn_key, amount, created_at),
       hi AS (
         SELECT * FROM unnest($19::text[], $20::text[], $21::text[], $22::text[], $23::text[], $24::text[], $25::text[])
           AS h (authorization_id, hold_id, account_id, card_id, currency, auth_code, window_opens_after)),
       hold AS (
         INSERT INTO issuer.holds (id, issuer_id, authorization_id, account_id, card_id, amount, currency, status, auth_code, txn_key, created_at)
         SELECT hi.hold_id, auth.issuer_id, auth.id, hi.account_id, hi.card_id, auth.amount, hi.currency, 'active', hi.auth_code, auth.txn_key, auth.created_at
           FROM hi JOIN auth ON auth.id = hi.authorization_id
         RETURNING id, issuer_id, authorization_id, account_id, card_id, amount, currency, created_at),
       held AS (
         UPDATE issuer.accounts a SET held = a.held + s.total
           FROM (SELECT account_id, sum(amount) AS total FROM hold GROUP BY account_id) s
          WHERE a.id = s.account_id
         RETURNING a.id),
       velocity AS (
         UPDATE issuer.cards c SET
           velocity_count = CASE WHEN c.velocity_window_start IS NULL OR c.velocity_window_start <= v.window_opens_after THEN 1 ELSE c.velocity_count + 1 END,
           velocity_window_start = CASE WHEN c.velocity_window_start IS NULL OR c.velocity_window_start <= v.window_opens_after THEN v.created_at ELSE c.velocity_window_start END
           FROM (SELECT hold.card_id, hold.created_at, hi.window_opens_after::timestamptz AS window_opens_after FROM hold JOIN hi ON hi.hold_id = hold.id) v
          WHERE c.id = v.card_id
         RETURNING c.id),
       -- Double entry: the account gives up the amount, the pending-authorizations liability takes it (sums to zero).
       ledger AS (
         INSERT INTO issuer.ledger_entries (issuer_id, transaction_id, ledger_account, amount, currency, kind, hold_id, created_at)
         SELECT hold.issuer_id, hold.authorization_id, e.ledger_account, e.amount, hold.currency, 'hold', hold.id, hold.created_at
           FROM hold CROSS JOIN LATERAL (VALUES (hold.account_id, -hold.amount), ('authorizations_pending', hold.amount)) AS e (ledger_account, amount)
         RETURNING id)
       SELECT (SELECT count(*) FROM auth)::int AS auths, (SELECT count(*) FROM hold)::int AS holds, (SELECT count(*) FROM held)::int AS accounts,
              (SELECT count(*) FROM velocity)::int AS cards, (SELECT count(*) FROM ledger)::int AS entries`,
      [
        a.map((x) => x.id),
        a.map((x) => x.issuerId),
        a.map((x) => x.txnKey),
        a.map((x) => (x.panFingerprint ? x.panFingerprint.toString('hex') : null)),
        a.map((x) => x.cardId),
        a.map((x) => x.accountId),
        a.map((x) => x.processingCode),
        a.map((x) => x.amount.toString()),
        a.map((x) => x.currencyNumeric),
        a.map((x) => x.posEntryMode),
        a.map((x) => x.rrn),
        a.map((x) => x.merchantId),
        a.map((x) => x.merchantName),
        a.map((x) => x.responseCode),
        a.map((x) => x.authCode),
        a.map((x) => x.reason),
        a.map((x) => (x.cdcvm === null ? null : String(x.cdcvm))),
        a.map((x) => iso(x.at)),
        approvals.map((d) => d.authorization.id),
        approvals.map((d) => d.approval.holdId),
        approvals.map((d) => d.approval.accountId),
        approvals.map((d) => d.approval.cardId),
        approvals.map((d) => d.approval.currency),
        approvals.map((d) => d.approval.authCode),
        approvals.map((d) => iso(new Date(d.authorization.at.getTime() - d.approval.velocityWindowMs))),
      ],
    );
    const r = rows[0];
    const accounts = new Set(approvals.map((d) => d.approval.accountId)).size;
    if (!r || r.auths !== decisions.length || r.holds !== approvals.length || r.accounts !== accounts || r.cards !== approvals.length || r.entries !== 2 * approvals.length) {
      throw new Error('the decisions were not recorded whole');
    }
  },
};

/** What one decision read (decisionContexts). */
export interface DecisionContext {
  existing: AuthorizationRow | undefined;
  reversed: boolean;
  card: AuthorizationCardRow | undefined;
}

/** One decision's writes (recordDecisions): the authorization; an approval's hold. */
export interface DecisionWrite {
  authorization: NewIssuerAuthorization;
  approval?: { holdId: string; accountId: string; cardId: string; currency: string; authCode: string; velocityWindowMs: number };
}

type ExistingJson = Omit<AuthorizationRow, 'amount' | 'pan_fingerprint'> & { amount: string; pan_fingerprint: string | null };

/** An authorization row to insert (recordDecisions). */
export interface NewIssuerAuthorization {
  id: string;
  issuerId: string;
  txnKey: string;
  panFingerprint: Buffer | null;
  cardId: string | null;
  accountId: string | null;
  processingCode: string | null;
  amount: bigint;
  currencyNumeric: string | null;
  posEntryMode: string | null;
  rrn: string | null;
  merchantId: string | null;
  merchantName: string | null;
  responseCode: string;
  authCode: string | null;
  reason: string;
  cdcvm: boolean | null;
  at: Date;
}

/** A card row as row_to_json gives it (bigints as text, timestamps as ISO strings). */
type CardJson = Omit<AuthorizationCardRow, 'posted_balance' | 'credit_limit' | 'held' | 'velocity_window_start'> & {
  posted_balance: string;
  credit_limit: string;
  held: string;
  velocity_window_start: string | null;
};

// --- Network notifications (flow 4): outgoing card changes, reissues by key, incoming token events ---

export interface ReissueRow {
  id: string;
  card_id: string;
  request: unknown;
  pan_encrypted: Buffer;
  exp_month: number;
  exp_year: number;
  event_id: string;
}

export interface TokenNotificationRow {
  id: string;
  event_id: string;
  network: string;
  card_id: string | null;
  token_ref: string;
  type: string;
  status: string;
  reason: string;
  actor: string;
  token_last4: string | null;
  occurred_at: Date;
  received_at: Date;
}

export const notificationRepo = {
  async insertOutgoing(sql: Sql, n: { eventId: string; issuerId: string; cardId: string; kind: 'pan_update' | 'card_lifecycle'; action: string }): Promise<void> {
    await sql.query('INSERT INTO issuer.network_notifications (event_id, issuer_id, card_id, kind, action) VALUES ($1, $2, $3, $4, $5)', [n.eventId, n.issuerId, n.cardId, n.kind, n.action]);
  },
  async markOutgoing(sql: Sql, eventId: string, r: { status: 'delivered' | 'rejected'; tokensChanged?: number | null; error?: string | null }): Promise<void> {
    await sql.query(
      `UPDATE issuer.network_notifications SET status = $2, tokens_changed = $3, error = $4, delivered_at = now() WHERE event_id = $1 AND status = 'pending'`,
      [eventId, r.status, r.tokensChanged ?? null, r.error?.slice(0, 200) ?? null],
    );
  },
  async outgoingOfCard(sql: Sql, cardId: string): Promise<{ event_id: string; kind: string; action: string; status: string; tokens_changed: number | null; error: string | null; created_at: Date; delivered_at: Date | null }[]> {
    const { rows } = await sql.query<{ event_id: string; kind: string; action: string; status: string; tokens_changed: number | null; error: string | null; created_at: Date; delivered_at: Date | null }>(
      'SELECT event_id, kind, action, status, tokens_changed, error, created_at, delivered_at FROM issuer.network_notifications WHERE card_id = $1 ORDER BY created_at, event_id',
      [cardId],
    );
    return rows;
  },
  async reissueByKey(sql: Sql, issuerId: string, idemKey: string): Promise<ReissueRow | undefined> {
    const { rows } = await sql.query<ReissueRow>('SELECT id, card_id, request, pan_encrypted, exp_month, exp_year, event_id FROM issuer.card_reissues WHERE issuer_id = $1 AND idem_key = $2', [issuerId, idemKey]);
    return rows[0] ? { ...rows[0], pan_encrypted: Buffer.from(rows[0].pan_encrypted) } : undefined;
  },
  /** False when another request with the same key got there first (the unique key is the guard). */
  async insertReissue(sql: Sql, r: { id: string; issuerId: string; cardId: string; idemKey: string; request: unknown; panEncrypted: Buffer; expMonth: number; expYear: number; eventId: string }): Promise<boolean> {
    const { rowCount } = await sql.query(
      `INSERT INTO issuer.card_reissues (id, issuer_id, card_id, idem_key, request, pan_encrypted, exp_month, exp_year, event_id)
       VALUES ($1, $2, $3, $4, $5::jsonb, $6, $7, $8, $9) ON CONFLICT (issuer_id, idem_key) DO NOTHING`,
      [r.id, r.issuerId, r.cardId, r.idemKey, JSON.stringify(r.request), r.panEncrypted, r.expMonth, r.expYear, r.eventId],
    );
    return rowCount === 1;
  },
  async cardIdByParSeed(sql: Sql, issuerId: string, parSeed: string): Promise<string | undefined> {
    const { rows } = await sql.query<{ id: string }>(
      'SELECT c.id FROM issuer.cards c JOIN issuer.accounts a ON a.id = c.account_id WHERE c.par_seed = $1 AND a.issuer_id = $2',
      [parSeed, issuerId],
    );
    return rows[0]?.id;
  },
  /** De-duplicated by the network's event id: false when it was recorded before. */
  async insertTokenNotification(
    sql: Sql,
    n: { id: string; eventId: string; issuerId: string; network: string; cardId: string | null; tokenRef: string; type: string; status: string; reason: string; actor: string; tokenLast4: string | null; occurredAt: string },
  ): Promise<boolean> {
    const { rowCount } = await sql.query(
      `INSERT INTO issuer.token_notifications (id, event_id, issuer_id, network, card_id, token_ref, type, status, reason, actor, token_last4, occurred_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) ON CONFLICT (network, event_id) DO NOTHING`,
      [n.id, n.eventId, n.issuerId, n.network, n.cardId, n.tokenRef, n.type, n.status, n.reason, n.actor, n.tokenLast4, n.occurredAt],
    );
    return rowCount === 1;
  },
  tokenNotificationColumns: 'id, event_id, network, card_id, token_ref, type, status, reason, actor, token_last4, occurred_at, received_at',
};

// ---- Operations console (read only) ----

export interface IssuerOverviewRow {
  id: string;
  name: string;
  country: string;
  bins: { prefix: string; network: Network }[] | null;
  cards: number;
  accounts: number;
}

/** Every issuer with its BIN ranges and how many cards and accounts it holds. */
export async function listIssuersOverview(sql: Sql): Promise<IssuerOverviewRow[]> {
  const { rows } = await sql.query<IssuerOverviewRow>(
    `SELECT i.id, i.name, i.country,
            (SELECT json_agg(json_build_object('prefix', b.prefix, 'network', b.network) ORDER BY b.prefix) FROM issuer.bin_ranges b WHERE b.issuer_id = i.id) AS bins,
            (SELECT count(*)::int FROM issuer.cards c JOIN issuer.accounts a ON a.id = c.account_id WHERE a.issuer_id = i.id) AS cards,
            (SELECT count(*)::int FROM issuer.accounts a WHERE a.issuer_id = i.id) AS accounts
       FROM issuer.issuers i ORDER BY i.id`,
  );
  return rows;
}

export interface IssuerAuthorizationListRow {
  id: string;
  issuer_id: string;
  txn_key: string;
  card_id: string | null;
  amount: string;
  currency_numeric: string | null;
  rrn: string | null;
  merchant_name: string | null;
  response_code: string;
  auth_code: string | null;
  reason: string;
  cdcvm: boolean | null;
  created_at: Date;
}

/** An issuer's authorization decisions, newest first (cursor pages). */
export async function listIssuerAuthorizations(sql: Sql, issuerId: string, page: PageParams): Promise<Page<IssuerAuthorizationListRow>> {
  return paginate<IssuerAuthorizationListRow>(
    sql,
    `SELECT id, issuer_id, txn_key, card_id, amount::text AS amount, currency_numeric, rrn, merchant_name, response_code, auth_code, reason, cdcvm, created_at
       FROM issuer.authorizations WHERE issuer_id = $1`,
    [issuerId],
    page,
  );
}

// --- Refunds (0200, processing code 20): src/issuer/refunds.ts ---

export interface RefundRow {
  id: string;
  authorization_id: string | null;
  amount: string;
  response_code: string;
  auth_code: string | null;
  reason: string;
}

export const refundRepo = {
  async byKey(sql: Sql, issuerId: string, txnKey: string): Promise<RefundRow | undefined> {
    const { rows } = await sql.query<RefundRow>('SELECT id, authorization_id, amount::text AS amount, response_code, auth_code, reason FROM issuer.refunds WHERE issuer_id = $1 AND txn_key = $2', [issuerId, txnKey]);
    return rows[0];
  },
  /** The original approval (locked: refunds of one authorization are decided one at a time) and what was refunded of it. */
  async originalForRefund(sql: Sql, issuerId: string, txnKey: string): Promise<{ id: string; card_id: string; account_id: string; amount: string; currency_numeric: string | null; refunded: string; currency: string } | undefined> {
    const { rows } = await sql.query<{ id: string; card_id: string; account_id: string; amount: string; currency_numeric: string | null; refunded: string; currency: string }>(
      `SELECT a.id, a.card_id, a.account_id, a.amount::text AS amount, a.currency_numeric, acc.currency,
              coalesce((SELECT sum(r.amount) FROM issuer.refunds r WHERE r.authorization_id = a.id AND r.response_code = '00'), 0)::text AS refunded
         FROM issuer.authorizations a JOIN issuer.accounts acc ON acc.id = a.account_id
        WHERE a.issuer_id = $1 AND a.txn_key = $2 AND a.response_code = '00'
        FOR UPDATE OF a`,
      [issuerId, txnKey],
    );
    return rows[0];
  },
  async insert(sql: Sql, r: { id: string; issuerId: string; txnKey: string; authorizationId: string | null; cardId: string | null; accountId: string | null; amount: bigint; currencyNumeric: string | null; responseCode: string; authCode: string | null; reason: string }): Promise<void> {
    await sql.query(
      `INSERT INTO issuer.refunds (id, issuer_id, txn_key, authorization_id, card_id, account_id, amount, currency_numeric, response_code, auth_code, reason)
       VALUES ($1, $2, $3, $4, $5, $6, $7::bigint, $8, $9, $10, $11)`,
      [r.id, r.issuerId, r.txnKey, r.authorizationId, r.cardId, r.accountId, r.amount.toString(), r.currencyNumeric, r.responseCode, r.authCode, r.reason],
    );
  },
  /** The credit: the account gets the amount, the issuer's refunds clearing pays it (sums to zero); the posted balance follows. */
  async credit(sql: Sql, c: { issuerId: string; refundId: string; accountId: string; amount: bigint; currency: string }): Promise<void> {
    await sql.query(
      `INSERT INTO issuer.ledger_entries (issuer_id, transaction_id, ledger_account, amount, currency, kind, hold_id, created_at)
       VALUES ($1, $2, $3, $4::bigint, $5, 'refund', NULL, now()), ($1, $2, 'refunds_clearing', -$4::bigint, $5, 'refund', NULL, now())`,
      [c.issuerId, c.refundId, c.accountId, c.amount.toString(), c.currency],
    );
    await sql.query('UPDATE issuer.accounts SET posted_balance = posted_balance + $2::bigint WHERE id = $1', [c.accountId, c.amount.toString()]);
  },
};
