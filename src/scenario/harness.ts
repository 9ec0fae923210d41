import { loadConfig } from '../infra/config.js';
import { createLogger } from '../infra/logger.js';
import { JsonlTraceSink, maskForTrace } from '../infra/trace.js';
import { FetchTransport, InjectTransport, TracingTransport, type TraceSink, type Transport } from '../infra/transport.js';
import { createTessera, type Tessera } from '../server/tessera.js';
import { openThrowawayDatabase } from './throwaway.js';
import { BusyRetryTransport } from './busy-retry.js';

export interface Target {
  /** How the simulated device reaches the platform (traced as device ↔ platform). */
  device: Transport;
  /** Raw transport to the platform, untraced (operator calls). */
  raw: Transport;
  trace: TraceSink | undefined;
  tessera: Tessera | undefined;
  /** The operator key of a throwaway platform (undefined against --url unless TESSERA_ADMIN_KEY is set). */
  adminKey: string | undefined;
  close(): Promise<void>;
}

/**
 * A scenario runs against a throwaway embedded platform (PGlite in memory, every party in process) or,
 * with --url, against a running one. With a trace file, every message between parties is written
 * as JSON Lines with card data masked.
 */
export async function openTarget(options: { url?: string | undefined; traceFile?: string | undefined }): Promise<Target> {
  const trace = options.traceFile ? new JsonlTraceSink(options.traceFile) : undefined;
  // Every simulated client retries `busy_retry` as the API asks; each attempt is traced.
  const wrap = (t: Transport) => new BusyRetryTransport(trace ? new TracingTransport(t, trace, 'device', 'platform', maskForTrace) : t);
  if (options.url) {
    const fetched = new FetchTransport(options.url, 'platform');
    return { device: wrap(fetched), raw: new BusyRetryTransport(fetched), trace, tessera: undefined, adminKey: process.env.TESSERA_ADMIN_KEY, close: async () => {} };
  }
  const config = loadConfig({ ...process.env, DATABASE_URL: '', REDIS_URL: '' }, { LOG_LEVEL: 'silent' });
  const logger = createLogger({ level: 'silent' });
  const { db, migrated } = await openThrowawayDatabase();
  const tessera = await createTessera({ config, logger, inMemory: true, db, migrated, ...(trace ? { trace } : {}) });
  const injected = new InjectTransport(() => tessera.app);
  return { device: wrap(injected), raw: new BusyRetryTransport(injected), trace, tessera, adminKey: tessera.newAdminKey, close: () => tessera.close() };
}

/** Step-by-step output: what happened, in words, on stdout. */
export function stepper(out: (line: string) => void = (l) => process.stdout.write(`${l}\n`)) {
  let n = 0;
  return {
    step(text: string) {
      n += 1;
      out(`${String(n).padStart(2)}. ${text}`);
    },
    detail(text: string) {
      out(`      ${text}`);
    },
  };
}
