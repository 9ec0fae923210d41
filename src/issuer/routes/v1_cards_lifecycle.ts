import { Type } from 'typebox';
import { AppError } from '../../infra/errors.js';
import { validateIdempotencyKey } from '../../infra/http/idempotency.js';
import { defineRoute, type Principal, type RouteSpec } from '../../infra/http/route.js';
import type { IssuerCardLifecycle } from '../card-lifecycle.js';
import { NetworkSchema } from '../schemas.js';

const CardParams = Type.Object({ issuer_id: Type.String({ minLength: 1, maxLength: 64 }), card_id: Type.String({ minLength: 1, maxLength: 64 }) }, { additionalProperties: false });

const CardLifecycleSchema = Type.Object({
  object: Type.Literal('card'),
  id: Type.String(),
  network: NetworkSchema,
  last4: Type.String(),
  exp_month: Type.Integer(),
  exp_year: Type.Integer(),
  status: Type.String(),
  notification: Type.Union([
    Type.Object({
      event_id: Type.String(),
      status: Type.Union([Type.Literal('pending'), Type.Literal('delivered'), Type.Literal('rejected')]),
    }, { description: "The card network's notification of this change, delivered by the outbox (GET …/network-notifications follows it)." }),
    Type.Null(),
  ]),
});

/** The issuer's own key only (role issuer, owner = the issuer in the path); another issuer's: 404. */
function ownIssuer(principal: Principal | null, issuerId: string): void {
  if (principal?.kind !== 'apiKey' || principal.role !== 'issuer') throw new AppError('permission_denied');
  if (principal.ownerId !== issuerId) throw new AppError('resource_missing', { param: 'issuer_id', message: 'No such issuer.' });
}

const EVENTS = {
  close: { summary: "Close a card: declined from now on, and every token of it deleted at its network", run: (s: IssuerCardLifecycle, i: string, c: string) => s.close(i, c) },
  block: { summary: 'Block a card (fraud): declined (62), its tokens suspended by the issuer', run: (s: IssuerCardLifecycle, i: string, c: string) => s.block(i, c) },
  unblock: { summary: 'Unblock a card: the tokens the issuer suspended are resumed', run: (s: IssuerCardLifecycle, i: string, c: string) => s.unblock(i, c) },
} as const;

const event = (svc: IssuerCardLifecycle, name: keyof typeof EVENTS): RouteSpec =>
  defineRoute({
    method: 'POST',
    url: `/issuer/:issuer_id/v1/cards/:card_id/${name}`,
    operationId: `v1_issuer_cards_${name}`,
    summary: EVENTS[name].summary,
    description:
      "The issuer's own key. The change is made at once (202) and its notification to the card's network written with it; the outbox delivers it " +
      '(at least once, in order per card, de-duplicated by event id at the network). Repeating a change already made answers 200 and sends nothing.',
    tags: ['issuer'],
    auth: { kind: 'apiKey', roles: ['issuer'] },
    params: CardParams,
    response: { 200: CardLifecycleSchema, 202: CardLifecycleSchema },
    async handler({ params, principal }) {
      ownIssuer(principal, params.issuer_id);
      const card = await EVENTS[name].run(svc, params.issuer_id, params.card_id);
      return { status: card.notification ? 202 : 200, body: card };
    },
  });

export const v1_cards_lifecycle = (svc: IssuerCardLifecycle): RouteSpec[] => [
  defineRoute({
    method: 'POST',
    url: '/issuer/:issuer_id/v1/cards/:card_id/reissue',
    operationId: 'v1_issuer_cards_reissue',
    summary: 'Reissue a card (new number in the issuer range and/or new expiry): its tokens are re-mapped at the network, not re-provisioned',
    description:
      'Answers 202 at once; the PAN update reaches the network through the outbox. The answer carries the new number and CVV (the card mailer); ' +
      'the issuer keeps the number encrypted and the CVV not at all. With an Idempotency-Key a retry answers the same reissue (same number, ' +
      'Idempotent-Replayed: true) and never makes a second new number; the same key with other parameters: 422.',
    tags: ['issuer'],
    auth: { kind: 'apiKey', roles: ['issuer'] },
    params: CardParams,
    body: Type.Object(
      {
        new_number: Type.Optional(Type.Boolean()),
        exp_month: Type.Optional(Type.Integer({ minimum: 1, maximum: 12 })),
        exp_year: Type.Optional(Type.Integer({ minimum: 2000, maximum: 2099 })),
      },
      { additionalProperties: false },
    ),
    response: { 202: Type.Intersect([CardLifecycleSchema, Type.Object({ number: Type.String(), cvv: Type.Union([Type.String(), Type.Null()]) })]) },
    async handler({ params, body, principal, headers }) {
      ownIssuer(principal, params.issuer_id);
      const key = validateIdempotencyKey(headers['idempotency-key']) ?? undefined;
      const { replayed, ...card } = await svc.reissue(params.issuer_id, params.card_id, body, key);
      return { status: 202, body: card, ...(replayed ? { headers: { 'Idempotent-Replayed': 'true' } } : {}) };
    },
  }),
  defineRoute({
    method: 'GET',
    url: '/issuer/:issuer_id/v1/cards/:card_id/network-notifications',
    operationId: 'v1_issuer_cards_network_notifications',
    summary: "The card's changes as told to its network: pending, delivered (with how many tokens changed) or rejected",
    tags: ['issuer'],
    auth: { kind: 'apiKey', roles: ['issuer'] },
    params: CardParams,
    response: {
      200: Type.Object({
        object: Type.Literal('list'),
        data: Type.Array(
          Type.Object({
            object: Type.Literal('network_notification'),
            event_id: Type.String(),
            kind: Type.String(),
            action: Type.String(),
            status: Type.String(),
            tokens_changed: Type.Union([Type.Integer(), Type.Null()]),
            error: Type.Union([Type.String(), Type.Null()]),
            created_at: Type.String(),
            delivered_at: Type.Union([Type.String(), Type.Null()]),
          }),
        ),
        has_more: Type.Boolean(),
      }),
    },
    async handler({ params, principal }) {
      ownIssuer(principal, params.issuer_id);
      return { status: 200, body: await svc.notifications(params.issuer_id, params.card_id) };
    },
  }),
  event(svc, 'close'),
  event(svc, 'block'),
  event(svc, 'unblock'),
];
