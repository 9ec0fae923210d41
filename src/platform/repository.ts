import type { Sql } from '../infra/db/database.js';

export interface UserRow {
  id: string;
  email: string;
  name: string;
  password_hash: string;
  created_at: Date;
}

export interface SessionRow {
  id: string;
  user_id: string;
  device_id: string | null;
  expires_at: Date;
  revoked_at: Date | null;
  device_status: string | null;
}

/** The only place the wallet platform's SQL lives. */
export const platformRepo = {
  async insertUser(sql: Sql, u: { id: string; email: string; name: string; passwordHash: string }): Promise<UserRow> {
    const { rows } = await sql.query<UserRow>(
      'INSERT INTO platform.users (id, email, name, password_hash) VALUES ($1, $2, $3, $4) RETURNING id, email, name, password_hash, created_at',
      [u.id, u.email, u.name, u.passwordHash],
    );
    return rows[0]!;
  },

  async userByEmail(sql: Sql, email: string): Promise<UserRow | undefined> {
    const { rows } = await sql.query<UserRow>('SELECT id, email, name, password_hash, created_at FROM platform.users WHERE email = $1', [email]);
    return rows[0];
  },

  async userById(sql: Sql, id: string): Promise<UserRow | undefined> {
    const { rows } = await sql.query<UserRow>('SELECT id, email, name, password_hash, created_at FROM platform.users WHERE id = $1', [id]);
    return rows[0];
  },

  async insertSession(sql: Sql, s: { id: string; userId: string; deviceId: string | null; secretHash: Buffer; ttlSeconds: number }): Promise<{ expires_at: Date }> {
    const { rows } = await sql.query<{ expires_at: Date }>(
      `INSERT INTO platform.sessions (id, user_id, device_id, secret_hash, expires_at)
       VALUES ($1, $2, $3, $4, now() + make_interval(secs => $5)) RETURNING expires_at`,
      [s.id, s.userId, s.deviceId, s.secretHash, s.ttlSeconds],
    );
    return rows[0]!;
  },

  async sessionBySecretHash(sql: Sql, hash: Buffer): Promise<SessionRow | undefined> {
    const { rows } = await sql.query<SessionRow>(
      `SELECT s.id, s.user_id, s.device_id, s.expires_at, s.revoked_at, d.status AS device_status
         FROM platform.sessions s LEFT JOIN platform.devices d ON d.id = s.device_id
        WHERE s.secret_hash = $1`,
      [hash],
    );
    return rows[0];
  },

  async revokeSession(sql: Sql, id: string): Promise<void> {
    await sql.query('UPDATE platform.sessions SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL', [id]);
  },

  async deviceOwnedBy(sql: Sql, deviceId: string, userId: string): Promise<{ id: string; status: string } | undefined> {
    const { rows } = await sql.query<{ id: string; status: string }>('SELECT id, status FROM platform.devices WHERE id = $1 AND user_id = $2', [deviceId, userId]);
    return rows[0];
  },
};
