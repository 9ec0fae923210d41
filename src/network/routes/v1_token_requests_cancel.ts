import { Type } from 'typebox';
import { defineRoute } from '../../infra/http/route.js';
import { brandParam } from '../brands.js';
import type { TokenLifecycle } from '../lifecycle.js';
import { BrandParam, requestorOf } from '../schemas.js';

export const v1_token_requests_cancel = (lifecycle: TokenLifecycle) =>
  defineRoute({
    method: 'POST',
    url: '/network/:brand/v1/token-requests/cancel',
    operationId: 'v1_network_token_requests_cancel',
    summary: 'Cancel a provisioning request by its Idempotency-Key: whatever it made is ended, and it makes nothing later',
    description:
      'Callers: platform API keys (their own requests only). For a token requestor that lost a POST /tokens request (its process died before it recorded the answer): ' +
      'a reservation or step-up of that request ends as abandoned, an active token is deleted (with its events), and the request resumed or arriving late answers 409 resource_conflict. ' +
      'Idempotent: answers every token the request made.',
    tags: ['card networks'],
    auth: { kind: 'apiKey', roles: ['platform'] },
    params: Type.Object({ brand: BrandParam }),
    body: Type.Object({ request_key: Type.String({ minLength: 1, maxLength: 600, description: 'The Idempotency-Key the POST /tokens request was sent with.' }) }, { additionalProperties: false }),
    response: {
      200: Type.Object({ object: Type.Literal('token_request_cancellation'), request_key: Type.String(), token_refs: Type.Array(Type.String()) }),
    },
    async handler({ params, body, principal }) {
      return { status: 200, body: await lifecycle.cancelRequest(brandParam(params.brand), requestorOf(principal), body.request_key) };
    },
  });
