import { setTimeout as sleep } from 'node:timers/promises';
import type { Database } from '../../infra/db/database.js';
import { EnvelopeCipher } from '../../infra/keys/envelope.js';
import type { KeyEncryptionKeys } from '../../infra/keys/kek.js';
import { createLogger, type Logger } from '../../infra/logger.js';
import type { Transport } from '../../infra/transport.js';
import type { PartyModule } from '../../server/party.js';
import { EcommerceAcquirerClient } from './acquirer.js';
import { PRODUCTS, STORE_NAME } from './catalogue.js';
import './errors.js';
import { StoreKeyVault } from './keys.js';
import { PlatformOnboarding, StoreSetup, type StoreCredentials } from './onboarding.js';
import { storeRepo } from './repository.js';
import { v1_store_merchant_session_create } from './routes/v1_merchant_session_create.js';
import { v1_store_orders_create } from './routes/v1_orders_create.js';
import { v1_store_orders_get } from './routes/v1_orders_get.js';
import { v1_store_payments_create } from './routes/v1_payments_create.js';
import { v1_store_products_list } from './routes/v1_products_list.js';
import { store_domain_association_get } from './routes/well_known_association.js';
import { StoreService } from './service.js';
import { MerchantValidator } from './validation.js';

export { applicationDataOf, StoreService, type OrderView, type ProductView, type PaymentView } from './service.js';
export { isAllowedValidationUrl } from './validation.js';
export { STORE_NAME, PRODUCTS } from './catalogue.js';

/** The store's merchant identifier at the platform (Apple-style reverse DNS). */
export const STORE_MERCHANT_IDENTIFIER = 'merchant.dev.tessera.outfitters';
export const STORE_PATH = '/store';

/** What the sandbox overview (GET /sandbox/v1, C5) shows of the store. */
export function storeSandboxInfo(): { merchantIdentifier: string; path: string } {
  return { merchantIdentifier: STORE_MERCHANT_IDENTIFIER, path: STORE_PATH };
}

export interface StoreDeps {
  db: Database;
  kek: KeyEncryptionKeys;
  /** Reaches the platform's and the acquirer's routes (in one process: InjectTransport). */
  transport: Transport;
  /** The store's credentials with the platform's merchant registry and the acquirer's sign-up. */
  credentials: StoreCredentials;
  /**
   * The payment platform's root certificate (PEM), the store's trust anchor for payment tokens and for
   * the validation listener (what a real merchant configures as Apple Root CA - G3).
   */
  rootPem: () => Promise<string>;
  /** The platform's merchant-validation URLs (its mutual-TLS listener): the only URLs the store ever calls for a merchant session. */
  validationUrls: () => readonly string[];
  logger?: Logger;
  clock?: () => Date;
}

export interface Store extends PartyModule {
  service: StoreService;
  vault: StoreKeyVault;
  /**
   * Sets the store up as a merchant, or finishes an interrupted set-up: writes its catalogue, registers
   * with the platform, verifies `domain` (the platform's own origin, host[:port], where it serves
   * /store and the association file), gets processing and identity certificates for keys it makes
   * itself, and an acquirer API key. The platform must be answering on `domain`.
   */
  setup(domain: string): Promise<void>;
  /** setup() in the background, retried with backoff until it succeeds (or the store is closed). */
  startSetup(domain: string): void;
  /** Resolves once set-up finished (rejects after `timeoutMs`, default 30 s). */
  whenReady(timeoutMs?: number): Promise<void>;
  ready(): boolean;
  close(): void;
}

/** The demo online store "Tessera Outfitters": a merchant built on the platform's public APIs. */
export function createStore(deps: StoreDeps): Store {
  const clock = deps.clock ?? (() => new Date());
  const log = (deps.logger ?? createLogger({ level: 'silent' })).child({ party: 'store' });
  const cipher = new EnvelopeCipher(deps.db, 'store.data_keys', deps.kek);
  const vault = new StoreKeyVault(deps.db, cipher);
  const setupState = new StoreSetup(deps.db, cipher, vault, new PlatformOnboarding(deps.transport, deps.credentials), {
    merchantIdentifier: STORE_MERCHANT_IDENTIFIER,
    displayName: STORE_NAME,
    log,
  });
  let rootPem: Promise<string> | undefined;
  const loadRoot = (): Promise<string> => {
    rootPem ??= deps.rootPem().catch((err: unknown) => {
      rootPem = undefined;
      throw err;
    });
    return rootPem;
  };
  const acquirer = new EcommerceAcquirerClient(deps.transport, () => setupState.acquirerApiKey());
  const service = new StoreService({
    db: deps.db,
    cipher,
    vault,
    acquirer,
    rootPem: loadRoot,
    merchantIdentifier: STORE_MERCHANT_IDENTIFIER,
    ready: () => setupState.ready(),
    clock,
    log,
  });
  const validator = new MerchantValidator({
    vault,
    merchantIdentifier: STORE_MERCHANT_IDENTIFIER,
    displayName: STORE_NAME,
    domain: () => setupState.domain(),
    allowedUrls: deps.validationUrls,
    rootPem: loadRoot,
    log,
  });
  let running: Promise<void> | undefined;
  let closed = false;
  const setup = async (domain: string): Promise<void> => {
    for (const p of PRODUCTS) await storeRepo.upsertProduct(deps.db, p);
    await setupState.run(domain);
  };
  return {
    name: 'store',
    service,
    vault,
    migrations: { module: 'store', dir: new URL('./migrations/', import.meta.url) },
    routes: [
      v1_store_products_list(service),
      v1_store_orders_create(service),
      v1_store_orders_get(service),
      v1_store_merchant_session_create(service, validator),
      v1_store_payments_create(service),
      store_domain_association_get(() => setupState.association()),
    ],
    setup,
    startSetup(domain) {
      if (running || closed) return;
      running = (async () => {
        for (let attempt = 0; !closed; attempt++) {
          try {
            await setup(domain);
            return;
          } catch (err) {
            log.warn({ attempt, err: err instanceof Error ? { type: err.name, message: err.message } : {} }, 'store: set-up failed; retrying');
            await sleep(Math.min(5000, 200 * 2 ** attempt));
          }
        }
      })().finally(() => {
        running = undefined;
      });
    },
    async whenReady(timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      while (!setupState.ready()) {
        if (Date.now() > deadline) throw new Error('the store did not finish its set-up in time');
        await sleep(50);
      }
    },
    close() {
      closed = true;
    },
    ready: () => setupState.ready(),
  };
}
