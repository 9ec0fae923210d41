import { Type } from 'typebox';
import { defineRoute } from '../../infra/http/route.js';
import { brandParam } from '../brands.js';
import { BrandParam, requestorOf, TokenSchema } from '../schemas.js';
import type { NetworkService } from '../service.js';

export const v1_tokens_get = (svc: NetworkService) =>
  defineRoute({
    method: 'GET',
    url: '/network/:brand/v1/tokens/:token_ref',
    operationId: 'v1_network_tokens_get',
    summary: "A token's status and domain restrictions (the token requestor's own tokens only)",
    tags: ['card networks'],
    auth: { kind: 'apiKey', roles: ['platform'] },
    params: Type.Object({ brand: BrandParam, token_ref: Type.String({ minLength: 1, maxLength: 64 }) }),
    response: { 200: TokenSchema },
    async handler({ params, principal }) {
      return { status: 200, body: await svc.getToken(brandParam(params.brand), requestorOf(principal), params.token_ref) };
    },
  });
