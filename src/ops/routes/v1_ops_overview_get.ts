import { Type } from 'typebox';
import { defineRoute } from '../../infra/http/route.js';
import type { OpsService } from '../service.js';
import { OPS_READ, Open } from './common.js';

export const v1_ops_overview_get = (svc: OpsService) =>
  defineRoute({
    method: 'GET',
    url: '/ops/v1/overview',
    operationId: 'v1_ops_overview_get',
    summary: 'Networks (tokens by status), issuers (BIN ranges, cards) and merchants with their terminals',
    tags: ['operations'],
    auth: OPS_READ,
    response: {
      200: Type.Object({
        object: Type.Literal('ops_overview'),
        networks: Type.Array(Type.Object({ brand: Type.String(), tokens: Type.Record(Type.String(), Type.Integer()) })),
        issuers: Type.Array(Open),
        merchants: Type.Array(Open),
      }),
    },
    async handler() {
      return { status: 200, body: await svc.overview() };
    },
  });
