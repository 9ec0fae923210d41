import type { Cache } from '../infra/cache/index.js';
import type { Database } from '../infra/db/database.js';
import { EnvelopeCipher } from '../infra/keys/envelope.js';
import type { KeyEncryptionKeys } from '../infra/keys/kek.js';
import type { PartyModule } from '../server/party.js';
import { BRANDS, type Brand } from './brands.js';
import { EncryptionKeys } from './encryption-keys.js';
import './errors.js';
import { Hsm } from './hsm.js';
import { sandboxIssuerDirectory, type IssuerDirectory, type IssuerGateway } from './issuers.js';
import { v1_encryption_key_get } from './routes/v1_encryption_key_get.js';
import { v1_token_requestors_create } from './routes/v1_token_requestors_create.js';
import { v1_tokens_create } from './routes/v1_tokens_create.js';
import { v1_tokens_get } from './routes/v1_tokens_get.js';
import { v1_verifications_confirm } from './routes/v1_verifications_confirm.js';
import { v1_verifications_otp } from './routes/v1_verifications_otp.js';
import { v1_verifications_sandbox_messages } from './routes/v1_verifications_sandbox_messages.js';
import { NetworkService } from './service.js';

export { BRANDS, BRAND_PROFILES, type Brand } from './brands.js';
export { Hsm, type TokenKey } from './hsm.js';
export { EncryptionKeys, type PublicEncryptionKey } from './encryption-keys.js';
export type { CardVerification, CardVerificationRequest, IssuerDirectory, IssuerGateway, IssuerMessage, VerificationMethod } from './issuers.js';
export { NetworkService, type CreateTokenInput, type ProvisioningPayload, type ProvisioningResult, type TokenView } from './service.js';
export { NetworkClient } from './client.js';

export interface NetworkDeps {
  db: Database;
  /** Not used yet (token status caching comes with the in-store flow); the database is the truth. */
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
}

export type Networks = PartyModule & {
  service: NetworkService;
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
  const service = new NetworkService({ db: deps.db, hsm, keys, vault, issuers: deps.issuers, directory: deps.directory ?? sandboxIssuerDirectory, clock });
  return {
    name: 'network',
    service,
    hsm,
    keys,
    vault,
    migrations: { module: 'network', dir: new URL('./migrations/', import.meta.url) },
    routes: [
      v1_encryption_key_get(service),
      v1_token_requestors_create(service),
      v1_tokens_create(service),
      v1_tokens_get(service),
      v1_verifications_otp(service),
      v1_verifications_confirm(service),
      v1_verifications_sandbox_messages(service),
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
