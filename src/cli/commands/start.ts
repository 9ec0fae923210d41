import { resolve } from 'node:path';
import { parse, intOption } from '../args.js';
import { StartupError } from '../errors.js';
import { databaseFailure, HTTP_PORT, MTLS_PORT, portFailure, preflight } from '../preflight.js';
import { loadConfig, type Config } from '../../infra/config.js';
import { createLogger, logSettings } from '../../infra/logger.js';
import { existingAdminKeyFile } from '../../server/admin-key.js';
import type { Tessera } from '../../server/tessera.js';

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'ECONNRESET', 'ETIMEDOUT']);

/** An error of the boot that is a setting's fault (the database went away, a port was taken meanwhile): its one line. */
function startupFailure(err: unknown, config: Config): StartupError | undefined {
  if (err instanceof StartupError) return err;
  const code = err && typeof err === 'object' && 'code' in err ? String(err.code) : '';
  if (config.databaseUrl && NETWORK_CODES.has(code)) return databaseFailure(err, config.databaseUrl);
  return undefined;
}

async function listen(tessera: Tessera, config: Config): Promise<{ address: string; validationUrl: string }> {
  let address: string;
  try {
    address = await tessera.app.listen({ port: config.port, host: config.host });
  } catch (err) {
    throw portFailure(err, config.port, config.host, HTTP_PORT);
  }
  try {
    return { address, validationUrl: await tessera.listenMerchantValidation() };
  } catch (err) {
    throw portFailure(err, config.mtlsPort, config.host, MTLS_PORT);
  }
}

/** Where the operator's admin key is: printed once when new, else the file it was written to, else how it is set. */
function adminKeyLines(tessera: Tessera, config: Config): string[] {
  if (tessera.newAdminKey) {
    const where = tessera.newAdminKeyFile ? `also kept in ${tessera.newAdminKeyFile}, readable by you only` : 'keep it: it is not stored in clear';
    return [`  admin API key (shown once here; ${where}):`, `    ${tessera.newAdminKey}`];
  }
  if (config.adminKey) return ['  admin API key  the one in TESSERA_ADMIN_KEY'];
  const file = existingAdminKeyFile(config.dataDir);
  if (file) return [`  admin API key  in ${file} (made on the first start)`];
  return ['  admin API key  shown on the first start against this database (not in this data folder); set TESSERA_ADMIN_KEY to use your own'];
}

function banner(tessera: Tessera, config: Config, base: string, validationUrl: string, cache: string, quiet: boolean): string {
  const db = config.databaseUrl ? 'PostgreSQL (DATABASE_URL)' : `embedded PGlite in ${resolve(config.dataDir, 'pg')}`;
  const pages: [string, string, string][] = [
    ['start here', '/', 'what Tessera is, and a first walk-through'],
    ['wallet', '/wallet', 'a phone: add a test card, pay'],
    ['terminal', '/terminal', "a shop's contactless reader: tap from a wallet tab"],
    ['store', '/store', 'an online store that takes the wallet'],
    ['console', '/console', "the operator's view: payments, messages between the parties"],
    ['API docs', '/docs', `OpenAPI 3.1: ${base}/openapi.json`],
  ];
  if (tessera.sandbox) pages.push(['sandbox', '/sandbox/v1', 'test cards, terminals and their keys (JSON)']);
  const width = Math.max(...pages.map(([, path]) => `${base}${path}`.length));
  const lines = [
    '',
    `Tessera is running: ${base}/`,
    '',
    ...pages.map(([name, path, what]) => `  ${name.padEnd(13)}  ${`${base}${path}`.padEnd(width)}  ${what}`),
    '',
    `  API            ${base}   (health: ${base}/health)`,
    `  database       ${db}`,
    `  cache          ${cache}`,
    `  merchant validation (mutual TLS)  ${validationUrl}`,
    '',
    ...adminKeyLines(tessera, config),
    '',
    quiet ? 'Logs: warnings and errors only (LOG_LEVEL=info for more). Stop with Ctrl-C.' : 'Stop with Ctrl-C.',
    '',
  ];
  return lines.join('\n');
}

export async function run(argv: string[]): Promise<number> {
  const { values } = parse(argv, { port: { type: 'string' }, data: { type: 'string' }, host: { type: 'string' } }, false);
  const overrides: Record<string, string> = {};
  if (values.port !== undefined) overrides.PORT = String(intOption(values, 'port', 0, 65535));
  if (values.data !== undefined) overrides.TESSERA_DATA_DIR = values.data;
  if (values.host !== undefined) overrides.HOST = values.host;
  const config = loadConfig(process.env, overrides);
  // Ports, data folder and database first: a setting that cannot work answers now, not after the boot.
  await preflight(config);
  const settings = logSettings(config, process.stdout.isTTY === true);
  const logger = createLogger(settings);

  const { createTessera } = await import('../../server/tessera.js');
  let tessera: Tessera;
  try {
    tessera = await createTessera({ config, logger });
  } catch (err) {
    throw startupFailure(err, config) ?? err;
  }
  let base: string;
  let validationUrl: string;
  try {
    tessera.startBackground();
    const bound = await listen(tessera, config);
    validationUrl = bound.validationUrl;
    base = (config.publicUrl ?? bound.address.replace('0.0.0.0', '127.0.0.1')).replace(/\/$/, '');
    // The store sets itself up once the app listens; its lines (if any) come before the banner.
    await tessera.store.whenReady(10_000).catch(() => undefined);
  } catch (err) {
    await tessera.close().catch(() => undefined);
    throw startupFailure(err, config) ?? err;
  }
  const cache = config.redisUrl ? `Redis (REDIS_URL), ${(await tessera.cache.health()).ok ? 'reachable' : 'NOT reachable: running without it'}` : 'in-process';
  process.stdout.write(banner(tessera, config, base, validationUrl, cache, settings.level === 'warn' && config.logLevel === undefined));

  // Graceful shutdown: stop accepting, let in-flight requests finish, close the database.
  return new Promise<number>((resolveExit) => {
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) return;
      stopping = true;
      logger.info({ signal }, 'shutting down');
      const force = setTimeout(() => resolveExit(1), 10_000);
      force.unref();
      tessera
        .close()
        .then(() => resolveExit(0))
        .catch(() => resolveExit(1));
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
}
