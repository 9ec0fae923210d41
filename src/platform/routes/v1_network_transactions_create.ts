import { Type } from 'typebox';
import { AppError } from '../../infra/errors.js';
import { defineRoute } from '../../infra/http/route.js';
import type { TransactionService } from '../transactions.js';

export const v1_network_transactions_create = (svc: TransactionService) =>
  defineRoute({
    method: 'POST',
    url: '/platform/v1/network-events/transactions',
    operationId: 'v1_network_transactions_create',
    summary: 'A card network tells the platform (its token requestor) about an authorization on one of its tokens',
    description: 'At-least-once delivery from the network outbox; de-duplicated by (network, network_transaction_id).',
    tags: ['wallet platform'],
    auth: { kind: 'apiKey', roles: ['network'] },
    body: Type.Object(
      {
        network_transaction_id: Type.String({ minLength: 1, maxLength: 64 }),
        token_ref: Type.String({ minLength: 1, maxLength: 64 }),
        brand: Type.Union([Type.Literal('visa'), Type.Literal('mastercard'), Type.Literal('amex'), Type.Literal('discover')]),
        amount: Type.Integer({ minimum: 0, maximum: 999_999_999_999, description: 'Minor units (ISO 8583 DE 4: at most 12 digits).' }),
        currency: Type.String({ minLength: 3, maxLength: 4 }),
        merchant_name: Type.String({ maxLength: 200 }),
        status: Type.String({ maxLength: 20 }),
        mcc: Type.Optional(Type.Union([Type.String({ maxLength: 4 }), Type.Null()])),
        response_code: Type.Optional(Type.Union([Type.String({ maxLength: 2 }), Type.Null()])),
        auth_code: Type.Optional(Type.Union([Type.String({ maxLength: 6 }), Type.Null()])),
        decline_reason: Type.Optional(Type.Union([Type.String({ maxLength: 200 }), Type.Null()])),
        type: Type.Optional(Type.Union([Type.String({ maxLength: 20 }), Type.Null()])),
        occurred_at: Type.Optional(Type.Union([Type.String({ maxLength: 40 }), Type.Null()])),
        original_network_transaction_id: Type.Optional(Type.Union([Type.String({ maxLength: 64 }), Type.Null()])),
      },
      { additionalProperties: true },
    ),
    response: { 200: Type.Object({ id: Type.String(), duplicate: Type.Boolean() }) },
    async handler({ body, principal }) {
      // A network may speak only for its own brand.
      if (principal?.kind === 'apiKey' && principal.ownerId !== body.brand) throw new AppError('permission_denied', { message: 'This network key speaks for another brand.' });
      return { status: 200, body: await svc.recordFromNetwork(body) };
    },
  });
