import { defineRoute } from '../../infra/http/route.js';
import { MerchantIdParams, MerchantSchema, mayManage } from '../merchants/schemas.js';
import type { MerchantService } from '../merchants/service.js';

export const v1_merchants_get = (svc: MerchantService) =>
  defineRoute({
    method: 'GET',
    url: '/platform/v1/merchants/:merchant_id',
    operationId: 'v1_merchants_get',
    summary: 'One merchant (a merchant key sees only its own)',
    tags: ['merchants'],
    auth: { kind: 'apiKey', roles: ['admin', 'merchant'] },
    params: MerchantIdParams,
    response: { 200: MerchantSchema },
    async handler({ principal, params }) {
      mayManage(principal, params.merchant_id);
      return { status: 200, body: await svc.merchant(params.merchant_id) };
    },
  });
