import { Type } from 'typebox';
import { defineRoute } from '../../infra/http/route.js';
import type { PlatformService } from '../service.js';
import { Email, Password, SessionSchema, UserSchema } from '../schemas.js';

export const v1_users_create = (svc: PlatformService) =>
  defineRoute({
    method: 'POST',
    url: '/platform/v1/users',
    operationId: 'v1_users_create',
    summary: 'Sign up: create a wallet user and a first (device-less) session',
    tags: ['wallet platform'],
    auth: { kind: 'public' },
    body: Type.Object({ email: Email, password: Password, name: Type.String({ minLength: 1, maxLength: 200 }) }, { additionalProperties: false }),
    response: { 201: Type.Object({ user: UserSchema, session: SessionSchema }) },
    rateLimits: [{ name: 'ip', by: 'ip', max: 20, windowSeconds: 60 }],
    async handler({ body }) {
      const { user, session } = await svc.signUp(body);
      return { status: 201, body: { user, session: { ...session, device_id: null } } };
    },
  });
