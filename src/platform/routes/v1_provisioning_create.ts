import { Type } from 'typebox';
import { AppError } from '../../infra/errors.js';
import { randomBase62 } from '../../infra/ids.js';
import { defineRoute } from '../../infra/http/route.js';
import { settledKey, type WalletService } from '../wallet-service.js';
import { NetworkSchema, ProvisioningSchema } from '../schemas.js';
import { deviceUserOf } from './principal.js';

export const v1_provisioning_create = (svc: WalletService) =>
  defineRoute({
    method: 'POST',
    url: '/platform/v1/provisioning',
    operationId: 'v1_provisioning_create',
    summary: 'Add a card to this device: routes the encrypted card data to its network and relays the answer',
    description:
      'The body carries the card encrypted on the device to the network (JWE); the platform cannot read it. A retry with the same Idempotency-Key never makes a second token: the call to the network is a recovery point.',
    tags: ['wallet platform'],
    auth: { kind: 'session', device: true },
    idempotency: 'phased',
    body: Type.Object(
      {
        network: NetworkSchema,
        encrypted_card: Type.String({ minLength: 20, maxLength: 8192, pattern: '^[A-Za-z0-9_-]+(\\.[A-Za-z0-9_-]*){4}$' }),
        sandbox_device_score: Type.Optional(Type.Integer({ minimum: 1, maximum: 5, description: "Sandbox: the platform's device risk score sent to the issuer (2 or below asks for a one-time code)." })),
      },
      { additionalProperties: false },
    ),
    response: { 201: ProvisioningSchema },
    rateLimits: [{ name: 'user', by: 'principal', max: 30, windowSeconds: 300 }],
    async handler({ principal, body, step, call, headers }) {
      const { userId, deviceId } = deviceUserOf(principal);
      // The key the network sees: derived from the client's, so a client retry is a network retry too.
      const clientKey = typeof headers['idempotency-key'] === 'string' ? headers['idempotency-key'] : undefined;
      // The network and the key it is asked with (the recovery worker cancels by them, should this process stop).
      const { key: networkKey } = await step('attempt', async () => ({ network: body.network, key: clientKey ? `prv:${userId}:${clientKey}` : `prv:${userId}:${randomBase62(24)}` }));
      const result = await call('network', async () => {
        try {
          return await svc.requestToken(userId, deviceId, body, networkKey);
        } catch (err) {
          // The card may be held by this user's earlier attempt that a stopped process left unfinished
          // (the device never got its answer): settle those now, not at the recovery worker's next round,
          // and ask once more (under a key of its own: the network keeps its first answer for this one).
          if (!(err instanceof AppError && err.code === 'card_already_provisioned') || (await svc.settleAbandoned(userId)) === 0) throw err;
          return svc.requestToken(userId, deviceId, body, settledKey(networkKey));
        }
      });
      const card = await step('record', (tx) => svc.recordCard(tx, userId, deviceId, body.network, result));
      await svc.forgetCards(userId);
      return { status: 201, body: { object: 'provisioning', card, status: result.status, verification: result.verification, provisioning_payload: result.provisioning_payload } };
    },
  });
