import { Type } from 'typebox';
import { defineRoute } from '../../../infra/http/route.js';
import { OrderSchema } from '../schemas.js';
import type { StoreService } from '../service.js';

export const v1_store_orders_create = (svc: StoreService) =>
  defineRoute({
    method: 'POST',
    url: '/store/api/orders',
    operationId: 'v1_store_orders_create',
    summary: 'Create an order from a cart: the store prices it (pending until paid)',
    tags: ['store'],
    description: 'An Idempotency-Key (e.g. a UUID made when the customer pressed "Check out") makes a retry return the same order instead of a second one.',
    auth: { kind: 'public' },
    idempotency: 'atomic',
    rateLimits: [{ name: 'ip', by: 'ip', max: 120, windowSeconds: 60 }],
    body: Type.Object(
      {
        items: Type.Array(
          Type.Object(
            { productId: Type.String({ pattern: '^prod_[a-z0-9_]{1,40}$' }), quantity: Type.Integer({ minimum: 1, maximum: 20 }) },
            { additionalProperties: false },
          ),
          { minItems: 1, maxItems: 20 },
        ),
      },
      { additionalProperties: false },
    ),
    response: { 201: OrderSchema },
    async handler({ body, tx }) {
      return { status: 201, body: await svc.createOrder(body.items, tx) };
    },
  });
