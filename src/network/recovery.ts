import type { Database } from '../infra/db/database.js';
import { errorResult, type RecoveryHandler } from '../infra/http/idempotency.js';
import type { TokenLifecycle } from './lifecycle.js';
import { networkRepo as repo } from './repository.js';
import { abandonedRequest } from './service.js';

/**
 * The TSP's own reconciliation of provisioning requests it never answered (its process died mid-request,
 * src/infra/http/idempotency.ts recoverAbandoned): the requestor never got the token, so whatever the
 * request made is ended (a reservation abandoned, an active token deleted) and the key answers 409
 * resource_conflict from now on; the requestor adds the card again with a new request.
 */
export function networkRecoveryHandlers(db: Database, lifecycle: TokenLifecycle): Map<string, RecoveryHandler> {
  return new Map<string, RecoveryHandler>([
    [
      'POST /network/:brand/v1/tokens',
      async (key) => {
        const requestorId = key.principal.startsWith('platform:') ? key.principal.slice('platform:'.length) : null;
        const requestor = requestorId ? await repo.tokenRequestor(db, requestorId) : undefined;
        if (requestor) await lifecycle.cancelRequest(requestor.brand, requestor.id, key.idemKey);
        return errorResult(abandonedRequest());
      },
    ],
  ]);
}
