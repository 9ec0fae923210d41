import { Type } from 'typebox';
import { AppError } from '../../infra/errors.js';
import { defineRoute } from '../../infra/http/route.js';
import type { CardLifecycle } from '../lifecycle.js';
import { NetworkSchema } from '../schemas.js';

export const v1_network_tokens_create = (svc: CardLifecycle) =>
  defineRoute({
    method: 'POST',
    url: '/platform/v1/network-events/tokens',
    operationId: 'v1_network_tokens_create',
    summary: "A card network tells the platform (its token requestor) about a change of one of its tokens (status, or the card's number and expiry after a reissue)",
    description: 'At-least-once delivery from the network outbox, in order per token; the Idempotency-Key is the event id.',
    tags: ['wallet platform'],
    auth: { kind: 'apiKey', roles: ['network'] },
    idempotency: 'phased',
    body: Type.Object(
      {
        token_ref: Type.String({ minLength: 1, maxLength: 64 }),
        brand: NetworkSchema,
        status: Type.Union([Type.Literal('inactive'), Type.Literal('active'), Type.Literal('suspended'), Type.Literal('deleted')]),
        reason: Type.String({ minLength: 1, maxLength: 64 }),
        actor: Type.Union([Type.Literal('platform'), Type.Literal('issuer'), Type.Literal('network')]),
        occurred_at: Type.String({ maxLength: 40 }),
        pan_updated: Type.Optional(Type.Boolean()),
        keys_refreshed: Type.Optional(Type.Boolean()),
        provisioning_payload: Type.Optional(Type.String({ minLength: 1, maxLength: 16384 })),
        token_last4: Type.Optional(Type.String({ pattern: '^[0-9]{4}$' })),
        card: Type.Optional(
          Type.Object({ last4: Type.String({ pattern: '^[0-9]{4}$' }), exp_month: Type.Integer({ minimum: 1, maximum: 12 }), exp_year: Type.Integer({ minimum: 2000, maximum: 2099 }) }),
        ),
      },
      { additionalProperties: true },
    ),
    response: { 200: Type.Object({ card_id: Type.Union([Type.String(), Type.Null()]), applied: Type.Boolean() }) },
    async handler({ body, principal, step }) {
      // A network may speak only for its own brand.
      if (principal?.kind === 'apiKey' && principal.ownerId !== body.brand) throw new AppError('permission_denied', { message: 'This network key speaks for another brand.' });
      const { user_id: userId, ...result } = await step('apply', (tx) => svc.recordTokenEvent(tx, body));
      // After the commit: the user's cached card lists go, the user's open event streams wake.
      if (userId) await svc.committed(userId);
      return { status: 200, body: result };
    },
  });
