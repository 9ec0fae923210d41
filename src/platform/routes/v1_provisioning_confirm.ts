import { Type } from 'typebox';
import { randomBase62 } from '../../infra/ids.js';
import { defineRoute } from '../../infra/http/route.js';
import type { WalletService } from '../wallet-service.js';
import { CardIdParams, ProvisioningSchema } from '../schemas.js';
import { deviceUserOf } from './principal.js';

export const v1_provisioning_confirm = (svc: WalletService) =>
  defineRoute({
    method: 'POST',
    url: '/platform/v1/provisioning/:card_id/confirm',
    operationId: 'v1_provisioning_confirm',
    summary: 'Confirm the one-time code; on success the card becomes active and its payload is relayed to the device',
    tags: ['wallet platform'],
    auth: { kind: 'session', device: true },
    idempotency: 'phased',
    params: CardIdParams,
    body: Type.Object({ code: Type.String({ pattern: '^[0-9]{4,8}$' }) }, { additionalProperties: false }),
    response: { 200: ProvisioningSchema },
    rateLimits: [{ name: 'user', by: 'principal', max: 20, windowSeconds: 600 }],
    async handler({ principal, params, body, step, call, headers }) {
      const { userId, deviceId } = deviceUserOf(principal);
      // Which card (for the recovery worker, should this process stop before the answer).
      await step('card', async () => params.card_id);
      const clientKey = typeof headers['idempotency-key'] === 'string' ? headers['idempotency-key'] : undefined;
      const networkKey = await step('network_key', async () => (clientKey ? `cnf:${userId}:${clientKey}` : `cnf:${userId}:${randomBase62(24)}`));
      const { result } = await call('network', () => svc.confirmAtNetwork(userId, deviceId, params.card_id, body.code, networkKey));
      const card = await step('record', (tx) => svc.activate(tx, params.card_id, userId));
      await svc.forgetCards(userId);
      return { status: 200, body: { object: 'provisioning', card, status: result.status, verification: null, provisioning_payload: result.provisioning_payload } };
    },
  });
