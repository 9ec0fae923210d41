import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import type { Role, RouteSpec } from '../../src/infra/http/route.js';

export type Credentials = Partial<Record<Role | 'user' | 'deviceUser', string>>;

function concreteUrl(url: string): string {
  return url.replace(/:([A-Za-z_]+)/g, (_m, name: string) => `${name}_0000000000000000000000000`);
}

/**
 * The checks every route gets for free: no credentials → 401, a malformed or unknown secret → 401,
 * every kind of credential the route does not admit → 403. Bodies are left empty on purpose: the
 * refusal must come before validation, so an anonymous caller learns nothing about the route.
 */
export async function checkRouteSecurity(app: FastifyInstance, routes: RouteSpec[], creds: Credentials): Promise<number> {
  let checks = 0;
  for (const route of routes) {
    if (route.auth.kind === 'public') continue;
    const url = concreteUrl(route.url);
    const send = (authorization?: string) =>
      app.inject({ method: route.method, url, headers: authorization ? { authorization } : {}, ...(route.method === 'GET' || route.method === 'DELETE' ? {} : { payload: {} }) });

    for (const header of [undefined, 'Bearer', 'Bearer tsk_admin_wrong', 'Basic abc', `Bearer tss_${'x'.repeat(40)}`]) {
      const res = await send(header);
      assert.equal(res.statusCode, 401, `${route.method} ${route.url} with ${header ?? 'no credentials'} → ${res.statusCode}`);
      assert.equal(res.json().error.type, 'authentication_error');
      checks++;
    }
    for (const [kind, secret] of Object.entries(creds)) {
      if (!secret) continue;
      const allowed =
        route.auth.kind === 'apiKey'
          ? (route.auth.roles as readonly string[]).includes(kind)
          : kind === 'deviceUser' || (kind === 'user' && !route.auth.device);
      if (allowed) continue;
      const res = await send(`Bearer ${secret}`);
      assert.equal(res.statusCode, 403, `${route.method} ${route.url} with a ${kind} credential → ${res.statusCode}`);
      assert.equal(res.json().error.type, 'permission_error');
      checks++;
    }
  }
  return checks;
}
