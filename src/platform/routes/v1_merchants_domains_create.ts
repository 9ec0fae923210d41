import { Type } from 'typebox';
import { defineRoute } from '../../infra/http/route.js';
import { DomainSchema, MerchantIdParams, mayManage } from '../merchants/schemas.js';
import type { MerchantService } from '../merchants/service.js';

export const v1_merchants_domains_create = (svc: MerchantService) =>
  defineRoute({
    method: 'POST',
    url: '/platform/v1/merchants/:merchant_id/domains',
    operationId: 'v1_merchants_domains_create',
    summary: 'Register a web domain for Apple Pay on the web; answers the association file to serve before verifying it',
    tags: ['merchants'],
    auth: { kind: 'apiKey', roles: ['admin', 'merchant'] },
    idempotency: 'atomic',
    params: MerchantIdParams,
    body: Type.Object(
      { domain: Type.String({ minLength: 1, maxLength: 253, description: 'A host name such as shop.example.com; in the sandbox also localhost:<port> or 127.0.0.1:<port>.' }) },
      { additionalProperties: false },
    ),
    response: { 201: DomainSchema },
    async handler({ principal, params, body, tx }) {
      mayManage(principal, params.merchant_id);
      return { status: 201, body: await svc.addDomain(params.merchant_id, body.domain, tx) };
    },
  });
