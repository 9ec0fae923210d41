import { Type } from 'typebox';
import type { Database } from '../../infra/db/database.js';
import { defineRoute } from '../../infra/http/route.js';
import { ListOf, ListQuery, Timestamp } from '../../infra/http/schemas.js';
import { brandParam } from '../brands.js';
import { listSwitchAuthorizations } from '../repository.js';
import { BrandParam } from '../schemas.js';

const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(t: T) => Type.Union([t, Type.Null()]);

export const NetworkAuthorizationSchema = Type.Object({
  id: Type.String(),
  object: Type.Literal('network_authorization'),
  acquirer_id: Type.String(),
  stan: Type.String({ description: "The acquirer's DE 11." }),
  transmitted: Type.String({ description: 'DE 7.' }),
  terminal_id: Type.String({ description: 'DE 41.' }),
  token_ref: Nullable(Type.String()),
  amount: Type.Integer(),
  currency: Type.String({ description: 'ISO 4217 numeric (DE 49).' }),
  rrn: Nullable(Type.String()),
  merchant_name: Nullable(Type.String()),
  response_code: Nullable(Type.String()),
  auth_code: Nullable(Type.String()),
  issuer_id: Nullable(Type.String()),
  status: Type.String(),
  decline_reason: Nullable(Type.String()),
  latency_ms: Nullable(Type.Integer()),
  atc: Nullable(Type.Integer()),
  created_at: Timestamp,
});

export const v1_authorizations_list = (db: Database) =>
  defineRoute({
    method: 'GET',
    url: '/network/:brand/v1/authorizations',
    operationId: 'v1_network_authorizations_list',
    summary: 'Authorizations the switch handled, newest first (token references only, never a number)',
    tags: ['card networks'],
    auth: { kind: 'apiKey', roles: ['admin'] },
    params: Type.Object({ brand: BrandParam }),
    querystring: Type.Object({ ...ListQuery }, { additionalProperties: false }),
    response: { 200: ListOf(NetworkAuthorizationSchema) },
    async handler({ params, query }) {
      const page = await listSwitchAuthorizations(db, brandParam(params.brand), query);
      return {
        status: 200,
        body: { ...page, data: page.data.map((r) => ({ ...r, object: 'network_authorization', amount: Number(r.amount), created_at: new Date(r.created_at).toISOString() })) },
      };
    },
  });
