/**
 * Authorizations at the issuer (docs/authorization.md): the network sends a 0100
 * with the real card number in DE2 and the token context in DE48; the issuer decides, places a hold and
 * answers a 0110. Reversals (0400, 0420) release the hold exactly once.
 *
 * Every decision is ONE transaction with everything it writes: the authorization record, the hold, the
 * balanced ledger posting and the outbox event. So, after any crash or timeout, the issuer's active holds
 * are exactly its approved, not reversed authorizations.
 *
 * ## Concurrency
 * A decision and a reversal are serialized by locks, not by SSI (READ COMMITTED, no serialization
 * failures to retry). Under SERIALIZABLE, concurrent decisions on different accounts kept failing each
 * other: the foreign-key checks of the hold (on the new authorization) and of the ledger entries (on the
 * new hold) read the index pages every concurrent decision inserts into. The protocol:
 * 1. the transaction's first statement (sent with BEGIN) takes an advisory lock on the transaction key
 *    (issuer, txn_key); a decision on a 0100 and a reversal naming it take the same lock;
 * 2. a decision then reads, in one statement: an earlier decision under the key, a reversal under it, and
 *    the card with its account, locking both rows FOR UPDATE; a reversal reads its original and hold;
 * 3. it writes (one statement for a decision) and commits, releasing the locks.
 * 0100s that arrive while decisions are in flight are decided together (./decision-queue.ts): one
 * transaction takes all their keys' locks (in lock-id order), reads all their contexts in one statement
 * (card rows locked in fingerprint order), decides each in turn and writes them all in one statement. A
 * batch never holds two 0100s of one key or one card; two cards of one account in a batch are decided in
 * turn, the later seeing the earlier's hold. A batch whose transaction fails is decided again one by one.
 * Everything a decision depends on is either under a lock it holds (the key: no other decision or
 * reversal of this message can commit meanwhile; the card and account rows: every change to a card's
 * status or velocity and to an account's status, balance, limit or held total updates that row, and so
 * waits, or made its change before the lock was granted, and then the read sees it) or written by it
 * alone (its new rows). Each READ COMMITTED statement sees what was committed before it began, so the
 * reads of step 2 see every earlier holder's writes: the outcome is the one a serial execution in lock
 * order gives. The UNIQUE keys stay the last guard.
 *
 * ## The network's transaction key
 * `DE32 (zero-filled to 11) : DE11 : DE7 : DE41` of the 0100 as the issuer received it. A reversal names
 * its original by DE90 (original MTI `0100` ‖ STAN ‖ DE7 ‖ acquirer id ‖ forwarding id; an all-zero
 * acquirer id means "take DE32") together with its own DE41. The key is UNIQUE per issuer in
 * `issuer.authorizations`, `issuer.holds` and `issuer.reversals`:
 * - a 0100 whose key was decided before gets the same answer again (DE38 too), with no second hold; the
 *   same key with another card, amount, currency or processing code gets 94 (duplicate transmission);
 * - a reversal whose key was reversed before changes nothing and is answered 00;
 * - a reversal that arrives BEFORE its original leaves a tombstone (outcome `before_original`): the late
 *   0100 is then declined 12 (invalid transaction) without a hold.
 *
 * ## The decision on a 0100, in this order
 * no key (DE11, DE7 or DE41 missing) → 12, not recorded · a key-holder of another brand (a network key
 * owned by a brand may touch only that brand's cards) → 14, not recorded · repeat → the first answer ·
 * tombstone → 12 · DE3 not a purchase (00xxxx) → 12 · unknown card (by keyed fingerprint of DE2, this
 * issuer's cards only) → 14 · card blocked or closed, account frozen or closed → 62 · card status
 * expired, its expiry passed, DE14 past or not the card's (the documented test cards take any future
 * month) → 54 · DE48 SE36 cryptogram check not `V`, or SE71 domain check `F` → 05 (the issuer relies on
 * the network's on-behalf verification) · DE49 not the account's currency → 12 · amount 0 → 13 ·
 * amount above the single-transaction limit → 61 · more than 30 approvals on the card in 10 minutes →
 * 61 · contactless above the CVM limit without consumer-device CVM → 55 · amount above the available
 * funds → 51 · else 00 with a 6-character DE38. Limits and the CVM rule: ./authorization-rules.ts.
 */
import { randomInt } from 'node:crypto';
import { AppError } from '../infra/errors.js';
import type { Database, Sql } from '../infra/db/database.js';
import { isUniqueViolation } from '../infra/db/database.js';
import { newId } from '../infra/ids.js';
import type { EnvelopeCipher } from '../infra/keys/envelope.js';
import { detectNetwork } from '../protocol/cards/index.js';
import { ProtocolError } from '../protocol/errors.js';
import { packMessage, responseMti, unpackMessage, type IsoMessage } from '../protocol/iso8583/iso8583.js';
import {
  answer,
  AUTHORIZATION_LIMITS,
  authCode,
  bytes,
  cdcvmPerformed,
  CURRENCY_NUMERIC,
  expiryHasPassed,
  isContactless,
  keyOfOriginal,
  keyOfRequest,
  parseExpiry,
  text,
  tokenContext,
} from './authorization-rules.js';
import './card-errors.js';
import { DecisionQueue } from './decision-queue.js';
import { authorizationRepo as repo, type AuthorizationCardRow, type AuthorizationRow, type DecisionContext, type DecisionWrite } from './repository.js';
import type { Caller } from './service.js';

// No outbox event per decision: nobody consumes one (the wallet hears of a payment from its network's
// `network.transaction` event, the merchant from the acquirer), and an event nobody delivers stays
// pending for ever in the console. The decisions are the issuer's own record (GET …/authorizations).

/** Retries of a decision's transaction on serialization failures (many taps on one account at once). */
const DECISION_RETRIES = 40;

/** What came of one message: for the log line (no card data) and the tests. */
export interface MessageOutcome {
  mti: string;
  response_mti: string;
  response_code: string;
  reason: string;
  /** True when the answer repeats an earlier decision (or an earlier reversal) and nothing changed. */
  replay: boolean;
  /** False when nothing was written (a repeat, or a message that could not be recorded). */
  recorded: boolean;
  authorization_id?: string;
  hold_id?: string;
  reversal_id?: string;
}

interface Decision {
  code: string;
  reason: string;
  authCode?: string;
  replay: boolean;
  recorded: boolean;
  authorizationId?: string;
  holdId?: string;
  reversalId?: string;
}

/** The fields of a 0100 the decision reads, parsed once outside the transaction. */
interface Request0100 {
  key: string;
  fingerprint: Buffer | null;
  processingCode: string | null;
  amount: bigint;
  currencyNumeric: string | null;
  posEntryMode: string | null;
  expiry: string | undefined;
  rrn: string | null;
  merchantId: string | null;
  merchantName: string | null;
  de55: Uint8Array | undefined;
  token: ReturnType<typeof tokenContext>;
}

/** A 0100 waiting for its decision. */
interface PendingDecision {
  issuerId: string;
  caller: Caller;
  req: Request0100;
  now: Date;
}

const notRecorded = (code: string, reason: string): Decision => ({ code, reason, replay: false, recorded: false });

export class AuthorizationEngine {
  constructor(
    private readonly db: Database,
    private readonly cipher: EnvelopeCipher,
    private readonly clock: () => Date,
  ) {}

  readonly #decisions = new DecisionQueue<PendingDecision, Decision>((batch) => this.#decideBatch(batch));

  /**
   * One packed message in, its packed answer out: 0100 → 0110, 0400 → 0410, 0420 → 0430. Bytes that are
   * not a message of the profile, or a message of another type, are `issuer_message_invalid` (400).
   */
  async handle(issuerId: string, caller: Caller, raw: Uint8Array): Promise<{ request: IsoMessage; response: Uint8Array; outcome: MessageOutcome }> {
    let msg: IsoMessage;
    try {
      msg = unpackMessage(raw);
    } catch (err) {
      if (err instanceof ProtocolError) throw new AppError('issuer_message_invalid', { message: `The body is not an ISO 8583 message of the profile: ${err.message}.` });
      throw err;
    }
    if (msg.mti !== '0100' && msg.mti !== '0400' && msg.mti !== '0420') {
      throw new AppError('issuer_message_invalid', { message: 'The issuer takes 0100, 0400 and 0420 messages only.' });
    }
    const mti = responseMti(msg.mti);
    const decision = msg.mti === '0100' ? await this.#authorize(issuerId, caller, msg) : await this.#reverse(issuerId, caller, msg);
    const response = packMessage(answer(msg, mti, decision.code, decision.code === '00' && msg.mti === '0100' ? decision.authCode : undefined));
    return {
      request: msg,
      response,
      outcome: {
        mti: msg.mti,
        response_mti: mti,
        response_code: decision.code,
        reason: decision.reason,
        replay: decision.replay,
        recorded: decision.recorded,
        ...(decision.authorizationId ? { authorization_id: decision.authorizationId } : {}),
        ...(decision.holdId ? { hold_id: decision.holdId } : {}),
        ...(decision.reversalId ? { reversal_id: decision.reversalId } : {}),
      },
    };
  }

  /**
   * Runs one transaction under the advisory locks of `keys` (see "Concurrency" above; taken with BEGIN).
   * A unique violation means a concurrent twin committed first: the transaction runs again and finds its
   * record. A transaction that still cannot serialize is `busy` (nothing was written).
   */
  async #run<T>(keys: readonly { issuerId: string; key: string }[], fn: (tx: Sql) => Promise<T>): Promise<T | 'busy'> {
    const locks = keys.map((k) => `issuer.txn:${k.issuerId}:${k.key}`);
    const options = { isolation: 'read committed' as const, advisoryLock: locks, retries: DECISION_RETRIES };
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.db.tx(fn, options);
      } catch (err) {
        if (isUniqueViolation(err) && attempt < 5) continue;
        if (err instanceof AppError && err.code === 'busy_retry') return 'busy';
        throw err;
      }
    }
  }

  // --- 0100 ----------------------------------------------------------------------------------------------

  async #authorize(issuerId: string, caller: Caller, msg: IsoMessage): Promise<Decision> {
    const key = keyOfRequest(msg);
    if (key === undefined) return notRecorded('12', 'invalid_transaction');
    const pan = text(msg, 2);
    const panValid = pan !== undefined && /^\d{12,19}$/.test(pan);
    // A network key owned by a brand touches that brand's cards only; nothing is recorded for it.
    if (caller.network && (!panValid || detectNetwork(pan) !== caller.network)) return notRecorded('14', 'other_brand');
    const de4 = text(msg, 4);
    const req: Request0100 = {
      key,
      // Outside the transaction: the fingerprint key may be loaded (or created) on first use.
      fingerprint: panValid ? await this.cipher.fingerprint(pan) : null,
      processingCode: text(msg, 3) ?? null,
      amount: de4 === undefined ? 0n : BigInt(de4),
      currencyNumeric: text(msg, 49) ?? null,
      posEntryMode: text(msg, 22) ?? null,
      expiry: text(msg, 14),
      rrn: text(msg, 37) ?? null,
      merchantId: text(msg, 42) ?? null,
      merchantName: text(msg, 43)?.trimEnd() ?? null,
      de55: bytes(msg, 55),
      token: tokenContext(msg),
    };
    return this.#decisions.submit({ issuerId, caller, req, now: this.clock() });
  }

  /**
   * Decides the 0100s of a batch in ONE transaction (one of them alone, or several that arrived together:
   * see DecisionQueue): their keys' locks, one statement reading all their contexts, the decisions, one
   * statement writing them all, COMMIT. A batch of several whose transaction fails or is answered busy
   * throws: the queue decides each again alone, so one request's trouble reaches its own caller only.
   */
  async #decideBatch(batch: readonly PendingDecision[]): Promise<Decision[]> {
    const run = async (tx: Sql): Promise<Decision[]> => {
      const contexts = await repo.decisionContexts(
        tx,
        batch.map((b) => ({ issuerId: b.issuerId, txnKey: b.req.key, fingerprint: b.req.fingerprint })),
      );
      // Two cards of one account in one batch: the later decision sees the earlier one's hold.
      const heldBefore = new Map<string, bigint>();
      const writes: DecisionWrite[] = [];
      const decisions = batch.map((b, i) => {
        const ctx = contexts[i]!;
        if (ctx.card) ctx.card.held += heldBefore.get(ctx.card.account_id) ?? 0n;
        const verdict = judge(ctx, b.caller, b.req, b.now);
        if ('decision' in verdict) return verdict.decision;
        const { write, decision } = decisionWrite(b.issuerId, b.req, ctx.card, b.now, verdict);
        writes.push(write);
        if (write.approval) heldBefore.set(write.approval.accountId, (heldBefore.get(write.approval.accountId) ?? 0n) + b.req.amount);
        return decision;
      });
      if (writes.length > 0) await repo.recordDecisions(tx, writes);
      return decisions;
    };
    const locks = batch.map((b) => ({ issuerId: b.issuerId, key: b.req.key }));
    const result = await this.#run(locks, run);
    if (result !== 'busy') return result;
    if (batch.length > 1) throw new Error('the batch was answered busy');
    return [notRecorded('96', 'busy')];
  }

  // --- 0400 / 0420 --------------------------------------------------------------------------------------

  async #reverse(issuerId: string, caller: Caller, msg: IsoMessage): Promise<Decision> {
    const key = keyOfOriginal(msg);
    if (key === undefined) return notRecorded('12', 'original_data_invalid');
    const pan = text(msg, 2);
    if (pan !== undefined && !/^\d{12,19}$/.test(pan)) return notRecorded('12', 'invalid_transaction');
    // A brand-bound network names the card (DE2) so the brand can be checked; it cannot reverse another's.
    if (caller.network && (pan === undefined || detectNetwork(pan) !== caller.network)) return notRecorded('14', 'other_brand');
    const fingerprint = pan !== undefined ? await this.cipher.fingerprint(pan) : null;
    const de4 = text(msg, 4);
    const amount = de4 === undefined ? null : BigInt(de4);
    const mti = msg.mti as '0400' | '0420';
    const stan = text(msg, 11) ?? null;
    const transmitted = text(msg, 7) ?? null;
    const now = this.clock();

    const result = await this.#run([{ issuerId, key }], async (tx): Promise<Decision> => {
      const done = await repo.reversalByKey(tx, issuerId, key);
      if (done) return { code: '00', reason: 'already_reversed', replay: true, recorded: false, reversalId: done.id, ...(done.authorization_id ? { authorizationId: done.authorization_id } : {}) };
      const original = await repo.authorizationByKey(tx, issuerId, key);
      const reversalId = newId('irev', now.getTime());
      const insert = (outcome: 'released' | 'nothing_held' | 'before_original') =>
        repo.insertReversal(tx, { id: reversalId, issuerId, txnKey: key, mti, stan, transmitted, outcome, authorizationId: original?.id ?? null, panFingerprint: fingerprint, amount, at: now });

      if (!original) {
        // The original has not arrived (yet): a tombstone, so a late 0100 is declined without a hold.
        await insert('before_original');
        return { code: '00', reason: 'before_original', replay: false, recorded: true, reversalId };
      }
      // A reversal must be for the original's card and (a full reversal) its amount; otherwise it changes nothing.
      if ((fingerprint && original.pan_fingerprint && !fingerprint.equals(original.pan_fingerprint)) || (fingerprint && !original.pan_fingerprint)) return notRecorded('12', 'original_mismatch');
      if (amount !== null && amount !== original.amount) return notRecorded('12', 'original_mismatch');

      if (original.response_code !== '00') {
        await insert('nothing_held');
        return { code: '00', reason: 'original_declined', replay: false, recorded: true, reversalId, authorizationId: original.id };
      }
      const hold = await repo.holdOfAuthorization(tx, original.id);
      if (!hold || !(await repo.releaseHold(tx, hold.id, now))) {
        await insert('nothing_held');
        return { code: '00', reason: 'nothing_held', replay: false, recorded: true, reversalId, authorizationId: original.id };
      }
      await repo.adjustHeld(tx, hold.account_id, -hold.amount);
      await insert('released');
      await repo.insertPosting(tx, {
        issuerId,
        transactionId: reversalId,
        kind: 'release',
        holdId: hold.id,
        currency: hold.currency,
        at: now,
        entries: [
          { ledgerAccount: 'authorizations_pending', amount: -hold.amount },
          { ledgerAccount: hold.account_id, amount: hold.amount },
        ],
      });
      return { code: '00', reason: 'released', replay: false, recorded: true, reversalId, authorizationId: original.id, holdId: hold.id };
    });
    return result === 'busy' ? notRecorded('96', 'busy') : result;
  }
}

/** What the rules say of one 0100 given what was read: an answer with nothing to write, or a decision to record. */
type Verdict = { decision: Decision } | { code: string; reason: string; cdcvm: boolean | null };

/**
 * The decision on a 0100 (the order in the module comment), from its context as read under the locks: a
 * retransmission finds its record (and gets its answer again), a reversal that came first its tombstone.
 */
function judge(ctx: DecisionContext, caller: Caller, req: Request0100, now: Date): Verdict {
  const { existing, reversed, card } = ctx;
  if (existing) return { decision: replayOf(existing, req) };
  if (card && caller.network && card.network !== caller.network) return { decision: notRecorded('14', 'other_brand') };
  const record = (code: string, reason: string, cdcvm: boolean | null = null): Verdict => ({ code, reason, cdcvm });

  if (reversed) return record('12', 'reversed_before_original');
  if (req.processingCode === null || !req.processingCode.startsWith('00')) return record('12', 'processing_code_unsupported');
  if (!card) return record('14', 'unknown_card');

  if (card.status === 'blocked') return record('62', 'card_blocked');
  if (card.status === 'closed') return record('62', 'card_closed');
  if (card.account_status !== 'open') return record('62', 'account_not_open');
  if (card.status === 'expired' || expiryHasPassed(card.exp_month, card.exp_year, now)) return record('54', 'card_expired');
  if (req.expiry !== undefined) {
    const e = parseExpiry(req.expiry);
    const matches = e !== undefined && !expiryHasPassed(e.month, e.year, now) && (card.accept_any_future_expiry || (e.month === card.exp_month && e.year === card.exp_year));
    if (!matches) return record('54', 'expiry_mismatch');
  }

  if (req.token?.cryptogram !== 'V') return record('05', 'cryptogram_not_verified');
  if (req.token.domain === 'F') return record('05', 'domain_check_failed');
  if (req.currencyNumeric === null || CURRENCY_NUMERIC[card.currency] !== req.currencyNumeric) return record('12', 'currency_mismatch');

  const cdcvm = req.de55 ? cdcvmPerformed(card.network, req.de55) : null;
  if (req.amount <= 0n) return record('13', 'invalid_amount', cdcvm);
  if (req.amount > AUTHORIZATION_LIMITS.singleAmount[card.product]) return record('61', 'amount_limit', cdcvm);
  const windowOpen = card.velocity_window_start !== null && new Date(card.velocity_window_start).getTime() > now.getTime() - AUTHORIZATION_LIMITS.velocityWindowMs;
  if (windowOpen && card.velocity_count >= AUTHORIZATION_LIMITS.velocityMaxApprovals) return record('61', 'velocity_limit', cdcvm);
  if (isContactless(req.posEntryMode ?? undefined) && req.amount > AUTHORIZATION_LIMITS.contactlessCvmLimit && cdcvm !== true) return record('55', 'cvm_required', cdcvm);

  const available = card.posted_balance + card.credit_limit - card.held;
  if (req.amount > available) return record('51', 'insufficient_funds', cdcvm);
  return record('00', 'approved', cdcvm);
}

/** What a decision writes (an approval also its hold and balanced ledger posting; then the event), and its answer. */
function decisionWrite(
  issuerId: string,
  req: Request0100,
  card: AuthorizationCardRow | undefined,
  now: Date,
  verdict: { code: string; reason: string; cdcvm: boolean | null },
): { write: DecisionWrite; decision: Decision } {
  const { code, reason, cdcvm } = verdict;
  const approved = code === '00';
  const id = newId('iauth', now.getTime());
  const approval = approved ? authCode(randomInt) : null;
  const holdId = approved && card && approval ? newId('hold', now.getTime()) : undefined;
  const write: DecisionWrite = {
    authorization: {
      id,
      issuerId,
      txnKey: req.key,
      panFingerprint: req.fingerprint,
      cardId: card?.id ?? null,
      accountId: card?.account_id ?? null,
      processingCode: req.processingCode,
      amount: req.amount,
      currencyNumeric: req.currencyNumeric,
      posEntryMode: req.posEntryMode,
      rrn: req.rrn,
      merchantId: req.merchantId,
      merchantName: req.merchantName,
      responseCode: code,
      authCode: approval,
      reason,
      cdcvm,
      at: now,
    },
    ...(holdId && card && approval
      ? { approval: { holdId, accountId: card.account_id, cardId: card.id, currency: card.currency, authCode: approval, velocityWindowMs: AUTHORIZATION_LIMITS.velocityWindowMs } }
      : {}),
  };
  return {
    write,
    decision: { code, reason, ...(approval ? { authCode: approval } : {}), replay: false, recorded: true, authorizationId: id, ...(holdId ? { holdId } : {}) },
  };
}

/** The answer to a repeated 0100: the first decision, if it is the same request; 94 if not. */
function replayOf(existing: AuthorizationRow, req: Request0100): Decision {
  const sameCard = existing.pan_fingerprint === null ? req.fingerprint === null : req.fingerprint !== null && existing.pan_fingerprint.equals(req.fingerprint);
  const same = sameCard && existing.amount === req.amount && existing.currency_numeric === req.currencyNumeric && existing.processing_code === req.processingCode;
  if (!same) return notRecorded('94', 'duplicate_transmission');
  return {
    code: existing.response_code,
    reason: existing.reason,
    ...(existing.auth_code ? { authCode: existing.auth_code } : {}),
    replay: true,
    recorded: false,
    authorizationId: existing.id,
  };
}
