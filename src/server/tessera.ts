import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import type { Config } from '../infra/config.js';
import { openCache, type Cache } from '../infra/cache/index.js';
import { migrate, openDatabase, type Database, type MigrationSet } from '../infra/db/index.js';
import { buildHttpApp } from '../infra/http/app.js';
import { ApiKeys } from '../infra/http/auth.js';
import type { Role } from '../infra/http/route.js';
import { KeyEncryptionKeys } from '../infra/keys/kek.js';
import type { Logger } from '../infra/logger.js';
import { maskForTrace, maskIsoHex } from '../infra/trace.js';
import { InjectTransport, TracingTransport, type TraceSink, type Transport } from '../infra/transport.js';
import { createIssuers, IssuerClient } from '../issuer/index.js';
import { BRANDS, createNetworks, NetworkClient, type Brand } from '../network/index.js';
import { createOps } from '../ops/index.js';
import { createPlatform } from '../platform/index.js';
import { health } from './health.js';
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
  /** Set only on the start that created the operator's admin key: the one time it can be shown. */
  newAdminKey: string | undefined;
  close(): Promise<void>;
}

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
  const db = options.db ?? (await openDatabase(config, { inMemory: options.inMemory ?? false }));
  const cache = options.cache ?? (await openCache(config.redisUrl, { logger, ...(options.cacheKeyPrefix ? { keyPrefix: options.cacheKeyPrefix } : {}) }));
  try {
    const kek = options.kek ?? KeyEncryptionKeys.load({ kek: config.kek, dataDir: config.dataDir, inMemory: options.inMemory ?? false });
    const apiKeys = new ApiKeys(db, cache);
    // Parties are wired before the one Fastify instance exists; calls resolve it when they happen.
    const holder: { app?: FastifyInstance } = {};
    const base: Transport = new InjectTransport(() => {
      if (!holder.app) throw new Error('a party called another before start-up finished');
      return holder.app;
    });
    const traced = (from: string, to: string | ((path: string) => string)): Transport => (options.trace ? new TracingTransport(base, options.trace, from, to, maskForTrace, maskIsoHex) : base);
    const issuerOf = (path: string) => `issuer:${/^\/issuer\/([^/]+)/.exec(path)?.[1] ?? '?'}`;
    const networkOf = (path: string) => `network:${/^\/network\/([^/]+)/.exec(path)?.[1] ?? '?'}`;

    const issuers = createIssuers({ db, cache, kek, ...(options.clock ? { clock: options.clock } : {}) });
    const issuerClients = Object.fromEntries(BRANDS.map((b) => [b, new IssuerClient(traced(`network:${b}`, issuerOf), internalKey(kek, 'network', b))])) as Record<Brand, IssuerClient>;
    const networks = createNetworks({ db, cache, kek, issuers: issuerClients, ...(options.clock ? { clock: options.clock } : {}) });
    // Filled once the platform is registered as token requestor with each network.
    const platformKeys: Partial<Record<Brand, string>> = {};
    const internalAdmin = internalKey(kek, 'admin', 'internal');
    const networkClient = new NetworkClient(traced('platform', networkOf), platformKeys, { adminKey: internalAdmin });
    const platform = createPlatform({ db, cache, kek, networks: networkClient });
    const parties: PartyModule[] = [platform, networks, issuers, createOps({ apiKeys })];

    await migrate(db, [INFRA_MIGRATIONS, ...parties.flatMap((p) => (p.migrations ? [p.migrations] : []))]);

    let newAdminKey: string | undefined;
    if (config.adminKey) await apiKeys.ensure('admin', 'operator', 'operator (from TESSERA_ADMIN_KEY)', config.adminKey);
    else if ((await apiKeys.count('admin')) === 0) newAdminKey = (await apiKeys.create('admin', 'operator', 'operator (first start)')).secret;
    await apiKeys.ensure('admin', 'internal', 'internal: start-up registrations', internalAdmin);
    for (const b of BRANDS) await apiKeys.ensure('network', b, `internal: ${b} network → issuers`, internalKey(kek, 'network', b));

    await issuers.seed();
    await networks.init();
    await platform.deviceCa.init();

    const app = await buildHttpApp(
      { db, cache, logger, apiKeys, sessions: platform.service.resolveSession, requestHashKey: kek.derive('idempotency-request-hash') },
      [health(db, cache, VERSION), ...parties.flatMap((p) => p.routes)],
      {
        title: 'Tessera',
        version: VERSION,
        description:
          'A self-hosted mobile-wallet payment platform: wallet platform, card networks, issuers, acquirers and merchants. Errors: GET /v1/errors lists the catalogue.',
      },
    );

    holder.app = app;

    // The platform is a token requestor with each network (its device CA registered there).
    const trids = await platform.wallet.registerWithNetworks(BRANDS);
    for (const b of BRANDS) {
      const key = internalKey(kek, 'platform', trids[b]!);
      await apiKeys.ensure('platform', trids[b]!, `internal: wallet platform → ${b} network`, key);
      platformKeys[b] = key;
    }

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
      newAdminKey,
      async close() {
        await app.close();
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

