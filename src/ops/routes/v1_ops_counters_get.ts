import { Type } from 'typebox';
import { defineRoute } from '../../infra/http/route.js';
import type { Observer } from '../observer.js';
import { OPS_READ } from './common.js';

const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(t: T) => Type.Union([t, Type.Null()]);

export const CountersSchema = Type.Object({
  object: Type.Literal('counters'),
  since: Type.String(),
  at: Type.String(),
  authorizations: Type.Object({ total: Type.Integer(), approved: Type.Integer(), declined: Type.Integer(), errors: Type.Integer(), reversals: Type.Integer() }),
  declines_by_reason: Type.Record(Type.String(), Type.Integer()),
  latency_ms: Type.Object({ p50: Nullable(Type.Number()), p99: Nullable(Type.Number()), max: Nullable(Type.Number()), samples: Type.Integer() }),
  rate_per_second: Type.Number(),
});

export const v1_ops_counters_get = (observer: Observer) =>
  defineRoute({
    method: 'GET',
    url: '/ops/v1/counters',
    operationId: 'v1_ops_counters_get',
    summary: "Live authorization counters of this process: approvals, declines by reason, p50/p99 latency (the acquirer's answers)",
    tags: ['operations'],
    auth: OPS_READ,
    response: { 200: CountersSchema },
    async handler() {
      return { status: 200, body: observer.counters.snapshot(), headers: { 'cache-control': 'no-store' } };
    },
  });
