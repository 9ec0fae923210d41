import { Type } from 'typebox';
import type { Database } from '../../infra/db/database.js';
import { defineRoute } from '../../infra/http/route.js';
import { ListOf, ListQuery, Timestamp } from '../../infra/http/schemas.js';
import { listIssuerAuthorizations } from '../repository.js';
import { IssuerParams } from '../schemas.js';

const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(t: T) => Type.Union([t, Type.Null()]);

export const v1_authorizations_list = (db: Database) =>
  defineRoute({
    method: 'GET',
    url: '/issuer/:issuer_id/v1/authorizations',
    operationId: 'v1_issuer_authorizations_list',
    summary: "An issuer's authorization decisions, newest first (the operations console; no card number)",
    tags: ['issuers'],
    auth: { kind: 'apiKey', roles: ['admin'] },
    params: IssuerParams,
    querystring: Type.Object({ ...ListQuery }, { additionalProperties: false }),
    response: {
      200: ListOf(
        Type.Object({
          id: Type.String(),
          object: Type.Literal('issuer_authorization'),
          issuer_id: Type.String(),
          txn_key: Type.String({ description: 'DE 32 : DE 11 : DE 7 : DE 41 as the issuer received them.' }),
          card_id: Nullable(Type.String()),
          amount: Type.Integer(),
          currency_numeric: Nullable(Type.String()),
          rrn: Nullable(Type.String()),
          merchant_name: Nullable(Type.String()),
          response_code: Type.String(),
          auth_code: Nullable(Type.String()),
          reason: Type.String(),
          cdcvm: Nullable(Type.Boolean()),
          created_at: Timestamp,
        }),
      ),
    },
    async handler({ params, query }) {
      const page = await listIssuerAuthorizations(db, params.issuer_id, query);
      return {
        status: 200,
        body: { ...page, data: page.data.map((r) => ({ ...r, object: 'issuer_authorization', amount: Number(r.amount), created_at: new Date(r.created_at).toISOString() })) },
      };
    },
  });
