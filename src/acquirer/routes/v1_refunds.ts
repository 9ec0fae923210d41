import { Type } from 'typebox';
import { AppError } from '../../infra/errors.js';
import { defineRoute, type RouteSpec } from '../../infra/http/route.js';
import { ListOf, ListQuery } from '../../infra/http/schemas.js';
import type { AcquirerRefunds } from '../refunds.js';

const RefundSchema = Type.Object({
  id: Type.String(),
  object: Type.Literal('refund'),
  authorization_id: Type.String(),
  merchant_id: Type.String(),
  brand: Type.String(),
  amount: Type.Integer({ description: 'Minor units.' }),
  currency: Type.String(),
  status: Type.Union([Type.Literal('pending'), Type.Literal('approved'), Type.Literal('declined')]),
  response_code: Type.Union([Type.String(), Type.Null()]),
  auth_code: Type.Union([Type.String(), Type.Null()]),
  created_at: Type.String(),
});

export const v1_refunds = (svc: AcquirerRefunds): RouteSpec[] => [
  defineRoute({
    method: 'POST',
    url: '/acquirer/v1/authorizations/:authorization_id/refunds',
    operationId: 'v1_acquirer_refunds_create',
    summary: 'Refund all or part of an approved authorization (a 0200 with processing code 20 through the network to the issuer)',
    description:
      "The merchant's own key (or admin); Idempotency-Key required. `amount` defaults to the authorization's; all refunds of one authorization " +
      'together at most its amount (else 409 refund_not_allowed). Answers 201 with status approved or declined (DE 39 in response_code); ' +
      'no network answer: 424, and the same request with the same key sends the same refund again.',
    tags: ['acquirer'],
    auth: { kind: 'apiKey', roles: ['merchant', 'admin'] },
    idempotency: 'phased',
    params: Type.Object({ authorization_id: Type.String({ minLength: 1, maxLength: 64 }) }, { additionalProperties: false }),
    body: Type.Object({ amount: Type.Optional(Type.Integer({ minimum: 1, maximum: 999_999_999_999 })) }, { additionalProperties: false }),
    response: { 201: RefundSchema },
    async handler({ principal, params, body, headers, step, call }) {
      if (headers['idempotency-key'] === undefined) throw new AppError('parameter_invalid', { param: 'Idempotency-Key', message: 'A refund needs an Idempotency-Key.' });
      return { status: 201, body: await svc.refund(principal, params.authorization_id, body, step, call) };
    },
  }),
  defineRoute({
    method: 'GET',
    url: '/acquirer/v1/merchants/:merchant_id/refunds',
    operationId: 'v1_acquirer_refunds_list',
    summary: "The merchant's refunds, newest first",
    tags: ['acquirer'],
    auth: { kind: 'apiKey', roles: ['merchant', 'admin'] },
    params: Type.Object({ merchant_id: Type.String({ minLength: 1, maxLength: 64 }) }, { additionalProperties: false }),
    querystring: Type.Object({ ...ListQuery }, { additionalProperties: false }),
    response: { 200: ListOf(RefundSchema) },
    async handler({ principal, params, query }) {
      return { status: 200, body: await svc.list(principal, params.merchant_id, query) };
    },
  }),
];
