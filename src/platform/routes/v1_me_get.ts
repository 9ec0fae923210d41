import { defineRoute } from '../../infra/http/route.js';
import type { PlatformService } from '../service.js';
import { UserSchema } from '../schemas.js';

export const v1_me_get = (svc: PlatformService) =>
  defineRoute({
    method: 'GET',
    url: '/platform/v1/me',
    operationId: 'v1_me_get',
    summary: 'The signed-in user',
    tags: ['wallet platform'],
    auth: { kind: 'session' },
    response: { 200: UserSchema },
    async handler({ principal }) {
      if (principal?.kind !== 'user') throw new Error('unreachable: session auth');
      return { status: 200, body: await svc.me(principal.userId) };
    },
  });
