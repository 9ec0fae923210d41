import { Type } from 'typebox';
import { defineRoute } from '../../infra/http/route.js';
import { MerchantIdParams, TerminalKindSchema, TerminalSchema } from '../schemas.js';
import type { AcquirerService } from '../service.js';

export const v1_terminals_create = (svc: AcquirerService) =>
  defineRoute({
    method: 'POST',
    url: '/acquirer/v1/merchants/:merchant_id/terminals',
    operationId: 'v1_acquirer_terminals_create',
    summary: "Add a terminal to a merchant, with its API key (the secret is shown once)",
    description:
      'Takes no Idempotency-Key: a stored response would hold the key\'s secret. Give terminal_id (DE 41) to make a retry safe: ' +
      'a repeat answers 409 terminal_id_taken and the terminal can be found in the list.',
    tags: ['acquirer'],
    auth: { kind: 'apiKey', roles: ['admin'] },
    params: MerchantIdParams,
    body: Type.Object(
      {
        kind: TerminalKindSchema,
        terminal_id: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9]{8}$', description: 'DE 41; generated when absent.' })),
        name: Type.Optional(Type.String({ maxLength: 100 })),
      },
      { additionalProperties: false },
    ),
    response: {
      201: Type.Object({
        terminal: TerminalSchema,
        api_key: Type.Object({ id: Type.String(), secret: Type.String({ description: 'tsk_terminal_…: shown once, stored only as a hash.' }), prefix: Type.String() }),
      }),
    },
    async handler({ params, body }) {
      return { status: 201, body: await svc.createTerminal(params.merchant_id, body) };
    },
  });
