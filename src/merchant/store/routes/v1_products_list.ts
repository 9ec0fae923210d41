import { Type } from 'typebox';
import { defineRoute } from '../../../infra/http/route.js';
import { ProductSchema } from '../schemas.js';
import type { StoreService } from '../service.js';

export const v1_store_products_list = (svc: StoreService) =>
  defineRoute({
    method: 'GET',
    url: '/store/api/products',
    operationId: 'v1_store_products_list',
    summary: "The demo store's catalogue",
    tags: ['store'],
    auth: { kind: 'public' },
    response: { 200: Type.Object({ object: Type.Literal('list'), data: Type.Array(ProductSchema) }) },
    async handler() {
      return { status: 200, body: { object: 'list', data: await svc.products() } };
    },
  });
