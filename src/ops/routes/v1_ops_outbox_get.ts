import { Type } from 'typebox';
import { defineRoute } from '../../infra/http/route.js';
import type { OpsService } from '../service.js';
import { OPS_READ } from './common.js';

const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(t: T) => Type.Union([t, Type.Null()]);

export const v1_ops_outbox_get = (svc: OpsService) =>
  defineRoute({
    method: 'GET',
    url: '/ops/v1/outbox',
    operationId: 'v1_ops_outbox_get',
    summary: 'The event outbox per topic (pending, retrying after a failure, delivered) and its newest events (no payloads)',
    tags: ['operations'],
    auth: OPS_READ,
    querystring: Type.Object(
      { undelivered: Type.Optional(Type.Boolean({ default: false })), limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 20 })) },
      { additionalProperties: false },
    ),
    response: {
      200: Type.Object({
        object: Type.Literal('ops_outbox'),
        topics: Type.Array(Type.Object({ topic: Type.String(), pending: Type.Integer(), retrying: Type.Integer(), delivered: Type.Integer(), oldest_pending_at: Nullable(Type.String()) })),
        events: Type.Array(
          Type.Object({
            event_id: Type.String(),
            topic: Type.String(),
            aggregate_id: Type.String(),
            attempts: Type.Integer(),
            last_error: Nullable(Type.String()),
            created_at: Type.String(),
            delivered_at: Nullable(Type.String()),
            next_attempt_at: Type.String(),
          }),
        ),
      }),
    },
    async handler({ query }) {
      return { status: 200, body: await svc.outbox(query.undelivered ?? false, query.limit ?? 20) };
    },
  });
