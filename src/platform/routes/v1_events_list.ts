import { Type } from 'typebox';
import { defineRoute } from '../../infra/http/route.js';
import type { PushHub } from '../push.js';
import { deviceUserOf } from './principal.js';

const EventSchema = Type.Object({
  id: Type.String({ description: 'The cursor (the same ids as the event stream).' }),
  object: Type.Literal('event'),
  type: Type.String({ description: 'transaction.recorded, transaction.updated, card.status_changed, card.updated, card.keys_refreshed' }),
  data: Type.Unknown(),
  created_at: Type.String(),
});

export const v1_events_list = (hub: PushHub) =>
  defineRoute({
    method: 'GET',
    url: '/platform/v1/events/list',
    operationId: 'v1_events_list',
    summary: 'The push channel as pages (for a device that polls instead of keeping the stream open): the events after a cursor, oldest first',
    description:
      'The same events as `GET /platform/v1/events`, for this device (events for every device of the user and those addressed to it). ' +
      'Pass the last id seen as `after` (0 for everything); `has_more` says another page is waiting. Needs a device session.',
    tags: ['wallet platform'],
    auth: { kind: 'session', device: true },
    querystring: Type.Object(
      { after: Type.Optional(Type.String({ pattern: '^\\d{1,18}$' })), limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100 })) },
      { additionalProperties: false },
    ),
    response: { 200: Type.Object({ object: Type.Literal('list'), data: Type.Array(EventSchema), has_more: Type.Boolean() }) },
    async handler({ principal, query }) {
      const { userId, deviceId } = deviceUserOf(principal);
      const limit = query.limit ?? 50;
      const events = await hub.after(userId, deviceId, BigInt(query.after ?? '0'), limit + 1);
      return {
        status: 200,
        body: {
          object: 'list',
          data: events.slice(0, limit).map((e) => ({ id: e.id, object: 'event' as const, type: e.type, data: e.payload, created_at: e.created_at })),
          has_more: events.length > limit,
        },
      };
    },
  });
