import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, requireOption } from '../args.js';
import { CheckFailed, UsageError } from '../errors.js';
import { loadConfig } from '../../infra/config.js';
import {
  MemoryReplayCache,
  MerchantConfigError,
  PaymentTokenError,
  verifyAndDecrypt,
  type MerchantKeyPair,
} from '../../merchant/sdk/index.js';

const USAGE = [
  'usage: tessera applepay decrypt --token FILE --cert PEM --key PEM [--root PEM] [--at ISO-8601] [--merchant-id ID]',
  '',
  '  decrypt   verify a payment token (PKPaymentToken or bare paymentData, JSON; FILE "-" = stdin) and print',
  '            its decrypted payload. Exit 0 valid, 1 rejected (one line naming the reason), 2 bad arguments.',
  '  --cert/--key     the merchant payment-processing certificate and its private key (repeat both for',
  '                   several keys, e.g. during a rotation: the token picks its key by publicKeyHash)',
  '  --root           trusted root certificate(s), PEM (repeatable). Default: <data dir>/pki/root-ca.pem,',
  "                   the platform's root; pass Apple Root CA - G3 for real Apple tokens",
  '  --at             the verification time (certificate validity and the 5-minute signingTime window)',
  "  --merchant-id    check that the certificate is for this merchant identifier",
].join('\n');

const OPTIONS = {
  help: { type: 'boolean', short: 'h' },
  token: { type: 'string' },
  cert: { type: 'string', multiple: true },
  key: { type: 'string', multiple: true },
  root: { type: 'string', multiple: true },
  at: { type: 'string' },
  'merchant-id': { type: 'string' },
} as const;

type Values = Record<string, unknown>;

const ISO_8601 = /^\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2}))?$/;

function readText(path: string, option: string): string {
  try {
    return readFileSync(path === '-' && option === 'token' ? 0 : path, 'utf8');
  } catch (err) {
    const code = err && typeof err === 'object' && 'code' in err ? ` (${String(err.code)})` : '';
    throw new UsageError(`cannot read --${option} ${path}${code}`);
  }
}

function list(values: Values, name: string): string[] {
  const v = values[name];
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
}

function clockOption(values: Values): Date | undefined {
  const at = values.at;
  if (at === undefined) return undefined;
  const date = typeof at === 'string' && ISO_8601.test(at) ? new Date(at) : undefined;
  if (!date || Number.isNaN(date.getTime())) throw new UsageError('--at must be an ISO-8601 date-time, e.g. 2021-09-01T19:03:06Z');
  return date;
}

/** The default trust anchor: the platform's root, written by the platform's PKI into the data dir. */
function platformRootPath(): string {
  return join(loadConfig().dataDir, 'pki', 'root-ca.pem');
}

/** The SDK's configuration message in the CLI's terms: keys[0].certificatePem → the first --cert. */
function configMessage(message: string): string {
  const NAMES: Record<string, string> = { '.certificatePem': '--cert', '.privateKeyPem': '--key', '': '--cert/--key' };
  return message
    .replace(/^keys\[(\d+)\](\.certificatePem|\.privateKeyPem|)/, (_m, i: string, field: string) => `${NAMES[field]} #${Number(i) + 1}`)
    .replace(/^roots\[(\d+)\]/, (_m, i: string) => `--root #${Number(i) + 1}`);
}

async function decrypt(values: Values): Promise<string> {
  const tokenPath = requireOption(values, 'token');
  const certs = list(values, 'cert');
  const keys = list(values, 'key');
  if (certs.length === 0) throw new UsageError('--cert is required');
  if (keys.length === 0) throw new UsageError('--key is required');
  if (certs.length !== keys.length) throw new UsageError('give one --key for each --cert, in the same order');
  const now = clockOption(values);
  const merchantId = values['merchant-id'];
  if (merchantId !== undefined && (typeof merchantId !== 'string' || merchantId.length === 0)) throw new UsageError('--merchant-id must not be empty');

  let token: unknown;
  try {
    token = JSON.parse(readText(tokenPath, 'token')) as unknown;
  } catch (err) {
    if (err instanceof UsageError) throw err;
    throw new UsageError('--token is not a JSON file');
  }
  const pairs: MerchantKeyPair[] = certs.map((cert, i) => ({ certificatePem: readText(cert, 'cert'), privateKeyPem: readText(keys[i]!, 'key') }));
  let roots = list(values, 'root').map((path) => readText(path, 'root'));
  if (roots.length === 0) {
    const path = platformRootPath();
    if (!existsSync(path)) throw new CheckFailed(`chain: no trusted root: ${path} does not exist; pass --root <PEM> (Apple Root CA - G3 for real Apple tokens)`);
    roots = [readText(path, 'root')];
  }

  try {
    const result = await verifyAndDecrypt(token, {
      roots,
      keys: pairs,
      seenTransactionIds: new MemoryReplayCache(),
      ...(now ? { now } : {}),
      ...(typeof merchantId === 'string' ? { merchantIdentifier: merchantId } : {}),
    });
    return JSON.stringify(result.payload, null, 2);
  } catch (err) {
    if (err instanceof PaymentTokenError) throw new CheckFailed(err.message, 1);
    if (err instanceof MerchantConfigError) throw new UsageError(configMessage(err.message));
    throw err;
  }
}

const SUBCOMMANDS: Record<string, (values: Values) => Promise<string>> = { decrypt };

/** `tessera applepay decrypt`: verify and decrypt Apple Pay payment tokens (real Apple ones or the platform's). */
export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, OPTIONS);
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const [sub, ...extra] = positionals;
  const handler = sub === undefined ? undefined : SUBCOMMANDS[sub];
  if (!handler || extra.length > 0) throw new UsageError(`usage: tessera applepay ${Object.keys(SUBCOMMANDS).join('|')} [options] (see --help)`);
  process.stdout.write(`${await handler(values)}\n`);
  return 0;
}
