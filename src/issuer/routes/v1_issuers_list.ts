import { Type } from 'typebox';
import type { Database } from '../../infra/db/database.js';
import { defineRoute } from '../../infra/http/route.js';
import { listIssuersOverview } from '../repository.js';

export const v1_issuers_list = (db: Database) =>
  defineRoute({
    method: 'GET',
    url: '/issuer/v1/issuers',
    operationId: 'v1_issuers_list',
    summary: 'The issuers this deployment runs, with their BIN ranges and how many cards and accounts each holds (the operations console)',
    tags: ['issuers'],
    auth: { kind: 'apiKey', roles: ['admin'] },
    response: {
      200: Type.Object({
        object: Type.Literal('list'),
        has_more: Type.Boolean(),
        data: Type.Array(
          Type.Object({
            id: Type.String(),
            object: Type.Literal('issuer'),
            name: Type.String(),
            country: Type.String(),
            bins: Type.Array(Type.Object({ prefix: Type.String(), network: Type.String() })),
            cards: Type.Integer(),
            accounts: Type.Integer(),
          }),
        ),
      }),
    },
    async handler() {
      const rows = await listIssuersOverview(db);
      return { status: 200, body: { object: 'list', has_more: false, data: rows.map((r) => ({ ...r, object: 'issuer', bins: r.bins ?? [] })) } };
    },
  });
