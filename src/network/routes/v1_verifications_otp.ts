import { Type } from 'typebox';
import { defineRoute } from '../../infra/http/route.js';
import { Timestamp } from '../../infra/http/schemas.js';
import { brandParam } from '../brands.js';
import { BrandParam, requestorOf } from '../schemas.js';
import type { NetworkService } from '../service.js';

export const v1_verifications_otp = (svc: NetworkService) =>
  defineRoute({
    method: 'POST',
    url: '/network/:brand/v1/verifications/:id/otp',
    operationId: 'v1_network_verifications_otp',
    summary: 'Have the issuer send a one-time code by one of the verification\'s methods',
    tags: ['card networks'],
    auth: { kind: 'apiKey', roles: ['platform'] },
    idempotency: 'phased',
    params: Type.Object({ brand: BrandParam, id: Type.String({ minLength: 1, maxLength: 64 }) }),
    body: Type.Object({ method_id: Type.String({ minLength: 1, maxLength: 64 }) }, { additionalProperties: false }),
    response: { 200: Type.Object({ id: Type.String(), object: Type.Literal('verification'), sent: Type.Literal(true), expires_at: Timestamp }) },
    async handler({ params, body, principal }) {
      return { status: 200, body: await svc.sendOtp(brandParam(params.brand), requestorOf(principal), params.id, body.method_id) };
    },
  });
