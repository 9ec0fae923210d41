import { SANDBOX_CARDS, SANDBOX_ISSUERS } from './sandbox-cards.js';
import type { IssuerService } from './service.js';

/**
 * Creates the sandbox's issuers (with their BIN ranges and HSM keys) and documented test cards where
 * they do not exist yet. Idempotent, and safe when two processes start at once: run it at every start.
 */
export async function seedSandboxIssuers(service: IssuerService): Promise<{ created: number }> {
  for (const issuer of SANDBOX_ISSUERS) await service.ensureIssuer(issuer);
  let created = 0;
  for (const card of SANDBOX_CARDS) if ((await service.ensureSandboxCard(card)) === 'created') created++;
  return { created };
}
