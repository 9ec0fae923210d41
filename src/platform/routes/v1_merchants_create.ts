import { Type } from 'typebox';
import { defineRoute } from '../../infra/http/route.js';
import { MerchantSchema } from '../merchants/schemas.js';
import type { MerchantService } from '../merchants/service.js';

export const v1_merchants_create = (svc: MerchantService) =>
  defineRoute({
    method: 'POST',
    url: '/platform/v1/merchants',
    operationId: 'v1_merchants_create',
    summary: 'Register a merchant for in-app and web payments, with its first merchant API key (the secret is shown once)',
    description:
      'Callers: admin keys (the sandbox operator registers merchants, as it issues every party\'s keys). Takes no Idempotency-Key: a ' +
      'stored response would hold the key\'s secret; a retry answers 409 merchant_identifier_taken and more keys come from ' +
      'POST /ops/v1/api-keys with role merchant and owner_id = the merchant id.',
    tags: ['merchants'],
    auth: { kind: 'apiKey', roles: ['admin'] },
    body: Type.Object(
      {
        merchant_identifier: Type.String({ minLength: 10, maxLength: 128, pattern: '^merchant\\.[A-Za-z0-9][A-Za-z0-9._-]*$', description: 'Reverse-DNS under "merchant.", e.g. merchant.com.example.shop.' }),
        display_name: Type.String({ minLength: 1, maxLength: 64, pattern: '^[^\\x00-\\x1f\\x7f]+$' }),
        team_id: Type.Optional(Type.String({ pattern: '^[A-Z0-9]{10}$', description: 'The OU of the merchant\'s certificates; derived from the identifier when absent.' })),
      },
      { additionalProperties: false },
    ),
    response: {
      201: Type.Object({
        merchant: MerchantSchema,
        api_key: Type.Object({ id: Type.String(), secret: Type.String({ description: 'tsk_merchant_…: shown once, stored only as a hash.' }), prefix: Type.String() }),
      }),
    },
    async handler({ body }) {
      const r = await svc.createMerchant({ merchantIdentifier: body.merchant_identifier, displayName: body.display_name, teamId: body.team_id });
      return { status: 201, body: { merchant: r.merchant, api_key: r.apiKey } };
    },
  });
