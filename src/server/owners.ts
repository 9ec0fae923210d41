import { acquirerRepo } from '../acquirer/repository.js';
import type { Sql } from '../infra/db/database.js';
import type { OwnerChecks } from '../infra/http/auth.js';
import { issuerRepo } from '../issuer/repository.js';
import { networkRepo } from '../network/repository.js';
import { merchantRepo } from '../platform/merchants/repository.js';

/**
 * Who an API key of each role may speak for in this deployment (src/infra/http/auth.ts): a network key
 * for a brand it runs, an issuer key for an existing issuer, an acquirer key for the deployment's
 * acquirer, a terminal key for a registered terminal, a merchant key for a merchant of the acquirer or
 * of the wallet platform, a platform key for a token requestor registered with a network. Admin and ops
 * keys name their holder (an operator, a console), not an object.
 */
export function ownerChecks(db: Sql, deployment: { brands: readonly string[]; acquirerId: string }): OwnerChecks {
  return {
    admin: async () => true,
    ops: async () => true,
    network: async (id) => deployment.brands.includes(id),
    issuer: async (id) => (await issuerRepo.issuerById(db, id)) !== undefined,
    acquirer: async (id) => id === deployment.acquirerId,
    terminal: async (id) => (await acquirerRepo.terminalById(db, id)) !== undefined,
    merchant: async (id) => (await acquirerRepo.merchantById(db, id)) !== undefined || (await merchantRepo.merchantById(db, id)) !== undefined,
    platform: async (id) => (await networkRepo.tokenRequestor(db, id)) !== undefined,
  };
}
