import { Type } from 'typebox';
import { AppError } from '../../infra/errors.js';
import { defineRoute } from '../../infra/http/route.js';
import type { OpsService } from '../service.js';
import { OPS_READ, Open } from './common.js';

export const v1_ops_tokens_search = (svc: OpsService) =>
  defineRoute({
    method: 'GET',
    url: '/ops/v1/tokens',
    operationId: 'v1_ops_tokens_search',
    summary: "Find tokens in every network's vault by token reference or last four digits (of the token or the card)",
    tags: ['operations'],
    auth: OPS_READ,
    querystring: Type.Object(
      { token_ref: Type.Optional(Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_]+$' })), last4: Type.Optional(Type.String({ pattern: '^[0-9]{4}$' })) },
      { additionalProperties: false },
    ),
    response: { 200: Type.Object({ object: Type.Literal('list'), has_more: Type.Boolean(), data: Type.Array(Open) }) },
    async handler({ query }) {
      if (!query.token_ref && !query.last4) throw new AppError('parameter_invalid', { param: 'token_ref', message: 'Give token_ref or last4.' });
      return { status: 200, body: await svc.tokens(query) };
    },
  });
