import { Type } from 'typebox';
import { defineRoute } from '../../infra/http/route.js';
import { ListOf, ListQuery } from '../../infra/http/schemas.js';
import { MerchantSchema } from '../merchants/schemas.js';
import type { MerchantService } from '../merchants/service.js';

export const v1_merchants_list = (svc: MerchantService) =>
  defineRoute({
    method: 'GET',
    url: '/platform/v1/merchants',
    operationId: 'v1_merchants_list',
    summary: 'The registered merchants, newest first',
    tags: ['merchants'],
    auth: { kind: 'apiKey', roles: ['admin'] },
    querystring: Type.Object(ListQuery, { additionalProperties: false }),
    response: { 200: ListOf(MerchantSchema) },
    async handler({ query }) {
      return { status: 200, body: await svc.merchants(query) };
    },
  });
