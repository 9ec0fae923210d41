import type { Cache, CacheHealth } from './cache.js';

interface Entry {
  value: string;
  expiresAt: number;
}

/** The in-process cache: a bounded map with expiry, oldest evicted first. */
export class MemoryCache implements Cache {
  readonly kind = 'memory' as const;
  readonly #entries = new Map<string, Entry>();
  readonly #counters = new Map<string, { count: number; resetAt: number }>();
  readonly #max: number;
  readonly #now: () => number;

  constructor(options: { maxEntries?: number; now?: () => number } = {}) {
    this.#max = options.maxEntries ?? 100_000;
    this.#now = options.now ?? Date.now;
  }

  async get(key: string): Promise<string | null> {
    return this.getSync(key);
  }

  getSync(key: string): string | null {
    const e = this.#entries.get(key);
    if (!e) return null;
    if (e.expiresAt <= this.#now()) {
      this.#entries.delete(key);
      return null;
    }
    return e.value;
  }

  async set(key: string, value: string, ttlSeconds: number): Promise<void> {
    this.#entries.delete(key);
    this.#entries.set(key, { value, expiresAt: this.#now() + ttlSeconds * 1000 });
    if (this.#entries.size > this.#max) {
      const oldest = this.#entries.keys().next().value;
      if (oldest !== undefined) this.#entries.delete(oldest);
    }
  }

  async del(...keys: string[]): Promise<void> {
    for (const k of keys) this.#entries.delete(k);
  }

  async incr(key: string, windowSeconds: number): Promise<{ count: number; ttlMs: number }> {
    return this.incrSync(key, windowSeconds);
  }

  incrSync(key: string, windowSeconds: number): { count: number; ttlMs: number } {
    const now = this.#now();
    let c = this.#counters.get(key);
    if (!c || c.resetAt <= now) {
      c = { count: 0, resetAt: now + windowSeconds * 1000 };
      this.#counters.set(key, c);
      if (this.#counters.size > this.#max) this.#sweepCounters(now);
    }
    c.count += 1;
    return { count: c.count, ttlMs: c.resetAt - now };
  }

  #sweepCounters(now: number): void {
    for (const [k, c] of this.#counters) if (c.resetAt <= now) this.#counters.delete(k);
  }

  async health(): Promise<CacheHealth> {
    return { kind: 'memory', ok: true };
  }

  async close(): Promise<void> {
    this.#entries.clear();
    this.#counters.clear();
  }
}
