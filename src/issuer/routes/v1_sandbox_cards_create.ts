import { Type } from 'typebox';
import { AppError } from '../../infra/errors.js';
import { defineRoute } from '../../infra/http/route.js';
import type { IssuerService } from '../service.js';

/**
 * Sandbox: a bank issues a new card the way it would mail one, with its own account. The number and
 * CVV are in this one answer (as on the card mailer) and nowhere else in clear: the issuer keeps the
 * number encrypted and the CVV not at all. Benchmarks and the web app use it for fresh cards.
 */
export const v1_sandbox_cards_create = (svc: IssuerService) =>
  defineRoute({
    method: 'POST',
    url: '/issuer/:issuer_id/v1/sandbox/cards',
    operationId: 'v1_issuer_sandbox_cards_create',
    summary: 'Sandbox: issue a new card with its own account (number and CVV shown once)',
    tags: ['issuer'],
    auth: { kind: 'apiKey', roles: ['issuer', 'admin'] },
    params: Type.Object({ issuer_id: Type.String({ maxLength: 64 }) }),
    body: Type.Object(
      {
        network: Type.Union([Type.Literal('visa'), Type.Literal('mastercard'), Type.Literal('amex'), Type.Literal('discover')]),
        product: Type.Optional(Type.Union([Type.Literal('credit'), Type.Literal('debit')])),
        holder_name: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
        credit_limit: Type.Optional(Type.Integer({ minimum: 0, maximum: 100_000_000 })),
        posted_balance: Type.Optional(Type.Integer({ minimum: 0, maximum: 100_000_000 })),
      },
      { additionalProperties: false },
    ),
    response: {
      201: Type.Object({
        object: Type.Literal('issued_card'),
        card_id: Type.String(),
        account_id: Type.String(),
        number: Type.String(),
        cvv: Type.String(),
        exp_month: Type.Integer(),
        exp_year: Type.Integer(),
      }),
    },
    rateLimits: [{ name: 'principal', by: 'principal', max: 2000, windowSeconds: 60 }],
    async handler({ params, body, principal }) {
      if (principal?.kind === 'apiKey' && principal.role === 'issuer' && principal.ownerId !== params.issuer_id) throw new AppError('resource_missing', { param: 'issuer_id', message: 'No such issuer.' });
      const product = body.product ?? 'credit';
      const card = await svc.issueCard({
        issuerId: params.issuer_id,
        network: body.network,
        product,
        holderName: body.holder_name ?? 'Sandbox Cardholder',
        creditLimit: BigInt(body.credit_limit ?? (product === 'credit' ? 500_000 : 0)),
        postedBalance: BigInt(body.posted_balance ?? (product === 'debit' ? 500_000 : 0)),
        expMonth: 12,
        expYear: new Date().getUTCFullYear() + 4,
      });
      return {
        status: 201,
        body: { object: 'issued_card', card_id: card.cardId, account_id: card.accountId, number: card.pan.reveal(), cvv: card.cvv.reveal(), exp_month: card.expMonth, exp_year: card.expYear },
      };
    },
  });
