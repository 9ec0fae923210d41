import { Type } from 'typebox';
import { defineRoute } from '../../infra/http/route.js';
import { brandParam } from '../brands.js';
import { BrandParam } from '../schemas.js';
import type { NetworkService } from '../service.js';

export const v1_token_requestors_create = (svc: NetworkService) =>
  defineRoute({
    method: 'POST',
    url: '/network/:brand/v1/token-requestors',
    operationId: 'v1_network_token_requestors_create',
    summary: "Register a token requestor (a wallet platform) with its device CA certificate",
    tags: ['card networks'],
    auth: { kind: 'apiKey', roles: ['admin'] },
    idempotency: 'atomic',
    params: Type.Object({ brand: BrandParam }),
    body: Type.Object(
      {
        name: Type.String({ minLength: 1, maxLength: 200 }),
        device_ca_pem: Type.String({ minLength: 1, maxLength: 16384, description: 'PEM certificate of the CA that certifies the devices\' Secure Element keys (P-256).' }),
      },
      { additionalProperties: false },
    ),
    response: { 201: Type.Object({ id: Type.String(), object: Type.Literal('token_requestor'), name: Type.String() }) },
    async handler({ params, body, tx }) {
      return { status: 201, body: await svc.registerTokenRequestor(tx, brandParam(params.brand), body) };
    },
  });
