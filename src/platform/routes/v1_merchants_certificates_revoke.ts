import { defineRoute } from '../../infra/http/route.js';
import { CertificateParams, CertificateSchema, mayManage } from '../merchants/schemas.js';
import { certificateView, type MerchantService } from '../merchants/service.js';

export const v1_merchants_certificates_revoke = (svc: MerchantService) =>
  defineRoute({
    method: 'POST',
    url: '/platform/v1/merchants/:merchant_id/certificates/:certificate_id/revoke',
    operationId: 'v1_merchants_certificates_revoke',
    summary: 'Revoke a certificate: no more tokens for a processing key, no more merchant validation with an identity certificate',
    description: 'Safe to repeat: revoking a revoked certificate answers it as it is.',
    tags: ['merchants'],
    auth: { kind: 'apiKey', roles: ['admin', 'merchant'] },
    params: CertificateParams,
    response: { 200: CertificateSchema },
    async handler({ principal, params }) {
      mayManage(principal, params.merchant_id);
      return { status: 200, body: certificateView(await svc.revokeCertificate(params.merchant_id, params.certificate_id)) };
    },
  });
