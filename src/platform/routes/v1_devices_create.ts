import { Type } from 'typebox';
import { defineRoute } from '../../infra/http/route.js';
import type { WalletService } from '../wallet-service.js';
import { DeviceSchema, PublicJwk, SessionSchema } from '../schemas.js';
import { userOf } from './principal.js';

export const v1_devices_create = (svc: WalletService) =>
  defineRoute({
    method: 'POST',
    url: '/platform/v1/devices',
    operationId: 'v1_devices_create',
    summary: 'Register a phone or watch: the platform device CA certifies its Secure Element key; answers a session bound to the device',
    tags: ['wallet platform'],
    auth: { kind: 'session' },
    body: Type.Object(
      { kind: Type.Union([Type.Literal('phone'), Type.Literal('watch')]), name: Type.String({ minLength: 1, maxLength: 100 }), se_public_key: PublicJwk },
      { additionalProperties: false },
    ),
    response: { 201: Type.Object({ device: DeviceSchema, se_certificate_pem: Type.String(), device_ca_pem: Type.String(), session: SessionSchema }) },
    rateLimits: [{ name: 'user', by: 'principal', max: 20, windowSeconds: 3600 }],
    async handler({ principal, body }) {
      return { status: 201, body: await svc.registerDevice(userOf(principal).userId, body) };
    },
  });
