import type { Sql } from '../infra/db/database.js';
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

  /** Ends an abandoned step-up's verification. */
  async failVerificationOf(sql: Sql, tokenRef: string): Promise<void> {
    await sql.query(`UPDATE network.verifications SET status = 'failed', updated_at = now() WHERE token_ref = $1 AND status = 'pending'`, [tokenRef]);
  },

  async insertToken(sql: Sql, t: NewToken): Promise<void> {
    await sql.query(
      `INSERT INTO network.tokens (token_ref, brand, token_pan_encrypted, token_fingerprint, token_last4, token_exp_month, token_exp_year, psn,
         pan_encrypted, pan_fingerprint, card_last4, card_exp_month, card_exp_year, issuer_id, token_requestor_id, device_id, device_kind,
         se_certificate_pem, wallet_account_id, status, idv, domains, cryptogram_required, cvn)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, 'inactive', 'pending', $20::text[], $21, $22)`,
      [
        t.tokenRef, t.brand, t.tokenPanEncrypted, t.tokenFingerprint, t.tokenLast4, t.tokenExpMonth, t.tokenExpYear, t.psn,
        t.panEncrypted, t.panFingerprint, t.cardLast4, t.cardExpMonth, t.cardExpYear, t.issuerId, t.tokenRequestorId, t.deviceId, t.deviceKind,
        t.seCertificatePem, t.walletAccountId, t.domains, t.cryptogramRequired, t.cvn,
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

  async setVerificationStatus(sql: Sql, id: string, status: 'confirmed' | 'failed'): Promise<void> {
    await sql.query(`UPDATE network.verifications SET status = $2, updated_at = now() WHERE id = $1 AND status = 'pending'`, [id, status]);
  },
};
