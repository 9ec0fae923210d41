import { Type } from 'typebox';
import { defineRoute } from '../../infra/http/route.js';
import type { WalletService } from '../wallet-service.js';
import { DeviceSchema } from '../schemas.js';
import { userOf } from './principal.js';

export const v1_devices_list = (svc: WalletService) =>
  defineRoute({
    method: 'GET',
    url: '/platform/v1/devices',
    operationId: 'v1_devices_list',
    summary: "The signed-in user's devices",
    tags: ['wallet platform'],
    auth: { kind: 'session' },
    response: { 200: Type.Object({ object: Type.Literal('list'), data: Type.Array(DeviceSchema), has_more: Type.Boolean() }) },
    async handler({ principal }) {
      return { status: 200, body: { object: 'list', data: await svc.devices(userOf(principal).userId), has_more: false } };
    },
  });
