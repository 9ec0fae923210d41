import { Type } from 'typebox';
import { defineRoute } from '../../infra/http/route.js';
import { DomainSchema, MerchantIdParams, mayManage } from '../merchants/schemas.js';
import type { MerchantService } from '../merchants/service.js';

export const v1_merchants_domains_list = (svc: MerchantService) =>
  defineRoute({
    method: 'GET',
    url: '/platform/v1/merchants/:merchant_id/domains',
    operationId: 'v1_merchants_domains_list',
    summary: "The merchant's domains, pending and verified, newest first",
    tags: ['merchants'],
    auth: { kind: 'apiKey', roles: ['admin', 'merchant'] },
    params: MerchantIdParams,
    response: { 200: Type.Object({ object: Type.Literal('list'), data: Type.Array(DomainSchema), has_more: Type.Boolean() }) },
    async handler({ principal, params }) {
      mayManage(principal, params.merchant_id);
      return { status: 200, body: { object: 'list', data: await svc.domains(params.merchant_id), has_more: false } };
    },
  });
