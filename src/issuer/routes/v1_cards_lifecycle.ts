import { Type } from 'typebox';
import { AppError } from '../../infra/errors.js';
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
  tokens_changed: Type.Integer({ description: "How many of the card's tokens its network changed." }),
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
    description: "The issuer's own key. The card's network is told over the issuer's channel; repeating the request re-sends a notification that failed (424).",
    tags: ['issuer'],
    auth: { kind: 'apiKey', roles: ['issuer'] },
    params: CardParams,
    response: { 200: CardLifecycleSchema },
    async handler({ params, principal }) {
      ownIssuer(principal, params.issuer_id);
      return { status: 200, body: await EVENTS[name].run(svc, params.issuer_id, params.card_id) };
    },
  });

export const v1_cards_lifecycle = (svc: IssuerCardLifecycle): RouteSpec[] => [
  defineRoute({
    method: 'POST',
    url: '/issuer/:issuer_id/v1/cards/:card_id/reissue',
    operationId: 'v1_issuer_cards_reissue',
    summary: 'Reissue a card (new number in the issuer range and/or new expiry): its tokens are re-mapped at the network, not re-provisioned',
    description: 'The answer carries the new number and CVV once (the card mailer); the issuer keeps the number encrypted and the CVV not at all.',
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
    response: { 200: Type.Intersect([CardLifecycleSchema, Type.Object({ number: Type.String(), cvv: Type.Union([Type.String(), Type.Null()]) })]) },
    async handler({ params, body, principal }) {
      ownIssuer(principal, params.issuer_id);
      return { status: 200, body: await svc.reissue(params.issuer_id, params.card_id, body) };
    },
  }),
  event(svc, 'close'),
  event(svc, 'block'),
  event(svc, 'unblock'),
];
