import { parse, intOption } from '../args.js';
import { UsageError } from '../errors.js';
import { benchTap } from '../../bench/tap.js';
import { benchInApp } from '../../bench/inapp.js';

export async function run(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === 'inapp') return inapp(rest);
  if (name !== 'tap') throw new UsageError('usage: tessera bench tap|inapp [--url URL] [--duration S] [--concurrency C] [--expected-rps N] [--live (tap)] [--validation-url URL (inapp)]');
  const { values } = parse(rest, { url: { type: 'string' }, duration: { type: 'string' }, concurrency: { type: 'string' }, 'expected-rps': { type: 'string' }, live: { type: 'boolean' } }, false);
  const durationS = intOption(values, 'duration', 1, 3600, 10);
  const concurrency = intOption(values, 'concurrency', 1, 512, 32);
  // Unset: the bench sizes its set-up from a short warm-up.
  const expectedRps = values['expected-rps'] === undefined ? undefined : intOption(values, 'expected-rps', 1, 100_000, 1500);
  let url: string | undefined;
  if (values.url !== undefined) {
    try {
      url = new URL(values.url).toString();
    } catch {
      throw new UsageError('--url must be an http(s) URL');
    }
  }
  const summary = await benchTap({ url, durationS, concurrency, expectedRps, live: values.live === true });
  process.stdout.write(`${JSON.stringify(summary)}\n`);
  return summary.ok > 0 ? 0 : 1;
}

/** `tessera bench inapp`: in-app payments end to end (docs/inapp.md); the same output contract as `bench tap`. */
async function inapp(argv: string[]): Promise<number> {
  const { values } = parse(argv, { url: { type: 'string' }, 'validation-url': { type: 'string' }, duration: { type: 'string' }, concurrency: { type: 'string' }, 'expected-rps': { type: 'string' } }, false);
  const durationS = intOption(values, 'duration', 1, 3600, 10);
  const concurrency = intOption(values, 'concurrency', 1, 512, 8);
  const expectedRps = intOption(values, 'expected-rps', 1, 100_000, 100);
  const urlOf = (v: string | undefined, name: string) => {
    if (v === undefined) return undefined;
    try {
      return new URL(v).toString();
    } catch {
      throw new UsageError(`--${name} must be an http(s) URL`);
    }
  };
  const url = urlOf(values.url, 'url');
  const validationUrl = urlOf(values['validation-url'], 'validation-url');
  if (validationUrl && !url) throw new UsageError('--validation-url needs --url');
  const summary = await benchInApp({ url, validationUrl, durationS, concurrency, expectedRps });
  process.stdout.write(`${JSON.stringify(summary)}\n`);
  return summary.ok > 0 ? 0 : 1;
}
