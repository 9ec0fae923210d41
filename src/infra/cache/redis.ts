import { Redis } from 'ioredis';
import type { Logger } from '../logger.js';
import type { Cache, CacheHealth } from './cache.js';
import { MemoryCache } from './memory.js';

/**
 * Redis or Valkey. Commands fail fast (no offline queue, short timeout) so a dead cache costs a few
 * milliseconds, not a hung request. While it is down: gets miss, counters fall back to this process,
 * and deletions that could not be sent are remembered; until they are sent, nothing is read from Redis,
 * so an invalidation is never lost to an outage.
 */
export class RedisCache implements Cache {
  readonly kind = 'redis' as const;
  readonly #redis: Redis;
  readonly #fallback = new MemoryCache();
  readonly #pendingDeletes = new Set<string>();
  readonly #log: Logger | undefined;
  #lastError: string | undefined;
  #down = false;

  constructor(url: string, options: { keyPrefix?: string; logger?: Logger; commandTimeoutMs?: number } = {}) {
    this.#log = options.logger;
    this.#redis = new Redis(url, {
      keyPrefix: options.keyPrefix ?? 'tessera:',
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      commandTimeout: options.commandTimeoutMs ?? 250,
      connectTimeout: 1000,
      lazyConnect: false,
      retryStrategy: (times) => Math.min(times * 200, 2000),
    });
    this.#redis.on('error', (err: Error & { code?: string }) => this.#markDown(err.code ?? err.message));
    this.#redis.on('ready', () => {
      if (this.#down) this.#log?.info('redis is reachable again');
      this.#down = false;
      this.#lastError = undefined;
      void this.#flushPendingDeletes();
    });
  }

  /** Resolves when the first connection attempt has settled (ready or failed), for start-up messages. */
  async ready(timeoutMs = 1500): Promise<boolean> {
    if (this.#redis.status === 'ready') return true;
    return new Promise((resolve) => {
      const t = setTimeout(() => resolve(this.#redis.status === 'ready'), timeoutMs);
      this.#redis.once('ready', () => {
        clearTimeout(t);
        resolve(true);
      });
    });
  }

  #markDown(reason: string): void {
    if (!this.#down) this.#log?.warn({ reason }, 'redis unreachable: cache degraded to misses and local counters');
    this.#down = true;
    this.#lastError = reason;
  }

  async #flushPendingDeletes(): Promise<boolean> {
    if (this.#pendingDeletes.size === 0) return true;
    const keys = [...this.#pendingDeletes];
    try {
      await this.#redis.del(...keys);
      for (const k of keys) this.#pendingDeletes.delete(k);
      return this.#pendingDeletes.size === 0;
    } catch (err) {
      this.#markDown((err as Error).message);
      return false;
    }
  }

  async get(key: string): Promise<string | null> {
    if (this.#pendingDeletes.size > 0 && !(await this.#flushPendingDeletes())) return null;
    try {
      return await this.#redis.get(key);
    } catch (err) {
      this.#markDown((err as Error).message);
      return null;
    }
  }

  async set(key: string, value: string, ttlSeconds: number): Promise<void> {
    if (this.#pendingDeletes.size > 0) return;
    try {
      await this.#redis.set(key, value, 'EX', Math.max(1, Math.round(ttlSeconds)));
    } catch (err) {
      this.#markDown((err as Error).message);
    }
  }

  async del(...keys: string[]): Promise<void> {
    if (keys.length === 0) return;
    try {
      await this.#redis.del(...keys);
    } catch (err) {
      this.#markDown((err as Error).message);
      for (const k of keys) this.#pendingDeletes.add(k);
    }
  }

  async incr(key: string, windowSeconds: number): Promise<{ count: number; ttlMs: number }> {
    try {
      const [[e1, count], [e2, ttl]] = (await this.#redis
        .multi()
        .incr(key)
        .pttl(key)
        .exec()) as [[Error | null, number], [Error | null, number]];
      if (e1 || e2) throw e1 ?? e2;
      let ttlMs = ttl;
      if (ttl < 0) {
        await this.#redis.pexpire(key, windowSeconds * 1000);
        ttlMs = windowSeconds * 1000;
      }
      return { count, ttlMs };
    } catch (err) {
      this.#markDown((err as Error).message);
      return this.#fallback.incrSync(key, windowSeconds);
    }
  }

  async health(): Promise<CacheHealth> {
    const started = performance.now();
    try {
      await this.#redis.ping();
      return { kind: 'redis', ok: true, latency_ms: Math.round((performance.now() - started) * 100) / 100 };
    } catch (err) {
      this.#markDown((err as Error).message);
      return { kind: 'redis', ok: false, detail: `unreachable (${this.#lastError ?? 'no answer'}); serving without cache` };
    }
  }

  async close(): Promise<void> {
    this.#redis.disconnect();
    await this.#fallback.close();
  }
}
