import { defineRoute } from '../../infra/http/route.js';
import type { WalletService } from '../wallet-service.js';
import { CardIdParams, CardSchema } from '../schemas.js';
import { userOf } from './principal.js';

export const v1_cards_get = (svc: WalletService) =>
  defineRoute({
    method: 'GET',
    url: '/platform/v1/cards/:card_id',
    operationId: 'v1_cards_get',
    summary: 'One card (another user’s card is answered as not found)',
    tags: ['wallet platform'],
    auth: { kind: 'session' },
    params: CardIdParams,
    response: { 200: CardSchema },
    async handler({ principal, params }) {
      return { status: 200, body: await svc.card(userOf(principal).userId, params.card_id) };
    },
  });
