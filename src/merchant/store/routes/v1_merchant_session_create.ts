import { Type } from 'typebox';
import { defineRoute } from '../../../infra/http/route.js';
import { OrderParams } from '../schemas.js';
import type { StoreService } from '../service.js';
import type { MerchantValidator } from '../validation.js';

export const v1_store_merchant_session_create = (svc: StoreService, validator: MerchantValidator) =>
  defineRoute({
    method: 'POST',
    url: '/store/api/orders/:id/merchant-session',
    operationId: 'v1_store_merchant_session_create',
    summary: "onvalidatemerchant: the store validates itself to the payment platform (mutual TLS) and returns the opaque merchant session",
    description:
      'Only validation URLs of the configured payment platform are called (else 400 validation_url_not_allowed): the browser never makes the store fetch an arbitrary URL.',
    tags: ['store'],
    auth: { kind: 'public' },
    rateLimits: [{ name: 'ip', by: 'ip', max: 60, windowSeconds: 60 }],
    params: OrderParams,
    body: Type.Object({ validationURL: Type.String({ minLength: 1, maxLength: 2048 }) }, { additionalProperties: false }),
    response: { 200: Type.Object({}, { additionalProperties: true, description: 'The merchant session object, passed as is to completeMerchantValidation.' }) },
    async handler({ params, body }) {
      await svc.payableOrder(params.id);
      return { status: 200, body: await validator.merchantSession(body.validationURL) };
    },
  });
