import { Type } from 'typebox';
import { defineRoute, type RouteSpec } from '../../infra/http/route.js';
import { brandParam } from '../brands.js';
import { lifecycleCallerOf, type LifecycleAction, type TokenLifecycle } from '../lifecycle.js';
import { BrandParam } from '../schemas.js';

export const Reason = Type.String({ minLength: 1, maxLength: 64, pattern: '^[a-z0-9_]+$', description: 'Why, e.g. user_request, device_lost, fraud, card_closed.' });

export const TokenLifecycleSchema = Type.Object({
  object: Type.Literal('token'),
  token_ref: Type.String(),
  status: Type.Union([Type.Literal('inactive'), Type.Literal('active'), Type.Literal('suspended'), Type.Literal('deleted')]),
  suspended_by: Type.Union([Type.Literal('platform'), Type.Literal('issuer'), Type.Null()]),
  reason: Type.Union([Type.String(), Type.Null()]),
  last4: Type.String({ description: "The token's last four digits." }),
  changed_at: Type.Optional(Type.Union([Type.String({ description: 'When this status was set (the occurred_at of its event).' }), Type.Null()])),
});

const SUMMARY: Record<LifecycleAction, string> = {
  suspend: 'Suspend a token (active → suspended): the switch declines it at once (62)',
  resume: 'Resume a suspended token: only the party that suspended it, or the issuer',
  delete: 'Delete a token (final): the switch no longer knows it (14)',
};

function route(action: LifecycleAction, lifecycle: TokenLifecycle): RouteSpec {
  return defineRoute({
    method: 'POST',
    url: `/network/:brand/v1/tokens/:token_ref/${action}`,
    operationId: `v1_network_tokens_${action}`,
    summary: SUMMARY[action],
    description:
      "Callers: the token's requestor (platform key) or the card's issuer (issuer key). A change that is not allowed is 409 token_transition_forbidden and changes nothing. The change and its `network.token` event are one transaction; the switch's cached view of the token is cleared before the answer.",
    tags: ['card networks'],
    auth: { kind: 'apiKey', roles: ['platform', 'issuer'] },
    idempotency: 'phased',
    params: Type.Object({ brand: BrandParam, token_ref: Type.String({ minLength: 1, maxLength: 64 }) }),
    body: Type.Object({ reason: Reason }, { additionalProperties: false }),
    response: { 200: TokenLifecycleSchema },
    async handler({ params, body, principal, step }) {
      const brand = brandParam(params.brand);
      const caller = lifecycleCallerOf(principal);
      return { status: 200, body: await lifecycle.change(brand, caller, params.token_ref, action, body.reason, (fn) => step('change', fn)) };
    },
  });
}

export const v1_tokens_lifecycle = (lifecycle: TokenLifecycle): RouteSpec[] => (['suspend', 'resume', 'delete'] as const).map((a) => route(a, lifecycle));
