import { defineRoute } from '../../infra/http/route.js';
import { Secret } from '../../protocol/secret.js';
import { callerFor } from '../access.js';
import { CardVerificationRequestSchema, CardVerificationSchema, IssuerParams } from '../schemas.js';
import type { IssuerService } from '../service.js';

export const v1_card_verifications_create = (svc: IssuerService) =>
  defineRoute({
    method: 'POST',
    url: '/issuer/:issuer_id/v1/card-verifications',
    operationId: 'v1_card_verifications_create',
    summary: 'Identity and verification for a token request: green, yellow (one-time code) or red',
    description:
      'Callers: network API keys (any issuer), or the issuer\'s own key. Card errors (402): card_not_supported, card_expired, card_cvv_incorrect. A red decision is a 200 answer; the network turns it into provisioning_declined.',
    tags: ['issuer'],
    auth: { kind: 'apiKey', roles: ['network', 'issuer'] },
    params: IssuerParams,
    body: CardVerificationRequestSchema,
    response: { 200: CardVerificationSchema },
    idempotency: 'phased',
    async handler({ params, body, principal, step, log }) {
      const caller = callerFor(principal, params.issuer_id);
      const result = await svc.verifyCard(
        params.issuer_id,
        caller,
        {
          pan: Secret.pan(body.pan),
          expMonth: body.exp_month,
          expYear: body.exp_year,
          cvv: new Secret(body.cvv),
          network: body.network,
          tokenRequestorId: body.token_requestor_id,
          tokenRef: body.token_ref,
          device: body.device,
          deviceScore: body.device_score,
        },
        (fn) => step('verify', fn),
      );
      log.info({ verification: result.id, decision: result.decision, reasons: result.reasons, last4: result.card.last4 }, 'card verification');
      return { status: 200, body: result };
    },
  });
