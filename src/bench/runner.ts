/**
 * A closed-loop load generator: `concurrency` workers each run `task` back to back for `durationS`
 * seconds. Latency is measured per task; the summary is what `tessera bench` prints as its last line.
 */
export interface BenchSummary {
  scenario: string;
  ok: number;
  failed: number;
  rps: number;
  p50_ms: number;
  p99_ms: number;
}

export interface BenchOptions {
  scenario: string;
  durationS: number;
  concurrency: number;
  /** Resolves true for a success (e.g. an approved tap), false for a failure; a throw is a failure too. */
  task: (worker: number, iteration: number) => Promise<boolean>;
  /** Progress goes to stderr so the last line of stdout stays the JSON summary. */
  progress?: (text: string) => void;
  onFailure?: (err: unknown) => void;
}

/**
 * A set-up step's progress on stderr: a bar redrawn in place on a terminal, else a line at each quarter
 * (logs stay short). done() ends it with the time it took.
 */
export function progressBar(label: string, total: number, out: NodeJS.WriteStream = process.stderr): { tick(n?: number): void; done(): number } {
  const started = performance.now();
  const width = 30;
  let n = 0;
  let lastQuarter = -1;
  let lastDraw = 0;
  const draw = (final: boolean) => {
    const frac = total > 0 ? Math.min(1, n / total) : 1;
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    if (out.isTTY) {
      const now = performance.now();
      if (!final && now - lastDraw < 100) return;
      lastDraw = now;
      out.write(`\r${label} ${'█'.repeat(Math.round(frac * width)).padEnd(width, '░')} ${n}/${total}  ${seconds}s${final ? '\n' : ''}`);
      return;
    }
    const quarter = Math.floor(frac * 4);
    if (final || quarter > lastQuarter) {
      lastQuarter = quarter;
      out.write(`${label}: ${n}/${total} (${seconds}s)\n`);
    }
  };
  draw(false);
  return {
    tick(k = 1) {
      n += k;
      if (n < total) draw(false);
    },
    done() {
      draw(true);
      return (performance.now() - started) / 1000;
    },
  };
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return 0;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return Math.round(sorted[i]! * 100) / 100;
}

/**
 * TESSERA_BENCH_CPU_PROFILE=file.cpuprofile: a V8 CPU profile of the timed part only (set-up excluded),
 * for Chrome DevTools or any .cpuprofile viewer.
 */
async function startProfile(): Promise<(() => Promise<void>) | null> {
  const file = process.env.TESSERA_BENCH_CPU_PROFILE;
  if (!file) return null;
  const { Session } = await import('node:inspector/promises');
  const { writeFile } = await import('node:fs/promises');
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
  return async () => {
    const { profile } = await session.post('Profiler.stop');
    await writeFile(file, JSON.stringify(profile));
    session.disconnect();
  };
}

export async function runBench(options: BenchOptions): Promise<BenchSummary> {
  const stopProfile = await startProfile();
  const latencies: number[] = [];
  let ok = 0;
  let failed = 0;
  const started = performance.now();
  const deadline = started + options.durationS * 1000;
  const progress = options.progress ?? ((text: string) => process.stderr.write(text));
  const width = 30;
  const timer = setInterval(() => {
    const elapsed = (performance.now() - started) / 1000;
    const frac = Math.min(1, elapsed / options.durationS);
    const bar = '█'.repeat(Math.round(frac * width)).padEnd(width, '░');
    progress(`\r${options.scenario} ${bar} ${elapsed.toFixed(1)}s  ok ${ok}  failed ${failed}  ${(ok / Math.max(elapsed, 0.001)).toFixed(0)}/s   `);
  }, 250);
  timer.unref();

  const worker = async (w: number) => {
    for (let i = 0; performance.now() < deadline; i++) {
      const t0 = performance.now();
      let success = false;
      try {
        success = await options.task(w, i);
      } catch (err) {
        options.onFailure?.(err);
      }
      latencies.push(performance.now() - t0);
      if (success) ok++;
      else failed++;
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, (_, w) => worker(w)));
  clearInterval(timer);
  const seconds = (performance.now() - started) / 1000;
  await stopProfile?.();
  progress('\n');
  const sorted = Float64Array.from(latencies).sort();
  return { scenario: options.scenario, ok, failed, rps: Math.round((ok / seconds) * 10) / 10, p50_ms: percentile(sorted, 50), p99_ms: percentile(sorted, 99) };
}
