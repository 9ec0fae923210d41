import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { MemoryCache, RedisCache, type Cache } from '../../src/infra/cache/index.js';
import { randomBase62 } from '../../src/infra/ids.js';

const caches: [string, () => Cache][] = [['memory', () => new MemoryCache()]];
if (process.env.REDIS_URL) caches.push(['redis', () => new RedisCache(process.env.REDIS_URL!, { keyPrefix: `cache-test:${randomBase62(8)}:` })]);

for (const [name, make] of caches) {
  describe(`${name} cache`, () => {
    const cache = make();
    after(() => cache.close());

    it('gets, sets with expiry, and deletes', async () => {
      if (cache instanceof RedisCache) assert.equal(await cache.ready(), true);
      assert.equal(await cache.get('a'), null);
      await cache.set('a', 'one', 60);
      assert.equal(await cache.get('a'), 'one');
      await cache.del('a');
      assert.equal(await cache.get('a'), null);
      assert.equal((await cache.health()).ok, true);
    });

    it('counts in fixed windows', async () => {
      const k = `c:${randomBase62(6)}`;
      const a = await cache.incr(k, 60);
      const b = await cache.incr(k, 60);
      assert.equal(a.count, 1);
      assert.equal(b.count, 2);
      assert.ok(b.ttlMs > 0 && b.ttlMs <= 60_000);
    });
  });
}

describe('memory cache expiry', () => {
  it('forgets entries after their TTL and resets counters after the window', async () => {
    let now = 1_000_000;
    const cache = new MemoryCache({ now: () => now });
    await cache.set('k', 'v', 5);
    await cache.incr('n', 5);
    now += 5_001;
    assert.equal(await cache.get('k'), null);
    assert.equal((await cache.incr('n', 5)).count, 1);
  });
});

describe('redis cache while Redis is unreachable', () => {
  it('misses, counts locally, reports itself down, and holds back reads until lost deletions are sent', async () => {
    const cache = new RedisCache('redis://127.0.0.1:1', { keyPrefix: 'down:' });
    assert.equal(await cache.ready(300), false);
    assert.equal(await cache.get('x'), null);
    await cache.set('x', 'y', 10);
    await cache.del('x');
    assert.equal((await cache.incr('n', 10)).count, 1);
    assert.equal((await cache.incr('n', 10)).count, 2);
    const h = await cache.health();
    assert.equal(h.ok, false);
    assert.match(h.detail ?? '', /unreachable/);
    await cache.close();
  });
});
