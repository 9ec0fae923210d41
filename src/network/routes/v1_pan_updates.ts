import { Type } from 'typebox';
import { AppError } from '../../infra/errors.js';
import { defineRoute } from '../../infra/http/route.js';
import { brandParam } from '../brands.js';
import type { TokenLifecycle } from '../lifecycle.js';
import { BrandParam } from '../schemas.js';
import { TokenLifecycleSchema } from './v1_tokens_lifecycle.js';

export const v1_pan_updates = (lifecycle: TokenLifecycle) =>
  defineRoute({
    method: 'POST',
    url: '/network/:brand/v1/pan-updates',
    operationId: 'v1_network_pan_updates_create',
    summary: 'The issuer reissued a card (new number and/or expiry): its tokens are re-mapped, the token numbers do not change',
    description:
      "Issuer key only (owner = the issuer of both numbers). The network finds the tokens by its own keyed fingerprint of old_pan; each gets a `network.token` event with pan_updated true (the token requestor updates last4 and expiry).",
    tags: ['card networks'],
    auth: { kind: 'apiKey', roles: ['issuer'] },
    idempotency: 'phased',
    params: Type.Object({ brand: BrandParam }),
    body: Type.Object(
      {
        old_pan: Type.String({ pattern: '^[0-9]{12,19}$' }),
        new_pan: Type.Optional(Type.String({ pattern: '^[0-9]{12,19}$' })),
        exp_month: Type.Integer({ minimum: 1, maximum: 12 }),
        exp_year: Type.Integer({ minimum: 2000, maximum: 2099 }),
        event_id: Type.Optional(Type.String({ pattern: '^evt_[0-9A-Za-z]{1,64}$', description: "The issuer's outbox event id: recorded with the change, so a redelivery changes nothing." })),
      },
      { additionalProperties: false },
    ),
    response: { 200: Type.Object({ object: Type.Literal('pan_update'), tokens: Type.Array(TokenLifecycleSchema), duplicate: Type.Optional(Type.Boolean()) }) },
    async handler({ params, body, principal, step }) {
      if (principal?.kind !== 'apiKey' || principal.role !== 'issuer') throw new AppError('permission_denied');
      return { status: 200, body: await lifecycle.panUpdate(brandParam(params.brand), principal.ownerId, body, (fn) => step('remap', fn)) };
    },
  });
