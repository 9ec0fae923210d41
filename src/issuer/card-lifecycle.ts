import { randomInt } from 'node:crypto';
import type { Database, Sql } from '../infra/db/database.js';
import { isUniqueViolation } from '../infra/db/database.js';
import { AppError } from '../infra/errors.js';
import { newId } from '../infra/ids.js';
import type { EnvelopeCipher } from '../infra/keys/envelope.js';
import { enqueue, type OutboxEvent } from '../infra/outbox.js';
import { call, PartyError, type Transport } from '../infra/transport.js';
import { luhnCheckDigit, type Network } from '../protocol/cards/index.js';
import { Secret } from '../protocol/secret.js';
import type { IssuerHsm } from './hsm.js';
import { issuerRepo as repo, notificationRepo, type CardRow, type CardStatus } from './repository.js';

/**
 * How an issuer reaches the card networks' lifecycle API (`POST /network/:brand/v1/pan-updates` and
 * `/card-lifecycle`): a transport and the issuer's own API key (role issuer, owner = the issuer id).
 */
export interface IssuerNetworkLink {
  transport: Transport;
  apiKey(issuerId: string): string | undefined;
}

/** The outbox topic of the issuer's card changes for the networks (aggregate: the card id, so a card's changes arrive in order). */
export const ISSUER_CARD_TOPIC = 'issuer.card';

/** An `issuer.card` event. The card numbers are envelope-encrypted to the issuer (context issuer:outbox:<event id>:<field>). */
interface CardEventPayload {
  issuer_id: string;
  card_id: string;
  network: Network;
  kind: 'pan_update' | 'card_lifecycle';
  action: 'reissue' | 'close' | 'block' | 'unblock';
  /** card_lifecycle: what the network does to the card's tokens, and why. */
  token_action?: TokenAction;
  reason?: string;
  /** card_lifecycle: the card number; pan_update: the old number. Base64 of the envelope. */
  pan: string;
  /** pan_update with a new number. */
  new_pan?: string;
  exp_month?: number;
  exp_year?: number;
}

export interface CardLifecycleView {
  object: 'card';
  id: string;
  network: Network;
  last4: string;
  exp_month: number;
  exp_year: number;
  status: CardStatus;
  /** The notification of this change to the card's network (delivered by the outbox), or null when nothing changed. */
  notification: { event_id: string; status: 'pending' | 'delivered' | 'rejected' } | null;
}

type TokenAction = 'suspend' | 'resume' | 'delete';

/**
 * Flow 4 at the issuer: reissue (new number in the issuer's range and/or new expiry), close, block
 * (fraud) and unblock a card. Each change is written together with its `issuer.card` outbox event in
 * one transaction and answered at once; the OutboxWorker then tells the card's network over the
 * issuer's authenticated channel (at least once, in order per card, the event id de-duplicating at the
 * network), which finds the tokens by its own fingerprint of the number and re-maps, suspends, resumes
 * or deletes them. A network that is down delays the tokens' change, never the issuer's.
 */
export class IssuerCardLifecycle {
  constructor(
    private readonly db: Database,
    private readonly cipher: EnvelopeCipher,
    private readonly hsm: IssuerHsm,
    private readonly link: IssuerNetworkLink | undefined,
  ) {}

  async #card(issuerId: string, cardId: string): Promise<CardRow> {
    const card = cardId.startsWith('icard_') ? await repo.cardById(this.db, cardId) : undefined;
    if (!card || card.issuer_id !== issuerId) throw new AppError('resource_missing', { param: 'card_id' });
    return card;
  }

  async #pan(card: CardRow): Promise<Secret> {
    const blob = await repo.cardPanEncrypted(this.db, card.id);
    if (!blob) throw new AppError('resource_missing', { param: 'card_id' });
    return Secret.pan(await this.cipher.decryptString(blob, `issuer:pan:${card.id}`));
  }

  async #seal(eventId: string, field: string, pan: Secret): Promise<string> {
    return (await this.cipher.encrypt(pan.reveal(), `issuer:outbox:${eventId}:${field}`)).toString('base64');
  }

  async #open(eventId: string, field: string, sealed: string): Promise<string> {
    return this.cipher.decryptString(Buffer.from(sealed, 'base64'), `issuer:outbox:${eventId}:${field}`);
  }

  /** Writes the notification row and its outbox event in the caller's transaction. */
  async #notify(tx: Sql, payload: CardEventPayload, eventId: string): Promise<void> {
    await notificationRepo.insertOutgoing(tx, { eventId, issuerId: payload.issuer_id, cardId: payload.card_id, kind: payload.kind, action: payload.action });
    await enqueue(tx, { topic: ISSUER_CARD_TOPIC, aggregateId: payload.card_id, payload, eventId });
  }

  async #statusChange(issuerId: string, cardId: string, from: CardStatus[], to: CardStatus, action: CardEventPayload['action'], tokenAction: TokenAction, reason: string): Promise<CardLifecycleView> {
    const card = await this.#card(issuerId, cardId);
    // Repeating a change already made changes nothing and tells nobody again (its event is in the outbox).
    if (card.status === to) return { ...view(card), notification: null };
    const pan = await this.#pan(card);
    const eventId = newId('evt');
    const sealed = await this.#seal(eventId, 'pan', pan);
    await this.db.tx(async (tx) => {
      if (!(await repo.setCardStatusFrom(tx, card.id, from, to))) {
        throw new AppError('resource_conflict', { message: `This card is ${card.status}; it cannot become ${to}.` });
      }
      await this.#notify(tx, { issuer_id: issuerId, card_id: card.id, network: card.network, kind: 'card_lifecycle', action, token_action: tokenAction, reason, pan: sealed }, eventId);
    });
    return { ...view({ ...card, status: to }), notification: { event_id: eventId, status: 'pending' } };
  }

  /** Fraud block: the card is declined (62) and its tokens are suspended by the issuer. */
  block(issuerId: string, cardId: string): Promise<CardLifecycleView> {
    return this.#statusChange(issuerId, cardId, ['active'], 'blocked', 'block', 'suspend', 'fraud');
  }

  /** Unblock: the tokens the issuer suspended are resumed (a device reported lost stays suspended). */
  unblock(issuerId: string, cardId: string): Promise<CardLifecycleView> {
    return this.#statusChange(issuerId, cardId, ['blocked'], 'active', 'unblock', 'resume', 'card_unblocked');
  }

  /** Account or card closed: every token of the card is deleted. */
  close(issuerId: string, cardId: string): Promise<CardLifecycleView> {
    return this.#statusChange(issuerId, cardId, ['active', 'blocked', 'expired'], 'closed', 'close', 'delete', 'card_closed');
  }

  /**
   * Reissue: with `new_number`, a fresh number in the issuer's range for the card's network (the card
   * keeps its id, account and PAR seed); a new expiry (else the current one). The network re-maps every
   * token of the old number once the outbox delivers the PAN update: the token numbers do not change
   * and the devices go on paying with them. The answer carries the new number and CVV once (the card
   * mailer), as card issuance does. With an Idempotency-Key a retry answers the same reissue (the same
   * number, kept encrypted; the CVV recomputed) and never makes a second; the key with other parameters
   * or another card is refused (422).
   */
  async reissue(
    issuerId: string,
    cardId: string,
    input: { new_number?: boolean | undefined; exp_month?: number | undefined; exp_year?: number | undefined },
    idempotencyKey?: string,
  ): Promise<CardLifecycleView & { number: string; cvv: string | null; replayed: boolean }> {
    const request = { card_id: cardId, new_number: input.new_number ?? false, exp_month: input.exp_month ?? null, exp_year: input.exp_year ?? null };
    if (idempotencyKey !== undefined) {
      const earlier = await this.#replay(issuerId, idempotencyKey, request);
      if (earlier) return earlier;
    }
    const card = await this.#card(issuerId, cardId);
    if (card.status === 'closed') throw new AppError('resource_conflict', { message: 'This card is closed; it cannot be reissued.' });
    if (!input.new_number && input.exp_month === undefined && input.exp_year === undefined) {
      throw new AppError('parameter_invalid', { message: 'A reissue needs new_number, a new expiry, or both.' });
    }
    const expMonth = input.exp_month ?? card.exp_month;
    const expYear = input.exp_year ?? card.exp_year;
    const oldPan = await this.#pan(card);
    let newPan = oldPan;
    let eventId = '';
    for (let attempt = 0; ; attempt++) {
      if (input.new_number) newPan = await this.#newNumber(issuerId, card.network, oldPan.reveal());
      eventId = newId('evt');
      const fingerprint = await this.cipher.fingerprint(newPan.reveal());
      const panEncrypted = await this.cipher.encrypt(newPan.reveal(), `issuer:pan:${card.id}`);
      const reissueId = newId('reiss');
      const reissuePan = await this.cipher.encrypt(newPan.reveal(), `issuer:reissue:${reissueId}`);
      const payload: CardEventPayload = {
        issuer_id: issuerId,
        card_id: card.id,
        network: card.network,
        kind: 'pan_update',
        action: 'reissue',
        pan: await this.#seal(eventId, 'pan', oldPan),
        ...(input.new_number ? { new_pan: await this.#seal(eventId, 'new_pan', newPan) } : {}),
        exp_month: expMonth,
        exp_year: expYear,
      };
      try {
        const won = await this.db.tx(async (tx) => {
          await this.#notify(tx, payload, eventId);
          if (idempotencyKey !== undefined) {
            const inserted = await notificationRepo.insertReissue(tx, { id: reissueId, issuerId, cardId: card.id, idemKey: idempotencyKey, request, panEncrypted: reissuePan, expMonth, expYear, eventId });
            // A concurrent request with the same key made its reissue first: this one changes nothing.
            if (!inserted) throw new ReissueRaced();
          }
          await repo.reissueCard(tx, card.id, { panEncrypted, panFingerprint: fingerprint, last4: newPan.reveal().slice(-4), expMonth, expYear });
          return true;
        });
        if (won) break;
      } catch (err) {
        if (err instanceof ReissueRaced && idempotencyKey !== undefined) {
          const earlier = await this.#replay(issuerId, idempotencyKey, request);
          if (earlier) return earlier;
        }
        if (input.new_number && attempt < 5 && isUniqueViolation(err, 'cards_pan_fingerprint_unique')) continue;
        throw err;
      }
    }
    const cvv = card.cvv_method === 'cvk' ? (await this.db.tx((tx) => this.hsm.cvv2(tx, issuerId, newPan, card.network, expMonth, expYear))).reveal() : null;
    const updated = await this.#card(issuerId, cardId);
    return { ...view(updated), notification: { event_id: eventId, status: 'pending' }, number: newPan.reveal(), cvv, replayed: false };
  }

  /** The reissue made earlier with this key, answered again; undefined when the key is new. */
  async #replay(issuerId: string, idempotencyKey: string, request: Record<string, unknown>) {
    const earlier = await notificationRepo.reissueByKey(this.db, issuerId, idempotencyKey);
    if (!earlier) return undefined;
    // jsonb keeps its own key order: compare field by field.
    const stored = (earlier.request ?? {}) as Record<string, unknown>;
    const asked = request as Record<string, unknown>;
    const keys = new Set([...Object.keys(stored), ...Object.keys(asked)]);
    if ([...keys].some((k) => JSON.stringify(stored[k] ?? null) !== JSON.stringify(asked[k] ?? null))) throw new AppError('idempotency_key_reused');
    const card = await this.#card(issuerId, earlier.card_id);
    const number = Secret.pan(await this.cipher.decryptString(earlier.pan_encrypted, `issuer:reissue:${earlier.id}`));
    const cvv = card.cvv_method === 'cvk' ? (await this.db.tx((tx) => this.hsm.cvv2(tx, issuerId, number, card.network, earlier.exp_month, earlier.exp_year))).reveal() : null;
    const sent = (await notificationRepo.outgoingOfCard(this.db, card.id)).find((n) => n.event_id === earlier.event_id);
    return {
      ...view(card),
      // What the reissue made (the card may have changed since: its status is today's).
      last4: number.reveal().slice(-4),
      exp_month: earlier.exp_month,
      exp_year: earlier.exp_year,
      notification: { event_id: earlier.event_id, status: (sent?.status ?? 'pending') as 'pending' | 'delivered' | 'rejected' },
      number: number.reveal(),
      cvv,
      replayed: true,
    };
  }

  /**
   * The OutboxWorker's handler for `issuer.card`: tells the card's network over the issuer's channel,
   * with the event id (the network records it with the change, so a redelivery changes nothing) as
   * body field and Idempotency-Key. A refusal (4xx: the network does not know the card, the change is
   * not allowed) is final and recorded; anything else is retried with backoff, later events of the
   * same card waiting behind it.
   */
  deliver = async (event: OutboxEvent): Promise<void> => {
    const p = event.payload as CardEventPayload;
    const apiKey = this.link?.apiKey(p.issuer_id);
    if (!this.link || !apiKey) {
      await notificationRepo.markOutgoing(this.db, event.event_id, { status: 'rejected', error: 'no channel to the network' });
      return;
    }
    const pan = await this.#open(event.event_id, 'pan', p.pan);
    const body =
      p.kind === 'pan_update'
        ? { event_id: event.event_id, old_pan: pan, ...(p.new_pan ? { new_pan: await this.#open(event.event_id, 'new_pan', p.new_pan) } : {}), exp_month: p.exp_month, exp_year: p.exp_year }
        : { event_id: event.event_id, pan, action: p.token_action, reason: p.reason };
    const path = p.kind === 'pan_update' ? '/pan-updates' : '/card-lifecycle';
    try {
      const answer = await call<{ tokens?: unknown[]; data?: unknown[] }>(this.link.transport, `network:${p.network}`, {
        method: 'POST',
        path: `/network/${p.network}/v1${path}`,
        apiKey,
        body,
        idempotencyKey: event.event_id,
      });
      await notificationRepo.markOutgoing(this.db, event.event_id, { status: 'delivered', tokensChanged: (answer.tokens ?? answer.data ?? []).length });
    } catch (err) {
      if (err instanceof PartyError && err.status >= 400 && err.status < 500 && err.status !== 409 && err.status !== 429) {
        await notificationRepo.markOutgoing(this.db, event.event_id, { status: 'rejected', error: err.code ?? `status ${err.status}` });
        return;
      }
      throw err;
    }
  };

  /** The card's notifications to its network, oldest first (GET …/cards/:card_id/network-notifications). */
  async notifications(issuerId: string, cardId: string) {
    const card = await this.#card(issuerId, cardId);
    const rows = await notificationRepo.outgoingOfCard(this.db, card.id);
    return {
      object: 'list' as const,
      data: rows.map((r) => ({
        object: 'network_notification' as const,
        event_id: r.event_id,
        kind: r.kind,
        action: r.action,
        status: r.status,
        tokens_changed: r.tokens_changed,
        error: r.error,
        created_at: new Date(r.created_at).toISOString(),
        delivered_at: r.delivered_at ? new Date(r.delivered_at).toISOString() : null,
      })),
      has_more: false,
    };
  }

  async #newNumber(issuerId: string, network: Network, oldPan: string): Promise<Secret> {
    const ranges = (await repo.binRanges(this.db, issuerId)).filter((b) => b.network === network);
    const bin = ranges.find((b) => oldPan.startsWith(b.prefix)) ?? ranges[0];
    if (!bin) throw new AppError('card_not_supported', { message: 'This issuer does not issue cards of that network.' });
    let digits = bin.prefix;
    while (digits.length < oldPan.length - 1) digits += String(randomInt(0, 10));
    const pan = digits + luhnCheckDigit(digits);
    return pan === oldPan ? this.#newNumber(issuerId, network, oldPan) : Secret.pan(pan);
  }
}

class ReissueRaced extends Error {}

function view(card: CardRow): Omit<CardLifecycleView, 'notification'> {
  return { object: 'card', id: card.id, network: card.network, last4: card.last4, exp_month: card.exp_month, exp_year: card.exp_year, status: card.status };
}
