import { Type, type Static } from 'typebox';
import { ListOf, Timestamp } from '../infra/http/schemas.js';

export const NetworkSchema = Type.Union([Type.Literal('visa'), Type.Literal('mastercard'), Type.Literal('amex'), Type.Literal('discover')]);
export const DecisionSchema = Type.Union([Type.Literal('green'), Type.Literal('yellow'), Type.Literal('red')]);
export const MethodIdSchema = Type.Union([Type.Literal('sms'), Type.Literal('email')]);

export const IssuerParams = Type.Object({ issuer_id: Type.String({ minLength: 1, maxLength: 64 }) }, { additionalProperties: false });
export const VerificationParams = Type.Object(
  { issuer_id: Type.String({ minLength: 1, maxLength: 64 }), id: Type.String({ minLength: 1, maxLength: 64 }) },
  { additionalProperties: false },
);

export const CardVerificationRequestSchema = Type.Object(
  {
    pan: Type.String({ pattern: '^[0-9]{12,19}$', description: 'The card number (only ever sent by a network, over its own API key).' }),
    exp_month: Type.Integer({ minimum: 1, maximum: 12 }),
    exp_year: Type.Integer({ minimum: 2000, maximum: 2099 }),
    cvv: Type.String({ pattern: '^[0-9]{3,4}$', description: 'Checked and forgotten: never stored.' }),
    name: Type.Optional(Type.String({ maxLength: 100 })),
    network: NetworkSchema,
    token_requestor_id: Type.String({ pattern: '^[0-9]{11}$' }),
    token_ref: Type.String({ minLength: 1, maxLength: 64 }),
    device: Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }), kind: Type.Union([Type.Literal('phone'), Type.Literal('watch')]) }, { additionalProperties: false }),
    device_score: Type.Integer({ minimum: 1, maximum: 5, description: "The wallet's trust in the device and account: 1 (low) to 5 (high)." }),
  },
  { additionalProperties: false },
);

export const MethodSchema = Type.Object({ id: MethodIdSchema, type: MethodIdSchema, destination: Type.String({ description: 'Masked: "•••• 1234", "a•••@example.com".' }) });

export const CardVerificationSchema = Type.Object({
  id: Type.String({ description: 'civ_…' }),
  object: Type.Literal('card_verification'),
  decision: DecisionSchema,
  reasons: Type.Array(Type.String(), { description: 'red: too_many_attempts, card_not_active, risk; yellow: risk, new_device.' }),
  status: Type.Union(['pending', 'code_sent', 'verified', 'locked', 'expired', 'declined'].map((s) => Type.Literal(s))),
  methods: Type.Array(MethodSchema, { description: 'How a one-time code can be sent (yellow only).' }),
  card: Type.Object({
    last4: Type.String(),
    product: Type.Union([Type.Literal('credit'), Type.Literal('debit')]),
    par_seed: Type.String({ description: '25 characters, stable per card: the network builds the PAR from it.' }),
    account_id: Type.String(),
    issuer_id: Type.String(),
    issuer_name: Type.String(),
  }),
});

export const OtpRequestSchema = Type.Object({ method_id: MethodIdSchema }, { additionalProperties: false });
export const OtpSentSchema = Type.Object({ id: Type.String(), object: Type.Literal('card_verification'), sent: Type.Literal(true), method_id: MethodIdSchema, expires_at: Timestamp });

export const ConfirmRequestSchema = Type.Object({ code: Type.String({ pattern: '^[0-9]{6}$' }) }, { additionalProperties: false });
export const OtpConfirmedSchema = Type.Object({ id: Type.String(), object: Type.Literal('card_verification'), decision: Type.Literal('green'), status: Type.Literal('verified') });

export const SandboxMessageSchema = Type.Object({
  id: Type.String(),
  object: Type.Literal('sandbox_message'),
  channel: MethodIdSchema,
  destination: Type.String(),
  body: Type.String({ description: 'The simulated text, one-time code included.' }),
  created_at: Timestamp,
});
export const SandboxMessageListSchema = ListOf(SandboxMessageSchema);

export const SandboxCardSchema = Type.Object({
  object: Type.Literal('sandbox_card'),
  key: Type.String(),
  network: NetworkSchema,
  number: Type.Union([Type.String(), Type.Null()], { description: 'The full number, for the well-known public test numbers only.' }),
  masked: Type.String(),
  last4: Type.String(),
  product: Type.Union([Type.Literal('credit'), Type.Literal('debit')]),
  purpose: Type.String(),
  outcome: Type.String({ description: 'green, yellow, red or card_expired.' }),
  cvv: Type.String({ description: 'The documented sandbox CVV.' }),
  expiry: Type.String({ description: '"any future month", or the one expiry the card takes.' }),
});
export const SandboxCardListSchema = ListOf(SandboxCardSchema);

export type CardVerificationRequest = Static<typeof CardVerificationRequestSchema>;

export const AccountParams = Type.Object(
  { issuer_id: Type.String({ minLength: 1, maxLength: 64 }), account_id: Type.String({ minLength: 1, maxLength: 64 }) },
  { additionalProperties: false },
);

export const AccountBalanceSchema = Type.Object({
  object: Type.Literal('account_balance'),
  id: Type.String({ description: 'acct_…' }),
  issuer_id: Type.String(),
  currency: Type.String({ description: 'ISO 4217 alphabetic code; every amount is in its minor units.' }),
  posted: Type.Integer({ description: 'What the holder has: positive on a debit account in funds, negative (what is owed) on a credit account.' }),
  credit_limit: Type.Integer({ minimum: 0 }),
  holds: Type.Integer({ minimum: 0, description: 'Sum of the active authorization holds.' }),
  available: Type.Integer({ description: 'posted + credit_limit - holds.' }),
});

export const IsoMessageBody = Type.Unsafe<Uint8Array>({
  type: 'string',
  format: 'binary',
  description: 'A packed ISO 8583 message (ASCII profile, binary bitmaps), without a length prefix.',
});
