import { Type } from 'typebox';
import { defineRoute } from '../../infra/http/route.js';
import type { PaymentService } from '../payments/index.js';
import { deviceUserOf } from './principal.js';

const PaymentRequestSchema = Type.Object(
  {
    countryCode: Type.String({ pattern: '^[A-Z]{2}$' }),
    currencyCode: Type.String({ pattern: '^[A-Z]{3}$' }),
    supportedNetworks: Type.Array(Type.String({ maxLength: 32 }), { minItems: 1, maxItems: 32 }),
    merchantCapabilities: Type.Array(Type.String({ maxLength: 32 }), { minItems: 1, maxItems: 8 }),
    total: Type.Object(
      { label: Type.String({ maxLength: 128 }), amount: Type.String({ maxLength: 20 }), type: Type.Optional(Type.Union([Type.Literal('final'), Type.Literal('pending')])) },
      { additionalProperties: true },
    ),
    applicationData: Type.Optional(Type.String({ maxLength: 8192 })),
  },
  { additionalProperties: true, description: 'The page\'s ApplePayJS.ApplePayPaymentRequest (other members are accepted and not used).' },
);

const PaymentTokenSchema = Type.Object({
  paymentData: Type.Object({ version: Type.String(), data: Type.String(), signature: Type.String(), header: Type.Record(Type.String(), Type.String()) }),
  paymentMethod: Type.Object({ displayName: Type.String(), network: Type.String(), type: Type.String() }),
  transactionIdentifier: Type.String(),
});

export const v1_payments_create = (svc: PaymentService) =>
  defineRoute({
    method: 'POST',
    url: '/platform/v1/payments',
    operationId: 'v1_payments_create',
    summary: "Turns the Secure Element's encrypted payment into the merchant's payment token (PKPaymentToken)",
    description:
      "Device sessions only; Idempotency-Key makes a retry safe. The platform opens the payment with its payment key, checks it against the card, " +
      'the payment request and the nonce, redeems the merchant session (single use, 5 minutes) and uses the nonce up in one transaction, and ' +
      "produces an EC_v1 token (RSA_v1 for a merchant whose processing certificate is RSA) encrypted to the merchant's processing key and " +
      'signed by the platform. It never sees the card number; the token number exists only in the encrypted token. See docs/inapp.md.',
    tags: ['wallet platform'],
    auth: { kind: 'session', device: true },
    idempotency: 'phased',
    body: Type.Object(
      {
        card_id: Type.String({ minLength: 1, maxLength: 100 }),
        merchant_session: Type.Unknown({ description: 'The merchant session object as the page passed it to completeMerchantValidation.' }),
        request: PaymentRequestSchema,
        encrypted_payment: Type.String({ minLength: 20, maxLength: 8192, pattern: '^[A-Za-z0-9_-]+(\\.[A-Za-z0-9_-]*){4}$' }),
      },
      { additionalProperties: false },
    ),
    response: { 201: Type.Object({ object: Type.Literal('payment'), id: Type.String({ description: 'The payment nonce it used (pnc_…).' }), token: PaymentTokenSchema }) },
    rateLimits: [{ name: 'device', by: 'principal', max: 120, windowSeconds: 60 }],
    async handler({ principal, body, step, call }) {
      const { userId, deviceId } = deviceUserOf(principal);
      const opened = await svc.open(userId, deviceId, body);
      const redeemed = await step('redeem', (tx) => svc.redeem(tx, deviceId, body.merchant_session, opened));
      const token = await call('token', () => svc.produce(redeemed, opened));
      return { status: 201, body: { object: 'payment', id: redeemed.nonceId, token } };
    },
  });
