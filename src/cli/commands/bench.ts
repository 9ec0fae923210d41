import { parse, intOption } from '../args.js';
import { UsageError } from '../errors.js';
import { benchTap } from '../../bench/tap.js';

export async function run(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name !== 'tap') throw new UsageError('usage: tessera bench tap [--url URL] [--duration S] [--concurrency C]');
  const { values } = parse(rest, { url: { type: 'string' }, duration: { type: 'string' }, concurrency: { type: 'string' }, 'expected-rps': { type: 'string' } }, false);
  const durationS = intOption(values, 'duration', 1, 3600, 10);
  const concurrency = intOption(values, 'concurrency', 1, 512, 32);
  const expectedRps = intOption(values, 'expected-rps', 1, 100_000, 1500);
  let url: string | undefined;
  if (values.url !== undefined) {
    try {
      url = new URL(values.url).toString();
    } catch {
      throw new UsageError('--url must be an http(s) URL');
    }
  }
  const summary = await benchTap({ url, durationS, concurrency, expectedRps });
  process.stdout.write(`${JSON.stringify(summary)}\n`);
  return summary.ok > 0 ? 0 : 1;
}
