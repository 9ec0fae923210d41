/**
 * What `tessera start` checks before the heavy boot (migrations, keys, seeding), so a setting that cannot work
 * answers in a second with one line naming the cause and the setting to change (StartupError, exit 2)
 * instead of an internal error a minute later. The same messages serve the errors the boot itself meets.
 */
import { mkdirSync, unlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import type { Config } from '../infra/config.js';
import { StartupError, scrubMessage } from './errors.js';

/** A listening port's setting: how the message names it and tells how to change it. */
export interface PortSetting {
  what: string;
  change: string;
}

export const HTTP_PORT: PortSetting = { what: 'port', change: 'choose another with --port N or PORT=N (0 = any free port)' };
export const MTLS_PORT: PortSetting = { what: 'the merchant-validation (mutual TLS) port', change: 'choose another with TESSERA_MTLS_PORT=N (0 = any free port)' };

function codeOf(err: unknown): string {
  return err && typeof err === 'object' && 'code' in err && typeof err.code === 'string' ? err.code : err instanceof Error ? err.name : 'error';
}

/** The one line for a port Tessera cannot listen on. */
export function portFailure(err: unknown, port: number, host: string, setting: PortSetting): StartupError {
  const code = codeOf(err);
  if (code === 'EADDRINUSE') {
    return new StartupError(`${setting.what} ${port} on ${host} is already in use (EADDRINUSE; another Tessera?): stop what uses it, or ${setting.change}`);
  }
  if (code === 'EACCES') return new StartupError(`${setting.what} ${port} on ${host} needs privileges (EACCES): ${setting.change}, above 1023`);
  if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND' || code === 'EAI_AGAIN') {
    return new StartupError(`cannot listen on ${host} (${code}: not an address of this machine): set --host or HOST, e.g. 127.0.0.1`);
  }
  return new StartupError(`cannot listen on ${setting.what} ${port} on ${host} (${code}): ${setting.change}`);
}

/** Binds the port for a moment and lets it go: a port in use or forbidden fails here, before the boot. */
export async function checkPort(port: number, host: string, setting: PortSetting): Promise<void> {
  if (port === 0) return;
  await new Promise<void>((resolveCheck, reject) => {
    const server = createServer();
    server.once('error', (err) => reject(portFailure(err, port, host, setting)));
    server.listen({ port, host, exclusive: true }, () => server.close(() => resolveCheck()));
  });
}

/** Creates the data folder if needed and writes and removes a file in it. */
export function checkDataDir(dataDir: string): void {
  const dir = resolve(dataDir);
  const probe = join(dir, `.write-check-${process.pid}`);
  try {
    mkdirSync(dir, { recursive: true });
    writeFileSync(probe, '');
    unlinkSync(probe);
  } catch (err) {
    throw new StartupError(`the data folder ${dir} is not writable (${codeOf(err)}): choose another with --data DIR or TESSERA_DATA_DIR=DIR`);
  }
}

/** host:port/database of a PostgreSQL URL, without the user or password. */
export function databaseLabel(url: string): string {
  try {
    const u = new URL(url);
    return `${u.hostname || 'localhost'}:${u.port || '5432'}${u.pathname}`;
  } catch {
    return 'DATABASE_URL';
  }
}

/** The one line for a database Tessera cannot use. */
export function databaseFailure(err: unknown, url: string): StartupError {
  const where = databaseLabel(url);
  const code = codeOf(err);
  const fix = 'start PostgreSQL there, or fix DATABASE_URL (unset it for the embedded database)';
  if (['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'ECONNRESET'].includes(code)) {
    return new StartupError(`the database at ${where} is not reachable (${code}): ${fix}`);
  }
  const message = err instanceof Error ? scrubMessage(err.message.split('\n')[0]!) : '';
  if (/timeout/i.test(message)) return new StartupError(`the database at ${where} did not answer in time (timeout): ${fix}`);
  // PostgreSQL's own refusals (28P01 wrong password, 3D000 no such database, ...) carry a SQLSTATE code.
  return new StartupError(`the database at ${where} refused Tessera (${code}${message ? `: ${message}` : ''}): fix DATABASE_URL`);
}

/** One connection and `SELECT 1`, within a few seconds. */
export async function checkDatabase(url: string, timeoutMs = 5000): Promise<void> {
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: timeoutMs, query_timeout: timeoutMs });
  client.on('error', () => {});
  try {
    await client.connect();
    await client.query('SELECT 1');
  } catch (err) {
    throw databaseFailure(err, url);
  } finally {
    await client.end().catch(() => {});
  }
}

/** Everything `tessera start` can check before it boots. */
export async function preflight(config: Config): Promise<void> {
  if (config.port !== 0 && config.port === config.mtlsPort) {
    throw new StartupError(`PORT and TESSERA_MTLS_PORT are both ${config.port}: give the merchant-validation listener its own port (TESSERA_MTLS_PORT=N, 0 = any free port)`);
  }
  await checkPort(config.port, config.host, HTTP_PORT);
  await checkPort(config.mtlsPort, config.host, MTLS_PORT);
  checkDataDir(config.dataDir);
  if (config.databaseUrl) await checkDatabase(config.databaseUrl);
}
