import { AcquirerClient } from '../acquirer/client.js';
import type { Transport } from '../infra/transport.js';
import { unpackMessage } from '../protocol/iso8583/iso8583.js';
import type { Target } from '../scenario/harness.js';
import type { ProvisionedDevice } from '../scenario/provision.js';
import { kernelFor, sandboxTerminal } from '../scenario/tap.js';
import { seLink } from '../device/nfc.js';
import { provisionMany } from './devices.js';
import { progressBar, runBench, type BenchSummary } from './runner.js';
import { inProcessTarget, remoteTarget } from './platform.js';
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

/**
 * Many simulated phones tapping many readers: each tap is the full APDU dialogue with a fresh
 * cryptogram, then the 0100 through acquirer, network (ARQC, ATC) and issuer (hold, ledger).
 * Setup (issuing cards and provisioning a phone for each) is not timed; nor, unless `live`, is the
 * phones' and readers' part of each tap (see TapBenchOptions.live). Each card's taps are sent in the
 * order they were made, by one worker, so its ATC only goes up.
 */
export async function benchTap(options: TapBenchOptions): Promise<BenchSummary> {
  const log = options.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  const startedAt = performance.now();
  let target: Target;
  if (options.url) {
    target = remoteTarget(options.url);
    if (!target.adminKey) throw new Error('against --url, set TESSERA_ADMIN_KEY (cards and terminals are created with it)');
  } else {
    // The console's in-memory message trace is off unless TESSERA_TRACE_BUFFER asks for it (an operator's
    // debugging aid: it masks and decodes every message between parties, about a tenth of the CPU of a tap).
    target = (await inProcessTarget({ TESSERA_TRACE_BUFFER: process.env.TESSERA_TRACE_BUFFER ?? '0' }, log)).target;
    log(`platform ready in ${((performance.now() - startedAt) / 1000).toFixed(1)} s`);
  }
  try {
    const setupStarted = performance.now();
    const terminal = await sandboxTerminal(target);
    const acquirer = new AcquirerClient(target.raw, terminal.apiKey);
    // Each worker has its own cards (a card's taps go in ATC order, by one worker) and its own STAN range
    // (concurrent taps on one reader are never "duplicates").
    const perWorker: ProvisionedDevice[][] = Array.from({ length: options.concurrency }, () => []);
    const kernels = perWorker.map((_, w) => {
      let n = 0;
      return kernelFor(terminal, { stan: () => w * 10_000 + 1 + (n++ % 9_999) });
    });
    let cardCount = 0;
    const addCards = async (count: number, label: string) => {
      if (count <= 0) return;
      const bar = progressBar(label, count);
      const devices = await provisionMany(target, count, log, { defaultCard: true, onProgress: () => bar.tick() });
      bar.done();
      for (const d of devices) perWorker[cardCount++ % options.concurrency]!.push(d);
    };
    const uses = new Map<ProvisionedDevice, number>();
    /** The worker's next card with taps left under the velocity limit (null: none left). */
    const nextDevice = (w: number): ProvisionedDevice | null => {
      const device = perWorker[w]!.find((d) => (uses.get(d) ?? 0) < TAPS_PER_CARD);
      if (!device) return null;
      uses.set(device, (uses.get(device) ?? 0) + 1);
      return device;
    };
    /** The phone armed by a double-click and held to the reader: the kernel's 0100, or null. */
    const makeTap = async (w: number, i: number): Promise<Uint8Array | null> => {
      const device = nextDevice(w);
      if (!device) return null;
      const armed = await device.wallet.preparePayment({ biometric: 'match' });
      if (!armed.ok) return null;
      const outcome = await kernels[w]!.transact(seLink(device.se), { amount: 100 + ((w * 7 + i) % 400) });
      return outcome.kind === 'online' ? outcome.packed : null;
    };
    const approved = async (packed: Uint8Array) => unpackMessage(await acquirer.authorize(packed)).fields[39] === '00';

    // One card per worker first, then a short warm-up on them: what the platform answers per second at
    // this concurrency sizes the rest of the set-up (cards, and prepared taps), so the set-up makes
    // about what the run can use rather than what --expected-rps guessed.
    await addCards(options.concurrency, `set-up: ${options.concurrency} cards for the warm-up (each on its own phone)`);
    const warmupTaps = Math.min(4, TAPS_PER_CARD - 1);
    const warm = await Promise.all(perWorker.map(async (_, w) => {
      const taps: Uint8Array[] = [];
      for (let i = 0; i < warmupTaps; i++) {
        const packed = await makeTap(w, i);
        if (packed) taps.push(packed);
      }
      return taps;
    }));
    const warmStarted = performance.now();
    let warmOk = 0;
    await Promise.all(warm.map(async (taps) => {
      for (const packed of taps) if (await approved(packed).catch(() => false)) warmOk++;
    }));
    const warmRate = warmOk / Math.max(0.001, (performance.now() - warmStarted) / 1000);
    // The expected rate: --expected-rps when given, else the warm-up's with a margin (a warm platform is faster).
    const rate = options.expectedRps ?? Math.max(options.concurrency, Math.ceil(warmRate * 1.5));
    const expected = Math.ceil(rate * options.durationS * 1.1);
    log(`warm-up: ${warmOk} taps approved at ${warmRate.toFixed(0)}/s; sizing the set-up for ${expected} taps (${options.expectedRps ? '--expected-rps' : 'the warm-up rate × 1.5'} over ${options.durationS} s)`);
    const left = perWorker.flat().reduce((n, d) => n + (TAPS_PER_CARD - (uses.get(d) ?? 0)), 0);
    await addCards(Math.ceil(Math.max(0, expected - left) / TAPS_PER_CARD), 'set-up: more cards, each on its own phone');

    let task: (w: number, i: number) => Promise<boolean>;
    if (options.live) {
      log('live: each timed tap includes the phone and reader simulation (same process)');
      task = async (w, i) => {
        const packed = await makeTap(w, i);
        return packed !== null && approved(packed);
      };
    } else {
      // The taps the run can use, made before the clock starts; a worker that uses them all makes the
      // rest live (phone and reader in the timed part, said below) rather than stopping.
      const perWorkerTaps = Math.ceil(expected / options.concurrency);
      const bar = progressBar(`set-up: phones and readers prepare ${perWorkerTaps * options.concurrency} taps (APDU dialogue, cryptogram, 0100)`, perWorkerTaps * options.concurrency);
      const prepared: Uint8Array[][] = await Promise.all(
        perWorker.map(async (_, w) => {
          const taps: Uint8Array[] = [];
          for (let i = 0; i < perWorkerTaps; i++) {
            const packed = await makeTap(w, i);
            bar.tick();
            if (packed) taps.push(packed);
            // Let the other workers' preparation (and the bar) run between taps.
            if (i % 16 === 15) await new Promise((r) => setImmediate(r));
          }
          return taps;
        }),
      );
      bar.done();
      let live = 0;
      task = async (w, i) => {
        const next = prepared[w]![i];
        if (next) return approved(next);
        if (live++ === 0) log('\na worker used all its prepared taps: the rest of its taps are made live (raise --expected-rps to prepare more)');
        const packed = await makeTap(w, i);
        return packed !== null && approved(packed);
      };
    }
    const setupS = (performance.now() - setupStarted) / 1000;
    log(`set-up: ${cardCount} cards, ${((performance.now() - setupStarted) / 1000).toFixed(1)} s (not timed)`);
    const db = target.tessera?.db;
    const serverBefore = db ? await serverCpu(db) : null;
    const before = { statements: queryStats.statements, transactions: queryStats.transactions, retried: retryStats.retried, cpu: process.cpuUsage(), batches: batchStats.statements, batched: batchStats.items };
    queryStats.byText?.clear();
    const measuredStarted = performance.now();
    const summary = await runBench({ scenario: 'tap', durationS: options.durationS, concurrency: options.concurrency, task });
    log(`timings: platform start ${((setupStarted - startedAt) / 1000).toFixed(1)} s, set-up ${setupS.toFixed(1)} s, measured ${((performance.now() - measuredStarted) / 1000).toFixed(1)} s`);
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
