import { Type } from 'typebox';
import { AppError } from '../../infra/errors.js';
import { defineRoute } from '../../infra/http/route.js';
import { brandParam } from '../brands.js';
import type { KeyRefreshCaller, TokenKeyRefresh } from '../key-refresh.js';
import { BrandParam } from '../schemas.js';

export const v1_tokens_key_refresh = (svc: TokenKeyRefresh) =>
  defineRoute({
    method: 'POST',
    url: '/network/:brand/v1/tokens/:token_ref/key-refresh',
    operationId: 'v1_network_tokens_key_refresh',
    summary: "Refresh a token's keys: a new per-token master key (and, with new_token_number, a new token number), delivered to the device's SE",
    description:
      "The card's issuer (its key) or the operator (admin key); another issuer's token is 404. The new provisioning payload, encrypted to the device SE, " +
      'goes to the token requestor with the `network.token` event (keys_refreshed); cryptograms made with the old key are declined (88) from now on. ' +
      'Only an active or suspended token (else 409).',
    tags: ['card networks'],
    auth: { kind: 'apiKey', roles: ['issuer', 'admin'] },
    idempotency: 'phased',
    params: Type.Object({ brand: BrandParam, token_ref: Type.String({ minLength: 1, maxLength: 64 }) }),
    body: Type.Object(
      { new_token_number: Type.Optional(Type.Boolean()), reason: Type.Optional(Type.String({ pattern: '^[a-z_]{1,64}$' })) },
      { additionalProperties: false },
    ),
    response: {
      200: Type.Object({
        object: Type.Literal('token_key_refresh'),
        token_ref: Type.String(),
        status: Type.String(),
        token_last4: Type.String(),
        token_number_changed: Type.Boolean(),
        refreshed_at: Type.String(),
      }),
    },
    async handler({ params, body, principal, step }) {
      if (principal?.kind !== 'apiKey') throw new AppError('permission_denied');
      const caller: KeyRefreshCaller = principal.role === 'admin' ? { actor: 'admin' } : principal.role === 'issuer' ? { actor: 'issuer', issuerId: principal.ownerId } : (() => { throw new AppError('permission_denied'); })();
      return { status: 200, body: await svc.refresh(brandParam(params.brand), caller, params.token_ref, body, (fn) => step('refresh', fn)) };
    },
  });
