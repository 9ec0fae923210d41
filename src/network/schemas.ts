import { Type } from 'typebox';
import { AppError } from '../infra/errors.js';
import type { Principal } from '../infra/http/route.js';
import { Timestamp } from '../infra/http/schemas.js';

/** `:brand` is checked by the handler, so an unknown brand is 404 (no such route), not 400. */
export const BrandParam = Type.String({ minLength: 1, maxLength: 20, description: 'visa, mastercard, amex or discover' });

export const TokenRequestorId = Type.String({ pattern: '^[0-9]{11}$', description: '3-digit TSP code of the network + 8 assigned digits (EMV tag 9F19).' });

export const VerificationMethodSchema = Type.Object({ id: Type.String(), type: Type.String(), destination: Type.String({ description: 'Masked, e.g. •••• 1234.' }) });

export const ProvisioningResultSchema = Type.Object({
  object: Type.Literal('provisioning'),
  token_ref: Type.String({ description: 'Opaque reference of the token (never the token number).' }),
  status: Type.Union([Type.Literal('active'), Type.Literal('inactive')], { description: 'inactive = waiting for the one-time code.' }),
  card: Type.Object({
    last4: Type.String(),
    exp_month: Type.Integer(),
    exp_year: Type.Integer(),
    product: Type.Union([Type.Literal('credit'), Type.Literal('debit'), Type.Literal('prepaid')]),
    issuer_id: Type.String(),
    issuer_name: Type.String(),
    par: Type.String({ description: 'Payment account reference, 29 characters (EMV tag 9F24).' }),
  }),
  token: Type.Object({ last4: Type.String(), exp_month: Type.Integer(), exp_year: Type.Integer() }),
  verification: Type.Union([Type.Object({ id: Type.String(), methods: Type.Array(VerificationMethodSchema) }), Type.Null()]),
  provisioning_payload: Type.Union([Type.String({ description: 'Compact JWE (ECDH-ES+A256KW, A256GCM, cty provisioning+json) to the SE key.' }), Type.Null()]),
});

export const EncryptionKeySchema = Type.Object({
  kid: Type.String(),
  alg: Type.Literal('ECDH-ES+A256KW'),
  enc: Type.Literal('A256GCM'),
  jwk: Type.Object({
    kty: Type.Literal('EC'),
    crv: Type.Literal('P-256'),
    x: Type.String(),
    y: Type.String(),
    kid: Type.String(),
    use: Type.Literal('enc'),
    alg: Type.Literal('ECDH-ES+A256KW'),
  }),
});

export const TokenSchema = Type.Object({
  token_ref: Type.String(),
  status: Type.Union([Type.Literal('inactive'), Type.Literal('active'), Type.Literal('suspended'), Type.Literal('deleted')]),
  domains: Type.Array(Type.String(), { description: 'Domain restriction controls: where the token may be used.' }),
  last4: Type.String({ description: "The token's last four digits." }),
});

export const SandboxMessageSchema = Type.Object({ channel: Type.String(), destination: Type.String(), body: Type.String(), created_at: Timestamp });

/** The token requestor id of a platform API key (its owner id). */
export function requestorOf(principal: Principal | null): string {
  if (principal?.kind !== 'apiKey') throw new AppError('permission_denied');
  return principal.ownerId;
}

/** A response that is a packed ISO 8583 message (docs/authorization.md), documented as application/octet-stream. */
export const IsoResponse = Type.Unsafe<Uint8Array>({
  description: 'The packed ISO 8583 answer (ASCII profile, binary bitmaps), without a length prefix.',
  content: { 'application/octet-stream': { schema: { type: 'string', format: 'binary' } } },
});
