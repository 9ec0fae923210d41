export interface CacheHealth {
  kind: 'memory' | 'redis';
  ok: boolean;
  latency_ms?: number;
  detail?: string;
}

/**
 * Lookups and rate limits only: never the source of truth. Every method degrades instead of failing:
 * a get that cannot reach the store is a miss, a counter falls back to this process.
 */
export interface Cache {
  readonly kind: 'memory' | 'redis';
  get(key: string): Promise<string | null>;
  set(key: string, value: string, ttlSeconds: number): Promise<void>;
  /** Invalidation: resolves once the keys are gone (or, if the store is unreachable, once no stale value can be served). */
  del(...keys: string[]): Promise<void>;
  /** Fixed-window counter: the count in the current window and the time left in it. */
  incr(key: string, windowSeconds: number): Promise<{ count: number; ttlMs: number }>;
  health(): Promise<CacheHealth>;
  close(): Promise<void>;
}
