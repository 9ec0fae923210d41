import { Type } from 'typebox';
import { defineRoute } from '../../infra/http/route.js';
import type { PaymentService } from '../payments/index.js';
import { deviceUserOf } from './principal.js';

export const PaymentEncryptionKeySchema = Type.Object({
  kid: Type.String(),
  alg: Type.Literal('ECDH-ES+A256KW'),
  enc: Type.Literal('A256GCM'),
  jwk: Type.Object({ kty: Type.Literal('EC'), crv: Type.Literal('P-256'), x: Type.String(), y: Type.String() }),
});

export const v1_payments_nonces_create = (svc: PaymentService) =>
  defineRoute({
    method: 'POST',
    url: '/platform/v1/payments/nonces',
    operationId: 'v1_payments_nonces_create',
    summary: 'A one-time nonce for one in-app / web payment, and the key the Secure Element encrypts the payment to',
    description:
      "Device sessions only. The nonce is bound to this device and to the merchant session's merchantSessionIdentifier, valid 2 minutes, used by one payment; " +
      "the Secure Element's online cryptogram carries the first 4 bytes of its SHA-256 (docs/inapp.md).",
    tags: ['wallet platform'],
    auth: { kind: 'session', device: true },
    body: Type.Object({ merchant_session_identifier: Type.String({ minLength: 1, maxLength: 255, pattern: '^[\\x21-\\x7e]+$' }) }, { additionalProperties: false }),
    response: {
      201: Type.Object({
        object: Type.Literal('payment_nonce'),
        nonce: Type.String({ description: '32 bytes, hex.' }),
        expires_at: Type.String({ format: 'date-time' }),
        encryption_key: PaymentEncryptionKeySchema,
      }),
    },
    rateLimits: [{ name: 'device', by: 'principal', max: 120, windowSeconds: 60 }],
    async handler({ principal, body }) {
      const { userId, deviceId } = deviceUserOf(principal);
      return { status: 201, body: await svc.issueNonce(userId, deviceId, body.merchant_session_identifier) };
    },
  });
