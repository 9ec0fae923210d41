import { Type } from 'typebox';
import { defineRoute } from '../../infra/http/route.js';
import { ListOf, ListQuery } from '../../infra/http/schemas.js';
import type { WalletService } from '../wallet-service.js';
import { CardSchema } from '../schemas.js';
import { userOf } from './principal.js';

export const v1_cards_list = (svc: WalletService) =>
  defineRoute({
    method: 'GET',
    url: '/platform/v1/cards',
    operationId: 'v1_cards_list',
    summary: "The user's cards, newest first (with a device session: that device's cards)",
    tags: ['wallet platform'],
    auth: { kind: 'session' },
    querystring: Type.Object({ ...ListQuery }, { additionalProperties: false }),
    response: { 200: ListOf(CardSchema) },
    async handler({ principal, query }) {
      const { userId, deviceId } = userOf(principal);
      return { status: 200, body: await svc.cards(userId, deviceId, query) };
    },
  });
