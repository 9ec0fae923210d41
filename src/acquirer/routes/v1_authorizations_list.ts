import { Type } from 'typebox';
import { defineRoute } from '../../infra/http/route.js';
import { ListOf, ListQuery } from '../../infra/http/schemas.js';
import { AuthorizationSchema } from '../schemas.js';
import type { AcquirerService } from '../service.js';

export const v1_authorizations_list = (svc: AcquirerService) =>
  defineRoute({
    method: 'GET',
    url: '/acquirer/v1/authorizations',
    operationId: 'v1_acquirer_authorizations_list',
    summary: 'Authorizations the acquirer switched, newest first, with their reversal (tokens masked)',
    tags: ['acquirer'],
    auth: { kind: 'apiKey', roles: ['admin'] },
    querystring: Type.Object(
      { ...ListQuery, merchant_id: Type.Optional(Type.String({ maxLength: 64 })), terminal: Type.Optional(Type.String({ maxLength: 64, description: 'A terminal (term_…).' })) },
      { additionalProperties: false },
    ),
    response: { 200: ListOf(AuthorizationSchema) },
    async handler({ query }) {
      return { status: 200, body: await svc.authorizations({ merchantId: query.merchant_id, terminalId: query.terminal }, query) };
    },
  });
