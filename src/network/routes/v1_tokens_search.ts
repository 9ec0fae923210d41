import { Type } from 'typebox';
import type { Database } from '../../infra/db/database.js';
import { AppError } from '../../infra/errors.js';
import { defineRoute } from '../../infra/http/route.js';
import { Timestamp } from '../../infra/http/schemas.js';
import { brandParam } from '../brands.js';
import { searchTokens } from '../repository.js';
import { BrandParam } from '../schemas.js';

const TokenSummary = Type.Object({
  token_ref: Type.String(),
  object: Type.Literal('token_summary'),
  brand: Type.String(),
  token_last4: Type.String(),
  card_last4: Type.String(),
  token_expiry: Type.String({ description: 'MM/YY' }),
  status: Type.String(),
  idv: Type.String(),
  issuer_id: Type.String(),
  device_id: Type.String(),
  device_kind: Type.String(),
  token_requestor_id: Type.String(),
  domains: Type.Array(Type.String()),
  atc_high_water: Type.Integer(),
  created_at: Timestamp,
});

export const v1_tokens_search = (db: Database) =>
  defineRoute({
    method: 'GET',
    url: '/network/:brand/v1/token-search',
    operationId: 'v1_network_tokens_search',
    summary: 'Find tokens by reference or by the last four digits of the token or the card (masked: last four only)',
    tags: ['card networks'],
    auth: { kind: 'apiKey', roles: ['admin'] },
    params: Type.Object({ brand: BrandParam }),
    querystring: Type.Object(
      { token_ref: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })), last4: Type.Optional(Type.String({ pattern: '^[0-9]{4}$' })) },
      { additionalProperties: false },
    ),
    response: { 200: Type.Object({ object: Type.Literal('list'), data: Type.Array(TokenSummary), has_more: Type.Boolean() }) },
    async handler({ params, query }) {
      const brand = brandParam(params.brand);
      if (!query.token_ref && !query.last4) throw new AppError('parameter_invalid', { param: 'token_ref', message: 'Give token_ref or last4.' });
      const rows = await searchTokens(db, brand, { tokenRef: query.token_ref, last4: query.last4 });
      return {
        status: 200,
        body: {
          object: 'list',
          has_more: false,
          data: rows.map((r) => ({
            token_ref: r.token_ref,
            object: 'token_summary',
            brand: r.brand,
            token_last4: r.token_last4,
            card_last4: r.card_last4,
            token_expiry: `${String(r.token_exp_month).padStart(2, '0')}/${String(r.token_exp_year % 100).padStart(2, '0')}`,
            status: r.status,
            idv: r.idv,
            issuer_id: r.issuer_id,
            device_id: r.device_id,
            device_kind: r.device_kind,
            token_requestor_id: r.token_requestor_id,
            domains: r.domains,
            atc_high_water: r.atc_high_water,
            created_at: new Date(r.created_at).toISOString(),
          })),
        },
      };
    },
  });
