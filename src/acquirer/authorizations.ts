import { setTimeout as sleep } from 'node:timers/promises';
import type { ReversalRetryPolicy } from '../infra/reversal-policy.js';
import type { Database, Sql } from '../infra/db/database.js';
import { isUniqueViolation } from '../infra/db/database.js';
import { AppError } from '../infra/errors.js';
import { newId } from '../infra/ids.js';
import type { Logger } from '../infra/logger.js';
import type { Network } from '../protocol/cards/index.js';
import { ProtocolError } from '../protocol/errors.js';
import { packMessage, unpackMessage, type IsoMessage } from '../protocol/iso8583/iso8583.js';
import './errors.js';
import {
  localResponse,
  logView,
  maskedToken,
  originalDataElements,
  packForStorage,
  parseOriginalDataElements,
  PROCESSING_CODES,
  REQUIRED_0100,
  retrievalReference,
  sha256,
  text,
  traceNumber,
  transmissionDateTime,
  unpackStored,
} from './messages.js';
import type { NetworkLink, NetworkOutcome } from './network-link.js';
import type { MessageVault } from './message-vault.js';
import { TerminalContexts } from './terminal-contexts.js';
import { Batcher } from '../infra/db/batcher.js';
import { acquirerRepo as repo, type AuthorizationRow, type Completion, type NewAuthorization, type ReversalReason, type TerminalContext } from './repository.js';
import { brandForPan, isWellFormedPan } from './routing.js';
import { enqueueTransactionEvent, transactionEvent, type TransactionEventData } from './webhooks.js';

export interface AcquirerSettings {
  /** DE 32: the acquirer's institution id (n..11). */
  acquirerId: string;
  /** How long the acquirer waits for a network's answer before it answers 91 and reverses. */
  timeoutMs: number;
  /** How much longer than `timeoutMs` a retransmission waits for the first copy's answer before answering for it. */
  retransmissionGraceMs: number;
  /** A pending authorization older than timeoutMs + this is taken to have lost its process (crash): 91 and a reversal. */
  staleGraceMs: number;
  /** The repeat policy every reversal follows (src/infra/reversal-policy.ts), and how many one run sends at most. */
  reversal: ReversalRetryPolicy & { batchSize: number };
}

/** The authorization row fields a reversal is built from. */
type Reversible = Pick<AuthorizationRow, 'id' | 'brand' | 'forwarded' | 'network_stan' | 'network_transmitted'>;

type Admission =
  | { kind: 'new'; id: string; brand: Network; forward: IsoMessage; networkStan: string }
  | { kind: 'final'; response: Uint8Array }
  | { kind: 'existing'; row: AuthorizationRow }
  | { kind: 'rrn_taken' };

const elapsed = (started: number) => Math.max(0, Math.round(performance.now() - started));

/** An answer for the terminal: the terminal's own STAN and DE 7 in place of the acquirer's. */
function toTerminal(response: IsoMessage, stan: string, transmitted: string): IsoMessage {
  return { mti: response.mti, fields: { ...response.fields, 7: transmitted, 11: stan } };
}

/**
 * The acquirer's switch (docs/authorization.md, "Terminal → acquirer"): takes a terminal's 0100 or 0400,
 * detects duplicate transmissions, routes by the token's BIN, forwards to the network with a deadline,
 * and owes the network a reversal whenever the outcome of a forwarded authorization is unknown.
 *
 * Each state change is one transaction; on the usual path each is a single statement (the admission's
 * INSERT ... ON CONFLICT, the answer with its event), the rarer ones SERIALIZABLE transactions. The
 * network call sits between two of them, never inside one. The (terminal, STAN, DE 7) unique constraint, not a cache, is what makes one terminal
 * message one network call.
 */
type CompletionItem = Parameters<typeof repo.completeAuthorizationsWithEvents>[2][number];

export class AuthorizationSwitch {
  readonly #terminals: TerminalContexts;
  /** Concurrent taps' admissions and answers (with their events): one statement per batch each (infra/db/batcher.ts). */
  readonly #admissions: Batcher<NewAuthorization, { id: string } | undefined>;
  readonly #completions: Batcher<CompletionItem, boolean>;

  constructor(
    private readonly db: Database,
    private readonly link: NetworkLink,
    private readonly settings: AcquirerSettings,
    private readonly clock: () => Date,
    private readonly log: Logger,
    /** Seals the messages kept (they carry the token number) and opens them again. */
    readonly vault: MessageVault,
  ) {
    this.#terminals = new TerminalContexts(db);
    this.#admissions = new Batcher(
      (items) => repo.insertPendingAuthorizations(db, vault, items),
      (item) => repo.insertAuthorization(db, vault, item),
    );
    this.#completions = new Batcher(
      (items) => repo.completeAuthorizationsWithEvents(db, vault, items),
      (item) => repo.completeAuthorizationWithEvent(db, vault, item.id, item.completion, item.event),
    );
  }

  /** One message from the terminal whose API key is `terminalRef`: the packed answer (0110 or 0410). */
  async handle(terminalRef: string, raw: Uint8Array): Promise<Uint8Array> {
    const started = performance.now();
    let msg: IsoMessage;
    try {
      msg = unpackMessage(raw);
    } catch (err) {
      // The codec's messages name the data element and the problem, never a value.
      if (err instanceof ProtocolError) throw new AppError('iso8583_invalid', { message: `The body is not a valid ISO 8583 message: ${err.message}.`, ...(err.at !== undefined ? { param: String(err.at) } : {}) });
      throw err;
    }
    if (msg.mti !== '0100' && msg.mti !== '0400') {
      throw new AppError('iso8583_invalid', { message: 'This endpoint takes 0100 authorization requests and 0400 reversal requests.', param: 'MTI' });
    }
    const terminal = await this.#terminals.get(terminalRef);
    if (!terminal) throw new AppError('permission_denied');
    if (text(msg, 41) !== terminal.terminal_id || text(msg, 42) !== terminal.card_acceptor_id) throw new AppError('terminal_mismatch');
    if (terminal.status !== 'active' || terminal.merchant_status !== 'active') throw new AppError('terminal_inactive');
    return msg.mti === '0100' ? this.authorize(terminal, msg, raw, started) : this.reverse(terminal, msg);
  }

  /** What the merchant's webhook event says about an authorization answered now. */
  #eventData(terminal: TerminalContext, msg: IsoMessage, id: string, brand: Network | null, c: Completion, createdAt: Date = c.completedAt): TransactionEventData {
    return {
      id,
      merchantId: terminal.merchant_id,
      terminalId: terminal.id,
      brand,
      tokenMasked: maskedToken(text(msg, 2)!),
      amount: Number(text(msg, 4)),
      currency: text(msg, 49)!,
      status: c.status,
      responseCode: c.responseCode,
      authCode: c.authCode,
      createdAt,
    };
  }

  // ---- 0100 ----

  private async authorize(terminal: TerminalContext, msg: IsoMessage, raw: Uint8Array, started: number): Promise<Uint8Array> {
    if (REQUIRED_0100.some((n) => typeof msg.fields[n] !== 'string')) return this.refuse(terminal, msg, '12', 'a required data element is missing');
    if (!PROCESSING_CODES.includes(text(msg, 3)!)) return this.refuse(terminal, msg, '12', 'processing code not supported');
    if (Number(text(msg, 4)) === 0) return this.refuse(terminal, msg, '13', 'zero amount');
    if (!isWellFormedPan(text(msg, 2)!)) return this.refuse(terminal, msg, '14', 'DE 2 is not a card or token number');

    const admission = await this.admit(terminal, msg, sha256(raw), brandForPan(text(msg, 2)!), started);
    switch (admission.kind) {
      case 'final':
        return admission.response;
      case 'rrn_taken':
        return this.refuse(terminal, msg, '12', 'DE 37 repeats one of this terminal');
      case 'existing':
        return this.duplicate(terminal, msg, raw, admission.row);
      case 'new':
        return this.forward(terminal, msg, admission, started);
    }
  }

  /** An answer the acquirer gives at once and does not record: the same bytes always get the same one. */
  private refuse(terminal: TerminalContext, msg: IsoMessage, code: string, why: string): Uint8Array {
    this.log.info({ terminal: terminal.id, response_code: code, reason: why, iso: logView(msg) }, 'authorization refused by the acquirer');
    return packMessage(localResponse(msg, '0110', code, { 32: this.settings.acquirerId }));
  }

  /**
   * Records the message under its duplicate-transmission key, or finds the one recorded before. A
   * message for a network is one INSERT ... ON CONFLICT DO NOTHING, a transaction of its own (one round
   * trip): a concurrent twin waits for the first insert's commit and then finds its row. An answer known
   * at once (14) is written with its event, in one transaction.
   */
  private async admit(terminal: TerminalContext, msg: IsoMessage, requestHash: Buffer, brand: Network | null, started: number): Promise<Admission> {
    const stan = text(msg, 11)!;
    const transmitted = text(msg, 7)!;
    const pan = text(msg, 2)!;
    const terminalRrn = text(msg, 37);
    let counters = { stan: terminal.next_stan, rrn: terminal.next_rrn };
    for (let attempt = 0; ; attempt++) {
      const now = this.clock();
      const networkStan = traceNumber(counters.stan);
      const rrn = terminalRrn ?? retrievalReference(now, counters.rrn);
      // The acquirer's registry, not the terminal, says which merchant this is (DE 18, DE 43).
      const forward: IsoMessage = {
        mti: '0100',
        fields: { ...msg.fields, 7: transmissionDateTime(now), 11: networkStan, 18: terminal.mcc, 32: this.settings.acquirerId, 37: rrn, 43: terminal.name_location },
      };
      const id = newId('auth', now.getTime());
      // No network takes the number: the answer (14) is known now and recorded with the message.
      const response = brand ? undefined : packMessage(toTerminal(localResponse(forward, '0110', '14'), stan, transmitted));
      const final: Completion | undefined = response && { status: 'declined', responseCode: '14', authCode: null, response, latencyMs: elapsed(started), completedAt: now };
      try {
        const record = async (tx: Sql): Promise<Admission> => {
          const row: NewAuthorization = {
            id,
            terminalId: terminal.id,
            merchantId: terminal.merchant_id,
            stan,
            transmitted,
            requestHash,
            rrn,
            networkStan,
            networkTransmitted: text(forward, 7)!,
            brand,
            tokenMasked: maskedToken(pan),
            amount: Number(text(msg, 4)),
            currency: text(msg, 49)!,
            posEntryMode: text(msg, 22) ?? null,
            forwarded: packForStorage(forward),
            createdAt: now,
            ...(final ? { final } : {}),
          };
          // A pending one (the usual case) is a statement of its own, batched with concurrent ones; one answered
          // at once goes in the transaction with its event.
          const inserted = final ? await repo.insertAuthorization(tx, this.vault, row) : await this.#admissions.submit(row);
          if (!inserted) {
            const row = await repo.authorizationByTransmission(tx, this.vault, terminal.id, stan, transmitted);
            if (!row) throw new Error('authorization missing after a conflicting insert');
            return { kind: 'existing', row };
          }
          if (response) {
            await enqueueTransactionEvent(tx, this.#eventData(terminal, msg, id, null, final!, now), now);
            return { kind: 'final', response };
          }
          return { kind: 'new', id, brand: brand!, forward, networkStan };
        };
        const admission = response ? await this.db.tx(record) : await record(this.db);
        if (admission.kind === 'final') this.log.info({ authorization_id: id, terminal: terminal.id, response_code: '14', iso: logView(forward) }, 'authorization: no network for this number');
        return admission;
      } catch (err) {
        if (isUniqueViolation(err, 'authorizations_rrn_unique')) {
          if (terminalRrn !== undefined) return { kind: 'rrn_taken' };
          // An RRN of ours met one a terminal brought: take the next counter value.
          if (attempt < 3) {
            counters = await this.#terminals.counters();
            continue;
          }
        }
        throw err;
      }
    }
  }

  /** The same key again: the stored answer for the same bytes (once there is one), 94 for other bytes. */
  private async duplicate(terminal: TerminalContext, msg: IsoMessage, raw: Uint8Array, row: AuthorizationRow): Promise<Uint8Array> {
    if (!Buffer.from(row.request_hash).equals(sha256(raw))) {
      this.log.warn({ authorization_id: row.id, terminal: terminal.id, iso: logView(msg) }, 'duplicate transmission key with other content: answered 94');
      return packMessage(localResponse(msg, '0110', '94', { 32: this.settings.acquirerId }));
    }
    if (row.response) return row.response;
    // The first copy is still in flight: its answer is this one's too. Its network call ends within
    // timeoutMs, so waiting a little longer and finding nothing means its process is gone.
    const deadline = performance.now() + this.settings.timeoutMs + this.settings.retransmissionGraceMs;
    let pause = 5;
    while (performance.now() < deadline) {
      await sleep(pause);
      pause = Math.min(pause * 2, 50);
      const response = await repo.responseOf(this.db, this.vault, row.id);
      if (response) return response;
    }
    this.log.warn({ authorization_id: row.id, terminal: terminal.id }, 'the first copy of a retransmitted authorization never got its answer: answering 91 for it');
    return this.expire(row);
  }

  private async forward(terminal: TerminalContext, msg: IsoMessage, a: Extract<Admission, { kind: 'new' }>, started: number): Promise<Uint8Array> {
    const outcome = await this.link.exchange(a.brand, packMessage(a.forward));
    const { completion, reversal } = this.settle(msg, a, outcome, started);
    // The usual outcome is one statement (the answer and its event together); a reversal owed makes it a transaction.
    const won = !reversal
      ? await this.#completions.submit({ id: a.id, completion, event: transactionEvent(this.#eventData(terminal, msg, a.id, a.brand, completion), completion.completedAt) })
      : await this.db.tx(async (tx) => {
          const ok = await repo.completeAuthorization(tx, this.vault, a.id, completion);
          if (ok) await this.recordReversal(tx, { id: a.id, brand: a.brand, forwarded: packForStorage(a.forward), network_stan: a.networkStan, network_transmitted: text(a.forward, 7)! }, reversal);
          if (ok) await enqueueTransactionEvent(tx, this.#eventData(terminal, msg, a.id, a.brand, completion), completion.completedAt);
          return ok;
        });
    const logged = { authorization_id: a.id, terminal: terminal.id, brand: a.brand, outcome: outcome.kind, response_code: completion.responseCode, status: completion.status, latency_ms: completion.latencyMs, iso: logView(a.forward) };
    if (!won) {
      // Another process answered for this one while it waited (it took too long): that answer stands.
      this.log.warn(logged, 'authorization answered meanwhile on behalf of this process; its answer stands');
      return (await repo.responseOf(this.db, this.vault, a.id))!;
    }
    if (reversal) this.log.warn({ ...logged, reversal_reason: reversal }, 'authorization outcome unknown: answered the terminal and owe the network a reversal');
    else this.log.info(logged, 'authorization');
    return completion.response;
  }

  /** What the terminal is told and recorded for a network outcome, and whether a reversal is owed. */
  private settle(
    msg: IsoMessage,
    a: Extract<Admission, { kind: 'new' }>,
    outcome: NetworkOutcome,
    started: number,
  ): { completion: Completion; reversal: ReversalReason | null } {
    const stan = text(msg, 11)!;
    const transmitted = text(msg, 7)!;
    const now = this.clock();
    const latencyMs = elapsed(started);
    const local = (code: string) => localResponse(a.forward, '0110', code);
    const done = (response: IsoMessage, status: Completion['status'], code: string, authCode: string | null, reversal: ReversalReason | null) => ({
      completion: { status, responseCode: code, authCode, response: packMessage(toTerminal(response, stan, transmitted)), latencyMs, completedAt: now },
      reversal,
    });

    if (outcome.kind === 'no_answer') {
      // Bytes that are no message are an answer gone wrong (96); silence or a failing network is 91.
      const code = outcome.reason === 'unreadable' ? '96' : '91';
      return done(local(code), 'timed_out', code, null, outcome.reason === 'timeout' ? 'network_timeout' : 'network_error');
    }
    if (outcome.kind === 'refused') {
      // The network did not take the message (a 4xx): nothing happened there, nothing to reverse.
      this.log.error({ authorization_id: a.id, status: outcome.status, code: outcome.code }, 'the network refused the authorization message');
      return done(local('96'), 'declined', '96', null, null);
    }
    const answer = outcome.message;
    const code = text(answer, 39);
    const answerStan = text(answer, 11);
    if (answer.mti !== '0110' || code === undefined || (answerStan !== undefined && answerStan !== a.networkStan)) {
      // An answer that is not the answer to this message: what the network did is unknown.
      this.log.error({ authorization_id: a.id, mti: answer.mti, has_code: code !== undefined }, 'the network answered with something other than this 0110');
      return done(local('96'), 'timed_out', '96', null, 'network_error');
    }
    // The network's answer as it is (DE 38, 39, 55 with the ARPC, the token in DE 2), with the keys the terminal knows.
    const fields: Record<number, string | Uint8Array> = { ...answer.fields };
    for (const n of [2, 4, 37, 41, 42, 49] as const) if (fields[n] === undefined && a.forward.fields[n] !== undefined) fields[n] = a.forward.fields[n]!;
    return done({ mti: '0110', fields }, code === '00' ? 'approved' : 'declined', code, text(answer, 38) ?? null, null);
  }

  /**
   * Answers 91 for an authorization whose process died or stalled, and owes the network its reversal
   * (the 0100 may have reached it). A no-op, returning the stored answer, when it was answered meanwhile.
   */
  async expire(row: AuthorizationRow): Promise<Uint8Array> {
    const core = unpackStored(row.forwarded);
    const now = this.clock();
    const response = packMessage(toTerminal(localResponse(core, '0110', '91'), row.stan, row.transmitted));
    await this.db.tx(async (tx) => {
      const latencyMs = Math.max(0, now.getTime() - new Date(row.created_at).getTime());
      const ok = await repo.completeAuthorization(tx, this.vault, row.id, { status: 'timed_out', responseCode: '91', authCode: null, response, latencyMs, completedAt: now });
      if (ok && row.brand) await this.recordReversal(tx, row, 'network_timeout');
      if (ok) {
        const data = { id: row.id, merchantId: row.merchant_id, terminalId: row.terminal_id, brand: row.brand, tokenMasked: row.token_masked, amount: Number(row.amount), currency: row.currency };
        await enqueueTransactionEvent(tx, { ...data, status: 'timed_out', responseCode: '91', authCode: null, createdAt: new Date(row.created_at) }, now);
      }
    });
    return (await repo.responseOf(this.db, this.vault, row.id))!;
  }

  /**
   * Owes the network a 0400 for this authorization (at most one: the unique constraint). The message
   * is fixed now, with its own STAN and DE 7, and sent byte for byte on every attempt. DE 90 names the
   * 0100 as the network received it: the acquirer's STAN and DE 7, not the terminal's.
   */
  async recordReversal(tx: Sql, auth: Reversible, reason: ReversalReason): Promise<boolean> {
    if (!auth.brand) return false;
    const core = unpackStored(auth.forwarded);
    const now = this.clock();
    const stan = traceNumber(await repo.nextStan(tx));
    const transmitted = transmissionDateTime(now);
    const fields: Record<number, string | Uint8Array> = {};
    for (const n of [2, 3, 4, 37, 41, 42, 49] as const) if (core.fields[n] !== undefined) fields[n] = core.fields[n]!;
    fields[7] = transmitted;
    fields[11] = stan;
    fields[32] = this.settings.acquirerId;
    fields[90] = originalDataElements({ mti: '0100', stan: auth.network_stan, transmitted: auth.network_transmitted, acquirerId: this.settings.acquirerId, forwardingId: '0' });
    return repo.insertReversal(tx, this.vault, {
      id: newId('rev', now.getTime()),
      authorizationId: auth.id,
      reason,
      brand: auth.brand,
      stan,
      transmitted,
      message: packMessage({ mti: '0400', fields }),
      nextAttemptAt: now,
      createdAt: now,
    });
  }

  // ---- 0400 from the terminal ----

  /**
   * A terminal's reversal (after its own timeout, or a cancelled payment). The acquirer takes it over
   * at once: it answers 0410 00 as soon as the reversal is recorded, and delivers it to the network
   * itself (the reversal worker), once per original however often the terminal repeats it.
   */
  private async reverse(terminal: TerminalContext, msg: IsoMessage): Promise<Uint8Array> {
    const answer = (code: string) => packMessage(localResponse(msg, '0410', code, { 32: this.settings.acquirerId }));
    const de90 = text(msg, 90);
    const original = de90 === undefined ? null : parseOriginalDataElements(de90);
    if (!original || original.mti !== '0100' || text(msg, 11) === undefined || text(msg, 7) === undefined) {
      this.log.info({ terminal: terminal.id, iso: logView(msg) }, 'terminal reversal without usable original data elements: answered 12');
      return answer('12');
    }
    const row = await repo.authorizationByTransmission(this.db, this.vault, terminal.id, original.stan, original.transmitted);
    if (!row) {
      // ISO 8583 25: unable to locate the original; the 0100 never reached the acquirer.
      this.log.info({ terminal: terminal.id, iso: logView(msg) }, 'terminal reversal for an authorization the acquirer never saw: answered 25');
      return answer('25');
    }
    const pan = text(msg, 2);
    const amount = text(msg, 4);
    if ((pan !== undefined && maskedToken(pan) !== row.token_masked) || (amount !== undefined && Number(amount) !== row.amount)) {
      this.log.warn({ authorization_id: row.id, terminal: terminal.id }, 'terminal reversal whose DE 2 or DE 4 differ from the original: answered 12');
      return answer('12');
    }
    if (row.brand && (row.status === 'pending' || row.status === 'approved' || row.status === 'timed_out')) {
      const created = await this.db.tx((tx) => this.recordReversal(tx, row, 'terminal_request'));
      this.log.info({ authorization_id: row.id, terminal: terminal.id, created, original_status: row.status }, 'terminal reversal accepted');
    }
    // Declined or never routed: nothing stands at the network; reversed: already done. Either way, acknowledged.
    return answer('00');
  }
}
