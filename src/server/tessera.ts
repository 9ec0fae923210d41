import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import type { Config } from '../infra/config.js';
import { openCache, type Cache } from '../infra/cache/index.js';
import { deploymentNamespace, NamespacedCache } from '../infra/cache/namespaced.js';
import { ownerChecks } from './owners.js';
import { migrate, openDatabase, type Database, type MigrationSet } from '../infra/db/index.js';
import { buildHttpApp } from '../infra/http/app.js';
import { ApiKeys } from '../infra/http/auth.js';
import type { Role } from '../infra/http/route.js';
import { KeyEncryptionKeys } from '../infra/keys/kek.js';
import type { Logger } from '../infra/logger.js';
import { maskForTrace, maskIsoHex, TeeTraceSink } from '../infra/trace.js';
import { call, InjectTransport, TracingTransport, type TraceSink, type Transport, type TransportRequest } from '../infra/transport.js';
import { OutboxWorker } from '../infra/outbox.js';
import { ProcessLease } from '../infra/lease.js';
import { startRecoveryWorker } from '../infra/recovery.js';
import { recoverAbandoned } from '../infra/http/idempotency.js';
import { createAcquirer, WEBHOOK_TOPIC, type SeededTerminal } from '../acquirer/index.js';
import { createIssuers, ISSUER_CARD_TOPIC, IssuerClient, SANDBOX_ISSUERS } from '../issuer/index.js';
import { ISSUER_TOKEN_TOPIC } from '../network/issuer-events.js';
import { BRANDS, createNetworks, NetworkClient, type Brand } from '../network/index.js';
import { createOps } from '../ops/index.js';
import { createStore, type Store } from '../merchant/store/index.js';
import { Observer } from '../ops/observer.js';
import { createSandbox, storeInfoFromModule, type Sandbox } from '../sandbox/index.js';
import { createPlatform } from '../platform/index.js';
import { createPaymentPki, type PaymentPki } from '../platform/pki/index.js';
import { startValidationServer, type ValidationServer } from '../platform/merchants/index.js';
import { bundleApplePayScript } from '../platform/merchants/applepay-script.js';
import { v1_pki_root_get } from '../platform/routes/v1_pki_root_get.js';
import { installNodeAes } from '../infra/node-aes.js';
import { health } from './health.js';
import { registerWebApp } from './web.js';
import { saveAdminKey } from './admin-key.js';
import type { PartyModule } from './party.js';

export const VERSION: string = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

export interface TesseraOptions {
  config: Config;
  logger: Logger;
  /** Tests and scenarios: PGlite in memory and a random KEK (ignored for the database when DATABASE_URL is set). */
  inMemory?: boolean;
  db?: Database;
  cache?: Cache;
  cacheKeyPrefix?: string;
  kek?: KeyEncryptionKeys;
  /** Records every message between parties (scenarios' --trace, the console's trace viewer). */
  trace?: TraceSink;
  clock?: () => Date;
  /** Called once every migration has run, before anything is seeded (a throwaway platform snapshots the empty schema there). */
  migrated?: (db: Database) => Promise<void>;
  /** Tests: wraps the transport between two parties (e.g. to delay or drop the issuer's answers). */
  wrapTransport?: (hop: { from: string; to: string }, transport: Transport) => Transport;
}

export interface Tessera {
  app: FastifyInstance;
  db: Database;
  cache: Cache;
  kek: KeyEncryptionKeys;
  apiKeys: ApiKeys;
  parties: PartyModule[];
  issuers: ReturnType<typeof createIssuers>;
  networks: ReturnType<typeof createNetworks>;
  platform: ReturnType<typeof createPlatform>;
  acquirer: ReturnType<typeof createAcquirer>;
  /** The demo online store (/store): sets itself up as a merchant once the app listens (store.whenReady()). */
  store: Store;
  pki: PaymentPki;
  /** The sandbox's seeded terminals, each with its API key (derived from the KEK, stable across restarts). */
  terminals: (SeededTerminal & { api_key: string })[];
  /** The sandbox issuers' own API keys (role issuer, owner = the issuer id; derived from the KEK): their card lifecycle API, and how they reach the networks. */
  issuerKeys: Readonly<Record<string, string>>;
  outbox: OutboxWorker;
  /** Starts the background work of a long-running process: outbox delivery, reversal retries. */
  startBackground(): void;
  /** Set only on the start that created the operator's admin key: the one time it can be shown. */
  newAdminKey: string | undefined;
  /** Where that new key was written (`<data dir>/admin-key.txt`, mode 0600); undefined in memory. */
  newAdminKeyFile: string | undefined;
  /** The operations console's view of this process: the in-memory trace of messages between parties, live counters. */
  observer: Observer;
  /** The sandbox seed and GET /sandbox/v1; undefined when TESSERA_SANDBOX is off. */
  sandbox: Sandbox | undefined;
  /**
   * Starts the merchant-validation listener (HTTPS, mutual TLS; port 0 = any free port) and returns its
   * validationURL; once started, also in `validationUrl`. Closed by close().
   */
  listenMerchantValidation(opts?: { port?: number; host?: string }): Promise<string>;
  /** https://…/paymentservices/startSession once listenMerchantValidation() has run. */
  readonly validationUrl: string | undefined;
  /** Closes the merchant-validation listener only (close() does it too). */
  stopMerchantValidation(): Promise<void>;
  close(): Promise<void>;
}

/** The sandbox acquirer's identity at the networks (the owner of its API key). */
const ACQUIRER_OWNER = 'acq_000001';

const INFRA_MIGRATIONS: MigrationSet = { module: 'infra', dir: new URL('../infra/migrations/', import.meta.url) };

/**
 * The keys parties use to call each other inside one deployment: derived from the KEK, so every
 * process sharing the KEK derives the same ones and nothing secret is stored. Only their hashes are
 * registered, like any other key.
 */
function internalKey(kek: KeyEncryptionKeys, role: Role, owner: string): string {
  const secret = kek.derive('internal-api-keys');
  const bytes = Buffer.concat([1, 2].map((n) => createHmac('sha256', secret).update(`${role}:${owner}:${n}`).digest()));
  const alphabet = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
  return `tsk_${role}_${Array.from(bytes.subarray(0, 40), (b) => alphabet[b % 62]).join('')}`;
}

/**
 * The composition root: every server-side party in one process, each under its own route prefix and
 * schema, talking to each other through the same HTTP routes (in-process inject) a separate deployment
 * would use.
 */
export async function createTessera(options: TesseraOptions): Promise<Tessera> {
  const { config, logger } = options;
  // The HSMs' and the simulated devices' AES on OpenSSL, synchronously (same results as WebCrypto).
  installNodeAes();
  const db = options.db ?? (await openDatabase(config, { inMemory: options.inMemory ?? false }));
  const kek = options.kek ?? KeyEncryptionKeys.load({ kek: config.kek, dataDir: config.dataDir, inMemory: options.inMemory ?? false });
  // One Redis may serve several deployments (or a test run after a reset, with the same KEK): keys are
  // namespaced by the identity of the deployment stored in its database (infra.deployment), so no
  // database is ever served another's cached lookups. The infra migrations run first to have it.
  let namespace: string;
  try {
    await migrate(db, [INFRA_MIGRATIONS]);
    namespace = options.cacheKeyPrefix ?? `tessera:${await deploymentNamespace(db)}:`;
  } catch (err) {
    await db.close();
    throw err;
  }
  const cache = options.cache ? new NamespacedCache(options.cache, namespace) : await openCache(config.redisUrl, { logger, keyPrefix: namespace });
  try {
    const apiKeys = new ApiKeys(db, cache, ownerChecks(db, { brands: BRANDS, acquirerId: ACQUIRER_OWNER }));
    // Parties are wired before the one Fastify instance exists; calls resolve it when they happen.
    const holder: { app?: FastifyInstance } = {};
    const base: Transport = new InjectTransport(() => {
      if (!holder.app) throw new Error('a party called another before start-up finished');
      return holder.app;
    });
    // The console's in-memory trace (TESSERA_TRACE_BUFFER messages), beside any trace the caller asked for.
    const observer = new Observer({ traceCapacity: config.traceBuffer });
    const sink: TraceSink | undefined = observer.tracing ? (options.trace ? new TeeTraceSink([options.trace, observer.sink]) : observer.sink) : options.trace;
    const traced = (from: string | ((req: TransportRequest) => string), to: string | ((path: string) => string)): Transport => {
      const inner = options.wrapTransport ? options.wrapTransport({ from: typeof from === 'string' ? from : 'network', to: typeof to === 'string' ? to : to === issuerOf ? 'issuer' : 'network' }, base) : base;
      return sink ? new TracingTransport(inner, sink, from, to, maskForTrace, maskIsoHex) : inner;
    };
    const issuerOf = (path: string) => `issuer:${/^\/issuer\/([^/]+)/.exec(path)?.[1] ?? '?'}`;
    const networkOf = (path: string) => `network:${/^\/network\/([^/]+)/.exec(path)?.[1] ?? '?'}`;

    // Each sandbox issuer's own key: its card lifecycle API, and its channel to the networks (PAN updates, card events).
    const issuerKeys: Record<string, string> = Object.fromEntries(SANDBOX_ISSUERS.map((i) => [i.id, internalKey(kek, 'issuer', i.id)]));
    const issuerOfKey = new Map(Object.entries(issuerKeys).map(([id, key]) => [key, id]));
    const issuers = createIssuers({
      db,
      cache,
      kek,
      networks: { transport: traced((req) => `issuer:${issuerOfKey.get(req.apiKey ?? '') ?? '?'}`, networkOf), apiKey: (id) => issuerKeys[id] },
      ...(options.clock ? { clock: options.clock } : {}),
    });
    const issuerClients = Object.fromEntries(BRANDS.map((b) => [b, new IssuerClient(traced(`network:${b}`, issuerOf), internalKey(kek, 'network', b))])) as Record<Brand, IssuerClient>;
    const networkKeys = Object.fromEntries(BRANDS.map((b) => [b, internalKey(kek, 'network', b)])) as Record<Brand, string>;
    const brandOfKey = new Map(BRANDS.map((b) => [networkKeys[b], b]));
    const fromNetwork = (req: TransportRequest) => `network:${brandOfKey.get(req.apiKey ?? '') ?? '?'}`;
    const networks = createNetworks({
      db,
      cache,
      kek,
      logger,
      issuers: issuerClients,
      issuerIso: { transport: traced(fromNetwork, issuerOf), apiKey: (b: Brand) => networkKeys[b] },
      ...(options.clock ? { clock: options.clock } : {}),
    });
    const acquirerKey = internalKey(kek, 'acquirer', ACQUIRER_OWNER);
    const acquirer = createAcquirer({ db, cache, apiKeys, network: traced('acquirer', networkOf), networkApiKey: acquirerKey, logger, kek, ...(options.clock ? { clock: options.clock } : {}) });
    // Filled once the platform is registered as token requestor with each network.
    const platformKeys: Partial<Record<Brand, string>> = {};
    const internalAdmin = internalKey(kek, 'admin', 'internal');
    const networkClient = new NetworkClient(traced('platform', networkOf), platformKeys, { adminKey: internalAdmin });
    // The payment-token PKI (root, intermediate, signing leaves), initialised after the migrations below.
    const pki = createPaymentPki({ db, kek, ...(options.clock ? { clock: options.clock } : {}) });
    const platform = createPlatform({ db, cache, kek, networks: networkClient, apiKeys, pki, sandbox: config.sandbox, ...(options.clock ? { clock: options.clock } : {}) });
    // The sandbox's secrets are derived from the KEK (never stored): the console's read-only key among them.
    const sandboxOpsKey = internalKey(kek, 'ops', 'sandbox-console');
    const seededTerminals: (SeededTerminal & { api_key: string })[] = [];
    const sandbox = config.sandbox ? createSandbox({ kek, signUp: (input) => platform.service.signUp(input), terminals: () => seededTerminals, opsKey: sandboxOpsKey, store: storeInfoFromModule() }) : undefined;
    const ops = createOps({ apiKeys, db, observer, parties: base, adminKey: internalAdmin, brands: BRANDS, issuerIds: SANDBOX_ISSUERS.map((i) => i.id) });
    // The demo online store, a merchant on the platform's public APIs (signed up with the operator's internal key).
    const validationHolder: { url?: string | undefined } = {};
    const store = createStore({
      db,
      kek,
      transport: traced('store', (path) => path.split('/')[1] ?? '?'),
      credentials: { adminKey: internalAdmin },
      rootPem: () => pki.rootPem(),
      validationUrls: () => (validationHolder.url ? [validationHolder.url] : []),
      logger,
      ...(options.clock ? { clock: options.clock } : {}),
    });
    const parties: PartyModule[] = [platform, networks, issuers, acquirer, ops, store, ...(sandbox ? [sandbox] : [])];

    await migrate(db, [INFRA_MIGRATIONS, ...parties.flatMap((p) => (p.migrations ? [p.migrations] : []))]);
    await options.migrated?.(db);
    // This process's lease: the idempotency keys it holds carry its boot id (a restart knows they are dead).
    const lease = await ProcessLease.start(db);
    const recoveryHandlers = new Map([...platform.recoveryHandlers, ...networks.recoveryHandlers]);
    platform.wallet.useRecovery(async (userId) => (await recoverAbandoned(db, lease.bootId, recoveryHandlers, { logger, principal: `user:${userId}` })).settled);

    let newAdminKey: string | undefined;
    let newAdminKeyFile: string | undefined;
    if (config.adminKey) await apiKeys.ensure('admin', 'operator', 'operator (from TESSERA_ADMIN_KEY)', config.adminKey);
    else if ((await apiKeys.count('admin')) === 0) {
      newAdminKey = (await apiKeys.create('admin', 'operator', 'operator (first start)')).secret;
      // Kept in the data folder (0600) as soon as it exists, so a start that fails later does not lose it.
      if (!(options.inMemory ?? false)) newAdminKeyFile = saveAdminKey(config.dataDir, newAdminKey);
    }
    await apiKeys.ensure('admin', 'internal', 'internal: start-up registrations', internalAdmin);
    for (const b of BRANDS) await apiKeys.ensure('network', b, `internal: ${b} network → issuers, platform`, networkKeys[b]);
    await apiKeys.ensure('acquirer', ACQUIRER_OWNER, 'internal: acquirer → networks', acquirerKey);
    for (const [id, key] of Object.entries(issuerKeys)) await apiKeys.ensure('issuer', id, `internal: issuer ${id} → networks`, key);

    await issuers.seed();
    await networks.init();
    await platform.deviceCa.init();
    // The payment-token PKI (root, intermediate, signing leaves); the root's certificate is also written to the
    // data folder, where `tessera applepay decrypt` finds it by default.
    await pki.init();
    if (!(options.inMemory ?? false)) await pki.writeRootPem(config.dataDir);
    const terminalKeys = { coffee: '', transit: '', online: '' };
    for (const k of Object.keys(terminalKeys) as (keyof typeof terminalKeys)[]) terminalKeys[k] = internalKey(kek, 'terminal', `sandbox:${k}`);
    // Before anything is sealed or opened inside a transaction (see MessageVault.init).
    await acquirer.messages.init();
    const seeded = await acquirer.seed({ terminalKeys });
    const terminals = seeded.map((t) => ({ ...t, api_key: terminalKeys[t.key as keyof typeof terminalKeys] }));
    seededTerminals.push(...terminals);
    if (sandbox) await apiKeys.ensure('ops', 'sandbox-console', 'sandbox: the console\'s read-only key', sandboxOpsKey);

    // Networks tell the platform (their token requestor) about every authorization on its tokens.
    // Each delivery runs in the console trace's correlation of the request that enqueued the event.
    const outbox = new OutboxWorker(db, { logger, around: (event, deliver) => observer.runForEvent(event.event_id, deliver) });
    outbox.on('network.transaction', async (event) => {
      const payload = event.payload as { brand: Brand };
      await call(traced(`network:${payload.brand}`, 'platform'), 'platform', {
        method: 'POST',
        path: '/platform/v1/network-events/transactions',
        body: payload,
        apiKey: networkKeys[payload.brand],
        idempotencyKey: event.event_id,
      });
    });

    // Merchants' webhooks: the acquirer's answered authorizations, signed, to each merchant's endpoints.
    outbox.on(WEBHOOK_TOPIC, acquirer.webhooks.deliver);

    // …and about every change of one of its tokens (suspend, resume, delete, PAN update).
    outbox.on('network.token', async (event) => {
      const payload = event.payload as { brand: Brand };
      await call(traced(`network:${payload.brand}`, 'platform'), 'platform', {
        method: 'POST',
        path: '/platform/v1/network-events/tokens',
        body: payload,
        apiKey: networkKeys[payload.brand],
        idempotencyKey: event.event_id,
      });
    });

    // Issuers tell the networks about their cards' changes (reissue, close, block, unblock), in order per card.
    outbox.on(ISSUER_CARD_TOPIC, issuers.cards.deliver);
    // Networks tell each token's issuer about it (created, suspended, resumed, deleted, re-mapped, keys refreshed).
    outbox.on(ISSUER_TOKEN_TOPIC, async (event) => {
      const payload = event.payload as { brand: Brand; issuer_id: string };
      await call(traced(`network:${payload.brand}`, issuerOf), `issuer:${payload.issuer_id}`, {
        method: 'POST',
        path: `/issuer/${encodeURIComponent(payload.issuer_id)}/v1/network-events/tokens`,
        body: { ...payload, event_id: event.event_id },
        apiKey: networkKeys[payload.brand],
        idempotencyKey: event.event_id,
      });
    });

    const app = await buildHttpApp(
      { db, cache, logger, apiKeys, sessions: platform.service.resolveSession, requestHashKey: kek.derive('idempotency-request-hash'), rateLimitFactor: config.rateLimitFactor, bootId: lease.bootId },
      [health(db, cache, VERSION), v1_pki_root_get(pki), ...parties.flatMap((p) => p.routes)],
      {
        title: 'Tessera',
        version: VERSION,
        description:
          'A self-hosted mobile-wallet payment platform: wallet platform, card networks, issuers, acquirers and merchants. Errors: GET /v1/errors lists the catalogue.',
        // The browser app (web/dist): /wallet, /wallet/pay, /terminal, /store, /console and their assets.
        extend: async (app) => {
          observer.install(app);
          await registerWebApp(app);
        },
      },
    );

    holder.app = app;
    // Once the app listens, the store sets itself up for the origin it is served on (the platform fetches its association file there).
    app.server.once('listening', () => {
      const address = app.server.address();
      const origin = config.publicUrl ? new URL(config.publicUrl).host : typeof address === 'object' && address ? `${/^(0\.0\.0\.0|::)$/.test(address.address) ? '127.0.0.1' : address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}` : undefined;
      if (origin) store.startSetup(origin);
      // The ApplePaySession script is bundled as the server starts to listen, not on its first request.
      bundleApplePayScript().catch(() => {});
    });

    // The platform is a token requestor with each network (its device CA registered there).
    const trids = await platform.wallet.registerWithNetworks(BRANDS);
    for (const b of BRANDS) {
      const key = internalKey(kek, 'platform', trids[b]!);
      await apiKeys.ensure('platform', trids[b]!, `internal: wallet platform → ${b} network`, key);
      platformKeys[b] = key;
    }
    // The sandbox's demo user, through the platform's own sign-up (idempotent, also for two processes at once).
    if (sandbox) await sandbox.seed();

    const timers: { stop(): Promise<void> }[] = [];
    let validation: ValidationServer | undefined;
    return {
      app,
      db,
      cache,
      kek,
      apiKeys,
      parties,
      issuers,
      networks,
      platform,
      acquirer,
      pki,
      terminals,
      issuerKeys,
      outbox,
      newAdminKey,
      newAdminKeyFile,
      observer,
      sandbox,
      store,
      startBackground() {
        if (timers.length) return;
        outbox.start();
        timers.push({ stop: () => outbox.stop() });
        timers.push(acquirer.startReversalWorker(1000));
        // Requests a stopped process left unfinished: settled at start and every two seconds (lease renewed too).
        timers.push(startRecoveryWorker({ db, lease, handlers: recoveryHandlers, logger }));
        const sw = setInterval(() => void networks.runPendingReversals().catch(() => 0), 1000);
        sw.unref();
        timers.push({ stop: async () => clearInterval(sw) });
      },
      get validationUrl() {
        return validation?.validationUrl;
      },
      async listenMerchantValidation(opts = {}) {
        validation ??= await startValidationServer({ service: platform.merchants, pki, host: opts.host ?? config.host, port: opts.port ?? config.mtlsPort, logger });
        validationHolder.url = validation.validationUrl;
        platform.merchants.validationUrl = validation.validationUrl;
        return validation.validationUrl;
      },
      async stopMerchantValidation() {
        const v = validation;
        validation = undefined;
        validationHolder.url = undefined;
        platform.merchants.validationUrl = undefined;
        await v?.close();
      },
      async close() {
        store.close();
        for (const t of timers.splice(0)) await t.stop();
        await validation?.close();
        await app.close();
        await lease.end().catch(() => {});
        observer.close();
        await cache.close();
        await db.close();
      },
    };
  } catch (err) {
    await cache.close();
    await db.close();
    throw err;
  }
}

