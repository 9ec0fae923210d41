import { defineRoute, type RouteSpec } from '../../infra/http/route.js';
import type { CardLifecycle } from '../lifecycle.js';
import { CardIdParams, CardSchema } from '../schemas.js';
import { userOf } from './principal.js';

/** The network's idempotency key for this change: derived from the client's, so a client retry is a network retry. */
function networkKey(userId: string, headers: Record<string, string | string[] | undefined>, action: string): string | undefined {
  const key = headers['idempotency-key'];
  return typeof key === 'string' ? `card-${action}:${userId}:${key}` : undefined;
}

const action = (svc: CardLifecycle, a: 'suspend' | 'resume', summary: string) =>
  defineRoute({
    method: 'POST',
    url: `/platform/v1/cards/:card_id/${a}`,
    operationId: `v1_cards_${a}`,
    summary,
    description: "Any session of the card's user (another user's card is not found). The token's network decides; a change it does not allow is 409 token_transition_forbidden.",
    tags: ['wallet platform'],
    auth: { kind: 'session' },
    idempotency: 'phased',
    params: CardIdParams,
    response: { 200: CardSchema },
    async handler({ principal, params, headers, call }) {
      const { userId } = userOf(principal);
      return { status: 200, body: await call('network', () => svc.changeCard(userId, params.card_id, a, networkKey(userId, headers, a))) };
    },
  });

export const v1_cards_lifecycle = (svc: CardLifecycle): RouteSpec[] => [
  action(svc, 'suspend', 'Suspend a card: its token is suspended at the network and declined at once'),
  action(svc, 'resume', 'Resume a card the user suspended'),
  defineRoute({
    method: 'DELETE',
    url: '/platform/v1/cards/:card_id',
    operationId: 'v1_cards_delete',
    summary: 'Remove a card: its token is deleted at the network (final)',
    tags: ['wallet platform'],
    auth: { kind: 'session' },
    idempotency: 'phased',
    params: CardIdParams,
    response: { 200: CardSchema },
    async handler({ principal, params, headers, call }) {
      const { userId } = userOf(principal);
      return { status: 200, body: await call('network', () => svc.changeCard(userId, params.card_id, 'delete', networkKey(userId, headers, 'delete'))) };
    },
  }),
];
