import { Type } from 'typebox';
import { defineRoute } from '../../infra/http/route.js';
import type { Observer } from '../observer.js';
import { OPS_READ } from './common.js';

export const TraceSummarySchema = Type.Object({
  id: Type.String(),
  started_at: Type.String(),
  messages: Type.Integer(),
  parties: Type.Array(Type.String()),
  summary: Type.String(),
  keys: Type.Array(Type.String()),
  response_code: Type.Union([Type.String(), Type.Null()]),
});

export const v1_ops_traces_list = (observer: Observer) =>
  defineRoute({
    method: 'GET',
    url: '/ops/v1/traces',
    operationId: 'v1_ops_traces_list',
    summary: "The newest message flows in this process's in-memory trace (one per external request and what it caused)",
    tags: ['operations'],
    auth: OPS_READ,
    querystring: Type.Object({ limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 20 })) }, { additionalProperties: false }),
    response: { 200: Type.Object({ object: Type.Literal('list'), has_more: Type.Boolean(), enabled: Type.Boolean(), capacity: Type.Integer(), data: Type.Array(TraceSummarySchema) }) },
    async handler({ query }) {
      const limit = query.limit ?? 20;
      const data = observer.traces.recent(limit + 1);
      return { status: 200, body: { object: 'list', has_more: data.length > limit, enabled: observer.tracing, capacity: observer.traces.capacity, data: data.slice(0, limit) } };
    },
  });
