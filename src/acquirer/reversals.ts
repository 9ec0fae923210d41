import type { Database } from '../infra/db/database.js';
import type { Logger } from '../infra/logger.js';
import { reversalBackoffMs } from '../infra/reversal-policy.js';
import { text } from './messages.js';
import type { AcquirerSettings, AuthorizationSwitch } from './authorizations.js';
import type { NetworkLink } from './network-link.js';
import { acquirerRepo as repo, type ClaimedReversal } from './repository.js';

/** 0410 answers that settle a reversal: reversed, or no original to reverse at the network. */
const DONE_CODES: ReadonlySet<string> = new Set(['00', '25']);
/** 0410 answers that mean "not now": the same 0400 goes again later. Any other code refuses the reversal itself. */
const RETRY_CODES: ReadonlySet<string> = new Set(['91', '96']);

/**
 * Delivers the reversals the acquirer owes (0400 until a 0410 comes back), from the database: a
 * restart loses none. Each run first answers for authorizations whose process died mid-flight (91 and a
 * reversal), then sends what is due, oldest first, under the one reversal policy (src/infra/reversal-policy.ts):
 * backoff doubling from baseDelayMs, and after maxAttempts the reversal is `failed` and logged for the operator.
 *
 * Safe to run from several processes: a claimed reversal's next attempt moves past the lease before
 * the call, so no two workers send it at once, and acknowledging is conditional on it being pending.
 */
export class ReversalWorker {
  #running: Promise<number> | null = null;
  /** Authorizations created before this instant were looked at by an earlier pass (epoch ms). */
  #sweptUntil: number | null = null;

  constructor(
    private readonly db: Database,
    private readonly link: NetworkLink,
    private readonly switcher: AuthorizationSwitch,
    private readonly settings: AcquirerSettings,
    private readonly clock: () => Date,
    private readonly log: Logger,
  ) {}

  /** Delay before attempt `n + 1` after `n` attempts. */
  backoffMs(attempts: number): number {
    return reversalBackoffMs(this.settings.reversal, attempts);
  }

  /** One pass; the number of reversals the networks acknowledged in it. Overlapping calls share one pass. */
  run(): Promise<number> {
    this.#running ??= this.#pass().finally(() => {
      this.#running = null;
    });
    return this.#running;
  }

  async #pass(): Promise<number> {
    await this.#recoverStale();
    const now = this.clock();
    // The lease covers the call itself (at most timeoutMs) and the backoff before the next attempt.
    const lease = (attempt: number) => new Date(now.getTime() + this.settings.timeoutMs + this.backoffMs(attempt));
    const claimed = await this.db.tx((tx) => repo.claimDueReversals(tx, this.switcher.vault, now, lease, this.settings.reversal.batchSize));
    let acknowledged = 0;
    for (const r of claimed) if (await this.#send(r)) acknowledged++;
    return acknowledged;
  }

  /**
   * Answers for authorizations whose process stopped mid-flight. Each pass looks only at what became
   * old enough since the last one (less a grace period, for clocks of processes that disagree a
   * little); the first pass after a start looks at the whole table once.
   */
  async #recoverStale(): Promise<void> {
    const cutoff = new Date(this.clock().getTime() - this.settings.timeoutMs - this.settings.staleGraceMs);
    const from = new Date(this.#sweptUntil === null ? 0 : this.#sweptUntil - this.settings.staleGraceMs);
    const batch = this.settings.reversal.batchSize;
    const stale = await repo.stalePending(this.db, this.switcher.vault, from, cutoff, batch);
    for (const row of stale) {
      this.log.warn({ authorization_id: row.id }, 'authorization left pending by a process that stopped: answering 91 and reversing');
      await this.switcher.expire(row);
    }
    // A full batch may have left more behind: the next pass goes on from the last one seen.
    this.#sweptUntil = stale.length < batch ? cutoff.getTime() : new Date(stale.at(-1)!.created_at).getTime();
  }

  async #send(r: ClaimedReversal): Promise<boolean> {
    const outcome = await this.link.exchange(r.brand, r.message);
    let problem: string;
    let final = false;
    if (outcome.kind === 'answer') {
      const code = text(outcome.message, 39);
      const stan = text(outcome.message, 11);
      const ours = outcome.message.mti === '0410' && code !== undefined && (stan === undefined || stan === r.stan);
      if (ours && DONE_CODES.has(code)) {
        const done = await this.db.tx((tx) => repo.acknowledgeReversal(tx, r.id, code, this.clock()));
        this.log.info({ reversal_id: r.id, authorization_id: r.authorization_id, brand: r.brand, response_code: code, attempts: r.attempts }, 'reversal acknowledged');
        return done;
      }
      // A 0410 refusing the reversal (12, 13, ...): the same bytes would be refused again; the operator decides.
      final = ours && !RETRY_CODES.has(code);
      problem = !ours ? (outcome.message.mti !== '0410' || code === undefined ? 'answer is not a 0410 with DE 39' : 'answer is for another STAN') : `network answered ${code}`;
    } else if (outcome.kind === 'refused') {
      problem = `network refused the message (${outcome.status}${outcome.code ? ` ${outcome.code}` : ''})`;
    } else {
      problem = `no answer (${outcome.reason})`;
    }
    const status = await this.db.tx((tx) => repo.reversalAttemptFailed(tx, r.id, problem, final ? 0 : this.settings.reversal.maxAttempts));
    const entry = { reversal_id: r.id, authorization_id: r.authorization_id, brand: r.brand, attempts: r.attempts, problem };
    if (status === 'failed') this.log.error(entry, 'reversal given up (refused, or its last attempt failed): the operator must settle it with the network');
    else this.log.warn({ ...entry, next_in_ms: this.backoffMs(r.attempts) }, 'reversal attempt failed; will retry');
    return false;
  }
}
