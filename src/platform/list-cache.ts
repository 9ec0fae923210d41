import type { Cache } from '../infra/cache/index.js';
import { randomBase62 } from '../infra/ids.js';

/** How long a user's card list or history page is served from the cache (any change drops it at once). */
export const LIST_CACHE_SECONDS = 5;

/**
 * Cache-aside for a user's lists (cards, history), invalidated by deleting one key: `scope` (e.g.
 * `cards:<user id>`) holds a version, and each list variant (filters, cursor, limit) is cached under
 * that version. A change deletes the scope key before its call returns; the next read starts a new
 * version. The version is set before the database is read, so a read that raced a change can only
 * fill a version nobody asks for any more: it never serves what was true before a change that
 * returned. The cache is never the truth: a failing cache is a miss.
 */
export async function cachedList<T>(cache: Cache, scope: string, variant: unknown, load: () => Promise<T>, ttlSeconds = LIST_CACHE_SECONDS): Promise<T> {
  let version = await cache.get(scope);
  if (!version) {
    version = randomBase62(12);
    await cache.set(scope, version, ttlSeconds * 12);
  }
  const key = `${scope}:${version}:${JSON.stringify(variant)}`;
  const hit = await cache.get(key);
  if (hit) return JSON.parse(hit) as T;
  const value = await load();
  await cache.set(key, JSON.stringify(value), ttlSeconds);
  return value;
}
