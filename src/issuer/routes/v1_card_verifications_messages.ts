import { defineRoute } from '../../infra/http/route.js';
import { callerFor } from '../access.js';
import { SandboxMessageListSchema, VerificationParams } from '../schemas.js';
import type { IssuerService } from '../service.js';

export const v1_card_verifications_messages = (svc: IssuerService) =>
  defineRoute({
    method: 'GET',
    url: '/issuer/:issuer_id/v1/card-verifications/:id/messages',
    operationId: 'v1_card_verifications_messages',
    summary: 'The simulated SMS and e-mail sent for a verification (sandbox), newest first',
    tags: ['issuer'],
    auth: { kind: 'apiKey', roles: ['network', 'issuer'] },
    params: VerificationParams,
    response: { 200: SandboxMessageListSchema },
    async handler({ params, principal }) {
      const caller = callerFor(principal, params.issuer_id);
      const data = await svc.messages(params.issuer_id, caller, params.id);
      return { status: 200, body: { object: 'list', data, has_more: false } };
    },
  });
