import type { Cache } from '../infra/cache/index.js';
import type { Database } from '../infra/db/database.js';
import type { KeyEncryptionKeys } from '../infra/keys/kek.js';
import type { PartyModule } from '../server/party.js';
import { DeviceCa } from './device-ca.js';
import type { NetworkGateway } from './gateway.js';
import { v1_art_get } from './routes/v1_art_get.js';
import { v1_cards_get } from './routes/v1_cards_get.js';
import { v1_cards_list } from './routes/v1_cards_list.js';
import { v1_devices_create } from './routes/v1_devices_create.js';
import { v1_devices_list } from './routes/v1_devices_list.js';
import { v1_me_get } from './routes/v1_me_get.js';
import { v1_network_key_get } from './routes/v1_network_key_get.js';
import { v1_provisioning_confirm } from './routes/v1_provisioning_confirm.js';
import { v1_provisioning_create } from './routes/v1_provisioning_create.js';
import { v1_provisioning_messages } from './routes/v1_provisioning_messages.js';
import { v1_provisioning_otp } from './routes/v1_provisioning_otp.js';
import { v1_sessions_create } from './routes/v1_sessions_create.js';
import { v1_sessions_delete } from './routes/v1_sessions_delete.js';
import { v1_users_create } from './routes/v1_users_create.js';
import { CardLifecycle } from './lifecycle.js';
import { v1_cards_lifecycle } from './routes/v1_cards_lifecycle.js';
import { v1_devices_lifecycle } from './routes/v1_devices_lifecycle.js';
import { v1_network_tokens_create } from './routes/v1_network_tokens_create.js';
import { PlatformService } from './service.js';
import { WalletService } from './wallet-service.js';
import { provisioningRecoveryHandlers } from './recovery.js';
import type { RecoveryHandler } from '../infra/http/idempotency.js';
import { TransactionService } from './transactions.js';
import { v1_network_transactions_create } from './routes/v1_network_transactions_create.js';
import { v1_transactions_get, v1_transactions_list } from './routes/v1_transactions_list.js';
import { PushHub, type PushOptions } from './push.js';
import { v1_events_stream } from './routes/v1_events_stream.js';
import type { ApiKeys } from '../infra/http/auth.js';
import type { PaymentPki } from './pki/index.js';
import { MerchantService } from './merchants/index.js';
import { merchantRoutes } from './routes/v1_merchants_routes.js';
import { PaymentService, PlatformPaymentKeys } from './payments/index.js';
import { v1_payments_create } from './routes/v1_payments_create.js';
import { v1_payments_nonces_create } from './routes/v1_payments_nonces_create.js';
import { v1_events_list } from './routes/v1_events_list.js';

export interface PlatformDeps {
  db: Database;
  cache: Cache;
  kek: KeyEncryptionKeys;
  networks: NetworkGateway;
  /** Called for each newly recorded transaction (the push channel to devices). */
  onTransaction?: (userId: string, deviceId: string, transaction: unknown) => void;
  /** The push channel's timers (tests shorten them). */
  push?: PushOptions;
  /** The merchant registry: merchant API keys, the payment PKI (certificates, the validation listener's TLS). */
  apiKeys: ApiKeys;
  pki: PaymentPki;
  clock?: () => Date;
  /** Sandbox: merchants may register loopback domains (verified over plain http). */
  sandbox?: boolean;
}

export function createPlatform(deps: PlatformDeps): PartyModule & {
  service: PlatformService;
  wallet: WalletService;
  transactions: TransactionService;
  deviceCa: DeviceCa;
  push: PushHub;
  merchants: MerchantService;
  payments: PaymentService;
  /** How the recovery worker settles provisioning requests left unfinished by a process that stopped. */
  recoveryHandlers: Map<string, RecoveryHandler>;
} {
  const service = new PlatformService(deps.db, deps.cache);
  const deviceCa = new DeviceCa(deps.db, deps.kek);
  const wallet = new WalletService(deps.db, deps.cache, deviceCa, deps.networks);
  const push = new PushHub(deps.db, deps.push);
  const lifecycle = new CardLifecycle(deps.db, deps.cache, deps.networks, (userId) => push.wake(userId));
  const transactions = new TransactionService(deps.db, deps.cache, (userId, deviceId, t) => {
    push.wake(userId);
    deps.onTransaction?.(userId, deviceId, t);
  });
  const merchants = new MerchantService({
    db: deps.db,
    apiKeys: deps.apiKeys,
    pki: deps.pki,
    sessionKey: deps.kek.derive('merchant-session-signature'),
    domains: { allowLoopback: deps.sandbox ?? true },
    ...(deps.clock ? { clock: deps.clock } : {}),
  });
  const payments = new PaymentService(deps.db, merchants, deps.pki, new PlatformPaymentKeys(deps.kek), deps.clock ?? (() => new Date()));
  return {
    name: 'platform',
    service,
    wallet,
    transactions,
    deviceCa,
    push,
    merchants,
    payments,
    recoveryHandlers: provisioningRecoveryHandlers(wallet),
    migrations: { module: 'platform', dir: new URL('./migrations/', import.meta.url) },
    routes: [
      v1_users_create(service),
      v1_sessions_create(service),
      v1_sessions_delete(service),
      v1_me_get(service),
      v1_devices_create(wallet),
      v1_devices_list(wallet),
      v1_network_key_get(wallet),
      v1_provisioning_create(wallet),
      v1_provisioning_otp(wallet),
      v1_provisioning_confirm(wallet),
      v1_provisioning_messages(wallet),
      v1_cards_list(wallet),
      v1_cards_get(wallet),
      v1_art_get(wallet),
      v1_network_transactions_create(transactions),
      v1_transactions_list(transactions),
      v1_transactions_get(transactions),
      ...v1_cards_lifecycle(lifecycle),
      ...v1_devices_lifecycle(lifecycle),
      v1_network_tokens_create(lifecycle),
      v1_events_stream(push),
      ...merchantRoutes(merchants),
      v1_payments_nonces_create(payments),
      v1_payments_create(payments),
      v1_events_list(push),
    ],
  };
}
