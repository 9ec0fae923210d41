import { Type } from 'typebox';
import { AppError } from '../../infra/errors.js';
import { defineRoute } from '../../infra/http/route.js';
import type { PushHub } from '../push.js';
import { deviceUserOf } from './principal.js';

const CURSOR = /^\d{1,18}$/;

export const v1_events_stream = (hub: PushHub) =>
  defineRoute({
    method: 'GET',
    url: '/platform/v1/events',
    operationId: 'v1_events_stream',
    summary: "Server-sent events for this device: the user's transactions and card changes, live",
    description:
      'A text/event-stream; each event has `id:` (the cursor), `event:` (its type: transaction.recorded, transaction.updated, card.status_changed) ' +
      'and `data:` (JSON). Reconnect with the `Last-Event-ID` header (or `last_event_id`) to get every event after that one, then live ones; ' +
      'without either the stream starts with the next event. `last_event_id=0` replays everything. Needs a device session.',
    tags: ['wallet platform'],
    auth: { kind: 'session', device: true },
    querystring: Type.Object({ last_event_id: Type.Optional(Type.String({ pattern: CURSOR.source })) }, { additionalProperties: false }),
    response: { 200: Type.String({ description: 'text/event-stream' }) },
    async handler({ principal, query, headers, log }) {
      const { userId, deviceId } = deviceUserOf(principal);
      const header = headers['last-event-id'];
      const given = (Array.isArray(header) ? header[0] : header)?.trim() || query.last_event_id;
      if (given !== undefined && !CURSOR.test(given)) throw new AppError('parameter_invalid', { param: 'Last-Event-ID', message: 'Last-Event-ID must be the id of an event of this stream.' });
      const after = given !== undefined ? BigInt(given) : await hub.latest(userId);
      return {
        status: 200,
        headers: { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache, no-transform', 'x-accel-buffering': 'no' },
        body: null,
        stream: hub.stream(userId, deviceId, after, log),
      };
    },
  });
