import { Type } from 'typebox';
import { defineRoute } from '../../infra/http/route.js';
import type { OpsService } from '../service.js';
import { OPS_READ } from './common.js';

const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(t: T) => Type.Union([t, Type.Null()]);

export const v1_ops_authorizations_list = (svc: OpsService) =>
  defineRoute({
    method: 'GET',
    url: '/ops/v1/authorizations',
    operationId: 'v1_ops_authorizations_list',
    summary: 'The newest authorizations as the acquirer, the network and the issuer each recorded them, with latency and outcome',
    description: 'Joined on DE 41, DE 11 and DE 7 (the terminal\'s transmission), which is also `trace_key`: GET /ops/v1/traces/{trace_key} shows the message flow while it is in the in-memory trace.',
    tags: ['operations'],
    auth: OPS_READ,
    querystring: Type.Object({ limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 20 })) }, { additionalProperties: false }),
    response: {
      200: Type.Object({
        object: Type.Literal('list'),
        has_more: Type.Boolean(),
        data: Type.Array(
          Type.Object({
            id: Type.String(),
            object: Type.Literal('ops_authorization'),
            created_at: Type.String(),
            merchant_id: Type.String(),
            terminal_id: Type.String(),
            brand: Nullable(Type.String()),
            token_masked: Type.String(),
            amount: Type.Integer(),
            currency: Type.String(),
            status: Type.String(),
            response_code: Nullable(Type.String()),
            latency_ms: Nullable(Type.Integer()),
            network: Nullable(
              Type.Object({
                id: Type.String(),
                status: Type.String(),
                response_code: Nullable(Type.String()),
                decline_reason: Nullable(Type.String()),
                latency_ms: Nullable(Type.Integer()),
                token_ref: Nullable(Type.String()),
                atc: Nullable(Type.Integer()),
              }),
            ),
            issuer: Nullable(Type.Object({ id: Type.String(), issuer_id: Type.String(), response_code: Type.String(), reason: Type.String(), cdcvm: Nullable(Type.Boolean()) })),
            trace_key: Type.String(),
            trace_available: Type.Boolean(),
          }),
        ),
      }),
    },
    async handler({ query }) {
      return { status: 200, body: await svc.authorizations(query.limit ?? 20) };
    },
  });
