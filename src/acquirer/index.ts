import type { Cache } from '../infra/cache/index.js';
import { REVERSAL_RETRY } from '../infra/reversal-policy.js';
import type { Database } from '../infra/db/database.js';
import { randomBytes } from 'node:crypto';
import type { ApiKeys } from '../infra/http/auth.js';
import { KeyEncryptionKeys } from '../infra/keys/kek.js';
import { createLogger, type Logger } from '../infra/logger.js';
import type { Transport } from '../infra/transport.js';
import type { Network } from '../protocol/cards/index.js';
import type { PartyModule } from '../server/party.js';
import { AuthorizationSwitch, type AcquirerSettings } from './authorizations.js';
import './errors.js';
import { MessageVault } from './message-vault.js';
import { NetworkLink } from './network-link.js';
import { ReversalWorker } from './reversals.js';
import { v1_authorizations_create } from './routes/v1_authorizations_create.js';
import { v1_authorizations_list } from './routes/v1_authorizations_list.js';
import { v1_ecommerce_authorizations_create } from './routes/v1_ecommerce_authorizations_create.js';
import { v1_merchants_create } from './routes/v1_merchants_create.js';
import { v1_merchants_get } from './routes/v1_merchants_get.js';
import { v1_merchants_list } from './routes/v1_merchants_list.js';
import { v1_settlement_get } from './routes/v1_settlement_get.js';
import { v1_terminals_create } from './routes/v1_terminals_create.js';
import { v1_terminals_list } from './routes/v1_terminals_list.js';
import { v1_webhook_endpoints_create, v1_webhook_endpoints_list } from './routes/v1_webhook_endpoints.js';
import { v1_webhook_deliveries_list } from './routes/v1_webhook_deliveries_list.js';
import { v1_refunds } from './routes/v1_refunds.js';
import { AcquirerRefunds } from './refunds.js';
import { WebhookService, type WebhookOptions } from './webhooks.js';
import { seedSandboxAcquirer, type SeededTerminal, type SeedOptions } from './seed.js';
import { AcquirerService } from './service.js';

export { AcquirerClient } from './client.js';
export { brandForPan } from './routing.js';
export { SANDBOX_ACQUIRER, seedSandboxAcquirer, type SeededTerminal, type SeedOptions, type SandboxTerminalKey } from './seed.js';
export { AcquirerService } from './service.js';
export type { AcquirerSettings } from './authorizations.js';
export { WEBHOOK_TOPIC, WebhookService } from './webhooks.js';

export const DEFAULT_ACQUIRER_ID = '000001';
export const DEFAULT_TIMEOUT_MS = 2000;

export interface AcquirerDeps {
  db: Database;
  cache: Cache;
  apiKeys: ApiKeys;
  /** Reaches `POST /network/:brand/v1/iso8583`. */
  network: Transport;
  /** The acquirer's API key with the networks: one for all, or one per brand. */
  networkApiKey: string | Partial<Record<Network, string>>;
  clock?: () => Date;
  /** The network answer deadline (docs/authorization.md: 2 s). */
  timeoutMs?: number;
  /** DE 32 (n..11); default 000001. */
  acquirerId?: string;
  reversal?: Partial<AcquirerSettings['reversal']>;
  logger?: Logger;
  /**
   * Wraps merchants' webhook signing secrets and the data keys of the messages kept (token numbers); a
   * random in-memory one when absent (secrets and kept messages then last one process).
   */
  kek?: KeyEncryptionKeys;
  webhooks?: Omit<WebhookOptions, 'clock' | 'logger'>;
}

export interface Acquirer extends PartyModule {
  service: AcquirerService;
  settings: AcquirerSettings;
  /** The messages kept (they carry token numbers) are sealed at rest; this opens one (the operator's tools, tests). */
  messages: MessageVault;
  /** Merchant webhooks: register `webhooks.deliver` as the outbox handler of WEBHOOK_TOPIC. */
  webhooks: WebhookService;
  /** Creates the sandbox merchants and terminals (idempotent); secrets of keys it created, once. */
  seed(options?: SeedOptions): Promise<SeededTerminal[]>;
  /** One pass of the reversal worker (call on a timer): the number of reversals acknowledged. */
  runPendingReversals(): Promise<number>;
  /** Runs the reversal worker every `intervalMs` (unref'd timer) until stopped. */
  startReversalWorker(intervalMs?: number): { stop(): Promise<void> };
}

/**
 * The acquirer: merchants' terminals, authorization routing to the card networks, reversals and
 * clearing (docs/authorization.md). Routes under /acquirer/v1.
 */
export function createAcquirer(deps: AcquirerDeps): Acquirer {
  const acquirerId = deps.acquirerId ?? DEFAULT_ACQUIRER_ID;
  if (!/^\d{1,11}$/.test(acquirerId)) throw new Error('acquirerId must be 1 to 11 digits (DE 32)');
  const timeoutMs = deps.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const settings: AcquirerSettings = {
    acquirerId,
    timeoutMs,
    retransmissionGraceMs: 1000,
    staleGraceMs: 5000,
    reversal: { ...REVERSAL_RETRY, batchSize: 50, ...deps.reversal },
  };
  const clock = deps.clock ?? (() => new Date());
  const log = (deps.logger ?? createLogger({ level: 'silent' })).child({ party: 'acquirer' });
  const link = new NetworkLink(deps.network, deps.networkApiKey, timeoutMs);
  const kek = deps.kek ?? new KeyEncryptionKeys(randomBytes(32));
  // The kept messages carry token numbers: sealed under the acquirer's envelope keys (message-vault.ts).
  const vault = new MessageVault(deps.db, kek);
  const switcher = new AuthorizationSwitch(deps.db, link, settings, clock, log, vault);
  const worker = new ReversalWorker(deps.db, link, switcher, settings, clock, log);
  const service = new AcquirerService(deps.db, deps.apiKeys, switcher, worker, acquirerId, clock);
  const webhooks = new WebhookService(deps.db, kek, { ...deps.webhooks, clock, logger: log });
  return {
    name: 'acquirer',
    service,
    settings,
    messages: vault,
    webhooks,
    migrations: { module: 'acquirer', dir: new URL('./migrations/', import.meta.url) },
    routes: [
      v1_authorizations_create(service),
      v1_ecommerce_authorizations_create(service, deps.db, clock),
      v1_authorizations_list(service),
      v1_merchants_create(service),
      v1_merchants_list(service),
      v1_merchants_get(service),
      v1_terminals_create(service),
      v1_terminals_list(service),
      v1_settlement_get(service),
      v1_webhook_endpoints_create(webhooks),
      v1_webhook_endpoints_list(webhooks),
      v1_webhook_deliveries_list(webhooks),
      ...v1_refunds(new AcquirerRefunds(deps.db, link, acquirerId, clock, log, vault)),
    ],
    seed: (options) => seedSandboxAcquirer(service, options),
    runPendingReversals: () => service.runPendingReversals(),
    startReversalWorker(intervalMs = 1000) {
      let stopped = false;
      let current: Promise<unknown> = Promise.resolve();
      const timer = setInterval(() => {
        if (stopped) return;
        current = service.runPendingReversals().catch((err: unknown) => log.error({ err: err instanceof Error ? { type: err.name, message: err.message } : {} }, 'reversal worker pass failed'));
      }, intervalMs);
      timer.unref();
      return {
        async stop() {
          stopped = true;
          clearInterval(timer);
          await current;
        },
      };
    },
  };
}
