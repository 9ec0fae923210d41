import { Type } from 'typebox';
import { defineRoute } from '../../infra/http/route.js';
import { brandParam } from '../brands.js';
import { BrandParam, ProvisioningResultSchema, requestorOf } from '../schemas.js';
import type { NetworkService } from '../service.js';

export const v1_verifications_confirm = (svc: NetworkService) =>
  defineRoute({
    method: 'POST',
    url: '/network/:brand/v1/verifications/:id/confirm',
    operationId: 'v1_network_verifications_confirm',
    summary: 'Confirm a verification with the one-time code: the token becomes active and its payload is made',
    tags: ['card networks'],
    auth: { kind: 'apiKey', roles: ['platform'] },
    idempotency: 'phased',
    params: Type.Object({ brand: BrandParam, id: Type.String({ minLength: 1, maxLength: 64 }) }),
    body: Type.Object({ code: Type.String({ minLength: 1, maxLength: 16 }) }, { additionalProperties: false }),
    response: { 200: ProvisioningResultSchema },
    async handler({ params, body, principal, step }) {
      return { status: 200, body: await svc.confirm(brandParam(params.brand), requestorOf(principal), params.id, body.code, step) };
    },
  });
