import type { Sql } from '../../infra/db/database.js';

export type AuthorityPurpose = 'payment_root' | 'payment_intermediate' | 'payment_signing_ec' | 'payment_signing_rsa';

export interface AuthorityRow {
  id: string;
  purpose: AuthorityPurpose;
  parent_id: string | null;
  serial: string;
  certificate_pem: string;
  key_wrapped: Buffer;
  kek_id: string;
  active: boolean;
  not_after: Date;
  retired_at: Date | null;
  created_at: Date;
}

export type CertificateKind = 'processing' | 'identity';
export type MerchantKeyType = 'ec_p256' | 'rsa_2048';

export interface MerchantCertificateRow {
  id: string;
  merchant_identifier: string;
  team_id: string;
  kind: CertificateKind;
  key_type: MerchantKeyType;
  public_key_hash: string;
  issuer_id: string;
  serial: string;
  certificate_pem: string;
  not_before: Date;
  not_after: Date;
  status: 'active' | 'revoked';
  revoked_at: Date | null;
  created_at: Date;
}

const AUTHORITY_COLUMNS = 'id, purpose, parent_id, serial, certificate_pem, key_wrapped, kek_id, active, not_after, retired_at, created_at';
const CERT_COLUMNS = 'id, merchant_identifier, team_id, kind, key_type, public_key_hash, issuer_id, serial, certificate_pem, not_before, not_after, status, revoked_at, created_at';

/** The only place the payment PKI's SQL lives. */
export const pkiRepo = {
  async activeAuthority(sql: Sql, purpose: AuthorityPurpose): Promise<AuthorityRow | undefined> {
    const { rows } = await sql.query<AuthorityRow>(`SELECT ${AUTHORITY_COLUMNS} FROM platform.authorities WHERE purpose = $1 AND active`, [purpose]);
    return rows[0];
  },

  async activeAuthorityId(sql: Sql, purpose: AuthorityPurpose): Promise<string | undefined> {
    const { rows } = await sql.query<{ id: string }>('SELECT id FROM platform.authorities WHERE purpose = $1 AND active', [purpose]);
    return rows[0]?.id;
  },

  async authoritiesOf(sql: Sql, purpose: AuthorityPurpose): Promise<AuthorityRow[]> {
    const { rows } = await sql.query<AuthorityRow>(`SELECT ${AUTHORITY_COLUMNS} FROM platform.authorities WHERE purpose = $1 ORDER BY created_at, id`, [purpose]);
    return rows;
  },

  /** Inserts an active authority unless one of its purpose is active already (then nothing happens). */
  async insertAuthorityIfNone(
    sql: Sql,
    a: { id: string; purpose: AuthorityPurpose; parentId: string | null; serial: string; certificatePem: string; keyWrapped: Buffer; kekId: string; notAfter: Date },
  ): Promise<boolean> {
    const { rowCount } = await sql.query(
      `INSERT INTO platform.authorities (id, purpose, parent_id, serial, certificate_pem, key_wrapped, kek_id, not_after)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING`,
      [a.id, a.purpose, a.parentId, a.serial, a.certificatePem, a.keyWrapped, a.kekId, a.notAfter],
    );
    return rowCount === 1;
  },

  async retireActive(sql: Sql, purpose: AuthorityPurpose, at: Date): Promise<string | undefined> {
    const { rows } = await sql.query<{ id: string }>(
      'UPDATE platform.authorities SET active = false, retired_at = $2 WHERE purpose = $1 AND active RETURNING id',
      [purpose, at],
    );
    return rows[0]?.id;
  },

  async insertMerchantCertificate(
    sql: Sql,
    c: Omit<MerchantCertificateRow, 'status' | 'revoked_at' | 'created_at'>,
  ): Promise<MerchantCertificateRow> {
    const { rows } = await sql.query<MerchantCertificateRow>(
      `INSERT INTO platform.merchant_certificates (id, merchant_identifier, team_id, kind, key_type, public_key_hash, issuer_id, serial, certificate_pem, not_before, not_after)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING ${CERT_COLUMNS}`,
      [c.id, c.merchant_identifier, c.team_id, c.kind, c.key_type, c.public_key_hash, c.issuer_id, c.serial, c.certificate_pem, c.not_before, c.not_after],
    );
    return rows[0]!;
  },

  async merchantCertificates(sql: Sql, merchantIdentifier: string): Promise<MerchantCertificateRow[]> {
    const { rows } = await sql.query<MerchantCertificateRow>(
      `SELECT ${CERT_COLUMNS} FROM platform.merchant_certificates WHERE merchant_identifier = $1 ORDER BY created_at DESC, id DESC`,
      [merchantIdentifier],
    );
    return rows;
  },

  async merchantCertificateBySerial(sql: Sql, issuerId: string, serial: string): Promise<MerchantCertificateRow | undefined> {
    const { rows } = await sql.query<MerchantCertificateRow>(`SELECT ${CERT_COLUMNS} FROM platform.merchant_certificates WHERE issuer_id = $1 AND serial = $2`, [issuerId, serial]);
    return rows[0];
  },

  async revokeMerchantCertificate(sql: Sql, merchantIdentifier: string, id: string, at: Date): Promise<MerchantCertificateRow | undefined> {
    const { rows } = await sql.query<MerchantCertificateRow>(
      `UPDATE platform.merchant_certificates SET status = 'revoked', revoked_at = $3
        WHERE id = $1 AND merchant_identifier = $2 AND status = 'active' RETURNING ${CERT_COLUMNS}`,
      [id, merchantIdentifier, at],
    );
    return rows[0];
  },
};
