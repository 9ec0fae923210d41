import { createHash } from 'node:crypto';
import type { Sql } from '../db/database.js';
import type { Cache, CacheHealth } from './cache.js';

/**
 * The cache namespace of the deployment whose database this is: its random id (infra.deployment, made
 * once by the infra migration) with the database's own oid, hashed. A second database beside the first
 * (a reset, a restore into a new database, the bench run twice) has another one, even with the same KEK
 * and the same Redis; processes sharing one database share it. Read once at start.
 */
export async function deploymentNamespace(sql: Sql): Promise<string> {
  const { rows } = await sql.query<{ id: string; oid: string }>(
    'SELECT d.id, (SELECT oid::text FROM pg_database WHERE datname = current_database()) AS oid FROM infra.deployment d',
  );
  const row = rows[0];
  if (!row) throw new Error('infra.deployment has no row: the infra migrations did not run');
  return createHash('sha256').update(`${row.id}:${row.oid ?? ''}`).digest('hex').slice(0, 16);
}

/** A cache given from outside (tests, embedders) seen under a key prefix, as Redis is opened with one. */
export class NamespacedCache implements Cache {
  constructor(
    private readonly inner: Cache,
    private readonly prefix: string,
  ) {}
  get kind(): Cache['kind'] {
    return this.inner.kind;
  }
  get(key: string): Promise<string | null> {
    return this.inner.get(this.prefix + key);
  }
  set(key: string, value: string, ttlSeconds: number): Promise<void> {
    return this.inner.set(this.prefix + key, value, ttlSeconds);
  }
  del(...keys: string[]): Promise<void> {
    return this.inner.del(...keys.map((k) => this.prefix + k));
  }
  incr(key: string, windowSeconds: number): Promise<{ count: number; ttlMs: number }> {
    return this.inner.incr(this.prefix + key, windowSeconds);
  }
  health(): Promise<CacheHealth> {
    return this.inner.health();
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}
