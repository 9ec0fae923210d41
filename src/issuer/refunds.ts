import { randomInt } from 'node:crypto';
import type { Database } from '../infra/db/database.js';
import { isUniqueViolation } from '../infra/db/database.js';
import { newId } from '../infra/ids.js';
import type { EnvelopeCipher } from '../infra/keys/envelope.js';
import { AppError } from '../infra/errors.js';
import { detectNetwork } from '../protocol/cards/index.js';
import { ProtocolError } from '../protocol/errors.js';
import { packMessage, unpackMessage, type IsoMessage } from '../protocol/iso8583/iso8583.js';
import type { MessageOutcome } from './authorizations.js';
import type { Caller } from './service.js';
import { answer, authCode, keyOfOriginal, keyOfRequest, text } from './authorization-rules.js';
import { authorizationRepo, refundRepo } from './repository.js';

export interface RefundDecision {
  code: string;
  reason: string;
  authCode?: string;
  refundId?: string;
  replay: boolean;
}

/**
 * A refund at the issuer (0200, processing code 20xxxx; docs/lifecycle.md): the network forwards the
 * merchant's refund of an earlier approved authorization (DE 90 names it, as a reversal's does). The
 * issuer credits the cardholder's account: one posting of its own (the account +amount, the issuer's
 * refunds clearing −amount: it sums to zero) and the posted balance, in one transaction with the
 * refund's record. At most the original amount is refunded, over all its refunds; a retransmitted 0200
 * (same DE 32, 11, 7, 41) gets the first answer and credits nothing more.
 */
export class IssuerRefunds {
  constructor(
    private readonly db: Database,
    private readonly cipher: EnvelopeCipher,
  ) {}

  /** True when these bytes are a 0200 (the issuer's ISO 8583 route hands those here). */
  static isRefundRequest(raw: Uint8Array): boolean {
    return raw.length >= 4 && raw[0] === 0x30 && raw[1] === 0x32 && raw[2] === 0x30 && raw[3] === 0x30;
  }

  /** The issuer's ISO 8583 route for a 0200: the same answer shape as the authorization engine's. */
  async handleRaw(issuerId: string, caller: Caller, raw: Uint8Array): Promise<{ request: IsoMessage; response: Uint8Array; outcome: MessageOutcome }> {
    let msg: IsoMessage;
    try {
      msg = unpackMessage(raw);
    } catch (err) {
      if (err instanceof ProtocolError) throw new AppError('issuer_message_invalid', { message: `The body is not an ISO 8583 message of the profile: ${err.message}.` });
      throw err;
    }
    const pan = text(msg, 2);
    // A network's key sends only its own brand's cards (as for 0100).
    const decided =
      caller.network && pan && detectNetwork(pan) !== caller.network
        ? { response: answer(msg, '0210', '14'), decision: { code: '14', reason: 'card_of_another_network', replay: false } as RefundDecision }
        : await this.handle(issuerId, msg);
    const { response, decision } = decided;
    return {
      request: msg,
      response: packMessage(response),
      outcome: { mti: msg.mti, response_mti: '0210', response_code: decision.code, reason: decision.reason, replay: decision.replay, recorded: !decision.replay && decision.refundId !== undefined },
    };
  }

  async handle(issuerId: string, msg: IsoMessage): Promise<{ response: IsoMessage; decision: RefundDecision }> {
    const decision = await this.#decide(issuerId, msg);
    return { response: answer(msg, '0210', decision.code, decision.code === '00' ? decision.authCode : undefined), decision };
  }

  async #decide(issuerId: string, msg: IsoMessage): Promise<RefundDecision> {
    const key = keyOfRequest(msg);
    const originalKey = keyOfOriginal(msg);
    const pan = text(msg, 2);
    const amountText = text(msg, 4);
    if (!key || !pan || !amountText || !/^\d{1,12}$/.test(amountText)) return { code: '30', reason: 'format_error', replay: false };
    if (!text(msg, 3)?.startsWith('20')) return { code: '12', reason: 'processing_code_not_refund', replay: false };
    const amount = BigInt(amountText);
    const fingerprint = await this.cipher.fingerprint(pan);

    for (let attempt = 0; ; attempt++) {
      try {
        return await this.db.tx(async (tx) => {
          const existing = await refundRepo.byKey(tx, issuerId, key);
          if (existing) return { code: existing.response_code, reason: existing.reason, ...(existing.auth_code ? { authCode: existing.auth_code } : {}), refundId: existing.id, replay: true };
          const id = newId('irfd');
          const decline = async (code: string, reason: string, original?: { id: string; card_id: string; account_id: string }) => {
            await refundRepo.insert(tx, { id, issuerId, txnKey: key, authorizationId: original?.id ?? null, cardId: original?.card_id ?? null, accountId: original?.account_id ?? null, amount, currencyNumeric: text(msg, 49) ?? null, responseCode: code, authCode: null, reason });
            return { code, reason, refundId: id, replay: false };
          };
          if (amount <= 0n) return decline('13', 'zero_amount');
          const card = await authorizationRepo.cardRefByFingerprint(tx, fingerprint);
          if (!card || card.issuer_id !== issuerId) return decline('14', 'unknown_card');
          const original = originalKey ? await refundRepo.originalForRefund(tx, issuerId, originalKey) : undefined;
          // The refund must name an approved authorization of this very card.
          if (!original || original.card_id !== card.card_id) return decline('12', 'original_not_found');
          if (original.currency_numeric && text(msg, 49) && original.currency_numeric !== text(msg, 49)) return decline('12', 'currency_mismatch', original);
          if (BigInt(original.refunded) + amount > BigInt(original.amount)) return decline('13', 'exceeds_original', original);
          const approval = authCode(randomInt);
          await refundRepo.insert(tx, { id, issuerId, txnKey: key, authorizationId: original.id, cardId: original.card_id, accountId: original.account_id, amount, currencyNumeric: text(msg, 49) ?? original.currency_numeric, responseCode: '00', authCode: approval, reason: 'refunded' });
          await refundRepo.credit(tx, { issuerId, refundId: id, accountId: original.account_id, amount, currency: original.currency });
          return { code: '00', reason: 'refunded', authCode: approval, refundId: id, replay: false };
        });
      } catch (err) {
        // A concurrent twin committed first: run again and answer what it recorded.
        if (attempt < 3 && (isUniqueViolation(err, 'refunds_key_unique') || (err as { code?: string }).code === '40001')) continue;
        throw err;
      }
    }
  }
}
