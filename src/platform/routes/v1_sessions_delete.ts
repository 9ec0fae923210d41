import { Type } from 'typebox';
import { bearer } from '../../infra/http/auth.js';
import { defineRoute } from '../../infra/http/route.js';
import type { PlatformService } from '../service.js';

export const v1_sessions_delete = (svc: PlatformService) =>
  defineRoute({
    method: 'DELETE',
    url: '/platform/v1/sessions/current',
    operationId: 'v1_sessions_delete',
    summary: 'Sign out: revoke the calling session',
    tags: ['wallet platform'],
    auth: { kind: 'session' },
    response: { 200: Type.Object({ id: Type.String(), object: Type.Literal('session'), revoked: Type.Literal(true) }) },
    async handler({ principal, headers }) {
      if (principal?.kind !== 'user') throw new Error('unreachable: session auth');
      await svc.signOut(principal.sessionId, bearer(headers.authorization) ?? '');
      return { status: 200, body: { id: principal.sessionId, object: 'session', revoked: true } };
    },
  });
