import { Type } from 'typebox';
import { defineRoute } from '../../infra/http/route.js';
import type { PlatformService } from '../service.js';
import { Email, SessionSchema, UserSchema } from '../schemas.js';

export const v1_sessions_create = (svc: PlatformService) =>
  defineRoute({
    method: 'POST',
    url: '/platform/v1/sessions',
    operationId: 'v1_sessions_create',
    summary: 'Sign in; with device_id the session is bound to that registered device and may use the wallet API',
    tags: ['wallet platform'],
    auth: { kind: 'public' },
    body: Type.Object(
      { email: Email, password: Type.String({ minLength: 1, maxLength: 200 }), device_id: Type.Optional(Type.String({ maxLength: 64 })) },
      { additionalProperties: false },
    ),
    response: { 201: Type.Object({ user: UserSchema, session: SessionSchema }) },
    rateLimits: [
      { name: 'ip', by: 'ip', max: 30, windowSeconds: 60 },
      // Guessing one account's password from many addresses is limited too.
      { name: 'email', by: ({ body }) => {
          const email = (body as { email?: unknown } | null)?.email;
          return typeof email === 'string' ? email.toLowerCase().slice(0, 254) : undefined;
        }, max: 10, windowSeconds: 300 },
    ],
    async handler({ body }) {
      return { status: 201, body: await svc.signIn(body) };
    },
  });
