import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Database, Sql } from '../../infra/db/database.js';
import { isUniqueViolation } from '../../infra/db/database.js';
import { AppError } from '../../infra/errors.js';
import { newId } from '../../infra/ids.js';
import type { EnvelopeCipher } from '../../infra/keys/envelope.js';
import type { Logger } from '../../infra/logger.js';
import { PartyError, PartyUnavailable } from '../../infra/transport.js';
import { maskPan } from '../../protocol/cards/cards.js';
import { currencyByAlpha } from '../../protocol/currency.js';
import { checkPayment, PaymentTokenError, REASON_LABELS, verifyAndDecrypt, type ReplayCache } from '../sdk/index.js';
import type { EcommerceAcquirerClient, EcommerceAuthorizationRequest } from './acquirer.js';
import './errors.js';
import type { StoreKeyVault } from './keys.js';
import { storeRepo as repo, type AttemptRow, type OrderItem, type OrderRow, type OrderStatus, type PaymentSummary, type ProductRow } from './repository.js';

export interface ProductView {
  id: string;
  name: string;
  description: string;
  /** Minor units. */
  price: number;
  /** The same as a decimal string ("18.00"), as Apple Pay's line items take it. */
  priceDecimal: string;
  currency: string;
  image: string;
}

export interface PaymentView {
  id: string;
  attempt: number;
  status: 'authorizing' | 'approved' | 'declined';
  transactionId: string;
  /** The acquirer's answer. */
  acquirerAuthorizationId: string | null;
  responseCode: string | null;
  authCode: string | null;
  declineReason: string | null;
  /** What the store decrypted (device token masked to first 6 / last 4). */
  decrypted: PaymentSummary;
  createdAt: string;
  completedAt: string | null;
}

export interface OrderView {
  id: string;
  object: 'order';
  status: OrderStatus;
  items: OrderItem[];
  /** Minor units. */
  total: number;
  totalDecimal: string;
  currency: string;
  /** base64 of the order id: the payment request's applicationData. */
  applicationData: string;
  /** The paying attempt once paid, else the latest one (null before any). */
  payment: PaymentView | null;
  /** How many payment tokens were accepted for this order. */
  attempts: number;
  createdAt: string;
  updatedAt: string;
}

export interface StoreServiceDeps {
  db: Database;
  cipher: EnvelopeCipher;
  vault: StoreKeyVault;
  acquirer: EcommerceAcquirerClient;
  /** The platform's root certificate (PEM): the store's trust anchor for payment tokens. */
  rootPem: () => Promise<string>;
  merchantIdentifier: string;
  /** Whether set-up finished (keys certified, acquirer key present). */
  ready: () => boolean;
  clock: () => Date;
  log: Logger;
  /** How long a submission waits for a concurrent one on the same order (default 8 s). */
  waitMs?: number;
  /** An attempt in flight for longer than this is taken to have lost its process: the next submission re-drives it (default 20 s). */
  staleMs?: number;
}

const MAX_QUANTITY = 20;

function decimal(minor: number, currency: string): string {
  const exponent = currencyByAlpha(currency)?.exponent ?? 2;
  if (exponent === 0) return String(minor);
  const s = String(minor).padStart(exponent + 1, '0');
  return `${s.slice(0, -exponent)}.${s.slice(-exponent)}`;
}

/** The order's applicationData (base64 of its id) and the hash the token header carries of it. */
export function applicationDataOf(orderId: string): { base64: string; sha256Hex: string } {
  const bytes = Buffer.from(orderId, 'utf8');
  return { base64: bytes.toString('base64'), sha256Hex: createHash('sha256').update(bytes).digest('hex') };
}

/** header.transactionId of a token-shaped value, lower case; undefined when absent. Read before verification only to find earlier submissions. */
function peekTransactionId(token: unknown): string | undefined {
  const header = (token as { paymentData?: { header?: { transactionId?: unknown } } } | null)?.paymentData?.header;
  const id = header?.transactionId;
  return typeof id === 'string' && /^[0-9a-fA-F]{2,128}$/.test(id) ? id.toLowerCase() : undefined;
}

/**
 * The store's orders and their payment: the state machine behind "paid exactly once".
 *
 *   pending ──claim──▶ authorizing ──approved──▶ paid (final)
 *   declined ◀──declined──┘  └─claim (another token)
 *
 * A claim inserts a payment attempt; the partial unique index payment_attempts_one_live allows one
 * attempt in flight or approved per order, and the claim takes the order row's lock, so concurrent
 * submissions serialize: one authorizes, the others wait for its outcome. A token is accepted once
 * (its transactionId is unique); a repeat of it for the same order answers the stored outcome.
 */
export class StoreService {
  readonly #waitMs: number;
  readonly #staleMs: number;

  constructor(private readonly deps: StoreServiceDeps) {
    this.#waitMs = deps.waitMs ?? 8000;
    this.#staleMs = deps.staleMs ?? 20_000;
  }

  async products(): Promise<ProductView[]> {
    return (await repo.listProducts(this.deps.db)).map(productView);
  }

  /** `sql`: the route's transaction, which also stores the answer under the client's Idempotency-Key. */
  async createOrder(items: { productId: string; quantity: number }[], sql: Sql = this.deps.db): Promise<OrderView> {
    if (items.length === 0) throw new AppError('parameter_invalid', { param: 'items', message: 'An order needs at least one item.' });
    const quantities = new Map<string, number>();
    for (const i of items) quantities.set(i.productId, (quantities.get(i.productId) ?? 0) + i.quantity);
    for (const [id, q] of quantities) {
      if (q > MAX_QUANTITY) throw new AppError('parameter_invalid', { param: 'items', message: `At most ${MAX_QUANTITY} of one product per order (${id}).` });
    }
    const products = new Map((await repo.productsByIds(sql, [...quantities.keys()])).map((p) => [p.id, p]));
    const lines: OrderItem[] = [];
    for (const [id, quantity] of quantities) {
      const p = products.get(id);
      if (!p) throw new AppError('product_unknown', { param: 'items' });
      lines.push({ productId: id, name: p.name, quantity, unitPrice: Number(p.price) });
    }
    const currencies = new Set([...products.values()].map((p) => p.currency));
    if (currencies.size !== 1) throw new AppError('parameter_invalid', { param: 'items', message: 'All items of an order must be in one currency.' });
    const total = lines.reduce((sum, l) => sum + l.unitPrice * l.quantity, 0);
    const order = await repo.insertOrder(sql, { id: newId('ord'), items: lines, total, currency: [...currencies][0]! });
    return orderView(order, []);
  }

  async order(id: string): Promise<OrderView> {
    const order = await repo.order(this.deps.db, id);
    if (!order) throw new AppError('resource_missing', { param: 'id' });
    return orderView(order, await repo.attemptsOf(this.deps.db, id));
  }

  /** Checks the order exists and can still be paid (before a merchant session is fetched for it). */
  async payableOrder(id: string): Promise<OrderRow> {
    const order = await repo.order(this.deps.db, id);
    if (!order) throw new AppError('resource_missing', { param: 'id' });
    if (order.status === 'paid') throw new AppError('order_already_paid');
    return order;
  }

  /**
   * A payment token for the order: verified and decrypted (platform root, the store's processing keys,
   * replay refused), checked against the order, authorized at the acquirer. Returns the order as it
   * ends (paid or declined).
   */
  async pay(orderId: string, token: unknown): Promise<OrderView> {
    const { db } = this.deps;
    const order = await repo.order(db, orderId);
    if (!order) throw new AppError('resource_missing', { param: 'id' });
    const transactionId = peekTransactionId(token);
    // A token this store took before: the same order's repeat gets its outcome; any other order, a replay.
    if (transactionId) {
      const seen = await repo.attemptByTransaction(db, transactionId);
      if (seen) return this.#repeat(orderId, seen);
    }
    if (order.status === 'paid') throw new AppError('order_already_paid');
    if (!this.deps.ready()) throw new AppError('store_not_ready');

    const keys = await this.deps.vault.processingKeys();
    const now = this.deps.clock();
    let decrypted;
    try {
      decrypted = await verifyAndDecrypt(token, {
        roots: [await this.deps.rootPem()],
        keys,
        merchantIdentifier: this.deps.merchantIdentifier,
        now,
        seenTransactionIds: this.#replayCache(orderId),
      });
    } catch (err) {
      if (!(err instanceof PaymentTokenError)) throw err;
      if (err.reason === 'replay' && transactionId && (await repo.seenTransactionOrder(db, transactionId)) === orderId) {
        // Another submission of this very token for this order is under way: its outcome is this one's.
        const seen = await this.#waitForAttempt(transactionId);
        if (seen) return this.#repeat(orderId, seen);
        const now = await repo.order(db, orderId);
        if (now?.status === 'paid') throw new AppError('order_already_paid');
        if (now?.status === 'authorizing') throw new AppError('payment_in_progress');
      }
      if (err.reason === 'replay') throw new AppError('payment_token_replayed', { param: 'token' });
      this.deps.log.info({ order_id: orderId, reason: err.reason }, 'store: payment token refused');
      throw new AppError('payment_token_invalid', { param: 'token', message: `The payment token was refused: ${REASON_LABELS[err.reason]}.` });
    }

    const check = checkPayment(decrypted, { amount: Number(order.total), currencyCode: order.currency, applicationDataHash: applicationDataOf(orderId).sha256Hex });
    if (!check.ok) {
      this.deps.log.info({ order_id: orderId, mismatches: check.mismatches }, 'store: payment token does not match the order');
      throw new AppError('payment_mismatch', { param: 'token', message: `The payment token does not match the order: ${check.mismatches.join(', ')}.` });
    }
    const payload = decrypted.payload;
    if (payload.paymentDataType !== '3DSecure') {
      throw new AppError('payment_token_invalid', { param: 'token', message: 'The store accepts 3-D Secure payment data only.' });
    }
    const request: EcommerceAuthorizationRequest = {
      orderReference: orderId,
      amount: Number(order.total),
      currency: order.currency,
      paymentDataType: '3DSecure',
      applicationPrimaryAccountNumber: payload.applicationPrimaryAccountNumber,
      applicationExpirationDate: payload.applicationExpirationDate,
      onlinePaymentCryptogram: payload.paymentData.onlinePaymentCryptogram,
      ...(payload.paymentData.eciIndicator !== undefined ? { eciIndicator: payload.paymentData.eciIndicator } : {}),
      transactionId: decrypted.transactionId,
    };
    const method = decrypted.token.paymentMethod ?? {};
    const summary: PaymentSummary = {
      deviceToken: maskPan(payload.applicationPrimaryAccountNumber),
      applicationExpirationDate: payload.applicationExpirationDate,
      paymentDataType: payload.paymentDataType,
      onlinePaymentCryptogram: payload.paymentData.onlinePaymentCryptogram,
      eciIndicator: payload.paymentData.eciIndicator ?? null,
      transactionAmount: payload.transactionAmount,
      currencyCode: payload.currencyCode,
      transactionId: decrypted.transactionId,
      paymentMethod: { displayName: method.displayName ?? '', network: method.network ?? '', type: method.type ?? '' },
    };
    const attemptId = newId('pay');
    const requestEnc = await this.deps.cipher.encrypt(JSON.stringify(request), `store:attempt:${attemptId}`);

    const deadline = Date.now() + this.#waitMs;
    for (;;) {
      const claim = await this.#claim(orderId, { id: attemptId, transactionId: decrypted.transactionId, requestEnc, summary });
      if (claim.kind === 'claimed') return this.#drive(claim.attempt);
      if (claim.kind === 'paid') throw new AppError('order_already_paid');
      // Another token is being authorized for this order: wait for its outcome, then try again (it may be declined).
      if (claim.live && Date.now() - claim.live.created_at.getTime() > this.#staleMs) await this.#drive(claim.live).catch(() => undefined);
      else await sleep(50);
      if (Date.now() > deadline) throw new AppError('payment_in_progress');
    }
  }

  async #claim(
    orderId: string,
    a: { id: string; transactionId: string; requestEnc: Buffer; summary: PaymentSummary },
  ): Promise<{ kind: 'claimed'; attempt: AttemptRow } | { kind: 'paid' } | { kind: 'busy'; live: AttemptRow | undefined }> {
    try {
      return await this.deps.db.tx(async (tx) => {
        const order = await repo.order(tx, orderId, true);
        if (!order) throw new AppError('resource_missing', { param: 'id' });
        if (order.status === 'paid') return { kind: 'paid' as const };
        if (order.status === 'authorizing') {
          const live = (await repo.attemptsOf(tx, orderId)).find((x) => x.status === 'authorizing');
          return { kind: 'busy' as const, live };
        }
        const attemptNo = await repo.nextAttemptNo(tx, orderId);
        const attempt = await repo.insertAttempt(tx, { id: a.id, orderId, attemptNo, transactionId: a.transactionId, requestEnc: a.requestEnc, summary: a.summary });
        await repo.setOrderStatus(tx, orderId, 'authorizing');
        return { kind: 'claimed' as const, attempt };
      });
    } catch (err) {
      // The constraints are the last word when two claims race past the lock (they cannot under SERIALIZABLE, but the schema holds regardless).
      if (isUniqueViolation(err, 'payment_attempts_one_live') || isUniqueViolation(err, 'payment_attempts_number_unique')) return { kind: 'busy', live: undefined };
      throw err;
    }
  }

  /** Sends the attempt's authorization to the acquirer (again, after a lost answer: the same Idempotency-Key returns the stored result) and records the outcome. */
  async #drive(attempt: AttemptRow): Promise<OrderView> {
    const { db } = this.deps;
    if (attempt.status === 'authorizing' && attempt.request_enc) {
      const request = JSON.parse(await this.deps.cipher.decryptString(attempt.request_enc, `store:attempt:${attempt.id}`)) as EcommerceAuthorizationRequest;
      let answer;
      try {
        answer = await this.deps.acquirer.authorize(request, `store:${attempt.order_id}:${attempt.attempt_no}`);
      } catch (err) {
        // The outcome is unknown: the attempt stays in flight and the next submission for the order re-drives it.
        this.deps.log.warn({ order_id: attempt.order_id, attempt: attempt.id, err: err instanceof Error ? { type: err.name, code: (err as PartyError).code } : {} }, 'store: authorization got no answer');
        if (err instanceof PartyError && err.code === 'idempotency_in_flight') throw new AppError('payment_in_progress');
        if (err instanceof PartyError || err instanceof PartyUnavailable) throw new AppError('downstream_failed', { message: 'The acquirer did not answer; submit the payment again.' });
        throw err;
      }
      const approved = answer.status === 'approved';
      await db.tx(async (tx) => {
        const done = await repo.completeAttempt(tx, attempt.id, {
          status: approved ? 'approved' : 'declined',
          acquirerAuthorizationId: answer.id,
          responseCode: answer.responseCode,
          authCode: answer.authCode ?? null,
          declineReason: answer.declineReason ?? null,
        });
        if (done) await repo.setOrderStatus(tx, attempt.order_id, approved ? 'paid' : 'declined', approved ? attempt.id : null);
      });
      this.deps.log.info({ order_id: attempt.order_id, attempt: attempt.id, status: answer.status, response_code: answer.responseCode }, 'store: payment authorized at the acquirer');
    }
    return this.order(attempt.order_id);
  }

  /** A token already taken: its own order answers its outcome (waiting while it is in flight); another order refuses it. */
  async #repeat(orderId: string, seen: AttemptRow): Promise<OrderView> {
    if (seen.order_id !== orderId) throw new AppError('payment_token_replayed', { param: 'token' });
    const deadline = Date.now() + this.#waitMs;
    let attempt: AttemptRow | undefined = seen;
    while (attempt && attempt.status === 'authorizing') {
      if (Date.now() - attempt.created_at.getTime() > this.#staleMs) return this.#drive(attempt);
      if (Date.now() > deadline) throw new AppError('payment_in_progress');
      await sleep(50);
      attempt = await repo.attempt(this.deps.db, seen.id);
    }
    return this.order(orderId);
  }

  async #waitForAttempt(transactionId: string): Promise<AttemptRow | undefined> {
    const deadline = Date.now() + Math.min(this.#waitMs, 3000);
    for (;;) {
      const seen = await repo.attemptByTransaction(this.deps.db, transactionId);
      if (seen || Date.now() > deadline) return seen;
      await sleep(50);
    }
  }

  #replayCache(orderId: string): ReplayCache {
    return { recordIfNew: (transactionId, expiresAt, now) => repo.recordTransactionIfNew(this.deps.db, transactionId, orderId, expiresAt, now) };
  }
}

function productView(p: ProductRow): ProductView {
  const price = Number(p.price);
  return { id: p.id, name: p.name, description: p.description, price, priceDecimal: decimal(price, p.currency), currency: p.currency, image: p.image };
}

function paymentView(a: AttemptRow): PaymentView {
  return {
    id: a.id,
    attempt: a.attempt_no,
    status: a.status,
    transactionId: a.transaction_id,
    acquirerAuthorizationId: a.acquirer_authorization_id,
    responseCode: a.response_code,
    authCode: a.auth_code,
    declineReason: a.decline_reason,
    decrypted: a.summary,
    createdAt: a.created_at.toISOString(),
    completedAt: a.completed_at?.toISOString() ?? null,
  };
}

export function orderView(o: OrderRow, attempts: AttemptRow[]): OrderView {
  const total = Number(o.total);
  const shown = (o.paid_attempt_id ? attempts.find((a) => a.id === o.paid_attempt_id) : undefined) ?? attempts.at(-1);
  return {
    id: o.id,
    object: 'order',
    status: o.status,
    items: o.items,
    total,
    totalDecimal: decimal(total, o.currency),
    currency: o.currency,
    applicationData: applicationDataOf(o.id).base64,
    payment: shown ? paymentView(shown) : null,
    attempts: attempts.length,
    createdAt: o.created_at.toISOString(),
    updatedAt: o.updated_at.toISOString(),
  };
}
