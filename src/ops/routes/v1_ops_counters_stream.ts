import { Type } from 'typebox';
import { defineRoute } from '../../infra/http/route.js';
import type { Observer } from '../observer.js';
import { OPS_READ } from './common.js';

export const v1_ops_counters_stream = (observer: Observer) =>
  defineRoute({
    method: 'GET',
    url: '/ops/v1/counters/stream',
    operationId: 'v1_ops_counters_stream',
    summary: 'The live counters as server-sent events (`event: counters`, a JSON snapshot every second)',
    tags: ['operations'],
    auth: OPS_READ,
    response: { 200: Type.String({ description: 'text/event-stream' }) },
    async handler() {
      return {
        status: 200,
        body: undefined,
        headers: { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache, no-transform', 'x-accel-buffering': 'no' },
        stream: observer.counterStream(1000),
      };
    },
  });
