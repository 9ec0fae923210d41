import { Type } from 'typebox';
import { AppError } from '../../infra/errors.js';
import { defineRoute } from '../../infra/http/route.js';
import type { Database } from '../../infra/db/database.js';
import { buildEcommerceMessage, ecommerceView } from '../ecommerce.js';
import type { AcquirerService } from '../service.js';

const EcommerceAuthorizationSchema = Type.Object({
  id: Type.String({ description: "The acquirer's authorization (auth_…), as in GET /acquirer/v1/authorizations." }),
  object: Type.Literal('ecommerce_authorization'),
  orderReference: Type.String(),
  status: Type.Union([Type.Literal('approved'), Type.Literal('declined')]),
  responseCode: Type.String({ description: 'DE 39 of the answer (00 approved; docs/authorization.md lists the others).' }),
  authCode: Type.Optional(Type.String({ description: 'DE 38, on an approval.' })),
  declineReason: Type.Optional(Type.String({ description: 'What DE 39 means, e.g. insufficient_funds, cryptographic_failure, issuer_or_network_unavailable.' })),
  amount: Type.Integer(),
  currency: Type.String(),
  tokenLast4: Type.String(),
});

export const v1_ecommerce_authorizations_create = (svc: AcquirerService, db: Database, clock: () => Date) =>
  defineRoute({
    method: 'POST',
    url: '/acquirer/v1/ecommerce/authorizations',
    operationId: 'v1_acquirer_ecommerce_authorizations_create',
    summary: 'A merchant server authorizes an in-app / web payment with the fields of a decrypted payment token',
    description:
      "API key of the merchant's e-commerce terminal (role terminal, a terminal of kind ecommerce: POST /acquirer/v1/merchants/:id/terminals). " +
      'Idempotency-Key required: a retry gets the first answer. The acquirer builds the 0100 with DE 22 812, the device token in DE 2, its ' +
      'expiry in DE 14 and the cryptogram and ECI in DE 48 subelements 43 and 42 (docs/inapp.md), and routes it like a terminal\'s: ' +
      'no network answer within the timeout → declined with 91 and the authorization reversed by the acquirer. A decline is a 201 ' +
      'with status declined, not an HTTP error.',
    tags: ['acquirer'],
    auth: { kind: 'apiKey', roles: ['terminal'] },
    idempotency: 'phased',
    body: Type.Object(
      {
        orderReference: Type.String({ minLength: 1, maxLength: 64, pattern: '^[\\x20-\\x7e]+$' }),
        amount: Type.Integer({ minimum: 1, maximum: 999999999999, description: 'Minor units.' }),
        currency: Type.String({ pattern: '^[A-Z]{3}$', description: 'ISO 4217 alphabetic.' }),
        paymentDataType: Type.Literal('3DSecure'),
        applicationPrimaryAccountNumber: Type.String({ pattern: '^[0-9]{13,19}$', description: "The payment token's device account number." }),
        applicationExpirationDate: Type.String({ pattern: '^[0-9]{6}$', description: 'YYMMDD, as in the token.' }),
        onlinePaymentCryptogram: Type.String({ minLength: 12, maxLength: 40, pattern: '^[A-Za-z0-9+/]+={0,2}$' }),
        eciIndicator: Type.Optional(Type.String({ pattern: '^[0-9]{1,2}$' })),
        transactionId: Type.Optional(Type.String({ pattern: '^[0-9A-Fa-f]{1,64}$', description: "The token's header.transactionId." })),
      },
      { additionalProperties: false },
    ),
    response: { 201: EcommerceAuthorizationSchema },
    async handler({ principal, body, step, call, headers }) {
      if (principal?.kind !== 'apiKey') throw new AppError('permission_denied');
      if (typeof headers['idempotency-key'] !== 'string') {
        throw new AppError('idempotency_key_invalid', { param: 'Idempotency-Key', message: 'This route requires an Idempotency-Key header (1 to 255 printable characters).' });
      }
      const built = await step('message', (tx) => buildEcommerceMessage(tx, principal.ownerId, body, clock()));
      // A retry after a crash sends the same bytes again: the switch answers them from its record.
      const answer = await call('authorize', async () => Buffer.from(await svc.handleMessage(principal.ownerId, new Uint8Array(Buffer.from(built.packed, 'base64')))).toString('base64'));
      const view = await ecommerceView(db, built, new Uint8Array(Buffer.from(answer, 'base64')), body);
      return { status: 201, body: view };
    },
  });
