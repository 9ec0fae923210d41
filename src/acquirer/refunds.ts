import type { Database, Sql } from '../infra/db/database.js';
import { AppError, errorEntry, lookupError, registerErrors } from '../infra/errors.js';
import { newId } from '../infra/ids.js';
import { paginate, type PageParams } from '../infra/http/pagination.js';
import type { Principal } from '../infra/http/route.js';
import type { Logger } from '../infra/logger.js';
import type { Network } from '../protocol/cards/index.js';
import { packMessage, type IsoMessage } from '../protocol/iso8583/iso8583.js';
import { currencyAlpha } from './currencies.js';
import { originalDataElements, text, traceNumber, transmissionDateTime, unpackStored } from './messages.js';
import type { NetworkLink } from './network-link.js';
import { acquirerRepo, refundRepo, type AcquirerRefundRow } from './repository.js';
import type { MessageVault } from './message-vault.js';
import { mayManage } from './webhooks.js';

if (!lookupError('refund_not_allowed')) {
  registerErrors({
    refund_not_allowed: errorEntry('invalid_request_error', 409, 'Only an approved authorization can be refunded, and its refunds together at most its amount.'),
  });
}

export function publicRefund(r: Omit<AcquirerRefundRow, 'message'>) {
  return {
    id: r.id,
    object: 'refund' as const,
    authorization_id: r.authorization_id,
    merchant_id: r.merchant_id,
    brand: r.brand,
    amount: Number(r.amount),
    currency: currencyAlpha(r.currency),
    status: r.status,
    response_code: r.response_code,
    auth_code: r.auth_code,
    created_at: new Date(r.created_at).toISOString(),
  };
}

type Step = <T>(name: string, fn: (tx: Sql) => Promise<T>) => Promise<T>;
type Call = <T>(name: string, fn: () => Promise<T>) => Promise<T>;

/**
 * Merchant refunds (docs/lifecycle.md): the merchant (its key) refunds all or part of an approved
 * authorization. The acquirer sends the network a 0200 with processing code 20 whose DE 90 names the
 * 0100 as the network received it; the network routes it to the card's issuer, which credits the
 * cardholder, and the platform's history shows the refund tied to its original. Phased idempotency: the
 * refund is recorded (its message fixed), sent, then its answer recorded; a retry with the same key
 * resumes, sending the very same 0200 (the network and issuer de-duplicate it).
 */
export class AcquirerRefunds {
  constructor(
    private readonly db: Database,
    private readonly link: NetworkLink,
    private readonly acquirerId: string,
    private readonly clock: () => Date,
    private readonly log: Logger,
    private readonly vault: MessageVault,
  ) {}

  async refund(principal: Principal | null, authorizationId: string, input: { amount?: number | undefined }, step: Step, call: Call) {
    const auth = authorizationId.startsWith('auth_') ? await refundRepo.authorization(this.db, this.vault, authorizationId) : undefined;
    if (!auth) throw new AppError('resource_missing', { param: 'authorization_id' });
    // The merchant's own key (or admin); another merchant's authorization is "no such object".
    try {
      mayManage(principal, auth.merchant_id);
    } catch (err) {
      if (err instanceof AppError && err.code === 'resource_missing') throw new AppError('resource_missing', { param: 'authorization_id' });
      throw err;
    }
    if (auth.status !== 'approved' || !auth.brand) throw new AppError('refund_not_allowed', { message: `This authorization is ${auth.status}; only an approved one can be refunded.` });
    const amount = BigInt(input.amount ?? Number(auth.amount));
    if (amount <= 0n || amount > BigInt(auth.amount)) throw new AppError('parameter_invalid', { param: 'amount', message: 'The amount must be positive and at most the authorization amount.' });
    const brand = auth.brand as Network;

    const recorded = await step('record', async (tx) => {
      const refunded = await refundRepo.refundedOf(tx, auth.id);
      if (refunded + amount > BigInt(auth.amount)) throw new AppError('refund_not_allowed', { message: 'The refunds of this authorization would exceed its amount.' });
      const now = this.clock();
      const stan = traceNumber(await acquirerRepo.nextStan(tx));
      const transmitted = transmissionDateTime(now);
      const core = unpackStored(auth.forwarded);
      const fields: Record<number, string | Uint8Array> = {};
      for (const n of [2, 14, 22, 37, 41, 42, 43, 18, 49] as const) if (core.fields[n] !== undefined) fields[n] = core.fields[n]!;
      fields[3] = '200000';
      fields[4] = amount.toString().padStart(12, '0');
      fields[7] = transmitted;
      fields[11] = stan;
      fields[32] = this.acquirerId;
      fields[90] = originalDataElements({ mti: '0100', stan: auth.network_stan, transmitted: auth.network_transmitted, acquirerId: this.acquirerId, forwardingId: '0' });
      const id = newId('rfd', now.getTime());
      await refundRepo.insert(tx, this.vault, { id, authorizationId: auth.id, merchantId: auth.merchant_id, brand, amount, currency: auth.currency, stan, transmitted, message: packMessage({ mti: '0200', fields }) });
      return { id };
    });
    const row = (await refundRepo.byId(this.db, this.vault, recorded.id))!;
    const answered = await call('network', async () => {
      const outcome = await this.link.exchange(brand, new Uint8Array(row.message));
      const m: IsoMessage | undefined = outcome.kind === 'answer' && outcome.message.mti === '0210' ? outcome.message : undefined;
      return m ? { code: text(m, 39) ?? '96', authCode: text(m, 38) ?? null } : { code: null, authCode: null };
    });
    if (answered.code === null) {
      // No answer: the refund stays pending; the same request (same Idempotency-Key) sends it again.
      this.log.warn({ refund: row.id }, 'refund: no answer from the network');
      throw new AppError('downstream_failed', { message: 'The card network did not answer the refund; repeat the request with the same Idempotency-Key.' });
    }
    await step('finish', async (tx) => {
      await refundRepo.complete(tx, row.id, { status: answered.code === '00' ? 'approved' : 'declined', responseCode: answered.code!, authCode: answered.authCode });
      return true;
    });
    return publicRefund((await refundRepo.byId(this.db, this.vault, row.id))!);
  }

  async list(principal: Principal | null, merchantId: string, page: PageParams) {
    mayManage(principal, merchantId);
    const r = await paginate<Omit<AcquirerRefundRow, 'message'>>(this.db, refundRepo.listQuery, [merchantId], page);
    return { ...r, data: r.data.map(publicRefund) };
  }
}
