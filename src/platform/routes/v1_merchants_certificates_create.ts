import { Type } from 'typebox';
import { defineRoute } from '../../infra/http/route.js';
import { IssuedCertificateSchema, MerchantIdParams, mayManage } from '../merchants/schemas.js';
import { issuedView, type MerchantService } from '../merchants/service.js';

export const v1_merchants_certificates_create = (svc: MerchantService) =>
  defineRoute({
    method: 'POST',
    url: '/platform/v1/merchants/:merchant_id/certificates',
    operationId: 'v1_merchants_certificates_create',
    summary: 'Issue a payment-processing certificate (tokens are encrypted to its key) or a merchant identity certificate (TLS client for merchant validation)',
    description:
      'Give `csr` (PEM PKCS#10, EC P-256 or RSA 2048; its self-signature is checked) or let the platform generate the key pair ' +
      '(`key_type`, EC P-256 by default): the private key is in this answer only and is never stored. Several processing ' +
      'certificates may be active at once (rotation: tokens name their key by publicKeyHash). Takes no Idempotency-Key: a ' +
      'stored response would hold the private key.',
    tags: ['merchants'],
    auth: { kind: 'apiKey', roles: ['admin', 'merchant'] },
    params: MerchantIdParams,
    body: Type.Object(
      {
        kind: Type.Union([Type.Literal('processing'), Type.Literal('identity')]),
        csr: Type.Optional(Type.String({ minLength: 1, maxLength: 16384 })),
        key_type: Type.Optional(Type.Union([Type.Literal('ec_p256'), Type.Literal('rsa_2048')])),
      },
      { additionalProperties: false },
    ),
    response: { 201: IssuedCertificateSchema },
    async handler({ principal, params, body }) {
      mayManage(principal, params.merchant_id);
      const issued = await svc.issueCertificate(params.merchant_id, { kind: body.kind, csr: body.csr, keyType: body.key_type });
      return { status: 201, body: issuedView(issued), headers: { 'Cache-Control': 'no-store' } };
    },
  });
