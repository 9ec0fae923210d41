import { Type } from 'typebox';
import { Timestamp } from '../infra/http/schemas.js';

const Status = Type.Union([Type.Literal('active'), Type.Literal('suspended'), Type.Literal('closed')]);
const Brand = Type.Union([Type.Literal('visa'), Type.Literal('mastercard'), Type.Literal('amex'), Type.Literal('discover')]);
export const TerminalKindSchema = Type.Union([Type.Literal('contactless'), Type.Literal('ecommerce')]);

export const MerchantSchema = Type.Object({
  id: Type.String(),
  object: Type.Literal('merchant'),
  name: Type.String(),
  mcc: Type.String({ description: 'Merchant category code (DE 18), set on every authorization by the acquirer.' }),
  country: Type.String(),
  city: Type.String(),
  currency: Type.String(),
  card_acceptor_id: Type.String({ description: 'DE 42, 15 characters.' }),
  name_location: Type.String({ description: 'DE 43, 40 characters: name (25), city (13), country (2).' }),
  status: Status,
  created_at: Timestamp,
});

export const TerminalSchema = Type.Object({
  id: Type.String({ description: 'The terminal (term_…): the owner of its API key.' }),
  object: Type.Literal('terminal'),
  merchant_id: Type.String(),
  terminal_id: Type.String({ description: 'DE 41, 8 characters.' }),
  kind: TerminalKindSchema,
  name: Type.String(),
  status: Status,
  created_at: Timestamp,
});

export const AuthorizationSchema = Type.Object({
  id: Type.String(),
  object: Type.Literal('authorization'),
  merchant_id: Type.String(),
  terminal: Type.String({ description: 'The terminal (term_…).' }),
  terminal_id: Type.String({ description: 'DE 41.' }),
  stan: Type.String({ description: "The terminal's DE 11." }),
  transmitted: Type.String({ description: "The terminal's DE 7 (MMDDhhmmss, UTC)." }),
  rrn: Type.String({ description: 'DE 37.' }),
  brand: Type.Union([Brand, Type.Null()]),
  token_masked: Type.String({ description: 'The token in DE 2, first six and last four digits.' }),
  amount: Type.Integer({ description: 'Minor units.' }),
  currency: Type.String(),
  status: Type.Union([Type.Literal('pending'), Type.Literal('approved'), Type.Literal('declined'), Type.Literal('timed_out'), Type.Literal('reversed')]),
  response_code: Type.Union([Type.String(), Type.Null()]),
  auth_code: Type.Union([Type.String(), Type.Null()]),
  latency_ms: Type.Union([Type.Integer(), Type.Null()]),
  reversal: Type.Union([Type.Object({ status: Type.String(), reason: Type.String(), attempts: Type.Integer() }), Type.Null()]),
  created_at: Timestamp,
});

const Totals = Type.Array(Type.Object({ currency: Type.String(), count: Type.Integer(), amount: Type.Integer() }));

export const SettlementSchema = Type.Object({
  object: Type.Literal('settlement'),
  date: Type.String(),
  acquirer_id: Type.String({ description: 'DE 32.' }),
  totals: Totals,
  merchants: Type.Array(
    Type.Object({
      merchant_id: Type.String(),
      name: Type.String(),
      card_acceptor_id: Type.String(),
      totals: Totals,
      authorizations: Type.Array(
        Type.Object({
          id: Type.String(),
          rrn: Type.String(),
          stan: Type.String(),
          terminal_id: Type.String(),
          brand: Brand,
          token_masked: Type.String(),
          amount: Type.Integer(),
          currency: Type.String(),
          auth_code: Type.Union([Type.String(), Type.Null()]),
          created_at: Timestamp,
        }),
      ),
    }),
  ),
});

/** A response that is a packed ISO 8583 message (docs/authorization.md), documented as application/octet-stream. */
export const IsoResponse = Type.Unsafe<Uint8Array>({
  description: 'The packed ISO 8583 answer (ASCII profile, binary bitmaps), without a length prefix.',
  content: { 'application/octet-stream': { schema: { type: 'string', format: 'binary' } } },
});

export const MerchantIdParams = Type.Object({ merchant_id: Type.String({ maxLength: 64 }) });
