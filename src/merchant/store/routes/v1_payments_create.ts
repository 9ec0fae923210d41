import { Type } from 'typebox';
import { defineRoute } from '../../../infra/http/route.js';
import { OrderParams, OrderSchema } from '../schemas.js';
import type { StoreService } from '../service.js';

export const v1_store_payments_create = (svc: StoreService) =>
  defineRoute({
    method: 'POST',
    url: '/store/api/orders/:id/payments',
    operationId: 'v1_store_payments_create',
    summary: 'onpaymentauthorized: verify and decrypt the payment token, check it against the order, authorize at the acquirer',
    description:
      'The order is paid once: a repeat of the same token answers the stored outcome; another token for a paid order is 409 order_already_paid. ' +
      'The answer is the order, status paid or declined.',
    tags: ['store'],
    auth: { kind: 'public' },
    rateLimits: [{ name: 'ip', by: 'ip', max: 120, windowSeconds: 60 }],
    params: OrderParams,
    body: Type.Object({ token: Type.Object({}, { additionalProperties: true, description: 'event.payment.token (PKPaymentToken) as the page received it.' }) }, { additionalProperties: false }),
    response: { 200: OrderSchema },
    async handler({ params, body }) {
      return { status: 200, body: await svc.pay(params.id, body.token) };
    },
  });
