import { Type } from 'typebox';
import { defineRoute } from '../../infra/http/route.js';
import { brandParam } from '../brands.js';
import { BrandParam, ProvisioningResultSchema, requestorOf, TokenRequestorId } from '../schemas.js';
import type { NetworkService } from '../service.js';

export const v1_tokens_create = (svc: NetworkService) =>
  defineRoute({
    method: 'POST',
    url: '/network/:brand/v1/tokens',
    operationId: 'v1_network_tokens_create',
    summary: 'Provision a device token for encrypted card data (ID&V with the issuer; payload encrypted to the SE key)',
    description:
      'Callers: platform API keys whose owner id is the token requestor id. The card data is a compact JWE to the network\'s encryption key. ' +
      'Green: 201 with an active token and its provisioning payload. Yellow: 201 with an inactive token and a verification (one-time code). ' +
      'Red: 402 provisioning_declined. Retries with the same Idempotency-Key never create a second token; ' +
      'a request cancelled by its key (POST /token-requests/cancel) answers 409 resource_conflict.',
    tags: ['card networks'],
    auth: { kind: 'apiKey', roles: ['platform'] },
    idempotency: 'phased',
    params: Type.Object({ brand: BrandParam }),
    body: Type.Object(
      {
        token_requestor_id: TokenRequestorId,
        encrypted_card: Type.String({ minLength: 1, maxLength: 16384, description: 'Compact JWE (ECDH-ES+A256KW, A256GCM, cty card+json).' }),
        device: Type.Object(
          {
            id: Type.String({ minLength: 1, maxLength: 64 }),
            kind: Type.Union([Type.Literal('phone'), Type.Literal('watch')]),
            se_certificate_pem: Type.String({ minLength: 1, maxLength: 16384 }),
          },
          { additionalProperties: false },
        ),
        wallet_account_id: Type.String({ minLength: 1, maxLength: 64 }),
        device_score: Type.Integer({ minimum: 1, maximum: 5 }),
      },
      { additionalProperties: false },
    ),
    response: { 201: ProvisioningResultSchema },
    async handler({ params, body, principal, step, headers }) {
      const brand = brandParam(params.brand);
      const key = headers['idempotency-key'];
      return { status: 201, body: await svc.provision(brand, requestorOf(principal), body, step, typeof key === 'string' ? key : null) };
    },
  });
