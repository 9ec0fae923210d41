import { defineRoute } from '../../infra/http/route.js';
import { DomainParams, DomainSchema, mayManage } from '../merchants/schemas.js';
import type { MerchantService } from '../merchants/service.js';

export const v1_merchants_domains_verify = (svc: MerchantService) =>
  defineRoute({
    method: 'POST',
    url: '/platform/v1/merchants/:merchant_id/domains/:domain_id/verify',
    operationId: 'v1_merchants_domains_verify',
    summary: 'Verify a domain: the platform fetches /.well-known/apple-developer-merchantid-domain-association from it and compares',
    description:
      'https for real domains (no redirects, 5 s, public addresses only); plain http for loopback domains in the sandbox. Safe to repeat. ' +
      'Failure answers domain_verification_failed with the reason and leaves an earlier verification in place.',
    tags: ['merchants'],
    auth: { kind: 'apiKey', roles: ['admin', 'merchant'] },
    params: DomainParams,
    rateLimits: [{ name: 'domain-verify', by: 'principal', max: 30, windowSeconds: 60 }],
    response: { 200: DomainSchema },
    async handler({ principal, params }) {
      mayManage(principal, params.merchant_id);
      return { status: 200, body: await svc.verifyDomain(params.merchant_id, params.domain_id) };
    },
  });
