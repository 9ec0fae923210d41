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

export interface DeviceRow {
  id: string;
  user_id: string;
  kind: 'phone' | 'watch';
  name: string;
  status: 'active' | 'lost' | 'erased';
  se_certificate_pem: string | null;
  created_at: Date;
}

export interface CardRow {
  id: string;
  user_id: string;
  device_id: string;
  network: string;
  token_ref: string;
  par: string;
  last4: string;
  token_last4: string;
  card_type: string;
  issuer_name: string;
  art_id: string;
  exp_month: number;
  exp_year: number;
  status: string;
  verification_id: string | null;
  verification_methods: unknown;
  created_at: Date;
  status_reason?: string | null;
  suspended_by?: string | null;
}

const DEVICE_COLUMNS = 'id, user_id, kind, name, status, se_certificate_pem, created_at';
const CARD_COLUMNS = 'id, user_id, device_id, network, token_ref, par, last4, token_last4, card_type, issuer_name, art_id, exp_month, exp_year, status, verification_id, verification_methods, created_at';

export const deviceRepo = {
  async insert(sql: Sql, d: { id: string; userId: string; kind: string; name: string; sePublicKey: JsonWebKey; seCertificatePem: string }): Promise<DeviceRow> {
    const { rows } = await sql.query<DeviceRow>(
      `INSERT INTO platform.devices (id, user_id, kind, name, se_public_key, se_certificate_pem) VALUES ($1, $2, $3, $4, $5, $6) RETURNING ${DEVICE_COLUMNS}`,
      [d.id, d.userId, d.kind, d.name, JSON.stringify(d.sePublicKey), d.seCertificatePem],
    );
    return rows[0]!;
  },
  async ownedBy(sql: Sql, id: string, userId: string): Promise<DeviceRow | undefined> {
    const { rows } = await sql.query<DeviceRow>(`SELECT ${DEVICE_COLUMNS} FROM platform.devices WHERE id = $1 AND user_id = $2`, [id, userId]);
    return rows[0];
  },
  async setStatus(sql: Sql, id: string, status: DeviceRow['status']): Promise<DeviceRow> {
    const { rows } = await sql.query<DeviceRow>(`UPDATE platform.devices SET status = $2, status_changed_at = now(), updated_at = now() WHERE id = $1 RETURNING ${DEVICE_COLUMNS}`, [id, status]);
    return rows[0]!;
  },
  /** The secret hashes of the sessions bound to the device (to drop them from the session cache). */
  async sessionHashesOf(sql: Sql, deviceId: string): Promise<Buffer[]> {
    const { rows } = await sql.query<{ secret_hash: Buffer }>('SELECT secret_hash FROM platform.sessions WHERE device_id = $1', [deviceId]);
    return rows.map((r) => Buffer.from(r.secret_hash));
  },
  async revokeSessionsOf(sql: Sql, deviceId: string): Promise<void> {
    await sql.query('UPDATE platform.sessions SET revoked_at = now() WHERE device_id = $1 AND revoked_at IS NULL', [deviceId]);
  },
  async listForUser(sql: Sql, userId: string): Promise<DeviceRow[]> {
    const { rows } = await sql.query<DeviceRow>(`SELECT ${DEVICE_COLUMNS} FROM platform.devices WHERE user_id = $1 ORDER BY id DESC`, [userId]);
    return rows;
  },
};

export const cardRepo = {
  columns: CARD_COLUMNS,
  async insert(sql: Sql, c: Omit<CardRow, 'created_at' | 'verification_methods'> & { verification_methods: unknown }): Promise<CardRow> {
    const { rows } = await sql.query<CardRow>(
      `INSERT INTO platform.cards (id, user_id, device_id, network, token_ref, par, last4, token_last4, card_type, issuer_name, art_id, exp_month, exp_year, status, verification_id, verification_methods)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16) RETURNING ${CARD_COLUMNS}`,
      [c.id, c.user_id, c.device_id, c.network, c.token_ref, c.par, c.last4, c.token_last4, c.card_type, c.issuer_name, c.art_id, c.exp_month, c.exp_year, c.status, c.verification_id, JSON.stringify(c.verification_methods ?? null)],
    );
    return rows[0]!;
  },
  async byTokenRef(sql: Sql, network: string, tokenRef: string): Promise<CardRow | undefined> {
    const { rows } = await sql.query<CardRow>(`SELECT ${CARD_COLUMNS} FROM platform.cards WHERE network = $1 AND token_ref = $2`, [network, tokenRef]);
    return rows[0];
  },
  async ownedBy(sql: Sql, id: string, userId: string): Promise<CardRow | undefined> {
    const { rows } = await sql.query<CardRow>(`SELECT ${CARD_COLUMNS} FROM platform.cards WHERE id = $1 AND user_id = $2`, [id, userId]);
    return rows[0];
  },
  async setStatus(sql: Sql, id: string, status: string): Promise<CardRow> {
    const { rows } = await sql.query<CardRow>(`UPDATE platform.cards SET status = $2, updated_at = now() WHERE id = $1 RETURNING ${CARD_COLUMNS}`, [id, status]);
    return rows[0]!;
  },
  /** The live (non-deleted) cards on a device. */
  async liveOnDevice(sql: Sql, deviceId: string): Promise<CardRow[]> {
    const { rows } = await sql.query<CardRow>(`SELECT ${CARD_COLUMNS}, status_reason, suspended_by FROM platform.cards WHERE device_id = $1 AND status <> 'deleted' ORDER BY id`, [deviceId]);
    return rows;
  },
  async lifecycleOf(sql: Sql, id: string): Promise<{ status_reason: string | null; suspended_by: string | null; network_status_at: Date | null } | undefined> {
    const { rows } = await sql.query<{ status_reason: string | null; suspended_by: string | null; network_status_at: Date | null }>(
      'SELECT status_reason, suspended_by, network_status_at FROM platform.cards WHERE id = $1',
      [id],
    );
    return rows[0];
  },
  /** Mirrors the token's state at the network (a deleted card stays deleted). */
  async mirrorStatus(sql: Sql, id: string, m: { status: string; reason: string | null; suspendedBy: string | null; at?: string | null | undefined }): Promise<CardRow | undefined> {
    const { rows } = await sql.query<CardRow>(
      `UPDATE platform.cards SET status = $2, status_reason = $3, suspended_by = $4, network_status_at = COALESCE($5::timestamptz, network_status_at), updated_at = now()
        WHERE id = $1 AND status <> 'deleted' RETURNING ${CARD_COLUMNS}`,
      [id, m.status, m.reason, m.suspendedBy, m.at ?? null],
    );
    return rows[0];
  },
  async updateTokenLast4(sql: Sql, id: string, tokenLast4: string): Promise<void> {
    await sql.query(`UPDATE platform.cards SET token_last4 = $2, updated_at = now() WHERE id = $1 AND status <> 'deleted'`, [id, tokenLast4]);
  },
  async updateCardDetails(sql: Sql, id: string, d: { last4: string; expMonth: number; expYear: number }): Promise<void> {
    await sql.query(`UPDATE platform.cards SET last4 = $2, exp_month = $3, exp_year = $4, updated_at = now() WHERE id = $1 AND status <> 'deleted'`, [id, d.last4, d.expMonth, d.expYear]);
  },
  async artSpec(sql: Sql, artId: string): Promise<{ network: string; issuer_name: string; card_type: string } | undefined> {
    const { rows } = await sql.query<{ network: string; issuer_name: string; card_type: string }>('SELECT network, issuer_name, card_type FROM platform.cards WHERE art_id = $1 LIMIT 1', [artId]);
    return rows[0];
  },
};

export const requestorRepo = {
  async get(sql: Sql, network: string): Promise<string | undefined> {
    const { rows } = await sql.query<{ token_requestor_id: string }>('SELECT token_requestor_id FROM platform.token_requestors WHERE network = $1', [network]);
    return rows[0]?.token_requestor_id;
  },
  async put(sql: Sql, network: string, id: string): Promise<void> {
    await sql.query('INSERT INTO platform.token_requestors (network, token_requestor_id) VALUES ($1, $2) ON CONFLICT (network) DO NOTHING', [network, id]);
  },
};
