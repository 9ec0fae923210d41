import { Type } from 'typebox';
import type { Cache } from '../infra/cache/index.js';
import type { Database } from '../infra/db/database.js';
import { defineRoute } from '../infra/http/route.js';

const Component = Type.Object({ kind: Type.String(), ok: Type.Boolean(), latency_ms: Type.Optional(Type.Number()), detail: Type.Optional(Type.String()) });

export const health = (db: Database, cache: Cache, version: string) =>
  defineRoute({
    method: 'GET',
    url: '/health',
    operationId: 'health_get',
    summary: 'Liveness and the state of the database and cache',
    description: '200 while the database answers (status "degraded" when the cache does not: the platform then runs without it); 503 when the database does not.',
    tags: ['operations'],
    auth: { kind: 'public' },
    response: { 200: Type.Object({ status: Type.String(), version: Type.String(), database: Component, cache: Component }), 503: Type.Object({ status: Type.String(), version: Type.String(), database: Component, cache: Component }) },
    async handler() {
      const [d, c] = await Promise.all([db.health(), cache.health()]);
      const database = { kind: d.kind, ok: d.ok, latency_ms: d.latency_ms, ...(d.error ? { detail: d.error } : {}) };
      const status = !d.ok ? 'unavailable' : c.ok ? 'ok' : 'degraded';
      return { status: d.ok ? 200 : 503, body: { status, version, database, cache: c } };
    },
  });
