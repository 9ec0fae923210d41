import { Type } from 'typebox';
import type { Database } from '../../infra/db/database.js';
import { defineRoute } from '../../infra/http/route.js';
import { brandParam } from '../brands.js';
import { tokenCountsByStatus } from '../repository.js';
import { BrandParam } from '../schemas.js';

export const v1_stats_get = (db: Database) =>
  defineRoute({
    method: 'GET',
    url: '/network/:brand/v1/stats',
    operationId: 'v1_network_stats_get',
    summary: "The network's token vault at a glance: tokens by status (the operations console)",
    tags: ['card networks'],
    auth: { kind: 'apiKey', roles: ['admin'] },
    params: Type.Object({ brand: BrandParam }),
    response: {
      200: Type.Object({
        object: Type.Literal('network_stats'),
        brand: Type.String(),
        tokens: Type.Object({ inactive: Type.Integer(), active: Type.Integer(), suspended: Type.Integer(), deleted: Type.Integer() }),
      }),
    },
    async handler({ params }) {
      const brand = brandParam(params.brand);
      return { status: 200, body: { object: 'network_stats', brand, tokens: await tokenCountsByStatus(db, brand) } };
    },
  });
