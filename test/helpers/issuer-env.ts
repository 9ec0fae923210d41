import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';
import { migrate } from '../../src/infra/db/index.js';
import { buildHttpApp } from '../../src/infra/http/app.js';
import { ApiKeys } from '../../src/infra/http/auth.js';
import { KeyEncryptionKeys } from '../../src/infra/keys/kek.js';
import { NETWORKS, type Network } from '../../src/protocol/cards/index.js';
import { createIssuers } from '../../src/issuer/index.js';
import { createTestEnv, type TestEnv } from './env.js';

/** A controllable clock: starts at `start`, moves only when told. */
export class TestClock {
  #now: Date;
  constructor(start: string | Date) {
    this.#now = new Date(start);
  }
  now = (): Date => new Date(this.#now);
  advance(ms: number): void {
    this.#now = new Date(this.#now.getTime() + ms);
  }
}

export interface IssuerTestEnv {
  env: TestEnv;
  issuers: ReturnType<typeof createIssuers>;
  app: FastifyInstance;
  apiKeys: ApiKeys;
  clock: TestClock;
  /**
   * API keys: each brand's network (a network key speaks for the brand that owns it, for that brand's
   * cards only), `network` and `visaNetwork` the Visa network's, `otherNetwork` the Mastercard network's,
   * the issuers' own, and parties that may not call.
   */
  keys: { network: string; otherNetwork: string; visaNetwork: string; networks: Record<Network, string>; tesseraBank: string; creditUnion: string; merchant: string; platform: string; admin: string; acquirer: string; terminal: string };
  request(options: InjectOptions & { auth?: string }): Promise<LightMyRequestResponse>;
  close(): Promise<void>;
}

/** The issuers alone on a throwaway database (PGlite, or PostgreSQL with DATABASE_URL), seeded, behind the real HTTP stack. */
export async function startIssuerTestEnv(clockStart = '2026-06-15T12:00:00Z'): Promise<IssuerTestEnv> {
  const env = await createTestEnv();
  const clock = new TestClock(clockStart);
  const issuers = createIssuers({ db: env.db, cache: env.cache, kek: KeyEncryptionKeys.random(), clock: clock.now });
  await migrate(env.db, [{ module: 'infra', dir: new URL('../../src/infra/migrations/', import.meta.url) }, issuers.migrations!]);
  await issuers.seed();
  const apiKeys = new ApiKeys(env.db, env.cache);
  const app = await buildHttpApp({ db: env.db, cache: env.cache, logger: env.logger, apiKeys }, issuers.routes, { title: 'issuer test', version: '0' });
  const key = async (role: Parameters<ApiKeys['create']>[0], owner: string) => (await apiKeys.create(role, owner)).secret;
  const networks = {} as Record<Network, string>;
  for (const brand of NETWORKS) networks[brand] = await key('network', brand);
  const keys = {
    network: networks.visa,
    otherNetwork: networks.mastercard,
    visaNetwork: networks.visa,
    networks,
    tesseraBank: await key('issuer', 'iss_tessera_bank'),
    creditUnion: await key('issuer', 'iss_sandbox_credit_union'),
    merchant: await key('merchant', 'mer_test'),
    platform: await key('platform', 'platform'),
    admin: await key('admin', 'operator'),
    acquirer: await key('acquirer', 'acq_test'),
    terminal: await key('terminal', 'trm_test'),
  };
  return {
    env,
    issuers,
    app,
    apiKeys,
    clock,
    keys,
    request({ auth, headers, ...options }) {
      return app.inject({ ...options, headers: { ...(headers ?? {}), ...(auth ? { authorization: `Bearer ${auth}` } : {}) } });
    },
    async close() {
      await app.close();
      await env.close();
    },
  };
}
