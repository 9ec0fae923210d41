/**
 * Remembers the transactionIds of accepted tokens so a second presentation is a replay. The SDK
 * records an id only after the token passed every other check (a forged token cannot burn a
 * genuine id). Times come from the verifier's (injectable) clock, never from the cache's own.
 */
export interface ReplayCache {
  /**
   * Records `transactionId` (lower-case hex) until `expiresAt`. Resolves true when it was new, false
   * when it is already recorded and not expired at `now` (a replay). Must check and record in one
   * atomic step: with a database, `INSERT … ON CONFLICT DO NOTHING` (after deleting expired rows)
   * and "one row inserted" = new.
   */
  recordIfNew(transactionId: string, expiresAt: Date, now: Date): boolean | Promise<boolean>;
}

export interface MemoryReplayCacheOptions {
  /** Upper bound on remembered ids (default 1,000,000); at the bound the oldest go first. */
  maxEntries?: number;
}

/** A ReplayCache in this process's memory: enough for one server process or the CLI. */
export class MemoryReplayCache implements ReplayCache {
  readonly #entries = new Map<string, number>();
  readonly #maxEntries: number;
  #calls = 0;

  constructor(options: MemoryReplayCacheOptions = {}) {
    const max = options.maxEntries ?? 1_000_000;
    if (!Number.isSafeInteger(max) || max < 1) throw new RangeError('maxEntries must be a positive whole number');
    this.#maxEntries = max;
  }

  get size(): number {
    return this.#entries.size;
  }

  recordIfNew(transactionId: string, expiresAt: Date, now: Date): boolean {
    const t = now.getTime();
    const seen = this.#entries.get(transactionId);
    if (seen !== undefined && seen >= t) return false;
    if (++this.#calls % 1024 === 0) this.#sweep(t);
    if (this.#entries.size >= this.#maxEntries) this.#evictOldest();
    this.#entries.delete(transactionId);
    this.#entries.set(transactionId, expiresAt.getTime());
    return true;
  }

  #sweep(now: number): void {
    for (const [id, expires] of this.#entries) if (expires < now) this.#entries.delete(id);
  }

  /** Ids arrive with (nearly) increasing expiry, so the oldest inserted is about the soonest to expire. */
  #evictOldest(): void {
    const first = this.#entries.keys().next();
    if (!first.done) this.#entries.delete(first.value);
  }
}
