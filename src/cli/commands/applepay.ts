import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, requireOption } from '../args.js';
import { CheckFailed, UsageError } from '../errors.js';
import { loadConfig } from '../../infra/config.js';
import { PartyError } from '../../infra/transport.js';
import { currencyByAlpha, formatAmount, parseAmount, SUPPORTED_CURRENCIES } from '../../protocol/currency.js';
import type { NetworkName } from '../../scenario/provision.js';
import {
  MemoryReplayCache,
  MerchantConfigError,
  PaymentTokenError,
  verifyAndDecrypt,
  type MerchantKeyPair,
} from '../../merchant/sdk/index.js';

const OPTIONS = {
  token: { type: 'string' },
  cert: { type: 'string', multiple: true },
  key: { type: 'string', multiple: true },
  root: { type: 'string', multiple: true },
  at: { type: 'string' },
  'merchant-id': { type: 'string' },
  out: { type: 'string' },
  amount: { type: 'string' },
  currency: { type: 'string' },
  network: { type: 'string' },
  rsa: { type: 'boolean' },
  url: { type: 'string' },
  'validation-url': { type: 'string' },
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

/** `tessera applepay token`: flow 3 with a simulated device; the token and what decrypts it, to --out. */
async function token(values: Values): Promise<string> {
  const out = requireOption(values, 'out');
  const currency = currencyByAlpha(typeof values.currency === 'string' ? values.currency : 'USD');
  if (!currency) throw new UsageError(`--currency must be one of ${SUPPORTED_CURRENCIES.join(', ')}`);
  const amountText = typeof values.amount === 'string' ? values.amount : '10.00';
  const amount = parseAmount(amountText, currency);
  if (amount === undefined || amount <= 0) throw new UsageError(`--amount must be a positive amount in ${currency.alpha} (e.g. 10.00)`);
  const network = values.network ?? 'visa';
  if (typeof network !== 'string' || !['visa', 'mastercard', 'amex', 'discover'].includes(network)) throw new UsageError('--network must be one of visa, mastercard, amex, discover');
  const merchantId = values['merchant-id'];
  if (merchantId !== undefined && (typeof merchantId !== 'string' || !/^merchant\.[A-Za-z0-9][A-Za-z0-9._-]{1,118}$/.test(merchantId))) {
    throw new UsageError('--merchant-id must look like merchant.com.example.shop');
  }
  const url = urlOption(values.url, 'url');
  let validationUrl = urlOption(values['validation-url'], 'validation-url');
  if (values['validation-url'] !== undefined && !url) throw new UsageError('--validation-url needs --url');
  try {
    mkdirSync(out, { recursive: true });
  } catch {
    throw new UsageError(`cannot create --out ${out}`);
  }

  // The platform and the simulated device load only now: decrypt and bad arguments answer without them.
  const [{ openTarget, stepper }, { runInApp }] = await Promise.all([import('../../scenario/harness.js'), import('../../scenario/inapp.js')]);
  const target = await openTarget({ url });
  try {
    const adminKey = target.adminKey;
    if (!adminKey) throw new UsageError('--url needs the operator key in TESSERA_ADMIN_KEY (merchants are registered by the operator)');
    let rootPem: string;
    if (target.tessera) {
      validationUrl = await target.tessera.listenMerchantValidation({ port: 0, host: '127.0.0.1' });
      rootPem = await target.tessera.pki.rootPem();
    } else {
      const base = new URL(url!);
      validationUrl ??= `https://${base.hostname}:${loadConfig().mtlsPort}/paymentservices/startSession`;
      const res = await fetch(new URL('/platform/v1/pki/root-ca.pem', base));
      if (!res.ok) throw new CheckFailed(`the platform's root certificate is not available at ${url} (HTTP ${res.status})`);
      rootPem = await res.text();
    }
    const log = stepper();
    const run = await runInApp(
      target.device,
      { adminKey, validationUrl: validationUrl!, rootPem, network: network as NetworkName, merchantIdentifier: merchantId as string | undefined, amount: formatAmount(amount, currency), currency: currency.alpha, rsa: values.rsa === true },
      log,
    );
    const files = {
      'token.json': `${JSON.stringify(run.token, null, 2)}\n`,
      'merchant-cert.pem': run.merchant.processing.certificatePem,
      'merchant-key.pem': run.merchant.processing.privateKeyPem,
      'root-ca.pem': rootPem,
    };
    for (const [name, content] of Object.entries(files)) writeFileSync(join(out, name), content, { mode: name.endsWith('key.pem') ? 0o600 : 0o644 });
    return [
      `wrote ${join(out, 'token.json')} (${run.token.paymentData.version}, ${run.token.paymentMethod.displayName}, merchant ${run.merchant.merchantIdentifier})`,
      `decrypt it: tessera applepay decrypt --token ${join(out, 'token.json')} --cert ${join(out, 'merchant-cert.pem')} --key ${join(out, 'merchant-key.pem')} --root ${join(out, 'root-ca.pem')}`,
    ].join('\n');
  } catch (err) {
    if (err instanceof PartyError) throw new CheckFailed(`the platform refused: ${err.code ?? err.status} ${err.message}`);
    throw err;
  } finally {
    if (target.tessera) await target.tessera.stopMerchantValidation();
    await target.close();
  }
}

function urlOption(v: unknown, name: string): string | undefined {
  if (v === undefined) return undefined;
  try {
    const u = new URL(String(v));
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error();
    return u.toString();
  } catch {
    throw new UsageError(`--${name} must be an http(s) URL`);
  }
}

const SUBCOMMANDS: Record<string, (values: Values) => Promise<string>> = { decrypt, token };

/** `tessera applepay decrypt`: verify and decrypt Apple Pay payment tokens (real Apple ones or the platform's). */
export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, OPTIONS);
  const [sub, ...extra] = positionals;
  const handler = sub === undefined ? undefined : SUBCOMMANDS[sub];
  if (!handler || extra.length > 0) throw new UsageError(`usage: tessera applepay ${Object.keys(SUBCOMMANDS).join('|')} [options] (see --help)`);
  process.stdout.write(`${await handler(values)}\n`);
  return 0;
}
