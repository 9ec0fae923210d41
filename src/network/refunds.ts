import { newId } from '../infra/ids.js';
import { enqueue } from '../infra/outbox.js';
import type { Logger } from '../infra/logger.js';
import { describeMessage, packMessage, type IsoMessage } from '../protocol/iso8583/iso8583.js';
import { Secret } from '../protocol/secret.js';
import type { Brand } from './brands.js';
import { exchangeWithIssuer } from './issuer-link.js';
import { refundRepo, type RefundOriginalRow } from './repository.js';
import { vaultContext } from './service.js';
import type { SwitchDeps } from './switch.js';

/** DE 2, 3, 4, 7, 11, 41, 49, 90: without them a refund cannot be routed, de-duplicated or tied to its original. */
const REQUIRED_0200 = [2, 3, 4, 7, 11, 41, 49, 90] as const;
/** What the 0210 repeats of the 0200 (DE 2: the token's). */
const ECHO = [2, 3, 4, 7, 11, 12, 13, 32, 37, 41, 42, 49, 90] as const;

const text = (msg: IsoMessage, n: number): string | undefined => {
  const v = msg.fields[n];
  return typeof v === 'string' ? v : undefined;
};

function respond(request: IsoMessage, code: string, authCode?: string | null): IsoMessage {
  const fields: Record<number, string | Uint8Array> = {};
  for (const n of ECHO) {
    const v = request.fields[n];
    if (v !== undefined) fields[n] = v;
  }
  if (authCode) fields[38] = authCode;
  return { mti: '0210', fields: { ...fields, 39: code } };
}

/**
 * A refund through the switch (0200, processing code 20; docs/lifecycle.md). The acquirer names the
 * approved authorization it refunds in DE 90 (its own 0100's STAN and DE 7, as a reversal does); the
 * network checks it is this acquirer's and this token's and that its refunds stay within its amount,
 * swaps the token for the card number and sends the 0200 to the card's issuer, which credits the
 * account. An approved refund is a `network.transaction` of type refund tied to the original (and, once
 * the whole amount is refunded, the original is told `refunded`): the platform's history and the
 * device show it. A retransmitted 0200 gets the recorded answer; a refund the issuer did not answer
 * is declined (91) and may be sent again with the same DE 11 / DE 7 (the issuer de-duplicates it).
 */
export async function handleRefund(deps: SwitchDeps, brand: Brand, acquirerId: string, msg: IsoMessage, log: Logger): Promise<IsoMessage> {
  if (REQUIRED_0200.some((n) => text(msg, n) === undefined)) return respond(msg, '30');
  if (!text(msg, 3)!.startsWith('20')) return respond(msg, '12');
  const amount = Number(text(msg, 4));
  if (!Number.isSafeInteger(amount) || amount <= 0) return respond(msg, '13');
  const key = { acquirerId, stan: text(msg, 11)!, transmitted: text(msg, 7)!, terminalId: text(msg, 41)! };
  const { db, vault, tokens, directory, issuerIso, settings } = deps;

  const earlier = await refundRepo.byTransmission(db, key);
  if (earlier?.response_code) return respond(msg, earlier.response_code, earlier.auth_code);

  const token = /^\d{13,19}$/.test(text(msg, 2)!) ? await tokens.byTokenPan(text(msg, 2)!) : undefined;
  if (!token || token.brand !== brand) return respond(msg, '14');
  const de90 = text(msg, 90)!;
  if (!/^\d{42}$/.test(de90) || de90.slice(0, 4) !== '0100') return respond(msg, '12');
  const original = await refundRepo.original(db, { acquirerId, stan: de90.slice(4, 10), transmitted: de90.slice(10, 20), terminalId: key.terminalId });
  // Only an approved authorization of this token, from this acquirer and terminal, can be refunded.
  if (!original || original.status !== 'approved' || original.token_ref !== token.token_ref) return respond(msg, '12');
  if (original.currency !== text(msg, 49)) return respond(msg, '12');

  const pan = await vault.decryptString(Buffer.from(token.pan_encrypted, 'base64'), vaultContext.pan(token.token_ref));
  const issuerId = directory.issuerIdForPan(Secret.pan(pan)) ?? token.issuer_id;
  let refundId = earlier?.id;
  if (!refundId) {
    if (BigInt(original.refunded) + BigInt(amount) > BigInt(original.amount)) return respond(msg, '13');
    const id = newId('nrfd');
    const inserted = await db.tx(async (tx) => {
      // Re-checked under the original's row lock: two refunds of one authorization never exceed it together.
      await refundRepo.lockAuthorization(tx, original.id);
      const fresh = await refundRepo.original(tx, { acquirerId, stan: original.stan, transmitted: original.transmitted, terminalId: key.terminalId });
      if (!fresh || BigInt(fresh.refunded) + BigInt(amount) > BigInt(fresh.amount)) return 'exceeds' as const;
      return (await refundRepo.insert(tx, { id, ...key, authorizationId: original.id, tokenRef: token.token_ref, brand, issuerId, amount, currency: original.currency })) ? ('new' as const) : ('raced' as const);
    });
    if (inserted === 'exceeds') return respond(msg, '13');
    if (inserted === 'raced') {
      const twin = await refundRepo.byTransmission(db, key);
      if (twin?.response_code) return respond(msg, twin.response_code, twin.auth_code);
      refundId = twin?.id;
    } else refundId = id;
  }
  if (!refundId) return respond(msg, '96');

  // To the issuer with the card number; DE 90 names the original as the issuer received it.
  const fields: Record<number, string | Uint8Array> = {};
  for (const [n, v] of Object.entries(msg.fields)) if (![2, 35, 52, 55, 48].includes(Number(n))) fields[Number(n)] = v;
  fields[2] = pan;
  const toIssuer: IsoMessage = { mti: '0200', fields };
  const outcome = issuerIso ? await exchangeWithIssuer(issuerIso, brand, issuerId, packMessage(toIssuer), settings.issuerTimeoutMs) : ({ kind: 'refused', status: 0, code: 'not_configured' } as const);
  const answer = outcome.kind === 'answer' && outcome.message.mti === '0210' ? outcome.message : undefined;
  const code = answer ? (text(answer, 39) ?? '96') : '91';
  const authCode = code === '00' ? (text(answer!, 38) ?? null) : null;
  log.info({ refund: refundId, original: original.id, iso: describeMessage({ mti: '0200', fields: { 3: text(msg, 3)!, 4: text(msg, 4)!, 11: key.stan, 39: code } }) }, 'network refund');
  // No answer: nothing is recorded as final; the acquirer may send the same 0200 again.
  if (!answer) return respond(msg, code);

  const approved = code === '00';
  await db.tx(async (tx) => {
    if (!(await refundRepo.complete(tx, refundId, { status: approved ? 'approved' : 'declined', responseCode: code, authCode }))) return;
    if (!approved) return;
    const occurredAt = deps.clock().toISOString();
    await enqueue(tx, { topic: 'network.transaction', aggregateId: token.token_ref, payload: transactionEvent(original, brand, { id: refundId, amount, status: 'approved', type: 'refund', responseCode: code, authCode, occurredAt, originalId: original.id }) });
    // The whole amount refunded: the original shows as refunded in the history.
    if (BigInt(original.refunded) + BigInt(amount) >= BigInt(original.amount)) {
      await enqueue(tx, { topic: 'network.transaction', aggregateId: token.token_ref, payload: transactionEvent(original, brand, { id: original.id, amount: Number(original.amount), status: 'refunded', type: original.pos_entry_mode?.startsWith('07') ? 'nfc' : 'inapp', responseCode: '00', authCode: null, occurredAt: new Date(original.created_at).toISOString(), originalId: null }) });
    }
  });
  return respond(msg, code, authCode);
}

function transactionEvent(
  original: RefundOriginalRow,
  brand: Brand,
  e: { id: string; amount: number; status: string; type: string; responseCode: string; authCode: string | null; occurredAt: string; originalId: string | null },
) {
  return {
    token_ref: original.token_ref,
    brand,
    amount: e.amount,
    currency: original.currency,
    merchant_name: original.merchant_name ?? 'Unknown merchant',
    mcc: original.mcc,
    status: e.status,
    response_code: e.responseCode,
    auth_code: e.authCode,
    decline_reason: null,
    type: e.type,
    network_transaction_id: e.id,
    original_network_transaction_id: e.originalId,
    occurred_at: e.occurredAt,
  };
}
