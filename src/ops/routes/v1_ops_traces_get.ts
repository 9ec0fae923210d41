import { Type } from 'typebox';
import { AppError } from '../../infra/errors.js';
import { defineRoute } from '../../infra/http/route.js';
import { describe, type Observer } from '../observer.js';
import { OPS_READ } from './common.js';
import { TraceSummarySchema } from './v1_ops_traces_list.js';

const Tag: ReturnType<typeof Type.Object> = Type.Object({ tag: Type.String(), name: Type.String(), value: Type.String(), children: Type.Optional(Type.Array(Type.Unknown())) });

export const v1_ops_traces_get = (observer: Observer) =>
  defineRoute({
    method: 'GET',
    url: '/ops/v1/traces/:key',
    operationId: 'v1_ops_traces_get',
    summary: 'One message flow, every hop in order, each message decoded (ISO 8583 fields, EMV tags, APDUs) and masked',
    description: 'The key is the flow id (cor_…) or any of its keys: `iso:<DE41>:<DE11>:<DE7>` (an authorization\'s `trace_key`), `rrn:<DE37>`, `id:<object id>`.',
    tags: ['operations'],
    auth: OPS_READ,
    params: Type.Object({ key: Type.String({ minLength: 1, maxLength: 200 }) }),
    response: {
      200: Type.Object({
        object: Type.Literal('trace'),
        flow: TraceSummarySchema,
        events: Type.Array(
          Type.Object({
            seq: Type.Integer(),
            ts: Type.String(),
            from: Type.String(),
            to: Type.String(),
            protocol: Type.String(),
            hex: Type.Optional(Type.String()),
            json: Type.Optional(Type.Unknown()),
            decoded: Type.Object({
              summary: Type.String(),
              fields: Type.Array(Type.Object({ id: Type.String(), name: Type.String(), value: Type.String(), tags: Type.Optional(Type.Array(Tag)) })),
            }),
          }),
        ),
      }),
    },
    async handler({ params }) {
      const found = observer.traces.get(params.key);
      const flow = found && observer.traces.summary(found.id);
      if (!found || !flow) throw new AppError('resource_missing', { param: 'key', message: 'No such flow in the in-memory trace (it may have been evicted, or traced by another process).' });
      return {
        status: 200,
        body: {
          object: 'trace',
          flow,
          events: found.events.map((e) => ({ seq: e.seq, ts: e.ts, from: e.from, to: e.to, protocol: e.protocol, ...(e.hex ? { hex: e.hex } : {}), ...(e.json !== undefined ? { json: e.json } : {}), decoded: describe(e) })),
        },
      };
    },
  });
