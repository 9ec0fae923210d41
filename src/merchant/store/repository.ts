import type { Sql } from '../../infra/db/database.js';

export type OrderStatus = 'pending' | 'authorizing' | 'paid' | 'declined';
export type AttemptStatus = 'authorizing' | 'approved' | 'declined';
export type KeyKind = 'processing' | 'identity';
export type KeyType = 'ec_p256' | 'rsa_2048';

export interface ProductRow {
  id: string;
  name: string;
  description: string;
  price: number;
  currency: string;
  image: string;
  position: number;
}

export interface OrderItem {
  productId: string;
  name: string;
  quantity: number;
  unitPrice: number;
}

export interface OrderRow {
  id: string;
  status: OrderStatus;
  items: OrderItem[];
  total: number;
  currency: string;
  paid_attempt_id: string | null;
  created_at: Date;
  updated_at: Date;
}

/** What the demo page shows of a decrypted payment: never the whole device token. */
export interface PaymentSummary {
  /** First six and last four digits of the device account number. */
  deviceToken: string;
  applicationExpirationDate: string;
  paymentDataType: string;
  onlinePaymentCryptogram: string | null;
  eciIndicator: string | null;
  transactionAmount: number;
  currencyCode: string;
  transactionId: string;
  paymentMethod: { displayName: string; network: string; type: string };
}

export interface AttemptRow {
  id: string;
  order_id: string;
  attempt_no: number;
  transaction_id: string;
  status: AttemptStatus;
  request_enc: Buffer | null;
  summary: PaymentSummary;
  acquirer_authorization_id: string | null;
  response_code: string | null;
  auth_code: string | null;
  decline_reason: string | null;
  created_at: Date;
  completed_at: Date | null;
}

export interface KeyRow {
  id: string;
  kind: KeyKind;
  key_type: KeyType;
  private_key_enc: Buffer;
  certificate_pem: string | null;
  chain_pem: string | null;
  public_key_hash: string;
  not_after: Date | null;
  created_at: Date;
}

export interface SetupRow {
  step: string;
  result: Record<string, unknown>;
  secret_enc: Buffer | null;
}

/** The store's SQL, all of it. */
export const storeRepo = {
  // Catalogue
  async upsertProduct(sql: Sql, p: ProductRow): Promise<void> {
    await sql.query(
      `INSERT INTO store.products (id, name, description, price, currency, image, position) VALUES ($1, $2, $3, $4, $5, $6, $7)
       ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, description = EXCLUDED.description, price = EXCLUDED.price,
         currency = EXCLUDED.currency, image = EXCLUDED.image, position = EXCLUDED.position`,
      [p.id, p.name, p.description, p.price, p.currency, p.image, p.position],
    );
  },
  async listProducts(sql: Sql): Promise<ProductRow[]> {
    return (await sql.query<ProductRow>('SELECT id, name, description, price, currency, image, position FROM store.products ORDER BY position, id')).rows;
  },
  async productsByIds(sql: Sql, ids: string[]): Promise<ProductRow[]> {
    return (await sql.query<ProductRow>('SELECT id, name, description, price, currency, image, position FROM store.products WHERE id = ANY($1::text[])', [ids])).rows;
  },

  // Orders
  async insertOrder(sql: Sql, o: { id: string; items: OrderItem[]; total: number; currency: string }): Promise<OrderRow> {
    const { rows } = await sql.query<OrderRow>(
      `INSERT INTO store.orders (id, items, total, currency) VALUES ($1, $2::jsonb, $3, $4) RETURNING *`,
      [o.id, JSON.stringify(o.items), o.total, o.currency],
    );
    return rows[0]!;
  },
  async order(sql: Sql, id: string, forUpdate = false): Promise<OrderRow | undefined> {
    return (await sql.query<OrderRow>(`SELECT * FROM store.orders WHERE id = $1${forUpdate ? ' FOR UPDATE' : ''}`, [id])).rows[0];
  },
  async setOrderStatus(sql: Sql, id: string, status: OrderStatus, paidAttemptId: string | null = null): Promise<void> {
    await sql.query('UPDATE store.orders SET status = $2, paid_attempt_id = $3, updated_at = now() WHERE id = $1', [id, status, paidAttemptId]);
  },

  // Payment attempts
  async attemptsOf(sql: Sql, orderId: string): Promise<AttemptRow[]> {
    return (await sql.query<AttemptRow>('SELECT * FROM store.payment_attempts WHERE order_id = $1 ORDER BY attempt_no', [orderId])).rows;
  },
  async attemptByTransaction(sql: Sql, transactionId: string): Promise<AttemptRow | undefined> {
    return (await sql.query<AttemptRow>('SELECT * FROM store.payment_attempts WHERE transaction_id = $1', [transactionId])).rows[0];
  },
  async attempt(sql: Sql, id: string): Promise<AttemptRow | undefined> {
    return (await sql.query<AttemptRow>('SELECT * FROM store.payment_attempts WHERE id = $1', [id])).rows[0];
  },
  async nextAttemptNo(sql: Sql, orderId: string): Promise<number> {
    const { rows } = await sql.query<{ n: number }>('SELECT COALESCE(max(attempt_no), 0)::int + 1 AS n FROM store.payment_attempts WHERE order_id = $1', [orderId]);
    return rows[0]!.n;
  },
  async insertAttempt(
    sql: Sql,
    a: { id: string; orderId: string; attemptNo: number; transactionId: string; requestEnc: Buffer; summary: PaymentSummary },
  ): Promise<AttemptRow> {
    const { rows } = await sql.query<AttemptRow>(
      `INSERT INTO store.payment_attempts (id, order_id, attempt_no, transaction_id, request_enc, summary) VALUES ($1, $2, $3, $4, $5, $6::jsonb) RETURNING *`,
      [a.id, a.orderId, a.attemptNo, a.transactionId, a.requestEnc, JSON.stringify(a.summary)],
    );
    return rows[0]!;
  },
  /** Completes an attempt still in flight; false when another process completed it first. */
  async completeAttempt(
    sql: Sql,
    id: string,
    r: { status: 'approved' | 'declined'; acquirerAuthorizationId: string | null; responseCode: string | null; authCode: string | null; declineReason: string | null },
  ): Promise<boolean> {
    const { rowCount } = await sql.query(
      `UPDATE store.payment_attempts SET status = $2, acquirer_authorization_id = $3, response_code = $4, auth_code = $5, decline_reason = $6,
         request_enc = NULL, completed_at = now()
       WHERE id = $1 AND status = 'authorizing'`,
      [id, r.status, r.acquirerAuthorizationId, r.responseCode, r.authCode, r.declineReason],
    );
    return rowCount === 1;
  },

  // Replay cache (the SDK's ReplayCache contract: check and record in one statement)
  async recordTransactionIfNew(sql: Sql, transactionId: string, orderId: string, expiresAt: Date, now: Date): Promise<boolean> {
    await sql.query('DELETE FROM store.seen_transactions WHERE transaction_id = $1 AND expires_at < $2', [transactionId, now]);
    const { rowCount } = await sql.query(
      'INSERT INTO store.seen_transactions (transaction_id, order_id, expires_at) VALUES ($1, $2, $3) ON CONFLICT (transaction_id) DO NOTHING',
      [transactionId, orderId, expiresAt],
    );
    return rowCount === 1;
  },
  async seenTransactionOrder(sql: Sql, transactionId: string): Promise<string | undefined> {
    return (await sql.query<{ order_id: string }>('SELECT order_id FROM store.seen_transactions WHERE transaction_id = $1', [transactionId])).rows[0]?.order_id;
  },
  async purgeSeenTransactions(sql: Sql, now: Date): Promise<number> {
    return (await sql.query('DELETE FROM store.seen_transactions WHERE expires_at < $1', [now])).rowCount;
  },

  // Keys
  async insertKey(sql: Sql, k: { id: string; kind: KeyKind; keyType: KeyType; privateKeyEnc: Buffer; publicKeyHash: string }): Promise<void> {
    await sql.query('INSERT INTO store.keys (id, kind, key_type, private_key_enc, public_key_hash) VALUES ($1, $2, $3, $4, $5)', [
      k.id,
      k.kind,
      k.keyType,
      k.privateKeyEnc,
      k.publicKeyHash,
    ]);
  },
  async setKeyCertificate(sql: Sql, id: string, certificatePem: string, chainPem: string, notAfter: Date): Promise<void> {
    await sql.query('UPDATE store.keys SET certificate_pem = $2, chain_pem = $3, not_after = $4 WHERE id = $1', [id, certificatePem, chainPem, notAfter]);
  },
  /** Newest first. */
  async keys(sql: Sql, kind: KeyKind): Promise<KeyRow[]> {
    return (await sql.query<KeyRow>('SELECT * FROM store.keys WHERE kind = $1 ORDER BY created_at DESC, id DESC', [kind])).rows;
  },

  // Set-up steps
  async setupSteps(sql: Sql): Promise<SetupRow[]> {
    return (await sql.query<SetupRow>('SELECT step, result, secret_enc FROM store.setup')).rows;
  },
  async recordSetupStep(sql: Sql, step: string, result: Record<string, unknown>, secretEnc: Buffer | null = null): Promise<void> {
    await sql.query(
      `INSERT INTO store.setup (step, result, secret_enc) VALUES ($1, $2::jsonb, $3)
       ON CONFLICT (step) DO UPDATE SET result = EXCLUDED.result, secret_enc = EXCLUDED.secret_enc, done_at = now()`,
      [step, JSON.stringify(result), secretEnc],
    );
  },
};
