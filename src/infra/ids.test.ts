import assert from 'node:assert/strict';
import { test } from 'node:test';
import { hasPrefix, newId, randomBase62 } from './ids.js';

test('ids: prefixed, time-ordered, all distinct across many refills of the random pool, every symbol about equally often', () => {
  const ids = Array.from({ length: 10_000 }, (_, i) => newId('txn', 1_700_000_000_000 + i));
  for (const id of ids) assert.ok(hasPrefix(id, 'txn'), id);
  assert.equal(new Set(ids).size, ids.length);
  assert.deepEqual([...ids].sort(), ids, 'later ids sort after earlier ones');

  const counts = new Map<string, number>();
  for (const id of ids) for (const c of id.slice(-16)) counts.set(c, (counts.get(c) ?? 0) + 1);
  assert.equal(counts.size, 62);
  // 160,000 symbols: about 2,581 each (standard deviation about 50); a bias of the modulo would skew some by ~25%.
  for (const [c, n] of counts) assert.ok(n > 2_300 && n < 2_860, `${c}: ${n}`);
  assert.equal(randomBase62(40).length, 40);
});
