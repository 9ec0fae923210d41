import { Type } from 'typebox';
import { defineRoute } from '../../infra/http/route.js';
import { brandParam } from '../brands.js';
import { BrandParam, EncryptionKeySchema } from '../schemas.js';
import type { NetworkService } from '../service.js';

export const v1_encryption_key_get = (svc: NetworkService) =>
  defineRoute({
    method: 'GET',
    url: '/network/:brand/v1/encryption-key',
    operationId: 'v1_network_encryption_key_get',
    summary: "The network's public card-data encryption key (devices encrypt card data to it as a JWE)",
    tags: ['card networks'],
    auth: { kind: 'apiKey', roles: ['platform'] },
    params: Type.Object({ brand: BrandParam }),
    response: { 200: EncryptionKeySchema },
    async handler({ params }) {
      return { status: 200, body: await svc.encryptionKey(brandParam(params.brand)) };
    },
  });
