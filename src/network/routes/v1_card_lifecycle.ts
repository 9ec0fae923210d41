import { Type } from 'typebox';
import { AppError } from '../../infra/errors.js';
import { defineRoute } from '../../infra/http/route.js';
import { brandParam } from '../brands.js';
import type { TokenLifecycle } from '../lifecycle.js';
import { BrandParam } from '../schemas.js';
import { Reason, TokenLifecycleSchema } from './v1_tokens_lifecycle.js';

export const v1_card_lifecycle = (lifecycle: TokenLifecycle) =>
  defineRoute({
    method: 'POST',
    url: '/network/:brand/v1/card-lifecycle',
    operationId: 'v1_network_card_lifecycle',
    summary: "The issuer's card event over all the card's tokens: delete (card closed), suspend (fraud block), resume (unblock)",
    description:
      'Issuer key only (owner = the issuer of the card number). suspend touches the active tokens; resume only the tokens the issuer suspended (a device reported lost stays suspended); delete every live token. Answers the tokens changed.',
    tags: ['card networks'],
    auth: { kind: 'apiKey', roles: ['issuer'] },
    idempotency: 'phased',
    params: Type.Object({ brand: BrandParam }),
    body: Type.Object(
      {
        pan: Type.String({ pattern: '^[0-9]{12,19}$' }),
        action: Type.Union([Type.Literal('suspend'), Type.Literal('resume'), Type.Literal('delete')]),
        reason: Reason,
        event_id: Type.Optional(Type.String({ pattern: '^evt_[0-9A-Za-z]{1,64}$', description: "The issuer's outbox event id: recorded with the change, so a redelivery changes nothing." })),
      },
      { additionalProperties: false },
    ),
    response: { 200: Type.Object({ object: Type.Literal('list'), data: Type.Array(TokenLifecycleSchema), has_more: Type.Boolean() }) },
    async handler({ params, body, principal, step }) {
      if (principal?.kind !== 'apiKey' || principal.role !== 'issuer') throw new AppError('permission_denied');
      const data = await lifecycle.changeCard(brandParam(params.brand), principal.ownerId, body.pan, body.action, body.reason, (fn) => step('change', fn), body.event_id);
      return { status: 200, body: { object: 'list', data, has_more: false } };
    },
  });
