import { Type } from 'typebox';
import { defineRoute } from '../../infra/http/route.js';

export const v1_sandbox_ops_key_get = (opsKey: string) =>
  defineRoute({
    method: 'GET',
    url: '/sandbox/v1/ops-key',
    operationId: 'v1_sandbox_ops_key_get',
    summary: "The sandbox operations console's read-only key (role ops)",
    description:
      'Public, and present only when the sandbox is on. The key reads the console APIs (/ops/v1/…: overview, authorizations, traces, counters) and nothing else: ' +
      'it cannot create keys or change any state. Outside the sandbox, an operator creates an ops key with the admin key (POST /ops/v1/api-keys, role ops).',
    tags: ['sandbox'],
    auth: { kind: 'public' },
    response: { 200: Type.Object({ object: Type.Literal('ops_key'), role: Type.Literal('ops'), apiKey: Type.String() }) },
    async handler() {
      return { status: 200, body: { object: 'ops_key', role: 'ops', apiKey: opsKey }, headers: { 'cache-control': 'no-store' } };
    },
  });
