import type { Database } from '../infra/db/database.js';
import { acquirerRepo as repo, type TerminalContext } from './repository.js';

type Registered = Omit<TerminalContext, 'next_stan' | 'next_rrn'>;

/** How long a terminal's registry entry is reused in this process (terminals have no status change API yet). */
const TERMINAL_TTL_MS = 5_000;
const TERMINALS_MAX = 10_000;
/** STAN and RRN counter values taken from the sequences per round trip. */
const COUNTER_BLOCK = 64;

/**
 * What the tap path needs to know of a terminal before it forwards a message, without a round trip per
 * message: the registry entry (terminal and merchant), reused for a few seconds, and the acquirer's STAN
 * and RRN counter values, taken from the sequences in blocks. Every value still comes from
 * `acquirer.stan_seq` / `acquirer.rrn_seq`, so no two messages of any process share one; a process that
 * stops leaves the rest of its block unused (gaps cost nothing: DE 11 and DE 37 need to be unique, not dense).
 */
export class TerminalContexts {
  readonly #terminals = new Map<string, { entry: Registered; until: number }>();
  #stans: number[] = [];
  #rrns: number[] = [];
  #refill: Promise<void> | null = null;

  constructor(private readonly db: Database) {}

  /** The terminal behind an API key owner, with fresh counter values; undefined when there is none. */
  async get(id: string): Promise<TerminalContext | undefined> {
    const now = Date.now();
    let cached = this.#terminals.get(id);
    if (!cached || cached.until <= now) {
      const entry = await repo.terminalById(this.db, id);
      if (!entry) return undefined;
      if (this.#terminals.size >= TERMINALS_MAX) this.#terminals.clear();
      cached = { entry, until: now + TERMINAL_TTL_MS };
      this.#terminals.set(id, cached);
    }
    const { stan, rrn } = await this.counters();
    return { ...cached.entry, next_stan: stan, next_rrn: rrn };
  }

  /** The next STAN and RRN counter values for this process. */
  async counters(): Promise<{ stan: number; rrn: number }> {
    while (this.#stans.length === 0) {
      this.#refill ??= this.#fill().finally(() => (this.#refill = null));
      await this.#refill;
    }
    return { stan: this.#stans.shift()!, rrn: this.#rrns.shift()! };
  }

  async #fill(): Promise<void> {
    const rows = await repo.counterBlock(this.db, COUNTER_BLOCK);
    this.#stans.push(...rows.map((r) => r.stan));
    this.#rrns.push(...rows.map((r) => r.rrn));
  }
}
