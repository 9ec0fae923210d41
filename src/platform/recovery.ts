import { AppError } from '../infra/errors.js';
import { errorResult, type RecoveryHandler } from '../infra/http/idempotency.js';
import { NETWORKS, type Network, type ProvisioningResult } from './gateway.js';
import { settledKey, type WalletService } from './wallet-service.js';

const interrupted = () =>
  new AppError('resource_conflict', {
    message: 'This request was interrupted (the platform stopped) and has been undone; add the card again with a new Idempotency-Key.',
  });

function userOf(principal: string): string | null {
  return principal.startsWith('user:') ? principal.slice('user:'.length) : null;
}

/**
 * Provisioning requests a stopped process left unfinished (src/infra/http/idempotency.ts
 * recoverAbandoned). The device never got the answer, so it holds no payload: what the request reached
 * is undone (the network's token deleted or never made, the platform's card deleted) and its key
 * answers 409 resource_conflict from now on. The wallet's retry with a new key adds the card afresh.
 */
export function provisioningRecoveryHandlers(wallet: WalletService): Map<string, RecoveryHandler> {
  return new Map<string, RecoveryHandler>([
    [
      'POST /platform/v1/provisioning',
      async (key) => {
        const userId = userOf(key.principal);
        if (userId) {
          // The route's network and key: recorded, else (stopped before) the key derived the same way, at every network.
          const attempt = key.recovery.attempt as { network: Network; key: string } | undefined;
          const networkKey = attempt?.key ?? `prv:${userId}:${key.idemKey}`;
          // Both keys the route may have asked with (the second after settling an earlier attempt).
          await wallet.abandonProvisioning(userId, attempt ? [attempt.network] : NETWORKS, [networkKey, settledKey(networkKey)], key.recovery.network as ProvisioningResult | undefined);
        }
        return errorResult(interrupted());
      },
    ],
    [
      'POST /platform/v1/provisioning/:card_id/confirm',
      async (key) => {
        const userId = userOf(key.principal);
        if (userId && typeof key.recovery.card === 'string') await wallet.abandonConfirmation(userId, key.recovery.card);
        return errorResult(interrupted());
      },
    ],
  ]);
}
