import { hostname } from 'node:os';
import type { Database } from './db/database.js';
import { randomBase62 } from './ids.js';

/** A live process renews its lease this often (with its background work). */
export const LEASE_RENEW_SECONDS = 2;
/** A lease not renewed for this long belongs to a process taken as dead (another host's crash). */
export const LEASE_TTL_SECONDS = 15;

/**
 * SQL: true when the boot id in `column` belongs to a process taken as alive. Rows written before
 * leases existed (NULL) count as alive: their lock times out as before.
 */
export function ownerAlive(column: string): string {
  return `(${column} IS NULL OR EXISTS (SELECT 1 FROM infra.process_leases l WHERE l.boot_id = ${column}
            AND l.ended_at IS NULL AND l.renewed_at > now() - make_interval(secs => ${LEASE_TTL_SECONDS})))`;
}

function processGone(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return false;
  } catch (err) {
    // EPERM: it exists under another user.
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

/**
 * This process's lease: a boot id recorded at start. Work it leaves in flight carries the id, so a
 * restarted process (or another one) knows at once that it is dead: on the same host by its pid, with
 * the embedded database (one process per data folder) at start, elsewhere when the lease stops being
 * renewed.
 */
export class ProcessLease {
  readonly bootId = `boot_${randomBase62(20)}`;
  readonly #host = hostname().slice(0, 255) || 'localhost';
  #ended = false;
  #timer: NodeJS.Timeout | undefined;

  private constructor(private readonly db: Database) {}

  static async start(db: Database): Promise<ProcessLease> {
    const lease = new ProcessLease(db);
    await db.query('INSERT INTO infra.process_leases (boot_id, host, pid) VALUES ($1, $2, $3)', [lease.bootId, lease.#host, process.pid]);
    if (db.kind === 'pglite') {
      // The embedded database is opened by one process at a time: every earlier process is gone.
      await db.query('UPDATE infra.process_leases SET ended_at = now() WHERE ended_at IS NULL AND boot_id <> $1', [lease.bootId]);
    } else {
      await lease.endDeadOnThisHost();
    }
    // Renewed on its own timer, whatever else the process does (a busy recovery round included).
    lease.#timer = setInterval(() => void lease.renew().catch(() => {}), LEASE_RENEW_SECONDS * 1000);
    lease.#timer.unref();
    return lease;
  }

  /** Ends the leases of processes of this host that no longer run (a kill -9, a crash). */
  async endDeadOnThisHost(): Promise<number> {
    const { rows } = await this.db.query<{ boot_id: string; pid: number }>('SELECT boot_id, pid FROM infra.process_leases WHERE host = $1 AND ended_at IS NULL AND boot_id <> $2', [
      this.#host,
      this.bootId,
    ]);
    const dead = rows.filter((r) => processGone(r.pid)).map((r) => r.boot_id);
    if (dead.length) await this.db.query('UPDATE infra.process_leases SET ended_at = now() WHERE boot_id = ANY($1::text[]) AND ended_at IS NULL', [dead]);
    return dead.length;
  }

  async renew(): Promise<void> {
    if (this.#ended) return;
    await this.db.query('UPDATE infra.process_leases SET renewed_at = now() WHERE boot_id = $1 AND ended_at IS NULL', [this.bootId]);
    await this.endDeadOnThisHost();
  }

  /** A clean stop: whatever this process still holds is free at once. */
  async end(): Promise<void> {
    if (this.#ended) return;
    this.#ended = true;
    clearInterval(this.#timer);
    await this.db.query('UPDATE infra.process_leases SET ended_at = now() WHERE boot_id = $1', [this.bootId]);
  }
}
