import { defineRoute } from '../../../infra/http/route.js';
import { OrderParams, OrderSchema } from '../schemas.js';
import type { StoreService } from '../service.js';

export const v1_store_orders_get = (svc: StoreService) =>
  defineRoute({
    method: 'GET',
    url: '/store/api/orders/:id',
    operationId: 'v1_store_orders_get',
    summary: 'An order, with what the store decrypted of its payment (device token masked, cryptogram, ECI) and the acquirer\'s answer',
    tags: ['store'],
    auth: { kind: 'public' },
    params: OrderParams,
    response: { 200: OrderSchema },
    async handler({ params }) {
      return { status: 200, body: await svc.order(params.id) };
    },
  });
