import { AppError } from '../infra/errors.js';
import type { Principal } from '../infra/http/route.js';
import { NETWORKS, type Network } from '../protocol/cards/index.js';
import type { Caller } from './service.js';

/**
 * Who may call the issuer API: a card network, by the key of a brand it runs (networks route card
 * requests by BIN, so a brand's key reaches every issuer, for that brand's cards only), or the issuer's
 * own key (role issuer, owner id = the issuer id in the path). Another issuer's key is answered like an
 * unknown issuer: 404, nothing confirmed. A network key whose owner is no brand (`bogus-net`) speaks for
 * no network: refused, failing closed, whatever made the key.
 */
export function callerFor(principal: Principal | null, issuerId: string): Caller {
  if (principal?.kind !== 'apiKey') throw new AppError('permission_denied');
  if (principal.role === 'issuer') {
    if (principal.ownerId !== issuerId) throw new AppError('resource_missing', { param: 'issuer_id', message: 'No such issuer.' });
    return { requester: `issuer:${principal.ownerId}`, issuerAdmin: true };
  }
  if (principal.role === 'network') {
    if (!(NETWORKS as readonly string[]).includes(principal.ownerId)) throw new AppError('permission_denied');
    return { requester: `network:${principal.ownerId}`, issuerAdmin: false, network: principal.ownerId as Network };
  }
  throw new AppError('permission_denied');
}
