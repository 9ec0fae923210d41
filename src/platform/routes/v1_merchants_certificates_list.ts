import { Type } from 'typebox';
import { defineRoute } from '../../infra/http/route.js';
import { CertificateSchema, MerchantIdParams, mayManage } from '../merchants/schemas.js';
import { certificateView, type MerchantService } from '../merchants/service.js';

export const v1_merchants_certificates_list = (svc: MerchantService) =>
  defineRoute({
    method: 'GET',
    url: '/platform/v1/merchants/:merchant_id/certificates',
    operationId: 'v1_merchants_certificates_list',
    summary: "The merchant's certificates, newest first, active and revoked (never keys)",
    tags: ['merchants'],
    auth: { kind: 'apiKey', roles: ['admin', 'merchant'] },
    params: MerchantIdParams,
    querystring: Type.Object({ kind: Type.Optional(Type.Union([Type.Literal('processing'), Type.Literal('identity')])) }, { additionalProperties: false }),
    response: { 200: Type.Object({ object: Type.Literal('list'), data: Type.Array(CertificateSchema), has_more: Type.Boolean() }) },
    async handler({ principal, params, query }) {
      mayManage(principal, params.merchant_id);
      const certs = await svc.certificates(params.merchant_id, query.kind);
      return { status: 200, body: { object: 'list', data: certs.map(certificateView), has_more: false } };
    },
  });
