import { defineRoute } from '../../infra/http/route.js';
import { Secret } from '../../protocol/secret.js';
import { callerFor } from '../access.js';
import { ConfirmRequestSchema, OtpConfirmedSchema, VerificationParams } from '../schemas.js';
import type { IssuerService } from '../service.js';

export const v1_card_verifications_confirm = (svc: IssuerService) =>
  defineRoute({
    method: 'POST',
    url: '/issuer/:issuer_id/v1/card-verifications/:id/confirm',
    operationId: 'v1_card_verifications_confirm',
    summary: 'Check the one-time code: green once right; 3 wrong codes lock the verification',
    description:
      'Callers: network API keys, or the issuer\'s own key. Errors (402): verification_code_incorrect (the message says how many attempts are left), verification_locked, verification_expired. Confirming a verified verification again answers the same success.',
    tags: ['issuer'],
    auth: { kind: 'apiKey', roles: ['network', 'issuer'] },
    params: VerificationParams,
    body: ConfirmRequestSchema,
    response: { 200: OtpConfirmedSchema },
    idempotency: 'phased',
    async handler({ params, body, principal, step, log }) {
      const caller = callerFor(principal, params.issuer_id);
      const result = await svc.confirmOtp(params.issuer_id, caller, params.id, new Secret(body.code), (fn) => step('confirm', fn));
      log.info({ verification: result.id, status: result.status }, 'card verification confirmed');
      return { status: 200, body: result };
    },
  });
