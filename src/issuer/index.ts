import type { Cache } from '../infra/cache/index.js';
import type { Database } from '../infra/db/database.js';
import type { KeyEncryptionKeys } from '../infra/keys/kek.js';
import type { PartyModule } from '../server/party.js';
import './card-errors.js';
import { v1_card_verifications_confirm } from './routes/v1_card_verifications_confirm.js';
import { v1_card_verifications_create } from './routes/v1_card_verifications_create.js';
import { v1_card_verifications_messages } from './routes/v1_card_verifications_messages.js';
import { v1_card_verifications_otp } from './routes/v1_card_verifications_otp.js';
import { v1_accounts_get } from './routes/v1_accounts_get.js';
import { v1_authorizations_list } from './routes/v1_authorizations_list.js';
import { v1_issuers_list } from './routes/v1_issuers_list.js';
import { v1_iso8583 } from './routes/v1_iso8583.js';
import { v1_sandbox_cards_list } from './routes/v1_sandbox_cards_list.js';
import { v1_sandbox_cards_create } from './routes/v1_sandbox_cards_create.js';
import { IssuerCardLifecycle, type IssuerNetworkLink } from './card-lifecycle.js';
import { v1_cards_lifecycle } from './routes/v1_cards_lifecycle.js';
import { v1_token_notifications } from './routes/v1_token_notifications.js';
import { IssuerTokenNotifications } from './token-notifications.js';
import { seedSandboxIssuers } from './seed.js';
import { IssuerService } from './service.js';

export { IssuerClient } from './client.js';
export { issuerIdForPan, SANDBOX_CARDS, SANDBOX_ISSUERS } from './sandbox-cards.js';
export { seedSandboxIssuers } from './seed.js';
export { IssuerCardLifecycle, ISSUER_CARD_TOPIC, type IssuerNetworkLink, type CardLifecycleView } from './card-lifecycle.js';
export { IssuerTokenNotifications } from './token-notifications.js';
export { IssuerService, type AccountBalance, type InvariantReport } from './service.js';
export type { MessageOutcome } from './authorizations.js';
export { AUTHORIZATION_LIMITS, cdcvmPerformed, keyOfOriginal, keyOfRequest } from './authorization-rules.js';

/**
 * The issuing banks: several issuers in one module, each under /issuer/<issuer id>/v1. Call seed()
 * after the migrations at every start: it creates the sandbox issuers and test cards when missing.
 */
export function createIssuers(deps: {
  db: Database;
  cache: Cache;
  kek: KeyEncryptionKeys;
  clock?: () => Date;
  /** How the issuers tell the networks about reissued, closed, blocked cards (each with its own issuer key). */
  networks?: IssuerNetworkLink;
}): PartyModule & { service: IssuerService; cards: IssuerCardLifecycle; seed(): Promise<void> } {
  const service = new IssuerService(deps.db, deps.kek, deps.clock);
  const cards = new IssuerCardLifecycle(deps.db, service.cipher, service.hsm, deps.networks);
  const tokenNotifications = new IssuerTokenNotifications(deps.db);
  return {
    name: 'issuer',
    service,
    cards,
    migrations: { module: 'issuer', dir: new URL('./migrations/', import.meta.url) },
    routes: [v1_card_verifications_create(service), v1_card_verifications_otp(service), v1_card_verifications_confirm(service), v1_card_verifications_messages(service), v1_sandbox_cards_list(service), v1_sandbox_cards_create(service), v1_iso8583(service), v1_accounts_get(service), ...v1_cards_lifecycle(cards), ...v1_token_notifications(tokenNotifications), v1_issuers_list(deps.db), v1_authorizations_list(deps.db)],
    async seed() {
      await seedSandboxIssuers(service);
    },
  };
}
