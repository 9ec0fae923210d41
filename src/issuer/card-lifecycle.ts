import { randomInt } from 'node:crypto';
import type { Database } from '../infra/db/database.js';
import { isUniqueViolation } from '../infra/db/database.js';
import { AppError } from '../infra/errors.js';
import type { EnvelopeCipher } from '../infra/keys/envelope.js';
import { call, PartyError, PartyUnavailable, type Transport } from '../infra/transport.js';
import { luhnCheckDigit, type Network } from '../protocol/cards/index.js';
import { Secret } from '../protocol/secret.js';
import type { IssuerHsm } from './hsm.js';
import { issuerRepo as repo, type CardRow, type CardStatus } from './repository.js';

/**
 * How an issuer reaches the card networks' lifecycle API (`POST /network/:brand/v1/pan-updates` and
 * `/card-lifecycle`): a transport and the issuer's own API key (role issuer, owner = the issuer id).
 */
export interface IssuerNetworkLink {
  transport: Transport;
  apiKey(issuerId: string): string | undefined;
}

export interface CardLifecycleView {
  object: 'card';
  id: string;
  network: Network;
  last4: string;
  exp_month: number;
  exp_year: number;
  status: CardStatus;
  /** How many tokens the card's network changed (re-mapped, suspended, resumed or deleted). */
  tokens_changed: number;
}

type TokenAction = 'suspend' | 'resume' | 'delete';

/**
 * Flow 4 at the issuer: reissue (new number in the issuer's range and/or new expiry), close, block
 * (fraud) and unblock a card, each told to the network that holds tokens for it, over the issuer's
 * authenticated channel (the old and new numbers travel only there). The network finds the tokens by
 * its own fingerprint of the number and re-maps, suspends, resumes or deletes them.
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

  /** Tells the card's network; answers how many tokens it changed. */
  async #tell<T extends { tokens?: unknown[]; data?: unknown[] }>(issuerId: string, network: Network, path: string, body: unknown): Promise<number> {
    const apiKey = this.link?.apiKey(issuerId);
    if (!this.link || !apiKey) return 0;
    try {
      const answer = await call<T>(this.link.transport, `network:${network}`, { method: 'POST', path: `/network/${network}/v1${path}`, apiKey, body });
      return (answer.tokens ?? answer.data ?? []).length;
    } catch (err) {
      if (err instanceof PartyError || err instanceof PartyUnavailable) {
        throw new AppError('downstream_failed', { message: "The card changed at the issuer, but its network did not take the update; repeat the request to send it again." });
      }
      throw err;
    }
  }

  async #statusChange(issuerId: string, cardId: string, from: CardStatus[], to: CardStatus, action: TokenAction, reason: string): Promise<CardLifecycleView> {
    const card = await this.#card(issuerId, cardId);
    // Repeating a change that is already made sends it to the network again (a failed notification is retried so).
    if (card.status !== to && !(await repo.setCardStatusFrom(this.db, card.id, from, to))) {
      throw new AppError('resource_conflict', { message: `This card is ${card.status}; it cannot become ${to}.` });
    }
    const pan = await this.#pan(card);
    const changed = await this.#tell(issuerId, card.network, '/card-lifecycle', { pan: pan.reveal(), action, reason });
    return { ...view({ ...card, status: to }), tokens_changed: changed };
  }

  /** Fraud block: the card is declined (62) and its tokens are suspended by the issuer. */
  block(issuerId: string, cardId: string): Promise<CardLifecycleView> {
    return this.#statusChange(issuerId, cardId, ['active'], 'blocked', 'suspend', 'fraud');
  }

  /** Unblock: the tokens the issuer suspended are resumed (a device reported lost stays suspended). */
  unblock(issuerId: string, cardId: string): Promise<CardLifecycleView> {
    return this.#statusChange(issuerId, cardId, ['blocked'], 'active', 'resume', 'card_unblocked');
  }

  /** Account or card closed: every token of the card is deleted. */
  close(issuerId: string, cardId: string): Promise<CardLifecycleView> {
    return this.#statusChange(issuerId, cardId, ['active', 'blocked', 'expired'], 'closed', 'delete', 'card_closed');
  }

  /**
   * Reissue: with `new_number`, a fresh number in the issuer's range for the card's network (the card
   * keeps its id, account and PAR seed); a new expiry (else the current one). The network re-maps every
   * token of the old number: the token numbers do not change and the devices go on paying with them.
   * The answer carries the new number and CVV once (the card mailer), as card issuance does.
   */
  async reissue(
    issuerId: string,
    cardId: string,
    input: { new_number?: boolean | undefined; exp_month?: number | undefined; exp_year?: number | undefined },
  ): Promise<CardLifecycleView & { number: string; cvv: string | null }> {
    const card = await this.#card(issuerId, cardId);
    if (card.status === 'closed') throw new AppError('resource_conflict', { message: 'This card is closed; it cannot be reissued.' });
    if (!input.new_number && input.exp_month === undefined && input.exp_year === undefined) {
      throw new AppError('parameter_invalid', { message: 'A reissue needs new_number, a new expiry, or both.' });
    }
    const expMonth = input.exp_month ?? card.exp_month;
    const expYear = input.exp_year ?? card.exp_year;
    const oldPan = await this.#pan(card);
    let newPan = oldPan;
    for (let attempt = 0; ; attempt++) {
      if (input.new_number) newPan = await this.#newNumber(issuerId, card.network, oldPan.reveal());
      const fingerprint = await this.cipher.fingerprint(newPan.reveal());
      const panEncrypted = await this.cipher.encrypt(newPan.reveal(), `issuer:pan:${card.id}`);
      try {
        await this.db.tx((tx) => repo.reissueCard(tx, card.id, { panEncrypted, panFingerprint: fingerprint, last4: newPan.reveal().slice(-4), expMonth, expYear }));
        break;
      } catch (err) {
        if (input.new_number && attempt < 5 && isUniqueViolation(err, 'cards_pan_fingerprint_unique')) continue;
        throw err;
      }
    }
    const cvv = card.cvv_method === 'cvk' ? (await this.db.tx((tx) => this.hsm.cvv2(tx, issuerId, newPan, card.network, expMonth, expYear))).reveal() : null;
    const changed = await this.#tell(issuerId, card.network, '/pan-updates', {
      old_pan: oldPan.reveal(),
      ...(input.new_number ? { new_pan: newPan.reveal() } : {}),
      exp_month: expMonth,
      exp_year: expYear,
    });
    const updated = await this.#card(issuerId, cardId);
    return { ...view(updated), tokens_changed: changed, number: newPan.reveal(), cvv };
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

function view(card: CardRow): Omit<CardLifecycleView, 'tokens_changed'> {
  return { object: 'card', id: card.id, network: card.network, last4: card.last4, exp_month: card.exp_month, exp_year: card.exp_year, status: card.status };
}
