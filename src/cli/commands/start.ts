import { resolve } from 'node:path';
import { parse, intOption } from '../args.js';
import { loadConfig } from '../../infra/config.js';
import { createLogger } from '../../infra/logger.js';
import { createTessera } from '../../server/tessera.js';

export async function run(argv: string[]): Promise<number> {
  const { values } = parse(argv, { port: { type: 'string' }, data: { type: 'string' }, host: { type: 'string' } }, false);
  const overrides: Record<string, string> = {};
  if (values.port !== undefined) overrides.PORT = String(intOption(values, 'port', 0, 65535));
  if (values.data !== undefined) overrides.TESSERA_DATA_DIR = values.data;
  if (values.host !== undefined) overrides.HOST = values.host;
  const config = loadConfig(process.env, overrides);
  const logger = createLogger({ level: config.logLevel });

  const tessera = await createTessera({ config, logger });
  tessera.startBackground();
  const address = await tessera.app.listen({ port: config.port, host: config.host });
  const validationUrl = await tessera.listenMerchantValidation();
  const base = config.publicUrl ?? address.replace('0.0.0.0', '127.0.0.1');
  const db = config.databaseUrl ? 'PostgreSQL (DATABASE_URL)' : `embedded PGlite in ${resolve(config.dataDir, 'pg')}`;
  const cache = config.redisUrl ? `Redis (REDIS_URL), ${(await tessera.cache.health()).ok ? 'reachable' : 'NOT reachable: running without it'}` : 'in-process';
  const lines = [
    '',
    `Tessera ${address ? 'is running' : ''}`,
    `  API            ${base}`,
    `  health         ${base}/health`,
    `  API docs       ${base}/docs   (OpenAPI 3.1: ${base}/openapi.json)`,
    `  database       ${db}`,
    `  cache          ${cache}`,
    `  merchant validation (mutual TLS)  ${validationUrl}`,
  ];
  if (tessera.newAdminKey) {
    lines.push('', `  operator admin API key (shown once, keep it): ${tessera.newAdminKey}`);
  }
  lines.push('', 'Stop with Ctrl-C.', '');
  process.stdout.write(lines.join('\n'));

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
