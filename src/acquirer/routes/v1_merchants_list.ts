import { Type } from 'typebox';
import { defineRoute } from '../../infra/http/route.js';
import { ListOf, ListQuery } from '../../infra/http/schemas.js';
import { MerchantSchema } from '../schemas.js';
import type { AcquirerService } from '../service.js';

export const v1_merchants_list = (svc: AcquirerService) =>
  defineRoute({
    method: 'GET',
    url: '/acquirer/v1/merchants',
    operationId: 'v1_acquirer_merchants_list',
    summary: "The acquirer's merchants, newest first",
    tags: ['acquirer'],
    auth: { kind: 'apiKey', roles: ['admin'] },
    querystring: Type.Object({ ...ListQuery }, { additionalProperties: false }),
    response: { 200: ListOf(MerchantSchema) },
    async handler({ query }) {
      return { status: 200, body: await svc.merchants(query) };
    },
  });
