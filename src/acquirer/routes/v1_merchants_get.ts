import { defineRoute } from '../../infra/http/route.js';
import { MerchantIdParams, MerchantSchema } from '../schemas.js';
import type { AcquirerService } from '../service.js';

export const v1_merchants_get = (svc: AcquirerService) =>
  defineRoute({
    method: 'GET',
    url: '/acquirer/v1/merchants/:merchant_id',
    operationId: 'v1_acquirer_merchants_get',
    summary: 'One merchant',
    tags: ['acquirer'],
    auth: { kind: 'apiKey', roles: ['admin'] },
    params: MerchantIdParams,
    response: { 200: MerchantSchema },
    async handler({ params }) {
      return { status: 200, body: await svc.merchant(params.merchant_id) };
    },
  });
