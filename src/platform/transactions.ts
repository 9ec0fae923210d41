import { AppError } from '../infra/errors.js';
import type { Cache } from '../infra/cache/index.js';
import type { Database, Sql } from '../infra/db/database.js';
import { newId } from '../infra/ids.js';
import { paginate, type PageParams } from '../infra/http/pagination.js';
import { currencyByAlpha, currencyByNumeric } from '../protocol/currency.js';
import { cachedList } from './list-cache.js';
import { recordDeviceEvent } from './push.js';
import { cardRepo } from './repository.js';

/** What a network tells its token requestor after each authorization (its outbox event `network.transaction`). */
export interface NetworkTransactionEvent {
  network_transaction_id: string;
  token_ref: string;
  brand: string;
  amount: number;
  currency: string;
  merchant_name: string;
  mcc?: string | null;
  status: string;
  response_code?: string | null;
  auth_code?: string | null;
  decline_reason?: string | null;
  type?: string | null;
  occurred_at?: string | null;
  original_network_transaction_id?: string | null;
}

interface TxRow {
  id: string;
  card_id: string;
  device_id: string;
  network: string;
  type: string;
  status: string;
  amount: number;
  currency: string;
  merchant_name: string;
  mcc: string | null;
  response_code: string | null;
  auth_code: string | null;
  decline_reason: string | null;
  original_id: string | null;
  occurred_at: Date;
  created_at: Date;
}

const COLUMNS = 'id, card_id, device_id, network, type, status, amount, currency, merchant_name, mcc, response_code, auth_code, decline_reason, original_id, occurred_at, created_at';

export function publicTransaction(r: TxRow) {
  return {
    id: r.id,
    object: 'transaction' as const,
    card_id: r.card_id,
    device_id: r.device_id,
    network: r.network,
    type: r.type,
    status: r.status,
    amount: Number(r.amount),
    currency: r.currency,
    merchant_name: r.merchant_name,
    mcc: r.mcc,
    response_code: r.response_code,
    auth_code: r.auth_code,
    decline_reason: r.decline_reason,
    original_id: r.original_id,
    occurred_at: new Date(r.occurred_at).toISOString(),
    created_at: new Date(r.created_at).toISOString(),
  };
}

const STATUSES = new Set(['approved', 'declined', 'reversed', 'refunded', 'timed_out']);
const TYPES = new Set(['nfc', 'inapp', 'web', 'refund', 'reversal']);

export class TransactionService {
  constructor(
    private readonly db: Database,
    private readonly cache: Cache,
    /** Told about each new transaction (the push channel to devices). */
    private readonly onRecorded: (userId: string, deviceId: string, tx: ReturnType<typeof publicTransaction>) => void = () => {},
  ) {}

  /** Idempotent by the network's transaction id: a redelivered event records nothing new. */
  async recordFromNetwork(e: NetworkTransactionEvent): Promise<{ id: string; duplicate: boolean }> {
    const card = await cardRepo.byTokenRef(this.db, e.brand, e.token_ref);
    if (!card) throw new AppError('resource_missing', { param: 'token_ref', message: 'No card of this platform has that token.' });
    const currency = /^\d{3,4}$/.test(e.currency) ? currencyByNumeric(e.currency)?.alpha : currencyByAlpha(e.currency)?.alpha;
    const status = STATUSES.has(e.status) ? e.status : e.response_code === '00' ? 'approved' : 'declined';
    const type = e.type && TYPES.has(e.type) ? e.type : 'nfc';
    const { rows } = await this.db.tx(async (tx) => {
      const result = await this.#insert(tx, e, card, type, status, currency);
      const row = result.rows[0];
      // The device hears of it through the push channel, committed with the row itself.
      if (row) await recordDeviceEvent(tx, { userId: card.user_id, deviceId: card.device_id, type: row.inserted ? 'transaction.recorded' : 'transaction.updated', payload: publicTransaction(row) });
      // A reversed authorization also gets an entry of its own in the history, linked to it.
      if (row && !row.inserted && row.status === 'reversed') {
        const reversal = await this.#reversalEntry(tx, row);
        if (reversal) await recordDeviceEvent(tx, { userId: card.user_id, deviceId: card.device_id, type: 'transaction.recorded', payload: publicTransaction(reversal) });
      }
      return result;
    });
    const row = rows[0];
    if (!row) {
      const { rows: existing } = await this.db.query<{ id: string }>('SELECT id FROM platform.transactions WHERE network = $1 AND network_transaction_id = $2', [e.brand, e.network_transaction_id]);
      return { id: existing[0]!.id, duplicate: true };
    }
    await this.cache.del(`history:${card.user_id}`);
    this.onRecorded(card.user_id, card.device_id, publicTransaction(row));
    return { id: row.id, duplicate: !row.inserted };
  }

  /** The history's reversal entry of a reversed authorization (once: keyed by the original's network id). */
  async #reversalEntry(tx: Sql, original: TxRow): Promise<TxRow | undefined> {
    const { rows } = await tx.query<TxRow>(
      `INSERT INTO platform.transactions (id, user_id, card_id, device_id, network, network_transaction_id, type, status, amount, currency, merchant_name, mcc, response_code, auth_code, decline_reason, original_id, occurred_at)
       SELECT $1, user_id, card_id, device_id, network, network_transaction_id || ':reversal', 'reversal', 'approved', amount, currency, merchant_name, mcc, NULL, NULL, NULL, id, $3
         FROM platform.transactions WHERE id = $2
       ON CONFLICT (network, network_transaction_id) DO NOTHING
       RETURNING ${COLUMNS}`,
      // When the platform learned of it (the event carries the original's time).
      [newId('txn'), original.id, new Date()],
    );
    return rows[0];
  }

  async #insert(tx: Sql, e: NetworkTransactionEvent, card: { id: string; user_id: string; device_id: string }, type: string, status: string, currency: string | undefined) {
    let originalId: string | null = null;
    if (e.original_network_transaction_id) {
      const o = await tx.query<{ id: string }>('SELECT id FROM platform.transactions WHERE network = $1 AND network_transaction_id = $2', [e.brand, e.original_network_transaction_id]);
      originalId = o.rows[0]?.id ?? null;
    }
    return tx.query<TxRow & { inserted: boolean }>(
      `INSERT INTO platform.transactions (id, user_id, card_id, device_id, network, network_transaction_id, type, status, amount, currency, merchant_name, mcc, response_code, auth_code, decline_reason, original_id, occurred_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)
       ON CONFLICT (network, network_transaction_id) DO UPDATE SET status = EXCLUDED.status
         WHERE platform.transactions.status <> EXCLUDED.status AND EXCLUDED.status IN ('reversed', 'refunded')
       RETURNING ${COLUMNS}, (xmax = 0) AS inserted`,
      [
        newId('txn'),
        card.user_id,
        card.id,
        card.device_id,
        e.brand,
        e.network_transaction_id,
        type,
        status,
        Math.max(0, Math.trunc(e.amount)),
        currency ?? 'XXX',
        // DE43 is name (25) ‖ city (13) ‖ country (2): the history shows the name.
        (e.merchant_name.length === 40 ? e.merchant_name.slice(0, 25) : e.merchant_name).trim().slice(0, 100) || 'Unknown merchant',
        e.mcc ?? null,
        e.response_code ?? null,
        e.auth_code ?? null,
        e.decline_reason ?? null,
        originalId,
        e.occurred_at ? new Date(e.occurred_at) : new Date(),
      ],
    );
  }

  async list(userId: string, filter: { card_id?: string | undefined; device_id?: string | undefined; status?: string | undefined; type?: string | undefined; created_gte?: string | undefined; created_lte?: string | undefined }, page: PageParams) {
    // Briefly cached; every recorded or updated transaction of the user deletes `history:<user>` before it returns.
    return cachedList(this.cache, `history:${userId}`, { filter, page }, () => this.#list(userId, filter, page));
  }

  async #list(userId: string, filter: { card_id?: string | undefined; device_id?: string | undefined; status?: string | undefined; type?: string | undefined; created_gte?: string | undefined; created_lte?: string | undefined }, page: PageParams) {
    const params: unknown[] = [userId];
    let q = `SELECT ${COLUMNS} FROM platform.transactions WHERE user_id = $1`;
    const add = (clause: string, v: unknown) => {
      params.push(v);
      q += ` AND ${clause.replace('?', `$${params.length}`)}`;
    };
    if (filter.card_id) add('card_id = ?', filter.card_id);
    if (filter.device_id) add('device_id = ?', filter.device_id);
    if (filter.status) add('status = ?', filter.status);
    if (filter.type) add('type = ?', filter.type);
    if (filter.created_gte) add('occurred_at >= ?', new Date(filter.created_gte));
    if (filter.created_lte) add('occurred_at <= ?', new Date(filter.created_lte));
    const r = await paginate<TxRow>(this.db, q, params, page);
    return { ...r, data: r.data.map(publicTransaction) };
  }

  async get(userId: string, id: string) {
    const { rows } = await this.db.query<TxRow>(`SELECT ${COLUMNS} FROM platform.transactions WHERE id = $1 AND user_id = $2`, [id, userId]);
    if (!rows[0]) throw new AppError('resource_missing', { param: 'id' });
    return publicTransaction(rows[0]);
  }
}
