import { Type } from 'typebox';
import { Timestamp } from '../infra/http/schemas.js';

export const UserSchema = Type.Object({
  id: Type.String(),
  object: Type.Literal('user'),
  email: Type.String(),
  name: Type.String(),
  created_at: Timestamp,
});

export const SessionSchema = Type.Object({
  id: Type.String(),
  token: Type.String({ description: 'Bearer secret for the wallet API; shown once.' }),
  expires_at: Timestamp,
  device_id: Type.Union([Type.String(), Type.Null()]),
});

export const Email = Type.String({ format: 'email', minLength: 3, maxLength: 254 });
export const Password = Type.String({ minLength: 10, maxLength: 200 });

export const NetworkSchema = Type.Union([Type.Literal('visa'), Type.Literal('mastercard'), Type.Literal('amex'), Type.Literal('discover')]);

export const DeviceSchema = Type.Object({
  id: Type.String(),
  object: Type.Literal('device'),
  kind: Type.String(),
  name: Type.String(),
  status: Type.String(),
  created_at: Timestamp,
});

export const CardSchema = Type.Object({
  id: Type.String(),
  object: Type.Literal('card'),
  device_id: Type.String(),
  token_ref: Type.String(),
  network: Type.String(),
  last4: Type.String(),
  card_type: Type.String(),
  issuer_name: Type.String(),
  art_url: Type.String(),
  status: Type.String(),
  token_last4: Type.String(),
  exp_month: Type.Integer(),
  exp_year: Type.Integer(),
  created_at: Timestamp,
});

export const MethodSchema = Type.Object({ id: Type.String(), type: Type.String(), destination: Type.String() });

export const ProvisioningSchema = Type.Object({
  object: Type.Literal('provisioning'),
  card: CardSchema,
  status: Type.String(),
  verification: Type.Union([Type.Object({ id: Type.String(), methods: Type.Array(MethodSchema) }), Type.Null()]),
  provisioning_payload: Type.Union([Type.String({ description: 'Compact JWE to the device Secure Element key; unreadable to the platform.' }), Type.Null()]),
});

export const PublicJwk = Type.Object(
  { kty: Type.Literal('EC'), crv: Type.Literal('P-256'), x: Type.String({ pattern: '^[A-Za-z0-9_-]{43}$' }), y: Type.String({ pattern: '^[A-Za-z0-9_-]{43}$' }), d: Type.Optional(Type.String()), ext: Type.Optional(Type.Boolean()), key_ops: Type.Optional(Type.Array(Type.String())) },
  { description: 'The Secure Element key-agreement public key (P-256 JWK).' },
);

export const CardIdParams = Type.Object({ card_id: Type.String({ maxLength: 64 }) });
