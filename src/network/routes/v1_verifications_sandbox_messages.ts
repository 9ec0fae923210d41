import { Type } from 'typebox';
import { defineRoute } from '../../infra/http/route.js';
import { ListOf } from '../../infra/http/schemas.js';
import { brandParam } from '../brands.js';
import { BrandParam, requestorOf, SandboxMessageSchema } from '../schemas.js';
import type { NetworkService } from '../service.js';

export const v1_verifications_sandbox_messages = (svc: NetworkService) =>
  defineRoute({
    method: 'GET',
    url: '/network/:brand/v1/verifications/:id/sandbox-messages',
    operationId: 'v1_network_verifications_sandbox_messages',
    summary: 'The simulated SMS / e-mail messages the issuer sent for a verification (sandbox)',
    tags: ['card networks'],
    auth: { kind: 'apiKey', roles: ['platform'] },
    params: Type.Object({ brand: BrandParam, id: Type.String({ minLength: 1, maxLength: 64 }) }),
    response: { 200: ListOf(SandboxMessageSchema) },
    async handler({ params, principal }) {
      return { status: 200, body: await svc.sandboxMessages(brandParam(params.brand), requestorOf(principal), params.id) };
    },
  });
