import { Type } from 'typebox';
import { defineRoute } from '../../infra/http/route.js';
import { MerchantIdParams } from '../schemas.js';
import { mayManage, type WebhookService } from '../webhooks.js';

const EndpointSchema = Type.Object({
  id: Type.String(),
  object: Type.Literal('webhook_endpoint'),
  merchant_id: Type.String(),
  url: Type.String(),
  status: Type.String(),
  created_at: Type.String(),
});

export const v1_webhook_endpoints_create = (svc: WebhookService) =>
  defineRoute({
    method: 'POST',
    url: '/acquirer/v1/merchants/:merchant_id/webhook-endpoints',
    operationId: 'v1_acquirer_webhook_endpoints_create',
    summary: "Add an endpoint for the merchant's transaction events, with its signing secret (shown once)",
    description:
      'Each authorization the acquirer answers for the merchant is POSTed to its endpoints as an event (`authorization.approved`, ' +
      '`authorization.declined`, `authorization.timed_out`), in order, signed with `Signature: t=<unix>,v1=<hex HMAC-SHA256 of "t.raw_body">`, ' +
      'retried with backoff until a 2xx. Callers: admin keys, or the merchant\'s own merchant key. Takes no Idempotency-Key: a stored ' +
      'response would hold the secret.',
    tags: ['acquirer'],
    auth: { kind: 'apiKey', roles: ['admin', 'merchant'] },
    params: MerchantIdParams,
    body: Type.Object({ url: Type.String({ minLength: 1, maxLength: 2048 }) }, { additionalProperties: false }),
    response: { 201: Type.Intersect([EndpointSchema, Type.Object({ secret: Type.String({ description: 'whsec_…: shown once, stored only wrapped by the KEK.' }) })]) },
    async handler({ principal, params, body }) {
      mayManage(principal, params.merchant_id);
      return { status: 201, body: await svc.create(params.merchant_id, body.url) };
    },
  });

export const v1_webhook_endpoints_list = (svc: WebhookService) =>
  defineRoute({
    method: 'GET',
    url: '/acquirer/v1/merchants/:merchant_id/webhook-endpoints',
    operationId: 'v1_acquirer_webhook_endpoints_list',
    summary: "The merchant's webhook endpoints (never their secrets)",
    tags: ['acquirer'],
    auth: { kind: 'apiKey', roles: ['admin', 'merchant'] },
    params: MerchantIdParams,
    response: { 200: Type.Object({ object: Type.Literal('list'), data: Type.Array(EndpointSchema), has_more: Type.Boolean() }) },
    async handler({ principal, params }) {
      mayManage(principal, params.merchant_id);
      return { status: 200, body: { object: 'list', data: await svc.list(params.merchant_id), has_more: false } };
    },
  });
