import { AppError } from '../infra/errors.js';
import type { Principal } from '../infra/http/route.js';
import { NETWORKS, type Network } from '../protocol/cards/index.js';
import type { Caller } from './service.js';

/**
 * Who may call the issuer API: any network (networks route card requests by BIN, so one network key
 * reaches every issuer), or the issuer's own key (role issuer, owner id = the issuer id in the path).
 * Another issuer's key is answered like an unknown issuer: 404, nothing confirmed.
 */
export function callerFor(principal: Principal | null, issuerId: string): Caller {
  if (principal?.kind !== 'apiKey') throw new AppError('permission_denied');
  if (principal.role === 'issuer') {
    if (principal.ownerId !== issuerId) throw new AppError('resource_missing', { param: 'issuer_id', message: 'No such issuer.' });
    return { requester: `issuer:${principal.ownerId}`, issuerAdmin: true };
  }
  if (principal.role === 'network') {
    const brand = (NETWORKS as readonly string[]).includes(principal.ownerId) ? (principal.ownerId as Network) : undefined;
    return { requester: `network:${principal.ownerId}`, issuerAdmin: false, ...(brand ? { network: brand } : {}) };
  }
  throw new AppError('permission_denied');
}
