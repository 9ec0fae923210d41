import { Type } from 'typebox';
import { defineRoute } from '../../infra/http/route.js';
import { ListOf, ListQuery } from '../../infra/http/schemas.js';
import type { TransactionService } from '../transactions.js';
import { userOf } from './principal.js';

export const TransactionSchema = Type.Object({
  id: Type.String(),
  object: Type.Literal('transaction'),
  card_id: Type.String(),
  device_id: Type.String(),
  network: Type.String(),
  type: Type.String(),
  status: Type.String(),
  amount: Type.Integer({ description: 'Minor units of currency.' }),
  currency: Type.String(),
  merchant_name: Type.String(),
  mcc: Type.Union([Type.String(), Type.Null()]),
  response_code: Type.Union([Type.String(), Type.Null()]),
  auth_code: Type.Union([Type.String(), Type.Null()]),
  decline_reason: Type.Union([Type.String(), Type.Null()]),
  original_id: Type.Union([Type.String(), Type.Null()]),
  occurred_at: Type.String(),
  created_at: Type.String(),
});

export const v1_transactions_list = (svc: TransactionService) =>
  defineRoute({
    method: 'GET',
    url: '/platform/v1/transactions',
    operationId: 'v1_transactions_list',
    summary: "The user's transactions, newest first; filter by card, device, status, type and date",
    tags: ['wallet platform'],
    auth: { kind: 'session' },
    querystring: Type.Object(
      {
        ...ListQuery,
        card_id: Type.Optional(Type.String({ maxLength: 64 })),
        device_id: Type.Optional(Type.String({ maxLength: 64 })),
        status: Type.Optional(Type.Union(['approved', 'declined', 'reversed', 'refunded', 'timed_out'].map((s) => Type.Literal(s)))),
        type: Type.Optional(Type.Union(['nfc', 'inapp', 'web', 'refund', 'reversal'].map((s) => Type.Literal(s)))),
        created_gte: Type.Optional(Type.String({ format: 'date-time' })),
        created_lte: Type.Optional(Type.String({ format: 'date-time' })),
      },
      { additionalProperties: false },
    ),
    response: { 200: ListOf(TransactionSchema) },
    async handler({ principal, query }) {
      const { userId } = userOf(principal);
      const { limit, starting_after, ending_before, ...filter } = query;
      return { status: 200, body: await svc.list(userId, filter, { limit, starting_after, ending_before }) };
    },
  });

export const v1_transactions_get = (svc: TransactionService) =>
  defineRoute({
    method: 'GET',
    url: '/platform/v1/transactions/:id',
    operationId: 'v1_transactions_get',
    summary: 'One transaction (another user’s is not found)',
    tags: ['wallet platform'],
    auth: { kind: 'session' },
    params: Type.Object({ id: Type.String({ maxLength: 64 }) }),
    response: { 200: TransactionSchema },
    async handler({ principal, params }) {
      return { status: 200, body: await svc.get(userOf(principal).userId, params.id) };
    },
  });
