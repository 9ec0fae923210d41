import { Type } from 'typebox';
import { defineRoute } from '../../infra/http/route.js';
import { ListOf, ListQuery } from '../../infra/http/schemas.js';
import { MerchantIdParams, TerminalSchema } from '../schemas.js';
import type { AcquirerService } from '../service.js';

export const v1_terminals_list = (svc: AcquirerService) =>
  defineRoute({
    method: 'GET',
    url: '/acquirer/v1/merchants/:merchant_id/terminals',
    operationId: 'v1_acquirer_terminals_list',
    summary: "A merchant's terminals, newest first",
    tags: ['acquirer'],
    auth: { kind: 'apiKey', roles: ['admin'] },
    params: MerchantIdParams,
    querystring: Type.Object({ ...ListQuery }, { additionalProperties: false }),
    response: { 200: ListOf(TerminalSchema) },
    async handler({ params, query }) {
      return { status: 200, body: await svc.terminals(params.merchant_id, query) };
    },
  });
