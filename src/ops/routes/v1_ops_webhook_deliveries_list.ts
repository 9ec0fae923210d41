import { Type } from 'typebox';
import { defineRoute } from '../../infra/http/route.js';
import type { OpsService } from '../service.js';
import { OPS_READ, Open } from './common.js';

export const v1_ops_webhook_deliveries_list = (svc: OpsService) =>
  defineRoute({
    method: 'GET',
    url: '/ops/v1/webhook-deliveries',
    operationId: 'v1_ops_webhook_deliveries_list',
    summary: "Merchant webhook delivery attempts (the acquirer's record), newest first",
    tags: ['operations'],
    auth: OPS_READ,
    querystring: Type.Object({ limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 20 })) }, { additionalProperties: false }),
    response: { 200: Type.Object({ object: Type.Literal('list'), has_more: Type.Boolean(), data: Type.Array(Open) }) },
    async handler({ query }) {
      return { status: 200, body: await svc.webhookDeliveries(query.limit ?? 20) };
    },
  });
