import { Type } from 'typebox';
import { defineRoute } from '../../infra/http/route.js';
import { MerchantSchema } from '../schemas.js';
import type { AcquirerService } from '../service.js';

export const v1_merchants_create = (svc: AcquirerService) =>
  defineRoute({
    method: 'POST',
    url: '/acquirer/v1/merchants',
    operationId: 'v1_acquirer_merchants_create',
    summary: 'Sign a merchant up with the acquirer',
    tags: ['acquirer'],
    auth: { kind: 'apiKey', roles: ['admin'] },
    idempotency: 'atomic',
    body: Type.Object(
      {
        name: Type.String({ minLength: 1, maxLength: 100, pattern: '^[\\x20-\\x7e]+$' }),
        mcc: Type.String({ pattern: '^[0-9]{4}$', description: 'Merchant category code (ISO 18245).' }),
        country: Type.String({ pattern: '^[A-Z]{2}$', description: 'ISO 3166-1 alpha-2.' }),
        city: Type.String({ minLength: 1, maxLength: 13, pattern: '^[\\x20-\\x7e]+$' }),
        currency: Type.String({ pattern: '^[A-Z]{3}$', description: 'ISO 4217 alphabetic code of the settlement account.' }),
        card_acceptor_id: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9]{15}$', description: 'DE 42; generated when absent.' })),
        name_location: Type.Optional(Type.String({ pattern: '^[\\x20-\\x7e]{40}$', description: 'DE 43; built from name, city and country when absent.' })),
      },
      { additionalProperties: false },
    ),
    response: { 201: MerchantSchema },
    async handler({ body, tx }) {
      return { status: 201, body: await svc.createMerchant(tx, body) };
    },
  });
