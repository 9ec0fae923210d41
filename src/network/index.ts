import type { Cache } from '../infra/cache/index.js';
import type { Database } from '../infra/db/database.js';
import { EnvelopeCipher } from '../infra/keys/envelope.js';
import type { KeyEncryptionKeys } from '../infra/keys/kek.js';
import { createLogger, type Logger } from '../infra/logger.js';
import type { PartyModule } from '../server/party.js';
import { BRANDS, type Brand } from './brands.js';
import { EncryptionKeys } from './encryption-keys.js';
import './errors.js';
import { Hsm } from './hsm.js';
import type { IssuerIso } from './issuer-link.js';
import { sandboxIssuerDirectory, type IssuerDirectory, type IssuerGateway } from './issuers.js';
import { TokenLifecycle } from './lifecycle.js';
import { v1_authorizations_list } from './routes/v1_authorizations_list.js';
import { v1_stats_get } from './routes/v1_stats_get.js';
import { v1_tokens_search } from './routes/v1_tokens_search.js';
import { v1_card_lifecycle } from './routes/v1_card_lifecycle.js';
import { v1_pan_updates } from './routes/v1_pan_updates.js';
import { v1_tokens_key_refresh } from './routes/v1_tokens_key_refresh.js';
import { TokenKeyRefresh } from './key-refresh.js';
import { v1_tokens_lifecycle } from './routes/v1_tokens_lifecycle.js';
import { v1_encryption_key_get } from './routes/v1_encryption_key_get.js';
import { v1_iso8583 } from './routes/v1_iso8583.js';
import { v1_token_requestors_create } from './routes/v1_token_requestors_create.js';
import { v1_tokens_create } from './routes/v1_tokens_create.js';
import { v1_token_requests_cancel } from './routes/v1_token_requests_cancel.js';
import { networkRecoveryHandlers } from './recovery.js';
import type { RecoveryHandler } from '../infra/http/idempotency.js';
import { v1_tokens_get } from './routes/v1_tokens_get.js';
import { v1_verifications_confirm } from './routes/v1_verifications_confirm.js';
import { v1_verifications_otp } from './routes/v1_verifications_otp.js';
import { v1_verifications_sandbox_messages } from './routes/v1_verifications_sandbox_messages.js';
import { NetworkService } from './service.js';
import { DEFAULT_SWITCH_SETTINGS, NetworkSwitch, type SwitchSettings } from './switch.js';
import { TokenDirectory } from './token-directory.js';

export { BRANDS, BRAND_PROFILES, type Brand } from './brands.js';
export { Hsm, type TokenKey } from './hsm.js';
export { EncryptionKeys, type PublicEncryptionKey } from './encryption-keys.js';
export type { CardVerification, CardVerificationRequest, IssuerDirectory, IssuerGateway, IssuerMessage, VerificationMethod } from './issuers.js';
export { NetworkService, type CreateTokenInput, type ProvisioningPayload, type ProvisioningResult, type TokenView } from './service.js';
export { NetworkClient } from './client.js';
export { TokenLifecycle, TOKEN_EVENT_TOPIC, planTransition, type LifecycleAction, type TokenEvent, type TokenLifecycleView } from './lifecycle.js';
export { NetworkSwitch, DEFAULT_SWITCH_SETTINGS, type SwitchSettings } from './switch.js';
export { TokenDirectory, TOKEN_CACHE_TTL_SECONDS, type SwitchToken } from './token-directory.js';
export type { IssuerIso, IssuerOutcome } from './issuer-link.js';

export interface NetworkDeps {
  db: Database;
  /** The switch's token cache (active tokens, five minutes, invalidated on every status change); the database is the truth. */
  cache: Cache;
  kek: KeyEncryptionKeys;
  /**
   * The issuers: the issuer module's client (src/issuer/client.ts, `new IssuerClient(transport, networkKey)`),
   * one for every brand, or one per brand (network API keys whose owner id is the brand).
   */
  issuers: IssuerGateway | Readonly<Record<Brand, IssuerGateway>>;
  clock?: () => Date;
  /** Card BIN → issuer; the sandbox's table by default. */
  directory?: IssuerDirectory;
  /**
   * The issuers' ISO 8583 endpoints for the switch (`POST /issuer/:issuer_id/v1/iso8583`): a transport and
   * each brand's network API key (role 'network', owner = the brand: the provisioning IssuerClient's keys).
   * Without it every authorization is answered 91 and nothing is sent.
   */
  issuerIso?: IssuerIso;
  /** Switch timing (issuer timeout 1500 ms by default, reversal backoff). */
  switch?: Partial<Omit<SwitchSettings, 'reversal'>> & { reversal?: Partial<SwitchSettings['reversal']> };
  /** For the switch's background work (reversals); requests log through their own request logger. */
  logger?: Logger;
}

export type Networks = PartyModule & {
  service: NetworkService;
  /** Suspend, resume, delete, card events and PAN updates (flow 4). */
  lifecycle: TokenLifecycle;
  /** The authorization switch (POST /network/:brand/v1/iso8583). */
  switch: NetworkSwitch;
  tokens: TokenDirectory;
  /**
   * Delivers the reversals owed to issuers (after issuer timeouts, unknown outcomes, acquirer 0400s, and
   * authorizations left pending by a stopped process), each until acknowledged. Run it on a timer.
   */
  runPendingReversals(): Promise<number>;
  /** How the recovery worker settles this party's requests left unfinished by a process that stopped. */
  recoveryHandlers: Map<string, RecoveryHandler>;
  hsm: Hsm;
  keys: EncryptionKeys;
  vault: EnvelopeCipher;
  /** Creates each brand's card-data encryption key and HSM master key on first start (idempotent, race-safe). */
  init(): Promise<void>;
};

/**
 * The card networks (Visa, Mastercard, American Express, Discover) as token service providers: one
 * module, routes under /network/<brand>/v1, each brand with its own keys, token range and requestors.
 */
export function createNetworks(deps: NetworkDeps): Networks {
  const clock = deps.clock ?? (() => new Date());
  const hsm = new Hsm(deps.db, deps.kek);
  const keys = new EncryptionKeys(deps.db, deps.kek);
  const vault = new EnvelopeCipher(deps.db, 'network.data_keys', deps.kek);
  const logger = deps.logger ?? createLogger({ level: 'silent' });
  const directory = deps.directory ?? sandboxIssuerDirectory;
  const tokens = new TokenDirectory(deps.db, deps.cache, vault, logger);
  const service = new NetworkService({ db: deps.db, hsm, keys, vault, issuers: deps.issuers, directory, clock, tokens });
  const lifecycle = new TokenLifecycle({ db: deps.db, vault, directory, clock, tokens });
  const settings: SwitchSettings = {
    ...DEFAULT_SWITCH_SETTINGS,
    ...deps.switch,
    reversal: { ...DEFAULT_SWITCH_SETTINGS.reversal, ...deps.switch?.reversal },
  };
  const suspendToken = (tokenRef: string, reason: string) => lifecycle.suspendByNetwork(tokenRef, reason);
  const sw = new NetworkSwitch({ db: deps.db, hsm, vault, tokens, directory, issuerIso: deps.issuerIso, clock, logger, settings, suspendToken });
  return {
    name: 'network',
    service,
    lifecycle,
    switch: sw,
    tokens,
    runPendingReversals: () => sw.runPendingReversals(),
    recoveryHandlers: networkRecoveryHandlers(deps.db, lifecycle),
    hsm,
    keys,
    vault,
    migrations: { module: 'network', dir: new URL('./migrations/', import.meta.url) },
    routes: [
      v1_encryption_key_get(service),
      v1_token_requestors_create(service),
      v1_tokens_create(service),
      v1_token_requests_cancel(lifecycle),
      v1_tokens_get(service),
      v1_verifications_otp(service),
      v1_verifications_confirm(service),
      v1_verifications_sandbox_messages(service),
      v1_iso8583(sw),
      ...v1_tokens_lifecycle(lifecycle),
      v1_card_lifecycle(lifecycle),
      v1_pan_updates(lifecycle),
      v1_tokens_key_refresh(new TokenKeyRefresh({ db: deps.db, vault, service, tokens, clock })),
      // The operations console's reads (admin).
      v1_stats_get(deps.db),
      v1_authorizations_list(deps.db),
      v1_tokens_search(deps.db),
    ],
    async init() {
      for (const brand of BRANDS) {
        await keys.ensure(brand);
        await hsm.generateMasterKey(brand);
      }
      // The vault's data key and fingerprint key (a process racing this one may create the first; retry once).
      await vault.fingerprint('warm-up').catch(() => vault.fingerprint('warm-up'));
      await vault.encrypt('warm-up', 'network:warm-up').catch(() => vault.encrypt('warm-up', 'network:warm-up'));
    },
  };
}
