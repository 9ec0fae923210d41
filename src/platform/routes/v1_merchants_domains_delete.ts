import { Type } from 'typebox';
import { defineRoute } from '../../infra/http/route.js';
import { DomainParams, mayManage } from '../merchants/schemas.js';
import type { MerchantService } from '../merchants/service.js';

export const v1_merchants_domains_delete = (svc: MerchantService) =>
  defineRoute({
    method: 'DELETE',
    url: '/platform/v1/merchants/:merchant_id/domains/:domain_id',
    operationId: 'v1_merchants_domains_delete',
    summary: 'Remove a domain: merchant validation for it stops at once',
    tags: ['merchants'],
    auth: { kind: 'apiKey', roles: ['admin', 'merchant'] },
    params: DomainParams,
    response: { 200: Type.Object({ id: Type.String(), object: Type.Literal('merchant_domain'), deleted: Type.Literal(true) }) },
    async handler({ principal, params }) {
      mayManage(principal, params.merchant_id);
      await svc.removeDomain(params.merchant_id, params.domain_id);
      return { status: 200, body: { id: params.domain_id, object: 'merchant_domain', deleted: true } };
    },
  });
