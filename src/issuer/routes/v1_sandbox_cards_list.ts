import { defineRoute } from '../../infra/http/route.js';
import { IssuerParams, SandboxCardListSchema } from '../schemas.js';
import type { IssuerService } from '../service.js';

export const v1_sandbox_cards_list = (svc: IssuerService) =>
  defineRoute({
    method: 'GET',
    url: '/issuer/:issuer_id/v1/sandbox/cards',
    operationId: 'v1_sandbox_cards_list',
    summary: "The issuer's sandbox test cards: what each is for, its CVV and expiry (numbers masked except the well-known public ones)",
    tags: ['issuer'],
    auth: { kind: 'public' },
    params: IssuerParams,
    response: { 200: SandboxCardListSchema },
    rateLimits: [{ name: 'ip', by: 'ip', max: 120, windowSeconds: 60 }],
    async handler({ params }) {
      const data = await svc.sandboxCards(params.issuer_id);
      return { status: 200, body: { object: 'list', data, has_more: false } };
    },
  });
