import { Type } from 'typebox';
import { AppError } from '../../infra/errors.js';
import { defineRoute } from '../../infra/http/route.js';
import { maskApduHex } from '../decode.js';
import type { Observer } from '../observer.js';
import { transmissionKey } from '../service.js';

export const v1_ops_trace_apdus_create = (observer: Observer) =>
  defineRoute({
    method: 'POST',
    url: '/ops/v1/traces/apdus',
    operationId: 'v1_ops_trace_apdus_create',
    summary: "A terminal adds its APDU exchange with the device to the in-memory trace of the authorization it sent",
    description:
      'Terminal keys only. Names the authorization by the DE 41, DE 11 and DE 7 of its 0100, which must already be in the trace (else 404). ' +
      "Response data is masked before it is kept (card numbers first 6 / last 4, other sensitive EMV tags blanked). Nothing is stored in the database; the console's trace is memory only.",
    tags: ['operations'],
    auth: { kind: 'apiKey', roles: ['terminal'] },
    body: Type.Object(
      {
        terminal_id: Type.String({ minLength: 1, maxLength: 8 }),
        stan: Type.String({ pattern: '^[0-9]{6}$' }),
        transmitted: Type.String({ pattern: '^[0-9]{10}$' }),
        exchanges: Type.Array(
          Type.Object(
            { from: Type.Union([Type.Literal('terminal'), Type.Literal('device')]), hex: Type.String({ minLength: 4, maxLength: 2048, pattern: '^(?:[0-9A-Fa-f]{2})+$' }), ts: Type.Optional(Type.String({ format: 'date-time' })) },
            { additionalProperties: false },
          ),
          { minItems: 1, maxItems: 64 },
        ),
      },
      { additionalProperties: false },
    ),
    response: { 201: Type.Object({ object: Type.Literal('trace_apdus'), flow: Type.String(), added: Type.Integer() }) },
    async handler({ body }) {
      const key = transmissionKey(body.terminal_id, body.stan, body.transmitted);
      if (!observer.traces.find(key)) throw new AppError('resource_missing', { param: 'stan', message: 'No authorization with this DE 41, DE 11 and DE 7 in the in-memory trace.' });
      const now = new Date().toISOString();
      const events = body.exchanges.map((x) => {
        let hex: string;
        try {
          hex = maskApduHex(x.hex, x.from);
        } catch {
          throw new AppError('parameter_invalid', { param: 'exchanges', message: 'An exchange is not an APDU.' });
        }
        return { ts: x.ts ?? now, from: x.from, to: x.from === 'terminal' ? 'device' : 'terminal', protocol: 'apdu' as const, hex };
      });
      const flow = observer.recordClient(key, events);
      return { status: 201, body: { object: 'trace_apdus', flow, added: events.length } };
    },
  });
