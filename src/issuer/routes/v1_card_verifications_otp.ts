import { defineRoute } from '../../infra/http/route.js';
import { callerFor } from '../access.js';
import { OtpRequestSchema, OtpSentSchema, VerificationParams } from '../schemas.js';
import type { IssuerService } from '../service.js';

export const v1_card_verifications_otp = (svc: IssuerService) =>
  defineRoute({
    method: 'POST',
    url: '/issuer/:issuer_id/v1/card-verifications/:id/otp',
    operationId: 'v1_card_verifications_otp',
    summary: 'Send a one-time code (6 digits, 10 minutes) by one of the offered methods; at most 5 per verification',
    tags: ['issuer'],
    auth: { kind: 'apiKey', roles: ['network', 'issuer'] },
    params: VerificationParams,
    body: OtpRequestSchema,
    response: { 200: OtpSentSchema },
    idempotency: 'phased',
    async handler({ params, body, principal, step }) {
      const caller = callerFor(principal, params.issuer_id);
      const result = await svc.sendOtp(params.issuer_id, caller, params.id, body.method_id, (fn) => step('send', fn));
      return { status: 200, body: result };
    },
  });
