import type { Database } from './db/database.js';
import { purgeExpired, recoverAbandoned, type RecoveryHandler } from './http/idempotency.js';
import type { ProcessLease } from './lease.js';
import { LEASE_RENEW_SECONDS } from './lease.js';
import type { Logger } from './logger.js';

/** Old keys and ended leases are purged every this many rounds. */
const PURGE_EVERY_ROUNDS = 30;

/**
 * The recovery worker of a long-running process: at start and every couple of
 * seconds, settles the requests that stopped processes left unfinished (each route's handler) and
 * frees their keys; now and then purges keys past their replay window and old ended leases.
 * Rounds never overlap; stop() waits for the current one.
 */
export function startRecoveryWorker(options: { db: Database; lease: ProcessLease; handlers: ReadonlyMap<string, RecoveryHandler>; logger: Logger; intervalMs?: number }): { stop(): Promise<void> } {
  const { db, lease, handlers, logger } = options;
  const interval = options.intervalMs ?? LEASE_RENEW_SECONDS * 1000;
  let stopped = false;
  let round = 0;
  let timer: NodeJS.Timeout | undefined;
  let current: Promise<void> = Promise.resolve();

  const once = async () => {
    try {
      await recoverAbandoned(db, lease.bootId, handlers, { logger });
      if (round++ % PURGE_EVERY_ROUNDS === 0) {
        await purgeExpired(db);
        await db.query(`DELETE FROM infra.process_leases WHERE ended_at < now() - interval '1 day'`);
      }
    } catch (err) {
      if (!stopped) logger.warn({ err }, 'recovery round failed; trying again');
    }
  };
  const loop = () => {
    if (stopped) return;
    current = once().finally(() => {
      if (!stopped) {
        timer = setTimeout(loop, interval);
        timer.unref();
      }
    });
  };
  loop();
  return {
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await current;
    },
  };
}
