import { isUniqueViolation, type Sql } from '../infra/db/database.js';
import { paginate, type Page, type PageParams } from '../infra/http/pagination.js';
import type { Brand } from './brands.js';
import type { VerificationMethod } from './issuers.js';

export type TokenStatus = 'inactive' | 'active' | 'suspended' | 'deleted';
export type Idv = 'pending' | 'green' | 'yellow' | 'verified' | 'red' | 'failed';
export type Product = 'credit' | 'debit' | 'prepaid';

export interface TokenRequestorRow {
  id: string;
  brand: Brand;
  name: string;
  device_ca_pem: string;
  status: 'active' | 'suspended';
}

export interface TokenRow {
  token_ref: string;
  brand: Brand;
  token_pan_encrypted: Buffer;
  token_last4: string;
  token_exp_month: number;
  token_exp_year: number;
  psn: string;
  card_last4: string;
  card_exp_month: number;
  card_exp_year: number;
  product: Product | null;
  issuer_id: string;
  issuer_name: string | null;
  issuer_verification_id: string | null;
  par: string | null;
  token_requestor_id: string;
  device_id: string;
  device_kind: 'phone' | 'watch';
  se_certificate_pem: string;
  wallet_account_id: string;
  status: TokenStatus;
  idv: Idv;
  decline_code: string | null;
  domains: string[];
  cryptogram_required: boolean;
  cvn: string;
  updated_at: Date;
  /** An abandoned reservation or step-up (computed with the database's clock). */
  stale?: boolean;
}

export interface NewToken {
  tokenRef: string;
  brand: Brand;
  tokenPanEncrypted: Buffer;
  tokenFingerprint: Buffer;
  tokenLast4: string;
  tokenExpMonth: number;
  tokenExpYear: number;
  psn: string;
  panEncrypted: Buffer;
  panFingerprint: Buffer;
  cardLast4: string;
  cardExpMonth: number;
  cardExpYear: number;
  issuerId: string;
  tokenRequestorId: string;
  deviceId: string;
  deviceKind: 'phone' | 'watch';
  seCertificatePem: string;
  walletAccountId: string;
  domains: string[];
  cryptogramRequired: boolean;
  cvn: string;
  /** The requestor's Idempotency-Key of the request that made it (to cancel it by that key). */
  requestKey: string | null;
}

export interface VerificationRow {
  id: string;
  token_ref: string;
  issuer_id: string;
  issuer_verification_id: string;
  methods: VerificationMethod[];
  status: 'pending' | 'confirmed' | 'failed';
}

const TOKEN_COLUMNS = `token_ref, brand, token_pan_encrypted, token_last4, token_exp_month, token_exp_year, psn, card_last4, card_exp_month,
  card_exp_year, product, issuer_id, issuer_name, issuer_verification_id, par, token_requestor_id, device_id, device_kind, se_certificate_pem,
  wallet_account_id, status, idv, decline_code, domains, cryptogram_required, cvn, updated_at`;

/** The only place the networks' SQL lives (keys: see hsm.ts and encryption-keys.ts, which own theirs). */
export const networkRepo = {
  async insertTokenRequestor(sql: Sql, r: { id: string; brand: Brand; name: string; deviceCaPem: string }): Promise<boolean> {
    const { rows } = await sql.query<{ id: string }>(
      `INSERT INTO network.token_requestors (id, brand, name, device_ca_pem) VALUES ($1, $2, $3, $4) ON CONFLICT (id) DO NOTHING RETURNING id`,
      [r.id, r.brand, r.name, r.deviceCaPem],
    );
    return rows.length === 1;
  },

  async tokenRequestor(sql: Sql, id: string): Promise<TokenRequestorRow | undefined> {
    const { rows } = await sql.query<TokenRequestorRow>('SELECT id, brand, name, device_ca_pem, status FROM network.token_requestors WHERE id = $1', [id]);
    return rows[0];
  },

  /**
   * The live (non-deleted) token of this card on this device, locked. `stale`: a reservation still
   * waiting for the issuer after `pendingSeconds`, or a step-up never confirmed after `yellowSeconds`.
   */
  async liveTokenForDeviceCard(sql: Sql, deviceId: string, panFingerprint: Buffer, pendingSeconds: number, yellowSeconds: number): Promise<TokenRow | undefined> {
    const { rows } = await sql.query<TokenRow>(
      `SELECT ${TOKEN_COLUMNS},
              (status = 'inactive' AND ((idv = 'pending' AND updated_at < now() - make_interval(secs => $3))
                                     OR (idv = 'yellow' AND updated_at < now() - make_interval(secs => $4)))) AS stale
         FROM network.tokens WHERE device_id = $1 AND pan_fingerprint = $2 AND status <> 'deleted' FOR UPDATE`,
      [deviceId, panFingerprint, pendingSeconds, yellowSeconds],
    );
    return rows[0];
  },

  /** Whether the requestor cancelled the request with this key (it must make no token). */
  async requestCancelled(sql: Sql, requestorId: string, requestKey: string): Promise<boolean> {
    const { rows } = await sql.query('SELECT 1 FROM network.cancelled_token_requests WHERE token_requestor_id = $1 AND request_key = $2', [requestorId, requestKey]);
    return rows.length > 0;
  },

  /** Records a cancelled request (idempotent). */
  async cancelRequest(sql: Sql, requestorId: string, requestKey: string): Promise<void> {
    await sql.query('INSERT INTO network.cancelled_token_requests (token_requestor_id, request_key) VALUES ($1, $2) ON CONFLICT DO NOTHING', [requestorId, requestKey]);
  },

  /** The tokens a request made (deleted ones too), locked. */
  async tokensOfRequest(sql: Sql, requestorId: string, requestKey: string): Promise<TokenRow[]> {
    const { rows } = await sql.query<TokenRow>(
      `SELECT ${TOKEN_COLUMNS} FROM network.tokens WHERE token_requestor_id = $1 AND request_key = $2 ORDER BY token_ref FOR UPDATE`,
      [requestorId, requestKey],
    );
    return rows;
  },

  /** Ends an abandoned step-up's verification. */
  async failVerificationOf(sql: Sql, tokenRef: string): Promise<void> {
    await sql.query(`UPDATE network.verifications SET status = 'failed', updated_at = now() WHERE token_ref = $1 AND status = 'pending'`, [tokenRef]);
  },

  async insertToken(sql: Sql, t: NewToken): Promise<void> {
    await sql.query(
      `INSERT INTO network.tokens (token_ref, brand, token_pan_encrypted, token_fingerprint, token_last4, token_exp_month, token_exp_year, psn,
         pan_encrypted, pan_fingerprint, card_last4, card_exp_month, card_exp_year, issuer_id, token_requestor_id, device_id, device_kind,
         se_certificate_pem, wallet_account_id, status, idv, domains, cryptogram_required, cvn, request_key)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, 'inactive', 'pending', $20::text[], $21, $22, $23)`,
      [
        t.tokenRef, t.brand, t.tokenPanEncrypted, t.tokenFingerprint, t.tokenLast4, t.tokenExpMonth, t.tokenExpYear, t.psn,
        t.panEncrypted, t.panFingerprint, t.cardLast4, t.cardExpMonth, t.cardExpYear, t.issuerId, t.tokenRequestorId, t.deviceId, t.deviceKind,
        t.seCertificatePem, t.walletAccountId, t.domains, t.cryptogramRequired, t.cvn, t.requestKey,
      ],
    );
  },

  async tokenByRef(sql: Sql, tokenRef: string, forUpdate = false): Promise<TokenRow | undefined> {
    const { rows } = await sql.query<TokenRow>(`SELECT ${TOKEN_COLUMNS} FROM network.tokens WHERE token_ref = $1${forUpdate ? ' FOR UPDATE' : ''}`, [tokenRef]);
    return rows[0];
  },

  async tokenFingerprintTaken(sql: Sql, fingerprint: Buffer): Promise<boolean> {
    const { rows } = await sql.query('SELECT 1 FROM network.tokens WHERE token_fingerprint = $1', [fingerprint]);
    return rows.length > 0;
  },

  /** The card's PAR: the existing one, else `candidate` (two requests racing: one wins, both read it). */
  async parFor(sql: Sql, panFingerprint: Buffer, candidate: string, brand: Brand): Promise<string> {
    await sql.query('INSERT INTO network.par_accounts (pan_fingerprint, par, brand) VALUES ($1, $2, $3) ON CONFLICT (pan_fingerprint) DO NOTHING', [
      panFingerprint,
      candidate,
      brand,
    ]);
    const { rows } = await sql.query<{ par: string }>('SELECT par FROM network.par_accounts WHERE pan_fingerprint = $1', [panFingerprint]);
    return rows[0]!.par;
  },

  async panFingerprintOf(sql: Sql, tokenRef: string): Promise<Buffer | undefined> {
    const { rows } = await sql.query<{ pan_fingerprint: Buffer }>('SELECT pan_fingerprint FROM network.tokens WHERE token_ref = $1', [tokenRef]);
    return rows[0] ? Buffer.from(rows[0].pan_fingerprint) : undefined;
  },

  /** Records the issuer's green or yellow answer on a reservation; false if it is no longer pending. */
  async recordApproval(
    sql: Sql,
    tokenRef: string,
    a: { idv: 'green' | 'yellow'; product: Product; issuerName: string | null; issuerVerificationId: string; par: string },
  ): Promise<boolean> {
    const { rowCount } = await sql.query(
      `UPDATE network.tokens SET idv = $2, product = $3, issuer_name = $4, issuer_verification_id = $5, par = $6, updated_at = now()
        WHERE token_ref = $1 AND status = 'inactive' AND idv = 'pending'`,
      [tokenRef, a.idv, a.product, a.issuerName, a.issuerVerificationId, a.par],
    );
    return rowCount === 1;
  },

  /** Ends a reservation that will not become a token (red, an issuer error, no answer, abandoned). */
  async recordFailure(sql: Sql, tokenRef: string, idv: 'red' | 'failed' | null, declineCode: string | null, issuerVerificationId: string | null = null): Promise<void> {
    await sql.query(
      `UPDATE network.tokens SET status = 'deleted', idv = COALESCE($2, idv), decline_code = $3,
              issuer_verification_id = COALESCE($4, issuer_verification_id), updated_at = now()
        WHERE token_ref = $1 AND status = 'inactive'`,
      [tokenRef, idv, declineCode, issuerVerificationId],
    );
  },

  /** inactive → active, from the given ID&V state; false when the token was not in it. */
  async activate(sql: Sql, tokenRef: string, from: 'green' | 'yellow'): Promise<boolean> {
    const { rowCount } = await sql.query(
      `UPDATE network.tokens SET status = 'active', idv = $3, activated_at = now(), updated_at = now()
        WHERE token_ref = $1 AND status = 'inactive' AND idv = $2`,
      [tokenRef, from, from === 'green' ? 'green' : 'verified'],
    );
    return rowCount === 1;
  },

  async insertVerification(sql: Sql, v: { id: string; tokenRef: string; issuerId: string; issuerVerificationId: string; methods: VerificationMethod[] }): Promise<void> {
    await sql.query(
      `INSERT INTO network.verifications (id, token_ref, issuer_id, issuer_verification_id, methods) VALUES ($1, $2, $3, $4, $5::jsonb)
       ON CONFLICT (token_ref) DO NOTHING`,
      [v.id, v.tokenRef, v.issuerId, v.issuerVerificationId, JSON.stringify(v.methods)],
    );
  },

  async verificationByToken(sql: Sql, tokenRef: string): Promise<VerificationRow | undefined> {
    const { rows } = await sql.query<VerificationRow>(
      'SELECT id, token_ref, issuer_id, issuer_verification_id, methods, status FROM network.verifications WHERE token_ref = $1',
      [tokenRef],
    );
    return rows[0];
  },

  async verificationById(sql: Sql, id: string): Promise<VerificationRow | undefined> {
    const { rows } = await sql.query<VerificationRow>('SELECT id, token_ref, issuer_id, issuer_verification_id, methods, status FROM network.verifications WHERE id = $1', [id]);
    return rows[0];
  },

  /** The live (non-deleted) tokens of a card (by the vault's keyed fingerprint of its number) at one network, locked when asked. */
  async liveTokensOfCard(sql: Sql, brand: Brand, panFingerprint: Buffer, forUpdate = false): Promise<TokenRow[]> {
    const { rows } = await sql.query<TokenRow>(
      `SELECT ${TOKEN_COLUMNS} FROM network.tokens WHERE pan_fingerprint = $1 AND brand = $2 AND status <> 'deleted' ORDER BY token_ref${forUpdate ? ' FOR UPDATE' : ''}`,
      [panFingerprint, brand],
    );
    return rows;
  },

  async lifecycleOf(sql: Sql, tokenRef: string): Promise<{ suspended_by: 'platform' | 'issuer' | 'network' | null; status_reason: string | null } | undefined> {
    const { rows } = await sql.query<{ suspended_by: 'platform' | 'issuer' | 'network' | null; status_reason: string | null }>(
      'SELECT suspended_by, status_reason FROM network.tokens WHERE token_ref = $1',
      [tokenRef],
    );
    return rows[0];
  },

  /** A lifecycle status change (the trigger tokens_status_transition guards it again). */
  async setLifecycleStatus(
    sql: Sql,
    tokenRef: string,
    c: { from: TokenStatus; to: TokenStatus; suspendedBy: 'platform' | 'issuer' | 'network' | null; reason: string; resume: boolean },
  ): Promise<boolean> {
    const { rowCount } = await sql.query(
      `UPDATE network.tokens SET status = $3, suspended_by = $4, status_reason = $5, status_changed_at = now(), updated_at = now(),
              resumed_at = CASE WHEN $6::boolean THEN clock_timestamp() ELSE resumed_at END
        WHERE token_ref = $1 AND status = $2`,
      [tokenRef, c.from, c.to, c.suspendedBy, c.reason, c.resume],
    );
    return rowCount === 1;
  },

  /** The issuer reissued the card: the token now stands for the new number and expiry (the token itself does not change). */
  async remapPan(sql: Sql, tokenRef: string, u: { panEncrypted: Buffer; panFingerprint: Buffer; cardLast4: string; cardExpMonth: number; cardExpYear: number }): Promise<boolean> {
    const { rowCount } = await sql.query(
      `UPDATE network.tokens SET pan_encrypted = $2, pan_fingerprint = $3, card_last4 = $4, card_exp_month = $5, card_exp_year = $6,
              pan_updated_at = now(), updated_at = now()
        WHERE token_ref = $1 AND status <> 'deleted'`,
      [tokenRef, u.panEncrypted, u.panFingerprint, u.cardLast4, u.cardExpMonth, u.cardExpYear],
    );
    return rowCount === 1;
  },

  /** A reissued number keeps the account's PAR. */
  async carryPar(sql: Sql, oldFingerprint: Buffer, newFingerprint: Buffer): Promise<void> {
    await sql.query(
      `INSERT INTO network.par_accounts (pan_fingerprint, par, brand)
       SELECT $2, par, brand FROM network.par_accounts WHERE pan_fingerprint = $1 ON CONFLICT (pan_fingerprint) DO NOTHING`,
      [oldFingerprint, newFingerprint],
    );
  },

  async setVerificationStatus(sql: Sql, id: string, status: 'confirmed' | 'failed'): Promise<void> {
    await sql.query(`UPDATE network.verifications SET status = $2, updated_at = now() WHERE id = $1 AND status = 'pending'`, [id, status]);
  },
};

// ---- The switch (authorizations, reversals to issuers): docs/authorization.md ----

/** The token columns the switch reads (by the token number's keyed fingerprint). */
export interface SwitchTokenRow {
  token_ref: string;
  brand: Brand;
  status: TokenStatus;
  domains: string[];
  cvn: string;
  psn: string;
  token_exp_month: number;
  token_exp_year: number;
  issuer_id: string;
  pan_encrypted: Buffer;
  card_exp_month: number;
  card_exp_year: number;
  token_requestor_id: string;
  device_id: string;
}

export type AuthorizationStatus = 'pending' | 'approved' | 'declined' | 'timed_out' | 'reversed';

/** The duplicate-transmission key of a 0100. */
export interface TransmissionKey {
  acquirerId: string;
  stan: string;
  transmitted: string;
  terminalId: string;
}

/** An authorization as first recorded (pending, or final when the network answered it itself). */
export interface NewAuthorization extends TransmissionKey {
  id: string;
  requestHash: Buffer;
  tokenRef: string | null;
  brand: Brand;
  processingCode: string;
  amount: number;
  currency: string;
  acquiringInstitution: string | null;
  rrn: string | null;
  merchantId: string | null;
  merchantName: string | null;
  mcc: string | null;
  posEntryMode: string | null;
  atc: number | null;
  issuerId: string | null;
  createdAt: Date;
}

export interface AuthorizationRow {
  id: string;
  acquirer_id: string;
  stan: string;
  transmitted: string;
  terminal_id: string;
  request_hash: Buffer;
  token_ref: string | null;
  brand: Brand;
  processing_code: string;
  amount: string | number;
  currency: string;
  acquiring_institution: string | null;
  rrn: string | null;
  merchant_id: string | null;
  merchant_name: string | null;
  mcc: string | null;
  pos_entry_mode: string | null;
  response_code: string | null;
  auth_code: string | null;
  atc: number | null;
  issuer_id: string | null;
  status: AuthorizationStatus;
  decline_reason: string | null;
  latency_ms: number | null;
  created_at: Date;
  completed_at: Date | null;
}

export interface NewIssuerReversal {
  id: string;
  authorizationId: string;
  tokenRef: string;
  brand: Brand;
  issuerId: string;
  reason: 'issuer_timeout' | 'issuer_unavailable' | 'issuer_unreadable' | 'stale' | 'acquirer_reversal' | 'acquirer_advice';
  mti: '0400' | '0420';
  stan: string;
  message: Uint8Array;
  attempts: number;
  nextAttemptAt: Date;
  createdAt: Date;
}

/** An infra.outbox row (infra/outbox.ts: event id `evt_…`, delivered at least once, in order per aggregate). */
export interface OutboxRow {
  eventId: string;
  topic: string;
  aggregateId: string;
  payload: unknown;
}

export interface ClaimedIssuerReversal {
  id: string;
  authorization_id: string;
  token_ref: string;
  brand: Brand;
  issuer_id: string;
  mti: '0400' | '0420';
  stan: string;
  message: Buffer;
  attempts: number;
  pan_encrypted: Buffer;
}

const AUTH_COLUMNS = `id, acquirer_id, stan, transmitted, terminal_id, request_hash, token_ref, brand, processing_code, amount, currency,
  acquiring_institution, rrn, merchant_id, merchant_name, mcc, pos_entry_mode, response_code, auth_code, atc, issuer_id, status,
  decline_reason, latency_ms, created_at, completed_at`;

const INSERT_COLUMNS = `id, acquirer_id, stan, transmitted, terminal_id, request_hash, token_ref, brand, processing_code, amount, currency,
  acquiring_institution, rrn, merchant_id, merchant_name, mcc, pos_entry_mode, atc, issuer_id, created_at`;

function insertValues(a: NewAuthorization): unknown[] {
  return [
    a.id, a.acquirerId, a.stan, a.transmitted, a.terminalId, a.requestHash, a.tokenRef, a.brand, a.processingCode, a.amount, a.currency,
    a.acquiringInstitution, a.rrn, a.merchantId, a.merchantName, a.mcc, a.posEntryMode, a.atc, a.issuerId, a.createdAt,
  ];
}

/** $1 … $20: the values of insertValues (typed: in INSERT … SELECT the target columns do not type them). */
const INSERT_TYPES = ['text', 'text', 'text', 'text', 'text', 'bytea', 'text', 'text', 'text', 'bigint', 'text', 'text', 'text', 'text', 'text', 'text', 'text', 'int', 'text', 'timestamptz'];
const INSERT_PLACEHOLDERS = INSERT_TYPES.map((t, i) => `$${i + 1}::${t}`).join(', ');

const INSERT_COLUMN_LIST = INSERT_COLUMNS.split(',').map((c) => c.trim());

/** insertValues of many authorizations, as one text array per column (bytes in hex, times in ISO 8601). */
function insertColumnsOf(items: NewAuthorization[]): (string | null)[][] {
  const columns: (string | null)[][] = INSERT_TYPES.map(() => []);
  for (const a of items) {
    insertValues(a).forEach((v, i) => {
      columns[i]!.push(v === null ? null : v instanceof Date ? v.toISOString() : Buffer.isBuffer(v) ? v.toString('hex') : String(v));
    });
  }
  return columns;
}

/**
 * switchRepo.admitMany's statement: $1 … $20 the columns of insertValues as text arrays (see insertColumnsOf).
 * The token rows are share-locked, not written: a concurrent status change waits for this statement, or
 * this one sees its result (READ COMMITTED re-checks a locked row that changed).
 */
const ADMIT_MANY = `WITH r AS (
    SELECT * FROM unnest(${INSERT_TYPES.map((_, i) => `$${i + 1}::text[]`).join(', ')})
      AS r (${INSERT_COLUMNS})),
  tok AS (
    SELECT t.token_ref FROM network.tokens t WHERE t.token_ref IN (SELECT token_ref FROM r) AND t.status = 'active' ORDER BY t.token_ref FOR SHARE),
  adv AS (
    INSERT INTO network.token_atc AS c (token_ref, atc_high_water)
    SELECT r.token_ref, r.atc::int FROM r JOIN tok ON tok.token_ref = r.token_ref WHERE r.atc::int > 0 ORDER BY r.token_ref
    ON CONFLICT (token_ref) DO UPDATE SET atc_high_water = EXCLUDED.atc_high_water WHERE c.atc_high_water < EXCLUDED.atc_high_water
    RETURNING token_ref),
  t AS (
    SELECT token_ref FROM adv UNION ALL SELECT r.token_ref FROM r JOIN tok ON tok.token_ref = r.token_ref WHERE r.atc IS NULL)
  INSERT INTO network.authorizations (${INSERT_COLUMNS}, status)
  SELECT ${INSERT_TYPES.map((type, i) => (type === 'bytea' ? `decode(r.${INSERT_COLUMN_LIST[i]}, 'hex')` : `r.${INSERT_COLUMN_LIST[i]}::${type}`)).join(', ')}, 'pending'
    FROM r JOIN t ON t.token_ref = r.token_ref
  RETURNING id`;

export const switchRepo = {
  async tokenByFingerprint(sql: Sql, fingerprint: Buffer): Promise<SwitchTokenRow | undefined> {
    const { rows } = await sql.query<SwitchTokenRow>(
      `SELECT token_ref, brand, status, domains, cvn, psn, token_exp_month, token_exp_year, issuer_id, pan_encrypted, card_exp_month, card_exp_year,
              token_requestor_id, device_id
         FROM network.tokens WHERE token_fingerprint = $1`,
      [fingerprint],
    );
    return rows[0];
  },

  async tokenFingerprintOf(sql: Sql, tokenRef: string): Promise<Buffer | undefined> {
    const { rows } = await sql.query<{ token_fingerprint: Buffer }>('SELECT token_fingerprint FROM network.tokens WHERE token_ref = $1', [tokenRef]);
    return rows[0] ? Buffer.from(rows[0].token_fingerprint) : undefined;
  },

  async tokenGate(sql: Sql, tokenRef: string): Promise<{ status: TokenStatus; atc_high_water: number } | undefined> {
    const { rows } = await sql.query<{ status: TokenStatus; atc_high_water: number }>(
      'SELECT t.status, COALESCE(a.atc_high_water, 0) AS atc_high_water FROM network.tokens t LEFT JOIN network.token_atc a ON a.token_ref = t.token_ref WHERE t.token_ref = $1',
      [tokenRef],
    );
    return rows[0];
  },

  /**
   * One statement, atomic and race-free: advances the token's ATC (only upwards, only while the token is
   * active in the database) and records the authorization as pending. `atc` null (no chip cryptogram)
   * checks the status alone. 'not_advanced': replayed/lower ATC or a token no longer active;
   * 'duplicate': an authorization with this transmission key exists (nothing was changed).
   */
  async admit(sql: Sql, a: NewAuthorization): Promise<'admitted' | 'not_advanced' | 'duplicate'> {
    try {
      // admitMany's statement with one row: a batch of one and a batch of many run the same SQL.
      return (await switchRepo.admitMany(sql, [a]))[0]!;
    } catch (err) {
      if (isUniqueViolation(err, 'authorizations_transmission_unique')) return 'duplicate';
      throw err;
    }
  },

  /**
   * admit for many authorizations in one statement (see infra/db/batcher.ts), for each 'admitted' or
   * 'not_advanced'. No two may carry one token (its ATC row would be written twice: the batcher's key
   * keeps them apart); tokens are locked in token_ref order, so two batches wait for each other rather
   * than deadlock (and if a deadlock came, the batcher would admit each alone). A duplicate transmission
   * key fails the whole statement (nothing written): the batcher then admits each alone, and `admit`
   * tells which one is the duplicate.
   */
  async admitMany(sql: Sql, items: NewAuthorization[]): Promise<('admitted' | 'not_advanced')[]> {
    const { rows } = await sql.query<{ id: string }>(ADMIT_MANY, insertColumnsOf(items));
    const admitted = new Set(rows.map((r) => r.id));
    return items.map((a) => (admitted.has(a.id) ? 'admitted' : 'not_advanced'));
  },

  /** Records an authorization the network answered itself; false when its transmission key exists already. */
  async insertAnswered(
    sql: Sql,
    a: NewAuthorization,
    r: { status: 'approved' | 'declined' | 'timed_out'; responseCode: string; authCode: string | null; declineReason: string | null; latencyMs: number; completedAt: Date },
  ): Promise<boolean> {
    const { rows } = await sql.query<{ id: string }>(
      `INSERT INTO network.authorizations (${INSERT_COLUMNS}, status, response_code, auth_code, decline_reason, latency_ms, completed_at)
       VALUES (${INSERT_PLACEHOLDERS}, $21, $22, $23, $24, $25, $26)
       ON CONFLICT ON CONSTRAINT authorizations_transmission_unique DO NOTHING
       RETURNING id`,
      [...insertValues(a), r.status, r.responseCode, r.authCode, r.declineReason, r.latencyMs, r.completedAt],
    );
    return rows.length === 1;
  },

  /**
   * As insertAnswered, with the authorization's outbox event written by the same statement when the row is
   * inserted (the hot path: one round trip, atomic as a transaction). The event row is exactly what
   * infra/outbox.ts's `enqueue` writes.
   */
  async insertAnsweredWithEvent(
    sql: Sql,
    a: NewAuthorization,
    r: { status: 'approved' | 'declined' | 'timed_out'; responseCode: string; authCode: string | null; declineReason: string | null; latencyMs: number; completedAt: Date },
    event: OutboxRow,
  ): Promise<boolean> {
    const { rows } = await sql.query<{ event_id: string }>(
      `WITH a AS (
         INSERT INTO network.authorizations (${INSERT_COLUMNS}, status, response_code, auth_code, decline_reason, latency_ms, completed_at)
         VALUES (${INSERT_PLACEHOLDERS}, $21, $22, $23, $24, $25, $26)
         ON CONFLICT ON CONSTRAINT authorizations_transmission_unique DO NOTHING
         RETURNING id)
       INSERT INTO infra.outbox (event_id, topic, aggregate_id, payload)
       SELECT $27, $28, $29, $30::jsonb FROM a
       ON CONFLICT (event_id) DO NOTHING
       RETURNING event_id`,
      [...insertValues(a), r.status, r.responseCode, r.authCode, r.declineReason, r.latencyMs, r.completedAt, event.eventId, event.topic, event.aggregateId, JSON.stringify(event.payload)],
    );
    return rows.length === 1;
  },

  /**
   * The token's authorizations declined for one of `reasons` since its last admitted one (an ATC advanced:
   * a replay refused for its ATC is no admission), the failures in a row the lock-out counts.
   */
  async cryptogramFailuresSinceAdmitted(sql: Sql, tokenRef: string, reasons: string[]): Promise<number> {
    const { rows } = await sql.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM network.authorizations
        WHERE token_ref = $1 AND decline_reason = ANY($2::text[])
          AND created_at > coalesce((SELECT max(created_at) FROM network.authorizations
                                      WHERE token_ref = $1 AND atc IS NOT NULL AND decline_reason IS DISTINCT FROM 'atc_replayed'
                                        AND decline_reason IS DISTINCT FROM 'atc_lower'), '-infinity')`,
      [tokenRef, reasons],
    );
    return rows[0]!.n;
  },

  async countAtcRejection(sql: Sql, tokenRef: string): Promise<number> {
    const { rows } = await sql.query<{ atc_rejections: number }>(
      'UPDATE network.tokens SET atc_rejections = atc_rejections + 1 WHERE token_ref = $1 RETURNING atc_rejections',
      [tokenRef],
    );
    return rows[0]?.atc_rejections ?? 0;
  },

  /** Records the answer of a pending authorization; undefined when it is no longer pending (reversed, or swept as stale). */
  async complete(
    sql: Sql,
    id: string,
    r: { status: 'approved' | 'declined' | 'timed_out'; responseCode: string; authCode: string | null; declineReason: string | null; latencyMs: number; completedAt: Date },
  ): Promise<AuthorizationRow | undefined> {
    const { rows } = await sql.query<AuthorizationRow>(
      `UPDATE network.authorizations SET status = $2, response_code = $3, auth_code = $4, decline_reason = $5, latency_ms = $6, completed_at = $7
        WHERE id = $1 AND status = 'pending'
       RETURNING ${AUTH_COLUMNS}`,
      [id, r.status, r.responseCode, r.authCode, r.declineReason, r.latencyMs, r.completedAt],
    );
    return rows[0];
  },

  /** As complete, with the outbox event written by the same statement (the hot path: one round trip); false when no longer pending. */
  async completeWithEvent(
    sql: Sql,
    id: string,
    r: { status: 'approved' | 'declined' | 'timed_out'; responseCode: string; authCode: string | null; declineReason: string | null; latencyMs: number; completedAt: Date },
    event: OutboxRow,
  ): Promise<boolean> {
    const { rows } = await sql.query<{ event_id: string }>(
      `WITH u AS (
         UPDATE network.authorizations SET status = $2, response_code = $3, auth_code = $4, decline_reason = $5, latency_ms = $6, completed_at = $7
          WHERE id = $1 AND status = 'pending'
         RETURNING id)
       INSERT INTO infra.outbox (event_id, topic, aggregate_id, payload)
       SELECT $8, $9, $10, $11::jsonb FROM u
       ON CONFLICT (event_id) DO NOTHING
       RETURNING event_id`,
      [id, r.status, r.responseCode, r.authCode, r.declineReason, r.latencyMs, r.completedAt, event.eventId, event.topic, event.aggregateId, JSON.stringify(event.payload)],
    );
    return rows.length === 1;
  },

  /** completeWithEvent for many authorizations in one statement (see infra/db/batcher.ts): for each, whether its event was written. */
  async completeManyWithEvents(
    sql: Sql,
    items: { id: string; result: { status: 'approved' | 'declined' | 'timed_out'; responseCode: string; authCode: string | null; declineReason: string | null; latencyMs: number; completedAt: Date }; event: OutboxRow }[],
  ): Promise<boolean[]> {
    const { rows } = await sql.query<{ event_id: string }>(
      `WITH i AS (
         SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::int[], $7::text[], $8::text[], $9::text[], $10::text[], $11::text[])
           AS i (id, status, response_code, auth_code, decline_reason, latency_ms, completed_at, event_id, topic, aggregate_id, payload)),
       u AS (
         UPDATE network.authorizations a
            SET status = i.status, response_code = i.response_code, auth_code = i.auth_code, decline_reason = i.decline_reason,
                latency_ms = i.latency_ms, completed_at = i.completed_at::timestamptz
           FROM i WHERE a.id = i.id AND a.status = 'pending'
         RETURNING a.id)
       INSERT INTO infra.outbox (event_id, topic, aggregate_id, payload)
       SELECT i.event_id, i.topic, i.aggregate_id, i.payload::jsonb FROM i JOIN u ON u.id = i.id
       ON CONFLICT (event_id) DO NOTHING
       RETURNING event_id`,
      [
        items.map((x) => x.id),
        items.map((x) => x.result.status),
        items.map((x) => x.result.responseCode),
        items.map((x) => x.result.authCode),
        items.map((x) => x.result.declineReason),
        items.map((x) => x.result.latencyMs),
        items.map((x) => x.result.completedAt.toISOString()),
        items.map((x) => x.event.eventId),
        items.map((x) => x.event.topic),
        items.map((x) => x.event.aggregateId),
        items.map((x) => JSON.stringify(x.event.payload)),
      ],
    );
    const written = new Set(rows.map((r) => r.event_id));
    return items.map((x) => written.has(x.event.eventId));
  },

  async authorizationByKey(sql: Sql, k: TransmissionKey): Promise<AuthorizationRow | undefined> {
    const { rows } = await sql.query<AuthorizationRow>(
      `SELECT ${AUTH_COLUMNS} FROM network.authorizations WHERE acquirer_id = $1 AND stan = $2 AND transmitted = $3 AND terminal_id = $4`,
      [k.acquirerId, k.stan, k.transmitted, k.terminalId],
    );
    return rows[0];
  },

  /** The original of a reversal: by its transmission (DE 90's STAN and DE 7), narrowed by DE 41 when given. */
  async authorizationsByTransmission(sql: Sql, acquirerId: string, stan: string, transmitted: string, terminalId: string | null): Promise<AuthorizationRow[]> {
    const { rows } = await sql.query<AuthorizationRow>(
      `SELECT ${AUTH_COLUMNS} FROM network.authorizations
        WHERE acquirer_id = $1 AND stan = $2 AND transmitted = $3 AND ($4::text IS NULL OR terminal_id = $4::text) LIMIT 2`,
      [acquirerId, stan, transmitted, terminalId],
    );
    return rows;
  },

  async authorizationsByRrn(sql: Sql, acquirerId: string, rrn: string): Promise<AuthorizationRow[]> {
    const { rows } = await sql.query<AuthorizationRow>(`SELECT ${AUTH_COLUMNS} FROM network.authorizations WHERE acquirer_id = $1 AND rrn = $2 LIMIT 2`, [
      acquirerId,
      rrn,
    ]);
    return rows;
  },

  /** The authorization, locked for the rest of the caller's transaction. */
  async lockAuthorization(sql: Sql, id: string): Promise<AuthorizationRow | undefined> {
    const { rows } = await sql.query<AuthorizationRow>(`SELECT ${AUTH_COLUMNS} FROM network.authorizations WHERE id = $1 FOR UPDATE`, [id]);
    return rows[0];
  },

  /** approved / pending / timed_out → reversed (once: false when it was in no such state). */
  async setReversed(sql: Sql, id: string, at: Date): Promise<boolean> {
    const { rowCount } = await sql.query(
      `UPDATE network.authorizations SET status = 'reversed', reversed_at = $2 WHERE id = $1 AND status IN ('approved', 'pending', 'timed_out')`,
      [id, at],
    );
    return rowCount === 1;
  },

  /** pending → timed_out with DE 39 91 (a process that stopped mid-flight); false when it was answered meanwhile. */
  async expirePending(sql: Sql, id: string, at: Date): Promise<boolean> {
    const { rowCount } = await sql.query(
      `UPDATE network.authorizations SET status = 'timed_out', response_code = '91', decline_reason = 'stale', completed_at = $2
        WHERE id = $1 AND status = 'pending'`,
      [id, at],
    );
    return rowCount === 1;
  },

  /** Pending authorizations older than `cutoff`: their process died or stalled with the issuer. */
  async stalePending(sql: Sql, cutoff: Date, limit: number): Promise<AuthorizationRow[]> {
    const { rows } = await sql.query<AuthorizationRow>(
      `SELECT ${AUTH_COLUMNS} FROM network.authorizations WHERE status = 'pending' AND created_at < $1 ORDER BY created_at LIMIT $2`,
      [cutoff, limit],
    );
    return rows;
  },

  async nextStan(sql: Sql): Promise<string> {
    const { rows } = await sql.query<{ n: string }>("SELECT nextval('network.stan_seq')::text AS n");
    return String(Number(rows[0]!.n) % 1_000_000).padStart(6, '0');
  },

  /** Records a reversal owed to the issuer; false when the authorization has one already. */
  async insertReversal(sql: Sql, r: NewIssuerReversal): Promise<boolean> {
    const { rows } = await sql.query<{ id: string }>(
      `INSERT INTO network.issuer_reversals (id, authorization_id, token_ref, brand, issuer_id, reason, mti, stan, message, attempts, next_attempt_at, created_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
       ON CONFLICT ON CONSTRAINT issuer_reversals_one_per_authorization DO NOTHING
       RETURNING id`,
      [r.id, r.authorizationId, r.tokenRef, r.brand, r.issuerId, r.reason, r.mti, r.stan, Buffer.from(r.message), r.attempts, r.nextAttemptAt, r.createdAt],
    );
    return rows.length === 1;
  },

  /**
   * Claims due reversals: each one's next attempt moves past `lease(attempts)` before it is sent, so no
   * two workers send it at once (SKIP LOCKED), and a crashed sender's claim simply expires.
   */
  async claimDueReversals(sql: Sql, now: Date, leaseUntil: (attempts: number) => Date, limit: number): Promise<ClaimedIssuerReversal[]> {
    const { rows } = await sql.query<{ id: string; attempts: number }>(
      `SELECT id, attempts FROM network.issuer_reversals WHERE status = 'pending' AND next_attempt_at <= $1
        ORDER BY next_attempt_at LIMIT $2 FOR UPDATE SKIP LOCKED`,
      [now, limit],
    );
    if (rows.length === 0) return [];
    for (const r of rows) {
      await sql.query('UPDATE network.issuer_reversals SET attempts = attempts + 1, next_attempt_at = $2 WHERE id = $1', [r.id, leaseUntil(r.attempts + 1)]);
    }
    const claimed = await sql.query<ClaimedIssuerReversal>(
      `SELECT r.id, r.authorization_id, r.token_ref, r.brand, r.issuer_id, r.mti, r.stan, r.message, r.attempts, t.pan_encrypted
         FROM network.issuer_reversals r JOIN network.tokens t ON t.token_ref = r.token_ref
        WHERE r.id = ANY($1::text[]) ORDER BY r.next_attempt_at`,
      [rows.map((r) => r.id)],
    );
    return claimed.rows;
  },

  /** The reversal (just recorded by this process) with what sending it needs. */
  async reversalToSend(sql: Sql, id: string): Promise<ClaimedIssuerReversal | undefined> {
    const { rows } = await sql.query<ClaimedIssuerReversal>(
      `SELECT r.id, r.authorization_id, r.token_ref, r.brand, r.issuer_id, r.mti, r.stan, r.message, r.attempts, t.pan_encrypted
         FROM network.issuer_reversals r JOIN network.tokens t ON t.token_ref = r.token_ref
        WHERE r.id = $1 AND r.status = 'pending'`,
      [id],
    );
    return rows[0];
  },

  async acknowledgeReversal(sql: Sql, id: string, responseCode: string, at: Date): Promise<boolean> {
    const { rowCount } = await sql.query(
      `UPDATE network.issuer_reversals SET status = 'acknowledged', response_code = $2, acknowledged_at = $3, last_error = NULL WHERE id = $1 AND status = 'pending'`,
      [id, responseCode, at],
    );
    return rowCount === 1;
  },

  /** Records a failed attempt; after `maxAttempts` attempts the reversal is `failed` (the operator's). */
  async reversalAttemptFailed(sql: Sql, id: string, error: string, maxAttempts: number): Promise<'pending' | 'failed' | undefined> {
    const { rows } = await sql.query<{ status: 'pending' | 'failed' }>(
      `UPDATE network.issuer_reversals SET last_error = $2, status = CASE WHEN attempts >= $3 THEN 'failed' ELSE 'pending' END
        WHERE id = $1 AND status = 'pending' RETURNING status`,
      [id, error.slice(0, 200), maxAttempts],
    );
    return rows[0]?.status;
  },
};

// ---- Operations console (read only) ----

/** Tokens of a brand by status. */
export async function tokenCountsByStatus(sql: Sql, brand: Brand): Promise<Record<TokenStatus, number>> {
  const { rows } = await sql.query<{ status: TokenStatus; n: number }>('SELECT status, count(*)::int AS n FROM network.tokens WHERE brand = $1 GROUP BY status', [brand]);
  const out: Record<TokenStatus, number> = { inactive: 0, active: 0, suspended: 0, deleted: 0 };
  for (const r of rows) out[r.status] = r.n;
  return out;
}

export interface AuthorizationListRow {
  id: string;
  acquirer_id: string;
  stan: string;
  transmitted: string;
  terminal_id: string;
  token_ref: string | null;
  amount: string;
  currency: string;
  rrn: string | null;
  merchant_name: string | null;
  response_code: string | null;
  auth_code: string | null;
  issuer_id: string | null;
  status: string;
  decline_reason: string | null;
  latency_ms: number | null;
  atc: number | null;
  created_at: Date;
}

/** The switch's authorizations of a brand, newest first (cursor pages). */
export async function listSwitchAuthorizations(sql: Sql, brand: Brand, page: PageParams): Promise<Page<AuthorizationListRow>> {
  return paginate<AuthorizationListRow>(
    sql,
    `SELECT id, acquirer_id, stan, transmitted, terminal_id, token_ref, amount::text AS amount, currency, rrn, merchant_name, response_code, auth_code,
            issuer_id, status, decline_reason, latency_ms, atc, created_at
       FROM network.authorizations WHERE brand = $1`,
    [brand],
    page,
  );
}

export interface TokenSearchRow {
  token_ref: string;
  brand: Brand;
  token_last4: string;
  card_last4: string;
  token_exp_month: number;
  token_exp_year: number;
  status: TokenStatus;
  idv: Idv;
  issuer_id: string;
  device_id: string;
  device_kind: string;
  token_requestor_id: string;
  domains: string[];
  atc_high_water: number;
  created_at: Date;
}

/** Tokens of a brand by token reference or by the last four digits of the token or the card (at most 50). */
export async function searchTokens(sql: Sql, brand: Brand, q: { tokenRef?: string | undefined; last4?: string | undefined }): Promise<TokenSearchRow[]> {
  const { rows } = await sql.query<TokenSearchRow>(
    `SELECT token_ref, brand, token_last4, card_last4, token_exp_month, token_exp_year, status, idv, issuer_id, device_id, device_kind,
            token_requestor_id, domains, COALESCE((SELECT a.atc_high_water FROM network.token_atc a WHERE a.token_ref = t.token_ref), 0) AS atc_high_water, created_at
       FROM network.tokens t
      WHERE brand = $1 AND ($2::text IS NULL OR token_ref = $2) AND ($3::text IS NULL OR token_last4 = $3 OR card_last4 = $3)
      ORDER BY created_at DESC LIMIT 50`,
    [brand, q.tokenRef ?? null, q.last4 ?? null],
  );
  return rows;
}

/** The issuers' outbox events taken (flow 4): an event id recorded with its change is never applied twice. */
export const issuerEventRepo = {
  /** True when this event is new (recorded now, in the caller's transaction); false for a redelivery. */
  async claim(sql: Sql, e: { eventId: string; issuerId: string; kind: 'pan_update' | 'card_lifecycle' }): Promise<boolean> {
    const { rowCount } = await sql.query('INSERT INTO network.issuer_events (event_id, issuer_id, kind) VALUES ($1, $2, $3) ON CONFLICT (event_id) DO NOTHING', [e.eventId, e.issuerId, e.kind]);
    return rowCount === 1;
  },
};

/** Refunds through the switch (src/network/refunds.ts). */
export interface NetworkRefundRow {
  id: string;
  authorization_id: string;
  status: 'pending' | 'approved' | 'declined';
  response_code: string | null;
  auth_code: string | null;
}

export interface RefundOriginalRow {
  id: string;
  token_ref: string | null;
  amount: string;
  currency: string;
  status: string;
  stan: string;
  transmitted: string;
  acquiring_institution: string | null;
  merchant_name: string | null;
  mcc: string | null;
  pos_entry_mode: string | null;
  issuer_id: string | null;
  created_at: Date;
  refunded: string;
}

export const refundRepo = {
  async byTransmission(sql: Sql, k: { acquirerId: string; stan: string; transmitted: string; terminalId: string }): Promise<NetworkRefundRow | undefined> {
    const { rows } = await sql.query<NetworkRefundRow>(
      'SELECT id, authorization_id, status, response_code, auth_code FROM network.refunds WHERE acquirer_id = $1 AND stan = $2 AND transmitted = $3 AND terminal_id = $4',
      [k.acquirerId, k.stan, k.transmitted, k.terminalId],
    );
    return rows[0];
  },
  /** The authorization a refund names (same acquirer and terminal), with what its approved refunds add up to. */
  async original(sql: Sql, k: { acquirerId: string; stan: string; transmitted: string; terminalId: string }): Promise<RefundOriginalRow | undefined> {
    const { rows } = await sql.query<RefundOriginalRow>(
      `SELECT a.id, a.token_ref, a.amount::text AS amount, a.currency, a.status, a.stan, a.transmitted, a.acquiring_institution, a.merchant_name, a.mcc, a.pos_entry_mode, a.issuer_id, a.created_at,
              coalesce((SELECT sum(r.amount) FROM network.refunds r WHERE r.authorization_id = a.id AND r.status <> 'declined'), 0)::text AS refunded
         FROM network.authorizations a WHERE a.acquirer_id = $1 AND a.stan = $2 AND a.transmitted = $3 AND a.terminal_id = $4`,
      [k.acquirerId, k.stan, k.transmitted, k.terminalId],
    );
    return rows[0];
  },
  async lockAuthorization(sql: Sql, id: string): Promise<void> {
    await sql.query('SELECT 1 FROM network.authorizations WHERE id = $1 FOR UPDATE', [id]);
  },
  /** False when the same transmission was recorded first by another request. */
  async insert(sql: Sql, r: { id: string; acquirerId: string; stan: string; transmitted: string; terminalId: string; authorizationId: string; tokenRef: string; brand: string; issuerId: string; amount: number; currency: string }): Promise<boolean> {
    const { rowCount } = await sql.query(
      `INSERT INTO network.refunds (id, acquirer_id, stan, transmitted, terminal_id, authorization_id, token_ref, brand, issuer_id, amount, currency)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT (acquirer_id, stan, transmitted, terminal_id) DO NOTHING`,
      [r.id, r.acquirerId, r.stan, r.transmitted, r.terminalId, r.authorizationId, r.tokenRef, r.brand, r.issuerId, r.amount, r.currency],
    );
    return rowCount === 1;
  },
  async complete(sql: Sql, id: string, a: { status: 'approved' | 'declined'; responseCode: string; authCode: string | null }): Promise<boolean> {
    const { rowCount } = await sql.query(`UPDATE network.refunds SET status = $2, response_code = $3, auth_code = $4, completed_at = now() WHERE id = $1 AND status = 'pending'`, [id, a.status, a.responseCode, a.authCode]);
    return rowCount === 1;
  },
};

/** Token key refresh (src/network/key-refresh.ts). */
export const keyRefreshRepo = {
  /** New PSN (and token number); only from the PSN the refresh was prepared for. False: someone else changed it first. */
  async refresh(sql: Sql, tokenRef: string, r: { fromPsn: string; psn: string; tokenPan?: { encrypted: Buffer; fingerprint: Buffer; last4: string } | undefined }): Promise<boolean> {
    const changed = r.tokenPan
      ? (await sql.query(
          // A new token number starts its ATC again (its cards' ATCs count from 0 under the new key).
          `WITH r AS (
             UPDATE network.tokens SET psn = $3, token_pan_encrypted = $4, token_fingerprint = $5, token_last4 = $6,
                    key_version = key_version + 1, keys_refreshed_at = now(), updated_at = now()
              WHERE token_ref = $1 AND psn = $2 AND status IN ('active', 'suspended')
             RETURNING token_ref),
           z AS (DELETE FROM network.token_atc a USING r WHERE a.token_ref = r.token_ref)
           SELECT token_ref FROM r`,
          [tokenRef, r.fromPsn, r.psn, r.tokenPan.encrypted, r.tokenPan.fingerprint, r.tokenPan.last4],
        )).rows.length
      : (
          await sql.query(
            `UPDATE network.tokens SET psn = $3, key_version = key_version + 1, keys_refreshed_at = now(), updated_at = now()
              WHERE token_ref = $1 AND psn = $2 AND status IN ('active', 'suspended')`,
            [tokenRef, r.fromPsn, r.psn],
          )
        ).rowCount;
    return changed === 1;
  },
};
