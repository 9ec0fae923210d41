import { AcquirerClient } from '../acquirer/client.js';
import { loadConfig } from '../infra/config.js';
import { FetchTransport, InjectTransport, type Transport } from '../infra/transport.js';
import { createLogger } from '../infra/logger.js';
import { unpackMessage } from '../protocol/iso8583/iso8583.js';
import type { Target } from '../scenario/harness.js';
import type { ProvisionedDevice } from '../scenario/provision.js';
import { kernelFor, sandboxTerminal } from '../scenario/tap.js';
import { createTessera } from '../server/tessera.js';
import { seLink } from '../device/nfc.js';
import { provisionMany } from './devices.js';
import { runBench, type BenchSummary } from './runner.js';
import { readFileSync } from 'node:fs';
import { backendPids, queryStats, retryStats, type Database } from '../infra/db/database.js';
import { batchStats } from '../infra/db/batcher.js';

/** The issuers' velocity rule allows 30 approvals per card in 10 minutes; a bench card gets at most this many. */
const TAPS_PER_CARD = 25;

export interface TapBenchOptions {
  url?: string | undefined;
  durationS: number;
  concurrency: number;
  /** Expected throughput, to size the card pool (each card stays under the issuers' velocity limit). */
  expectedRps?: number;
  /**
   * true: each timed tap includes the phone's and the reader's work (the APDU dialogue, the applet's
   * cryptogram, the kernel building the 0100) in this process. false (the default): the phones and
   * readers make the taps' 0100s before the clock starts, and the timed part is what the platform does
   * with a tap (terminal → acquirer → network → issuer and back), so the simulated devices do not take
   * the CPU the platform is measured on.
   */
  live?: boolean;
  log?: (line: string) => void;
}

/** One worker's taps, made before the clock starts: each card's in ATC order. */
interface PreparedTap {
  packed: Uint8Array;
}

/**
 * Many simulated phones tapping many readers: each tap is the full APDU dialogue with a fresh
 * cryptogram, then the 0100 through acquirer, network (ARQC, ATC) and issuer (hold, ledger).
 * Setup (issuing cards and provisioning a phone for each) is not timed; nor, unless `live`, is the
 * phones' and readers' part of each tap (see TapBenchOptions.live). Each card's taps are sent in the
 * order they were made, by one worker, so its ATC only goes up.
 */
export async function benchTap(options: TapBenchOptions): Promise<BenchSummary> {
  const log = options.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  let target: Target;
  if (options.url) {
    const raw = new FetchTransport(options.url, 'platform');
    target = { device: raw, raw, trace: undefined, tessera: undefined, adminKey: process.env.TESSERA_ADMIN_KEY, close: async () => {} };
    if (!target.adminKey) throw new Error('against --url, set TESSERA_ADMIN_KEY (cards and terminals are created with it)');
  } else {
    // Set-up signs up users and adds hundreds of cards: rate limits would refuse that, and guard nothing here.
    // The console's in-memory message trace is off unless TESSERA_TRACE_BUFFER asks for it (an operator's
    // debugging aid: it masks and decodes every message between parties, about a tenth of the CPU of a tap).
    const config = loadConfig(process.env, { LOG_LEVEL: 'silent', TESSERA_RATE_LIMIT_FACTOR: '0', TESSERA_TRACE_BUFFER: process.env.TESSERA_TRACE_BUFFER ?? '0' });
    // In memory only on the embedded database: on a server the KEK must be the configured (or data folder's) one, or a second run could not read the first run's keys.
    const tessera = await createTessera({ config, logger: createLogger({ level: 'silent' }), inMemory: !config.databaseUrl });
    tessera.startBackground();
    const raw = new InjectTransport(() => tessera.app);
    target = { device: raw, raw, trace: undefined, tessera, adminKey: tessera.newAdminKey ?? undefined, close: () => tessera.close() };
    log(`in-process platform on ${config.databaseUrl ? 'PostgreSQL (DATABASE_URL)' : 'embedded PGlite (in memory)'}, cache ${config.redisUrl ? 'Redis (REDIS_URL)' : 'in-process'}`);
  }
  try {
    // The taps a run may send: the expected throughput with a margin (prepared mode makes this many).
    const expected = Math.ceil((options.expectedRps ?? 1500) * options.durationS * 1.2);
    const cards = Math.max(options.concurrency * 2, Math.ceil(expected / TAPS_PER_CARD));
    log(`setting up ${cards} cards, each on its own phone (not timed)…`);
    const devices = await provisionMany(target, cards, log, { defaultCard: true });
    const terminal = await sandboxTerminal(target);
    const acquirer = new AcquirerClient(target.raw, terminal.apiKey);
    const perWorker = Array.from({ length: options.concurrency }, (_, w) => devices.filter((_, i) => i % options.concurrency === w));
    const kernels = perWorker.map((_, w) => {
      // Each worker has its own STAN range so concurrent taps on one reader are never "duplicates".
      let n = 0;
      return kernelFor(terminal, { stan: () => w * 10_000 + 1 + (n++ % 9_999) });
    });
    const uses = new Map<ProvisionedDevice, number>();
    const nextDevice = (w: number, i: number) => {
      const pool = perWorker[w]!;
      const device = pool.find((d) => (uses.get(d) ?? 0) < TAPS_PER_CARD) ?? pool[i % pool.length]!;
      uses.set(device, (uses.get(device) ?? 0) + 1);
      return device;
    };
    /** The phone armed by a double-click and held to the reader: the kernel's 0100, or null. */
    const makeTap = async (w: number, i: number): Promise<Uint8Array | null> => {
      const device = nextDevice(w, i);
      const armed = await device.wallet.preparePayment({ biometric: 'match' });
      if (!armed.ok) return null;
      const outcome = await kernels[w]!.transact(seLink(device.se), { amount: 100 + ((w * 7 + i) % 400) });
      return outcome.kind === 'online' ? outcome.packed : null;
    };
    const approved = async (packed: Uint8Array) => unpackMessage(await acquirer.authorize(packed)).fields[39] === '00';

    let task: (w: number, i: number) => Promise<boolean>;
    if (options.live) {
      log('live: each timed tap includes the phone and reader simulation (same process)');
      task = async (w, i) => {
        const packed = await makeTap(w, i);
        return packed !== null && approved(packed);
      };
    } else {
      // As many taps as the expected throughput needs, plus a margin; a worker that uses them all stops.
      const perWorkerTaps = Math.ceil(expected / options.concurrency);
      log(`phones and readers prepare ${perWorkerTaps * options.concurrency} taps (APDU dialogue, cryptogram, 0100; not timed)…`);
      const prepared: PreparedTap[][] = await Promise.all(
        perWorker.map(async (_, w) => {
          const taps: PreparedTap[] = [];
          for (let i = 0; i < perWorkerTaps; i++) {
            const packed = await makeTap(w, i);
            if (packed) taps.push({ packed });
          }
          return taps;
        }),
      );
      let exhausted = 0;
      task = async (w, i) => {
        const next = prepared[w]![i];
        if (!next) {
          if (exhausted++ === 0) log('a worker used all its prepared taps before the end: raise --expected-rps');
          await new Promise((r) => setTimeout(r, 5));
          return false;
        }
        return approved(next.packed);
      };
    }
    const db = target.tessera?.db;
    const serverBefore = db ? await serverCpu(db) : null;
    const before = { statements: queryStats.statements, transactions: queryStats.transactions, retried: retryStats.retried, cpu: process.cpuUsage(), batches: batchStats.statements, batched: batchStats.items };
    queryStats.byText?.clear();
    const summary = await runBench({ scenario: 'tap', durationS: options.durationS, concurrency: options.concurrency, task });
    const taps = Math.max(1, summary.ok + summary.failed);
    const outbox = target.tessera?.outbox;
    const trailing = outbox ? await outbox.pending() : 0;
    const cpu = process.cpuUsage(before.cpu);
    const serverMs = await serverCpuSince(db, serverBefore);
    log(
      `CPU per tap: this process ${((cpu.user + cpu.system) / 1000 / taps).toFixed(2)} ms` +
        (serverMs !== null ? `, PostgreSQL backends of this database ${(serverMs / taps).toFixed(2)} ms` : '') +
        ' (a machine with N free cores serves at most about N / (their sum) taps per millisecond)',
    );
    log(
      `database work per tap (all parties, background work included): ${((queryStats.statements - before.statements) / taps).toFixed(1)} statements, ` +
        `${((queryStats.transactions - before.transactions) / taps).toFixed(2)} transactions, ${((retryStats.retried - before.retried) / taps).toFixed(3)} serialization retries`,
    );
    const batches = batchStats.statements - before.batches;
    if (batches > 0) log(`answers recorded together: ${batches} statements carried ${batchStats.items - before.batched} (${((batchStats.items - before.batched) / batches).toFixed(1)} each)`);
    if (outbox) {
      // The taps' side effects (the wallet's history and push, merchants' webhooks) are delivered after the
      // answer, by the outbox: how far it trailed at the end shows whether this rate is one it can sustain.
      const started = performance.now();
      let left = trailing;
      while (left > 0 && performance.now() - started < 60_000) {
        await new Promise((r) => setTimeout(r, 250));
        left = await outbox.pending();
      }
      log(
        `outbox: ${trailing} events (history, push, webhooks) still to deliver when the run ended` +
          (trailing > 0 ? (left === 0 ? `, delivered ${((performance.now() - started) / 1000).toFixed(1)} s later` : `, ${left} still after 60 s`) : ''),
      );
      if (trailing > 0 && left === 0) {
        const all = process.cpuUsage(before.cpu);
        const serverAllMs = await serverCpuSince(db, serverBefore);
        log(
          `CPU per tap with that delivery: this process ${((all.user + all.system) / 1000 / taps).toFixed(2)} ms` +
            (serverAllMs !== null ? `, PostgreSQL ${(serverAllMs / taps).toFixed(2)} ms` : '') +
            `; ${((queryStats.statements - before.statements) / taps).toFixed(1)} statements`,
        );
      }
    }
    if (queryStats.byText) {
      const top = [...queryStats.byText].sort((a, b) => b[1].n - a[1].n).slice(0, 40);
      for (const [text, e] of top) log(`  ${(e.n / taps).toFixed(2).padStart(6)}/tap ${(e.ms / e.n).toFixed(2).padStart(6)} ms  ${text}`);
    }
    return summary;
  } finally {
    log(`serialization retries in this process: ${retryStats.retried} (gave up: ${retryStats.exhausted})`);
    await target.close();
  }
}

/** CPU time (ms) the backends serving this database spent since `before` was read (null when not measurable). */
async function serverCpuSince(db: Database | undefined, before: Map<number, number> | null): Promise<number | null> {
  const after = db && before ? await serverCpu(db) : null;
  if (!before || !after) return null;
  let ms = 0;
  for (const [pid, t] of after) ms += t - (before.get(pid) ?? 0);
  return ms;
}

/** CPU time (ms) of each PostgreSQL backend serving this database, when they run on this machine (/proc). */
async function serverCpu(db: Database): Promise<Map<number, number> | null> {
  const out = new Map<number, number>();
  for (const pid of await backendPids(db)) {
    try {
      // Fields 14 and 15 after the command name: user and system time in clock ticks (100 per second).
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out.set(pid, (Number(f[11]) + Number(f[12])) * 10);
    } catch {
      return null;
    }
  }
  return out.size > 0 ? out : null;
}


export type { Transport };
