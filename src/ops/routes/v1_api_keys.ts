import { Type } from 'typebox';
import { AppError } from '../../infra/errors.js';
import type { ApiKeys } from '../../infra/http/auth.js';
import { defineRoute, ROLES, type Role } from '../../infra/http/route.js';
import { Timestamp } from '../../infra/http/schemas.js';

const RoleSchema = Type.Union(ROLES.map((r) => Type.Literal(r)));
const KeySchema = Type.Object({
  id: Type.String(),
  object: Type.Literal('api_key'),
  role: Type.String(),
  owner_id: Type.String(),
  name: Type.String(),
  prefix: Type.String({ description: 'The first characters of the secret, to recognise it.' }),
  created_at: Timestamp,
  revoked_at: Type.Union([Timestamp, Type.Null()]),
});

export const v1_api_keys_create = (keys: ApiKeys) =>
  defineRoute({
    method: 'POST',
    url: '/ops/v1/api-keys',
    operationId: 'v1_api_keys_create',
    summary: 'Create an API key for a party (merchant, acquirer, terminal, issuer, network); the secret is shown once',
    tags: ['operations'],
    auth: { kind: 'apiKey', roles: ['admin'] },
    body: Type.Object(
      { role: RoleSchema, owner_id: Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_:-]+$' }), name: Type.Optional(Type.String({ maxLength: 200 })) },
      { additionalProperties: false },
    ),
    response: { 201: Type.Intersect([KeySchema, Type.Object({ secret: Type.String() })]) },
    async handler({ body }) {
      const k = await keys.create(body.role as Role, body.owner_id, body.name ?? '');
      return {
        status: 201,
        body: { id: k.id, object: 'api_key', role: k.role, owner_id: k.owner_id, name: k.name, prefix: k.prefix, created_at: new Date().toISOString(), revoked_at: null, secret: k.secret },
      };
    },
  });

export const v1_api_keys_list = (keys: ApiKeys) =>
  defineRoute({
    method: 'GET',
    url: '/ops/v1/api-keys',
    operationId: 'v1_api_keys_list',
    summary: 'List API keys (never their secrets)',
    tags: ['operations'],
    auth: { kind: 'apiKey', roles: ['admin'] },
    querystring: Type.Object({ role: Type.Optional(RoleSchema), owner_id: Type.Optional(Type.String({ maxLength: 64 })) }, { additionalProperties: false }),
    response: { 200: Type.Object({ object: Type.Literal('list'), data: Type.Array(KeySchema), has_more: Type.Boolean() }) },
    async handler({ query }) {
      const rows = await keys.list({ ...(query.role ? { role: query.role as Role } : {}), ...(query.owner_id ? { ownerId: query.owner_id } : {}) });
      return {
        status: 200,
        body: {
          object: 'list',
          has_more: false,
          data: rows.map((r) => ({ id: r.id, object: 'api_key', role: r.role, owner_id: r.owner_id, name: r.name, prefix: r.secret_prefix, created_at: new Date(r.created_at).toISOString(), revoked_at: r.revoked_at ? new Date(r.revoked_at).toISOString() : null })),
        },
      };
    },
  });

export const v1_api_keys_revoke = (keys: ApiKeys) =>
  defineRoute({
    method: 'DELETE',
    url: '/ops/v1/api-keys/:id',
    operationId: 'v1_api_keys_revoke',
    summary: 'Revoke an API key; it stops working before this call returns',
    tags: ['operations'],
    auth: { kind: 'apiKey', roles: ['admin'] },
    params: Type.Object({ id: Type.String({ maxLength: 64 }) }),
    response: { 200: Type.Object({ id: Type.String(), object: Type.Literal('api_key'), revoked: Type.Literal(true) }) },
    async handler({ params }) {
      if (!(await keys.revoke(params.id))) throw new AppError('resource_missing', { param: 'id' });
      return { status: 200, body: { id: params.id, object: 'api_key', revoked: true } };
    },
  });
