import { Type } from 'typebox';
import { defineRoute } from '../../infra/http/route.js';
import type { WalletService } from '../wallet-service.js';
import { CardIdParams } from '../schemas.js';
import { deviceUserOf } from './principal.js';

export const v1_provisioning_otp = (svc: WalletService) =>
  defineRoute({
    method: 'POST',
    url: '/platform/v1/provisioning/:card_id/otp',
    operationId: 'v1_provisioning_otp',
    summary: 'Ask the issuer to send a one-time code by the chosen method',
    tags: ['wallet platform'],
    auth: { kind: 'session', device: true },
    params: CardIdParams,
    body: Type.Object({ method_id: Type.String({ minLength: 1, maxLength: 64 }) }, { additionalProperties: false }),
    response: { 200: Type.Object({ sent: Type.Boolean(), expires_at: Type.String() }) },
    rateLimits: [{ name: 'user', by: 'principal', max: 10, windowSeconds: 600 }],
    async handler({ principal, params, body }) {
      const { userId, deviceId } = deviceUserOf(principal);
      const r = await svc.sendCode(userId, deviceId, params.card_id, body.method_id);
      return { status: 200, body: { sent: r.sent, expires_at: r.expires_at } };
    },
  });
