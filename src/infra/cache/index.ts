import type { Logger } from '../logger.js';
import type { Cache } from './cache.js';
import { MemoryCache } from './memory.js';
import { RedisCache } from './redis.js';

export type { Cache, CacheHealth } from './cache.js';
export { MemoryCache } from './memory.js';
export { RedisCache } from './redis.js';

export async function openCache(redisUrl: string | undefined, options: { logger?: Logger; keyPrefix?: string } = {}): Promise<Cache> {
  if (!redisUrl) return new MemoryCache();
  const cache = new RedisCache(redisUrl, options);
  // Start even when Redis is down: the health report says so and the platform runs without it.
  await cache.ready();
  return cache;
}
