// Only light modules here: every argument is checked before the platform's modules are loaded or anything starts.
import { parse } from '../args.js';
import { UsageError } from '../errors.js';
import { luhnCheck } from '../../protocol/cards/index.js';
import { currencyByAlpha, parseAmount, SUPPORTED_CURRENCIES } from '../../protocol/currency.js';
import { choosePlatform, describeChoice, type PlatformChoice } from '../../scenario/platform.js';
import type { NetworkName } from '../../scenario/provision.js';
import type { ScenarioLog, ScenarioOutcome } from '../../scenario/lost-device.js';
import type { Target } from '../../scenario/harness.js';

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

const USAGE = `usage:
  tessera scenario provision [--network N] [--card NUMBER] [--yellow] [--url URL | --embedded] [--trace FILE]
  tessera scenario tap [--network N] [--card NUMBER] [--amount 12.34] [--currency USD] [--url URL | --embedded] [--trace FILE] [--replay]
  tessera scenario lost-device [--network N] [--amount 12.34] [--url URL | --embedded] [--trace FILE]
  tessera scenario reissue [--network N] [--amount 12.34] [--url URL | --embedded] [--trace FILE]
A platform already answering at http://127.0.0.1:8080 is used unless --url or --embedded says otherwise.`;

const COMMON = { network: { type: 'string' }, url: { type: 'string' }, embedded: { type: 'boolean' }, trace: { type: 'string' } } as const;

function targetOptions(values: { url?: string | undefined; embedded?: boolean | undefined }): { url: string | undefined; embedded: boolean } {
  const url = urlOption(values.url);
  if (url && values.embedded) throw new UsageError('--url and --embedded exclude each other');
  return { url, embedded: values.embedded === true };
}

export async function run(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === 'provision') return provision(rest);
  if (name === 'tap') return tapScenario(rest);
  if (name === 'lost-device' || name === 'reissue') return lifecycleScenario(rest, name);
  throw new UsageError(USAGE.replace(/\n/g, ' '));
}

/** Opens the chosen platform (loading the platform's modules only now) and says which one it is. */
async function open(choice: PlatformChoice, traceFile: string | undefined, log: ScenarioLog): Promise<Target> {
  const { openTarget } = await import('../../scenario/harness.js');
  log.step(describeChoice(choice));
  return openTarget({ url: choice.kind === 'url' ? choice.url : undefined, traceFile });
}

function failed(err: unknown): number {
  const code = (err as { code?: string }).code;
  process.stdout.write(`\nFAILED: ${code ? `${code}: ` : ''}${(err as Error).message}\n`);
  return 1;
}

async function tapScenario(argv: string[]): Promise<number> {
  const { values } = parse(argv, { ...COMMON, card: { type: 'string' }, amount: { type: 'string' }, currency: { type: 'string' }, replay: { type: 'boolean' } }, false);
  const network = networkOption(values.network);
  const card = cardOption(values.card);
  const where = targetOptions(values);
  const currency = currencyByAlpha(values.currency ?? 'USD');
  if (!currency) throw new UsageError(`--currency must be one of ${SUPPORTED_CURRENCIES.join(', ')}`);
  const amount = parseAmount(values.amount ?? '12.34', currency);
  if (amount === undefined || amount <= 0) throw new UsageError(`--amount must be a positive amount with at most ${currency.exponent} decimals`);

  const choice = await choosePlatform(where);
  const { stepper } = await import('../../scenario/harness.js');
  const log = stepper();
  const target = await open(choice, values.trace, log);
  try {
    const [{ runProvision }, { describeAmount, kernelFor, sandboxTerminal, tap, terminalTransport, withChangedAmount }, { describeMessage }, { AcquirerClient }] = await Promise.all([
      import('../../scenario/provision.js'),
      import('../../scenario/tap.js'),
      import('../../protocol/iso8583/iso8583.js'),
      import('../../acquirer/client.js'),
    ]);
    // What the tap needs (a reader and its key) is settled before anyone is signed up.
    const terminal = { ...(await sandboxTerminal(target)), currency: currency.alpha };
    const device = await runProvision(target.device, { network, card }, log);
    await device.wallet.setDefaultCard(device.cardId);
    const kernel = kernelFor(terminal);
    const armed = await device.wallet.preparePayment({ biometric: 'match' });
    if (!armed.ok) throw new Error('the Secure Enclave refused the verification');
    log.step(`double-click: Face ID matches; the Secure Element is armed for one contactless payment (consumer-device CVM ${armed.cdcvm ? 'yes' : 'no'})`);
    log.step(`hold the phone to ${terminal.merchantName}'s reader ${terminal.terminalId}: ${describeAmount(amount, currency.alpha)}`);
    const r = await tap(target, device, terminal, kernel, amount);
    if (r.offline) {
      process.stdout.write(`\nDECLINED at the reader: ${r.offline}\n`);
      return 1;
    }
    const req = describeMessage(r.request!);
    log.detail(`0100 → acquirer: DE2 ${req.fields['2']}, DE4 ${req.fields['4']}, DE22 ${req.fields['22']}, DE55 ${(r.request!.fields[55] as Uint8Array).length} bytes of chip data`);
    log.step(`${r.approved ? 'APPROVED' : 'DECLINED'}: DE39 ${r.responseCode} (${r.reason})${r.authCode ? `, auth code ${r.authCode}` : ''}`);
    if (target.tessera) await target.tessera.outbox.runOnce();
    const history = await device.client.transactions({ limit: 1 }).catch(() => undefined);
    const last = history?.data[0];
    if (last) log.detail(`wallet history: ${last.merchant_name} ${describeAmount(last.amount, last.currency)} ${last.status}`);

    let ok = r.approved;
    if (values.replay && r.packed) {
      const acquirer = new AcquirerClient(terminalTransport(target), terminal.apiKey);
      const again = kernel.interpretResponse(await acquirer.authorize(r.packed));
      log.step(`replay the very same 0100: DE39 ${again.responseCode} (${again.approved ? 'the stored answer of the first, a retransmission' : again.reason})`);
      const changed = kernel.interpretResponse(await acquirer.authorize(withChangedAmount(r.packed, amount + 100)));
      log.step(`replay with only the amount changed (DE4 and 9F02): DE39 ${changed.responseCode} (${changed.reason})`);
      if (changed.approved) ok = false;
      const holds = await countHolds(target, device);
      if (holds === undefined) log.detail('hold count: not visible against --url (the issuer keeps it); the answers above are the check');
      else {
        log.step(`issuer: ${holds} active hold${holds === 1 ? '' : 's'} on the card`);
        if (holds !== 1) ok = false;
      }
    }
    process.stdout.write(`\n${ok ? 'OK' : 'FAILED'}: ${r.approved ? 'approved' : `declined ${r.responseCode}`}${values.replay ? (ok ? '; replays did not approve twice' : '; a replay was approved or the holds are wrong') : ''}${values.trace ? `; trace in ${values.trace}` : ''}\n`);
    return ok ? 0 : 1;
  } catch (err) {
    return failed(err);
  } finally {
    await target.close();
  }
}

/** The flow-4 scenarios: the same options, output and exit codes as `scenario tap` (0 only when the expected outcomes happen). */
async function lifecycleScenario(argv: string[], name: 'lost-device' | 'reissue'): Promise<number> {
  const { values } = parse(argv, { ...COMMON, amount: { type: 'string' } }, false);
  const network = networkOption(values.network);
  const where = targetOptions(values);
  const amount = parseAmount(values.amount ?? '12.34', currencyByAlpha('USD')!);
  if (amount === undefined || amount <= 0) throw new UsageError('--amount must be a positive amount with at most 2 decimals');

  let choice = await choosePlatform(where);
  const { stepper } = await import('../../scenario/harness.js');
  const log = stepper();
  // Against a running platform, reissue acts as the card's issuer: it needs that issuer's key.
  if (name === 'reissue' && choice.kind === 'url' && !process.env.TESSERA_ISSUER_KEY) {
    if (!choice.detected) return failed(new Error('against --url, reissue needs TESSERA_ISSUER_KEY (the issuer\'s API key) to reissue the card'));
    log.detail(`the platform at ${choice.url} would need TESSERA_ISSUER_KEY for reissue: using a throwaway one instead`);
    choice = { kind: 'embedded' };
  }
  const target = await open(choice, values.trace, log);
  try {
    const [{ runLostDevice }, { runReissue }, { sandboxTerminal }] = await Promise.all([import('../../scenario/lost-device.js'), import('../../scenario/reissue.js'), import('../../scenario/tap.js')]);
    // The reader the taps need, settled before anyone is signed up.
    await sandboxTerminal(target);
    const fn: (t: Target, o: { network?: NetworkName | undefined; amount: number }, l: ScenarioLog) => Promise<ScenarioOutcome> = name === 'lost-device' ? runLostDevice : runReissue;
    const r = await fn(target, { network, amount }, log);
    process.stdout.write(`\n${r.ok ? 'OK' : 'FAILED'}: ${name}: ${r.summary}${values.trace ? `; trace in ${values.trace}` : ''}\n`);
    return r.ok ? 0 : 1;
  } catch (err) {
    return failed(err);
  } finally {
    await target.close();
  }
}

async function countHolds(target: Target, device: { network: string }): Promise<number | undefined> {
  if (!target.tessera) return undefined;
  const { SANDBOX_DEFAULT_CARDS } = await import('../../scenario/cards.js');
  const pan = (SANDBOX_DEFAULT_CARDS as Record<string, { pan: string }>)[device.network]!.pan;
  const account = await target.tessera.issuers.service.accountForPan(pan);
  if (!account) return undefined;
  const { rows } = await target.tessera.db.query<{ n: number }>("SELECT count(*)::int AS n FROM issuer.holds WHERE card_id = $1 AND status = 'active'", [account.cardId]);
  return rows[0]!.n;
}

async function provision(argv: string[]): Promise<number> {
  const { values } = parse(argv, { ...COMMON, card: { type: 'string' }, yellow: { type: 'boolean' } }, false);
  const network = networkOption(values.network);
  const card = cardOption(values.card);
  const where = targetOptions(values);

  const choice = await choosePlatform(where);
  const { stepper } = await import('../../scenario/harness.js');
  const log = stepper();
  const target = await open(choice, values.trace, log);
  try {
    const { runProvision } = await import('../../scenario/provision.js');
    const r = await runProvision(target.device, { network, card, yellow: values.yellow === true }, log);
    process.stdout.write(`\nOK: ${r.network} card active on the device (card ${r.cardId}, token ${r.tokenRef})${values.trace ? `; trace in ${values.trace}` : ''}\n`);
    return 0;
  } catch (err) {
    return failed(err);
  } finally {
    await target.close();
  }
}
