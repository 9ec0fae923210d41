import type { Sql } from '../../infra/db/database.js';
import { paginate, type Page, type PageParams } from '../../infra/http/pagination.js';

export interface MerchantRow {
  id: string;
  merchant_identifier: string;
  team_id: string;
  display_name: string;
  status: 'active' | 'disabled';
  created_at: Date;
}

export interface DomainRow {
  id: string;
  merchant_id: string;
  domain: string;
  association: string;
  status: 'pending' | 'verified';
  verified_at: Date | null;
  last_checked_at: Date | null;
  last_failure: string | null;
  created_at: Date;
}

export interface SessionRow {
  id: string;
  merchant_id: string;
  merchant_identifier: string;
  identity_certificate_id: string;
  initiative: 'web' | 'in_app';
  initiative_context: string;
  domain_name: string;
  display_name: string;
  nonce: string;
  issued_at: Date;
  expires_at: Date;
  used_at: Date | null;
}

export interface IdentityCertificateRow {
  id: string;
  merchant_identifier: string;
  kind: 'processing' | 'identity';
  status: 'active' | 'revoked';
  certificate_pem: string;
  not_before: Date;
  not_after: Date;
}

const MERCHANT_COLUMNS = 'id, merchant_identifier, team_id, display_name, status, created_at';
const DOMAIN_COLUMNS = 'id, merchant_id, domain, association, status, verified_at, last_checked_at, last_failure, created_at';
const SESSION_COLUMNS =
  's.id, s.merchant_id, m.merchant_identifier, s.identity_certificate_id, s.initiative, s.initiative_context, s.domain_name, s.display_name, s.nonce, s.issued_at, s.expires_at, s.used_at';

/** The only place the merchant registry's SQL lives. */
export const merchantRepo = {
  async insertMerchant(sql: Sql, m: Omit<MerchantRow, 'status' | 'created_at'>): Promise<MerchantRow> {
    const { rows } = await sql.query<MerchantRow>(
      `INSERT INTO platform.merchants (id, merchant_identifier, team_id, display_name) VALUES ($1, $2, $3, $4) RETURNING ${MERCHANT_COLUMNS}`,
      [m.id, m.merchant_identifier, m.team_id, m.display_name],
    );
    return rows[0]!;
  },

  async merchantById(sql: Sql, id: string): Promise<MerchantRow | undefined> {
    const { rows } = await sql.query<MerchantRow>(`SELECT ${MERCHANT_COLUMNS} FROM platform.merchants WHERE id = $1`, [id]);
    return rows[0];
  },

  async merchantByIdentifier(sql: Sql, merchantIdentifier: string): Promise<MerchantRow | undefined> {
    const { rows } = await sql.query<MerchantRow>(`SELECT ${MERCHANT_COLUMNS} FROM platform.merchants WHERE merchant_identifier = $1`, [merchantIdentifier]);
    return rows[0];
  },

  listMerchants(sql: Sql, page: PageParams): Promise<Page<MerchantRow>> {
    return paginate<MerchantRow>(sql, `SELECT ${MERCHANT_COLUMNS} FROM platform.merchants WHERE true`, [], page);
  },

  async updateMerchant(sql: Sql, id: string, displayName: string): Promise<MerchantRow | undefined> {
    const { rows } = await sql.query<MerchantRow>(`UPDATE platform.merchants SET display_name = $2 WHERE id = $1 RETURNING ${MERCHANT_COLUMNS}`, [id, displayName]);
    return rows[0];
  },

  async insertDomain(sql: Sql, d: { id: string; merchant_id: string; domain: string; association: string }): Promise<DomainRow> {
    const { rows } = await sql.query<DomainRow>(
      `INSERT INTO platform.merchant_domains (id, merchant_id, domain, association) VALUES ($1, $2, $3, $4) RETURNING ${DOMAIN_COLUMNS}`,
      [d.id, d.merchant_id, d.domain, d.association],
    );
    return rows[0]!;
  },

  async domains(sql: Sql, merchantId: string): Promise<DomainRow[]> {
    const { rows } = await sql.query<DomainRow>(`SELECT ${DOMAIN_COLUMNS} FROM platform.merchant_domains WHERE merchant_id = $1 ORDER BY id DESC`, [merchantId]);
    return rows;
  },

  async domain(sql: Sql, merchantId: string, domainId: string): Promise<DomainRow | undefined> {
    const { rows } = await sql.query<DomainRow>(`SELECT ${DOMAIN_COLUMNS} FROM platform.merchant_domains WHERE merchant_id = $1 AND id = $2`, [merchantId, domainId]);
    return rows[0];
  },

  async verifiedDomain(sql: Sql, merchantId: string, domain: string): Promise<DomainRow | undefined> {
    const { rows } = await sql.query<DomainRow>(
      `SELECT ${DOMAIN_COLUMNS} FROM platform.merchant_domains WHERE merchant_id = $1 AND domain = $2 AND status = 'verified'`,
      [merchantId, domain],
    );
    return rows[0];
  },

  async recordCheck(sql: Sql, domainId: string, at: Date, failure: string | null): Promise<DomainRow | undefined> {
    // A failed re-check leaves an earlier verification in place: a web server briefly down does not
    // take the merchant's checkout away; deleting the domain does.
    const { rows } = await sql.query<DomainRow>(
      `UPDATE platform.merchant_domains
          SET last_checked_at = $2, last_failure = $3,
              status = CASE WHEN $3::text IS NULL THEN 'verified' ELSE status END,
              verified_at = CASE WHEN $3::text IS NULL THEN coalesce(verified_at, $2) ELSE verified_at END
        WHERE id = $1 RETURNING ${DOMAIN_COLUMNS}`,
      [domainId, at, failure],
    );
    return rows[0];
  },

  async deleteDomain(sql: Sql, merchantId: string, domainId: string): Promise<boolean> {
    const { rowCount } = await sql.query('DELETE FROM platform.merchant_domains WHERE merchant_id = $1 AND id = $2', [merchantId, domainId]);
    return rowCount === 1;
  },

  /** A certificate of this platform by serial (lower-case hex); the caller compares the DER too. */
  async certificateBySerial(sql: Sql, serial: string): Promise<IdentityCertificateRow[]> {
    const { rows } = await sql.query<IdentityCertificateRow>(
      'SELECT id, merchant_identifier, kind, status, certificate_pem, not_before, not_after FROM platform.merchant_certificates WHERE serial = $1',
      [serial],
    );
    return rows;
  },

  async newestProcessingCertificate(sql: Sql, merchantIdentifier: string, keyType: string | null, at: Date): Promise<string | undefined> {
    const { rows } = await sql.query<{ certificate_pem: string }>(
      `SELECT certificate_pem FROM platform.merchant_certificates
        WHERE merchant_identifier = $1 AND kind = 'processing' AND status = 'active' AND ($2::text IS NULL OR key_type = $2)
          AND not_before <= $3 AND not_after > $3
        ORDER BY created_at DESC, id DESC LIMIT 1`,
      [merchantIdentifier, keyType, at],
    );
    return rows[0]?.certificate_pem;
  },

  async insertSession(sql: Sql, s: Omit<SessionRow, 'used_at' | 'merchant_identifier'>): Promise<void> {
    await sql.query(
      `INSERT INTO platform.merchant_sessions (id, merchant_id, identity_certificate_id, initiative, initiative_context, domain_name, display_name, nonce, issued_at, expires_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
      [s.id, s.merchant_id, s.identity_certificate_id, s.initiative, s.initiative_context, s.domain_name, s.display_name, s.nonce, s.issued_at, s.expires_at],
    );
  },

  /** Marks the session used if it is unused and unexpired at `at`: one statement, so two redeemers cannot both win. */
  async redeemSession(sql: Sql, id: string, at: Date): Promise<SessionRow | undefined> {
    const { rows } = await sql.query<SessionRow>(
      `WITH u AS (
         UPDATE platform.merchant_sessions SET used_at = $2 WHERE id = $1 AND used_at IS NULL AND expires_at > $2 RETURNING *
       )
       SELECT ${SESSION_COLUMNS} FROM u s JOIN platform.merchants m ON m.id = s.merchant_id`,
      [id, at],
    );
    return rows[0];
  },

  async session(sql: Sql, id: string): Promise<SessionRow | undefined> {
    const { rows } = await sql.query<SessionRow>(
      `SELECT ${SESSION_COLUMNS} FROM platform.merchant_sessions s JOIN platform.merchants m ON m.id = s.merchant_id WHERE s.id = $1`,
      [id],
    );
    return rows[0];
  },

  /** Sessions long expired are no use to anyone (their signed expiry refuses them first). */
  async purgeSessions(sql: Sql, before: Date): Promise<void> {
    await sql.query('DELETE FROM platform.merchant_sessions WHERE expires_at < $1', [before]);
  },
};
