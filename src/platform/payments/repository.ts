import type { Sql } from '../../infra/db/database.js';

export interface NonceRow {
  id: string;
  user_id: string;
  device_id: string;
  merchant_session_identifier: string;
  expires_at: Date;
  used_at: Date | null;
}

const COLUMNS = 'id, user_id, device_id, merchant_session_identifier, expires_at, used_at';

/** The one-time nonces of in-app payments (platform.payment_nonces). */
export const paymentRepo = {
  async insertNonce(sql: Sql, n: { id: string; userId: string; deviceId: string; nonce: string; merchantSessionIdentifier: string; expiresAt: Date }): Promise<void> {
    await sql.query(
      `INSERT INTO platform.payment_nonces (id, user_id, device_id, nonce, merchant_session_identifier, expires_at) VALUES ($1, $2, $3, $4, $5, $6)`,
      [n.id, n.userId, n.deviceId, n.nonce, n.merchantSessionIdentifier, n.expiresAt],
    );
  },

  /** The nonce's row, locked for this transaction. */
  async lockNonce(sql: Sql, nonce: string): Promise<NonceRow | undefined> {
    const { rows } = await sql.query<NonceRow>(`SELECT ${COLUMNS} FROM platform.payment_nonces WHERE nonce = $1 FOR UPDATE`, [nonce]);
    return rows[0];
  },

  /** Marks the nonce used by this payment; false when it was used meanwhile. */
  async useNonce(sql: Sql, id: string, p: { at: Date; cardId: string; merchantIdentifier: string; amount: number; currency: string }): Promise<boolean> {
    const r = await sql.query(
      `UPDATE platform.payment_nonces SET used_at = $2, card_id = $3, merchant_identifier = $4, amount = $5, currency = $6
        WHERE id = $1 AND used_at IS NULL`,
      [id, p.at, p.cardId, p.merchantIdentifier, p.amount, p.currency],
    );
    return r.rowCount === 1;
  },
};
