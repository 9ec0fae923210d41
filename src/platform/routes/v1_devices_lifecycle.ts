import { Type } from 'typebox';
import { defineRoute, type RouteSpec } from '../../infra/http/route.js';
import type { CardLifecycle } from '../lifecycle.js';
import { CardSchema, DeviceSchema } from '../schemas.js';
import { userOf } from './principal.js';

const DeviceIdParams = Type.Object({ device_id: Type.String({ maxLength: 64 }) });
const Answer = Type.Object({ device: DeviceSchema, cards: Type.Array(CardSchema) });

const SPECS = {
  lost: {
    summary: 'Report a device lost ("Find My"): its tokens are suspended at the networks and its sessions stop, even while it is offline',
    run: (svc: CardLifecycle, userId: string, deviceId: string) => svc.reportLost(userId, deviceId),
  },
  found: {
    summary: 'A lost device is found: the tokens suspended because it was lost are resumed',
    run: (svc: CardLifecycle, userId: string, deviceId: string) => svc.reportFound(userId, deviceId),
  },
  erase: {
    summary: 'Erase a device: its tokens are deleted at the networks and its sessions revoked (final)',
    run: (svc: CardLifecycle, userId: string, deviceId: string) => svc.erase(userId, deviceId),
  },
} as const;

const route = (svc: CardLifecycle, a: keyof typeof SPECS): RouteSpec =>
  defineRoute({
    method: 'POST',
    url: `/platform/v1/devices/:device_id/${a}`,
    operationId: `v1_devices_${a}`,
    summary: SPECS[a].summary,
    description: "Any session of the device's user (another user's device is not found). Repeating it finishes what a failure left undone.",
    tags: ['wallet platform'],
    auth: { kind: 'session' },
    params: DeviceIdParams,
    response: { 200: Answer },
    async handler({ principal, params }) {
      const { userId } = userOf(principal);
      return { status: 200, body: await SPECS[a].run(svc, userId, params.device_id) };
    },
  });

export const v1_devices_lifecycle = (svc: CardLifecycle): RouteSpec[] => [route(svc, 'lost'), route(svc, 'found'), route(svc, 'erase')];
