import { Type } from 'typebox';
import { defineRoute } from '../../infra/http/route.js';
import type { WalletService } from '../wallet-service.js';
import { NetworkSchema } from '../schemas.js';

export const v1_network_key_get = (svc: WalletService) =>
  defineRoute({
    method: 'GET',
    url: '/platform/v1/networks/:network/encryption-key',
    operationId: 'v1_network_key_get',
    summary: "A card network's public key for encrypting card data on the device (relayed from the network)",
    tags: ['wallet platform'],
    auth: { kind: 'session', device: true },
    params: Type.Object({ network: NetworkSchema }),
    response: { 200: Type.Object({ kid: Type.String(), alg: Type.String(), enc: Type.String(), jwk: Type.Object({}, { additionalProperties: true }) }) },
    async handler({ params }) {
      return { status: 200, body: await svc.networkKey(params.network) };
    },
  });
