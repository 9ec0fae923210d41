import type { Database, Sql } from '../infra/db/database.js';
import { AppError } from '../infra/errors.js';
import { newId } from '../infra/ids.js';
import { paginate, type PageParams } from '../infra/http/pagination.js';
import type { Network } from '../protocol/cards/index.js';
import { notificationRepo, type TokenNotificationRow } from './repository.js';

/** A network's event about one token of this issuer's cards (its `network.issuer_token` outbox event). */
export interface TokenEventInput {
  event_id: string;
  issuer_id: string;
  brand: Network;
  token_ref: string;
  type: string;
  status: string;
  reason: string;
  actor: string;
  token_last4?: string | null | undefined;
  par?: string | null | undefined;
  occurred_at: string;
}

export function publicTokenNotification(r: TokenNotificationRow) {
  return {
    id: r.id,
    object: 'token_notification' as const,
    event_id: r.event_id,
    network: r.network,
    card_id: r.card_id,
    token_ref: r.token_ref,
    type: r.type,
    status: r.status,
    reason: r.reason,
    actor: r.actor,
    token_last4: r.token_last4,
    occurred_at: new Date(r.occurred_at).toISOString(),
    received_at: new Date(r.received_at).toISOString(),
  };
}

/**
 * "Issuer notifications" (flow 4): the networks tell the issuer about every token of its cards (created,
 * suspended, resumed, deleted, re-mapped after a reissue, keys refreshed), at least once through their
 * outbox; the issuer records each once (by the network's event id) against its card, found by the PAR
 * (no card number travels), and lists them.
 */
export class IssuerTokenNotifications {
  constructor(private readonly db: Database) {}

  /** In the route's transaction. A redelivered event is recorded once: `duplicate` says it was seen before. */
  async record(tx: Sql, brand: Network, issuerId: string, e: TokenEventInput): Promise<{ recorded: boolean; duplicate: boolean; card_id: string | null }> {
    if (e.brand !== brand) throw new AppError('permission_denied', { message: 'This network key speaks for another brand.' });
    if (e.issuer_id !== issuerId) throw new AppError('parameter_invalid', { param: 'issuer_id', message: 'The event is for another issuer.' });
    const cardId = e.par && e.par.length === 29 ? ((await notificationRepo.cardIdByParSeed(tx, issuerId, e.par.slice(4))) ?? null) : null;
    const inserted = await notificationRepo.insertTokenNotification(tx, {
      id: newId('tnot'),
      eventId: e.event_id,
      issuerId,
      network: brand,
      cardId,
      tokenRef: e.token_ref,
      type: e.type,
      status: e.status,
      reason: e.reason,
      actor: e.actor,
      tokenLast4: e.token_last4 ?? null,
      occurredAt: e.occurred_at,
    });
    return { recorded: inserted, duplicate: !inserted, card_id: cardId };
  }

  async list(issuerId: string, filter: { card_id?: string | undefined; token_ref?: string | undefined }, page: PageParams) {
    const params: unknown[] = [issuerId];
    let q = `SELECT ${notificationRepo.tokenNotificationColumns} FROM issuer.token_notifications WHERE issuer_id = $1`;
    if (filter.card_id) {
      params.push(filter.card_id);
      q += ` AND card_id = $${params.length}`;
    }
    if (filter.token_ref) {
      params.push(filter.token_ref);
      q += ` AND token_ref = $${params.length}`;
    }
    const r = await paginate<TokenNotificationRow>(this.db, q, params, page);
    return { ...r, data: r.data.map(publicTokenNotification) };
  }
}
