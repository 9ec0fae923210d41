import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import { createTessera, type Tessera } from '../../src/server/tessera.js';
import { createTestEnv, type TestEnv } from './env.js';

export interface TestTessera {
  tessera: Tessera;
  env: TestEnv;
  adminKey: string;
  /** The merchant-validation listener's URL (HTTPS, mutual TLS, a free loopback port). */
  validationUrl: string;
  request(options: InjectOptions & { auth?: string }): Promise<LightMyRequestResponse>;
  close(): Promise<void>;
}

/** A whole platform on a throwaway database, driven with Fastify's inject (no socket). */
export async function startTestTessera(): Promise<TestTessera> {
  const env = await createTestEnv();
  const tessera = await createTessera({ config: env.config, logger: env.logger, db: env.db, cache: env.cache });
  const adminKey = tessera.newAdminKey;
  if (!adminKey) throw new Error('a fresh database should create the admin key');
  const validationUrl = await tessera.listenMerchantValidation({ port: 0, host: '127.0.0.1' });
  return {
    tessera,
    env,
    adminKey,
    validationUrl,
    request({ auth, headers, ...options }) {
      return tessera.app.inject({ ...options, headers: { ...(headers ?? {}), ...(auth ? { authorization: `Bearer ${auth}` } : {}) } });
    },
    async close() {
      await tessera.stopMerchantValidation();
      await tessera.app.close();
      await env.close();
    },
  };
}
