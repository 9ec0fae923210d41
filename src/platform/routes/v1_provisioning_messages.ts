import { Type } from 'typebox';
import { defineRoute } from '../../infra/http/route.js';
import type { WalletService } from '../wallet-service.js';
import { CardIdParams } from '../schemas.js';
import { deviceUserOf } from './principal.js';

export const v1_provisioning_messages = (svc: WalletService) =>
  defineRoute({
    method: 'GET',
    url: '/platform/v1/provisioning/:card_id/messages',
    operationId: 'v1_provisioning_messages',
    summary: "Sandbox: the simulated SMS / e-mail messages the card's issuer sent for its verification",
    tags: ['wallet platform'],
    auth: { kind: 'session', device: true },
    params: CardIdParams,
    response: {
      200: Type.Object({
        object: Type.Literal('list'),
        data: Type.Array(Type.Object({ channel: Type.String(), destination: Type.String(), body: Type.String(), created_at: Type.String() })),
        has_more: Type.Boolean(),
      }),
    },
    async handler({ principal, params }) {
      const { userId, deviceId } = deviceUserOf(principal);
      return { status: 200, body: await svc.messages(userId, deviceId, params.card_id) };
    },
  });
