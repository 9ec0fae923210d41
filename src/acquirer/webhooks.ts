import type { Database, Sql } from '../infra/db/database.js';
import { AppError } from '../infra/errors.js';
import type { Principal } from '../infra/http/route.js';
import { newId, randomBase62 } from '../infra/ids.js';
import type { KeyEncryptionKeys } from '../infra/keys/kek.js';
import type { Logger } from '../infra/logger.js';
import { enqueue, type OutboxEvent } from '../infra/outbox.js';
import { SIGNATURE_HEADER, signPayload } from '../infra/webhooks.js';
import { currencyAlpha } from './currencies.js';

/**
 * Merchant webhooks (docs/lifecycle.md): each authorization the acquirer answers becomes an outbox
 * event (topic `acquirer.transaction`, aggregate = the merchant, so a merchant's events arrive in the
 * order they happened), written in the transaction that records the answer. The outbox worker hands it
 * to `deliver`, which POSTs it, signed (docs/reference/api-conventions.md), to each of the merchant's endpoints and
 * records every attempt; a failure is retried with the worker's backoff, and endpoints that already
 * took the event are not sent it again.
 */

export const WEBHOOK_TOPIC = 'acquirer.transaction';

/** What a merchant is told about one of its authorizations. */
export interface TransactionEventData {
  id: string;
  merchantId: string;
  terminalId: string;
  brand: string | null;
  tokenMasked: string;
  amount: number;
  /** ISO 4217 numeric, as DE 49 carries it. */
  currency: string;
  status: string;
  responseCode: string | null;
  authCode: string | null;
  createdAt: Date;
}

/** The body receivers get (also the stored outbox payload). */
export interface WebhookEventBody {
  id: string;
  object: 'event';
  type: string;
  created: number;
  data: { object: Record<string, unknown> };
}

/** The outbox row of the event for one answered authorization (what enqueueTransactionEvent writes). */
export function transactionEvent(a: TransactionEventData, now: Date): { eventId: string; topic: string; aggregateId: string; payload: WebhookEventBody } {
  const eventId = newId('evt', now.getTime());
  const body: WebhookEventBody = {
    id: eventId,
    object: 'event',
    type: `authorization.${a.status}`,
    created: Math.floor(now.getTime() / 1000),
    data: {
      object: {
        id: a.id,
        object: 'authorization',
        merchant_id: a.merchantId,
        terminal: a.terminalId,
        brand: a.brand,
        token_masked: a.tokenMasked,
        amount: a.amount,
        currency: currencyAlpha(a.currency),
        status: a.status,
        response_code: a.responseCode,
        auth_code: a.authCode,
        created_at: a.createdAt.toISOString(),
      },
    },
  };
  return { eventId, topic: WEBHOOK_TOPIC, aggregateId: a.merchantId, payload: body };
}

/** Writes the event for one answered authorization in the caller's transaction. */
export async function enqueueTransactionEvent(tx: Sql, a: TransactionEventData, now: Date): Promise<string> {
  return enqueue(tx, transactionEvent(a, now));
}

export interface WebhookEndpointView {
  id: string;
  object: 'webhook_endpoint';
  merchant_id: string;
  url: string;
  status: string;
  created_at: string;
}

interface EndpointRow {
  id: string;
  merchant_id: string;
  url: string;
  secret_wrapped: Uint8Array;
  kek_id: string;
  status: string;
  created_at: Date;
}

const view = (r: EndpointRow): WebhookEndpointView => ({ id: r.id, object: 'webhook_endpoint', merchant_id: r.merchant_id, url: r.url, status: r.status, created_at: new Date(r.created_at).toISOString() });

/** An admin key, or the merchant's own key; another merchant's endpoints are not found (404). */
export function mayManage(principal: Principal | null, merchantId: string): void {
  if (principal?.kind !== 'apiKey') throw new AppError('permission_denied');
  if (principal.role === 'admin') return;
  if (principal.role === 'merchant' && principal.ownerId === merchantId) return;
  if (principal.role === 'merchant') throw new AppError('resource_missing', { param: 'merchant_id' });
  throw new AppError('permission_denied');
}

export function checkEndpointUrl(url: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new AppError('parameter_invalid', { param: 'url', message: 'url must be an absolute http or https URL.' });
  }
  if ((u.protocol !== 'https:' && u.protocol !== 'http:') || u.username || u.password) {
    throw new AppError('parameter_invalid', { param: 'url', message: 'url must be an http or https URL without credentials.' });
  }
  return u.toString();
}

export interface WebhookOptions {
  /** How long one POST may take before it counts as failed. */
  timeoutMs?: number;
  clock?: () => Date;
  logger?: Logger;
  fetch?: typeof fetch;
}

const secretContext = (id: string) => `acquirer:webhook-secret:${id}`;

export class WebhookService {
  readonly #timeoutMs: number;
  readonly #clock: () => Date;
  readonly #fetch: typeof fetch;

  constructor(
    private readonly db: Database,
    private readonly kek: KeyEncryptionKeys,
    private readonly options: WebhookOptions = {},
  ) {
    this.#timeoutMs = options.timeoutMs ?? 10_000;
    this.#clock = options.clock ?? (() => new Date());
    this.#fetch = options.fetch ?? fetch;
  }

  /** A new endpoint and its signing secret (returned only here). */
  async create(merchantId: string, url: string): Promise<WebhookEndpointView & { secret: string }> {
    const clean = checkEndpointUrl(url);
    const { rows: m } = await this.db.query('SELECT 1 FROM acquirer.merchants WHERE id = $1', [merchantId]);
    if (!m[0]) throw new AppError('resource_missing', { param: 'merchant_id' });
    const id = newId('we', this.#clock().getTime());
    const secret = `whsec_${randomBase62(40)}`;
    const { kekId, wrapped } = this.kek.wrap(Buffer.from(secret), secretContext(id));
    const { rows } = await this.db.query<EndpointRow>(
      `INSERT INTO acquirer.webhook_endpoints (id, merchant_id, url, secret_wrapped, kek_id) VALUES ($1, $2, $3, $4, $5)
       RETURNING id, merchant_id, url, secret_wrapped, kek_id, status, created_at`,
      [id, merchantId, clean, wrapped, kekId],
    );
    return { ...view(rows[0]!), secret };
  }

  async list(merchantId: string): Promise<WebhookEndpointView[]> {
    const { rows } = await this.db.query<EndpointRow>(
      'SELECT id, merchant_id, url, secret_wrapped, kek_id, status, created_at FROM acquirer.webhook_endpoints WHERE merchant_id = $1 ORDER BY id DESC LIMIT 100',
      [merchantId],
    );
    return rows.map(view);
  }

  /** Delivery attempts of one endpoint, newest first (the console's view). */
  async deliveries(endpointId: string, limit = 50) {
    const { rows } = await this.db.query<{ id: string; event_id: string; status_code: number | null; error: string | null; succeeded: boolean; duration_ms: number; created_at: Date }>(
      'SELECT id, event_id, status_code, error, succeeded, duration_ms, created_at FROM acquirer.webhook_deliveries WHERE endpoint_id = $1 ORDER BY id DESC LIMIT $2',
      [endpointId, limit],
    );
    return rows.map((r) => ({ ...r, id: String(r.id), created_at: new Date(r.created_at).toISOString() }));
  }

  /** Delivery attempts across every merchant's endpoints, newest first (the operations console). */
  async recentDeliveries(limit = 50) {
    const { rows } = await this.db.query<{ id: string; endpoint_id: string; merchant_id: string; url: string; event_id: string; status_code: number | null; error: string | null; succeeded: boolean; duration_ms: number; created_at: Date }>(
      `SELECT d.id, d.endpoint_id, e.merchant_id, e.url, d.event_id, d.status_code, d.error, d.succeeded, d.duration_ms, d.created_at
         FROM acquirer.webhook_deliveries d JOIN acquirer.webhook_endpoints e ON e.id = d.endpoint_id ORDER BY d.id DESC LIMIT $1`,
      [limit],
    );
    return rows.map((r) => ({ ...r, id: String(r.id), created_at: new Date(r.created_at).toISOString() }));
  }

  /**
   * The outbox handler: POSTs the event to every enabled endpoint of its merchant that existed when it
   * happened and has not taken it yet. Throws when any failed, so the worker retries (with backoff) and
   * holds the merchant's later events back until this one is through.
   */
  readonly deliver = async (event: OutboxEvent): Promise<void> => {
    const body = JSON.stringify(event.payload);
    const { rows: endpoints } = await this.db.query<EndpointRow>(
      `SELECT e.id, e.merchant_id, e.url, e.secret_wrapped, e.kek_id, e.status, e.created_at
         FROM acquirer.webhook_endpoints e
        WHERE e.merchant_id = $1 AND e.status = 'enabled' AND e.created_at <= $2
          AND NOT EXISTS (SELECT 1 FROM acquirer.webhook_deliveries d WHERE d.event_id = $3 AND d.endpoint_id = e.id AND d.succeeded)
        ORDER BY e.id`,
      [event.aggregate_id, event.created_at, event.event_id],
    );
    let failed = 0;
    for (const e of endpoints) {
      const secret = this.kek.unwrap(e.kek_id, e.secret_wrapped, secretContext(e.id)).toString();
      const started = performance.now();
      let statusCode: number | null = null;
      let error: string | null = null;
      try {
        const res = await this.#fetch(e.url, {
          method: 'POST',
          redirect: 'manual',
          headers: { 'content-type': 'application/json', 'user-agent': 'Tessera-Webhooks/1', [SIGNATURE_HEADER]: signPayload(secret, body, this.#clock()) },
          body,
          signal: AbortSignal.timeout(this.#timeoutMs),
        });
        statusCode = res.status;
        await res.body?.cancel().catch(() => {});
        if (res.status < 200 || res.status >= 300) error = `answered ${res.status}`;
      } catch (err) {
        const cause = (err as { cause?: { code?: unknown } }).cause?.code;
        error = (err as Error).name === 'TimeoutError' ? 'timed out' : typeof cause === 'string' ? cause : 'request failed';
      }
      const duration = Math.max(0, Math.round(performance.now() - started));
      await this.db.query('INSERT INTO acquirer.webhook_deliveries (endpoint_id, event_id, status_code, error, succeeded, duration_ms) VALUES ($1, $2, $3, $4, $5, $6)', [
        e.id,
        event.event_id,
        statusCode,
        error,
        error === null,
        duration,
      ]);
      if (error !== null) {
        failed++;
        this.options.logger?.info({ endpoint: e.id, event_id: event.event_id, status_code: statusCode, error }, 'webhook delivery failed; the outbox retries it');
      }
    }
    if (failed) throw new Error(`webhook delivery failed for ${failed} of ${endpoints.length} endpoints`);
  };
}
