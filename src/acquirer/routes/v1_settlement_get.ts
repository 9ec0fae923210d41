import { Type } from 'typebox';
import { defineRoute } from '../../infra/http/route.js';
import { SettlementSchema } from '../schemas.js';
import type { AcquirerService } from '../service.js';

export const v1_settlement_get = (svc: AcquirerService) =>
  defineRoute({
    method: 'GET',
    url: '/acquirer/v1/settlement',
    operationId: 'v1_acquirer_settlement_get',
    summary: 'The clearing file of one UTC day: approved, unreversed authorizations per merchant, with totals',
    tags: ['acquirer'],
    auth: { kind: 'apiKey', roles: ['admin'] },
    querystring: Type.Object({ date: Type.String({ pattern: '^[0-9]{4}-[0-9]{2}-[0-9]{2}$', description: 'YYYY-MM-DD (UTC).' }) }, { additionalProperties: false }),
    response: { 200: SettlementSchema },
    async handler({ query }) {
      return { status: 200, body: await svc.settlement(query.date) };
    },
  });
