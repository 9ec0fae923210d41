import { Type } from 'typebox';
import { AppError } from '../../infra/errors.js';
import { defineRoute, type RouteSpec } from '../../infra/http/route.js';
import { ListOf, ListQuery } from '../../infra/http/schemas.js';
import { NETWORKS, type Network } from '../../protocol/cards/index.js';
import { NetworkSchema } from '../schemas.js';
import type { IssuerTokenNotifications } from '../token-notifications.js';

const IssuerParams = Type.Object({ issuer_id: Type.String({ minLength: 1, maxLength: 64 }) }, { additionalProperties: false });
const TYPES = ['token.created', 'token.suspended', 'token.resumed', 'token.deleted', 'token.pan_updated', 'token.keys_refreshed'] as const;
const STATUSES = ['inactive', 'active', 'suspended', 'deleted'] as const;

const TokenNotificationSchema = Type.Object({
  id: Type.String(),
  object: Type.Literal('token_notification'),
  event_id: Type.String(),
  network: Type.String(),
  card_id: Type.Union([Type.String(), Type.Null()]),
  token_ref: Type.String(),
  type: Type.String(),
  status: Type.String(),
  reason: Type.String(),
  actor: Type.String(),
  token_last4: Type.Union([Type.String(), Type.Null()]),
  occurred_at: Type.String(),
  received_at: Type.String(),
});

export const v1_token_notifications = (svc: IssuerTokenNotifications): RouteSpec[] => [
  defineRoute({
    method: 'POST',
    url: '/issuer/:issuer_id/v1/network-events/tokens',
    operationId: 'v1_issuer_network_token_events_create',
    summary: "A card network tells the issuer about a token of one of its cards (created, suspended, resumed, deleted, re-mapped, keys refreshed)",
    description: "Network keys only, for the network's own brand. At-least-once delivery from the network's outbox: recorded once per event id.",
    tags: ['issuer'],
    auth: { kind: 'apiKey', roles: ['network'] },
    idempotency: 'atomic',
    params: IssuerParams,
    body: Type.Object(
      {
        event_id: Type.String({ pattern: '^evt_[0-9A-Za-z]{1,64}$' }),
        issuer_id: Type.String({ minLength: 1, maxLength: 64 }),
        brand: NetworkSchema,
        token_ref: Type.String({ minLength: 1, maxLength: 64 }),
        type: Type.Union(TYPES.map((t) => Type.Literal(t))),
        status: Type.Union(STATUSES.map((t) => Type.Literal(t))),
        reason: Type.String({ minLength: 1, maxLength: 64 }),
        actor: Type.Union([Type.Literal('platform'), Type.Literal('issuer'), Type.Literal('network')]),
        token_last4: Type.Optional(Type.Union([Type.String({ pattern: '^[0-9]{4}$' }), Type.Null()])),
        par: Type.Optional(Type.Union([Type.String({ pattern: '^[0-9A-Z]{29}$' }), Type.Null()])),
        occurred_at: Type.String({ format: 'date-time' }),
      },
      { additionalProperties: false },
    ),
    response: { 200: Type.Object({ recorded: Type.Boolean(), duplicate: Type.Boolean(), card_id: Type.Union([Type.String(), Type.Null()]) }) },
    async handler({ params, body, principal, tx }) {
      if (principal?.kind !== 'apiKey' || principal.role !== 'network' || !(NETWORKS as readonly string[]).includes(principal.ownerId)) throw new AppError('permission_denied');
      return { status: 200, body: await svc.record(tx, principal.ownerId as Network, params.issuer_id, body) };
    },
  }),
  defineRoute({
    method: 'GET',
    url: '/issuer/:issuer_id/v1/token-notifications',
    operationId: 'v1_issuer_token_notifications_list',
    summary: "What the networks told this issuer about its cards' tokens, newest first",
    tags: ['issuer'],
    auth: { kind: 'apiKey', roles: ['issuer'] },
    params: IssuerParams,
    querystring: Type.Object(
      { ...ListQuery, card_id: Type.Optional(Type.String({ maxLength: 64 })), token_ref: Type.Optional(Type.String({ maxLength: 64 })) },
      { additionalProperties: false },
    ),
    response: { 200: ListOf(TokenNotificationSchema) },
    async handler({ params, principal, query }) {
      if (principal?.kind !== 'apiKey' || principal.role !== 'issuer') throw new AppError('permission_denied');
      if (principal.ownerId !== params.issuer_id) throw new AppError('resource_missing', { param: 'issuer_id', message: 'No such issuer.' });
      const { limit, starting_after, ending_before, ...filter } = query;
      return { status: 200, body: await svc.list(params.issuer_id, filter, { limit, starting_after, ending_before }) };
    },
  }),
];
