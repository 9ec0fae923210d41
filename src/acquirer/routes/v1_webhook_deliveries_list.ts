import { Type } from 'typebox';
import { defineRoute } from '../../infra/http/route.js';
import { Timestamp } from '../../infra/http/schemas.js';
import type { WebhookService } from '../webhooks.js';

export const v1_webhook_deliveries_list = (webhooks: WebhookService) =>
  defineRoute({
    method: 'GET',
    url: '/acquirer/v1/webhook-deliveries',
    operationId: 'v1_acquirer_webhook_deliveries_list',
    summary: "Merchant webhook delivery attempts across all endpoints, newest first (the operations console)",
    tags: ['acquirer'],
    auth: { kind: 'apiKey', roles: ['admin'] },
    querystring: Type.Object({ limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 50 })) }, { additionalProperties: false }),
    response: {
      200: Type.Object({
        object: Type.Literal('list'),
        has_more: Type.Boolean(),
        data: Type.Array(
          Type.Object({
            id: Type.String(),
            endpoint_id: Type.String(),
            merchant_id: Type.String(),
            url: Type.String(),
            event_id: Type.String(),
            status_code: Type.Union([Type.Integer(), Type.Null()]),
            error: Type.Union([Type.String(), Type.Null()]),
            succeeded: Type.Boolean(),
            duration_ms: Type.Integer(),
            created_at: Timestamp,
          }),
        ),
      }),
    },
    async handler({ query }) {
      return { status: 200, body: { object: 'list', has_more: false, data: await webhooks.recentDeliveries(query.limit ?? 50) } };
    },
  });
