import { parse } from '../args.js';
import { UsageError } from '../errors.js';
import { luhnCheck } from '../../protocol/cards/index.js';
import { openTarget, stepper } from '../../scenario/harness.js';
import { runProvision, type NetworkName } from '../../scenario/provision.js';

const NETWORKS = ['visa', 'mastercard', 'amex', 'discover'];

function networkOption(v: unknown): NetworkName | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || !NETWORKS.includes(v)) throw new UsageError(`--network must be one of ${NETWORKS.join(', ')}`);
  return v as NetworkName;
}

function cardOption(v: unknown): string | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || !/^\d{12,19}$/.test(v)) throw new UsageError('--card must be 12 to 19 digits');
  if (!luhnCheck(v)) throw new UsageError('--card fails the Luhn check');
  return v;
}

function urlOption(v: unknown): string | undefined {
  if (v === undefined) return undefined;
  try {
    const u = new URL(String(v));
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error();
    return u.toString();
  } catch {
    throw new UsageError('--url must be an http(s) URL');
  }
}

export async function run(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === 'provision') return provision(rest);
  throw new UsageError(`usage: tessera scenario provision [--network N] [--card NUMBER] [--yellow] [--url URL] [--trace FILE]`);
}

async function provision(argv: string[]): Promise<number> {
  const { values } = parse(argv, { network: { type: 'string' }, card: { type: 'string' }, yellow: { type: 'boolean' }, url: { type: 'string' }, trace: { type: 'string' } }, false);
  const network = networkOption(values.network);
  const card = cardOption(values.card);
  const url = urlOption(values.url);
  const log = stepper();
  const target = await openTarget({ url, traceFile: values.trace });
  try {
    log.step(url ? `platform at ${url}` : 'throwaway embedded platform (PGlite in memory, every party in this process)');
    const r = await runProvision(target.device, { network, card, yellow: values.yellow === true }, log);
    process.stdout.write(`\nOK: ${r.network} card active on the device (card ${r.cardId}, token ${r.tokenRef})${values.trace ? `; trace in ${values.trace}` : ''}\n`);
    return 0;
  } catch (err) {
    const code = (err as { code?: string }).code;
    process.stdout.write(`\nFAILED: ${code ? `${code}: ` : ''}${(err as Error).message}\n`);
    return 1;
  } finally {
    await target.close();
  }
}
