import { parse } from '../args.js';
import { UsageError } from '../errors.js';
import { luhnCheck } from '../../protocol/cards/index.js';
import { openTarget, stepper } from '../../scenario/harness.js';
import { runProvision, type NetworkName } from '../../scenario/provision.js';
import { describeAmount, kernelFor, sandboxTerminal, tap, terminalTransport, withChangedAmount } from '../../scenario/tap.js';
import { SANDBOX_DEFAULT_CARDS } from '../../scenario/cards.js';
import { runLostDevice, type ScenarioLog, type ScenarioOutcome } from '../../scenario/lost-device.js';
import { runReissue } from '../../scenario/reissue.js';
import { AcquirerClient } from '../../acquirer/client.js';
import { currencyByAlpha, parseAmount, SUPPORTED_CURRENCIES } from '../../protocol/currency.js';
import { describeMessage } from '../../protocol/iso8583/iso8583.js';

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
  tessera scenario provision [--network N] [--card NUMBER] [--yellow] [--url URL] [--trace FILE]
  tessera scenario tap [--network N] [--card NUMBER] [--amount 12.34] [--currency USD] [--url URL] [--trace FILE] [--replay]
  tessera scenario lost-device [--network N] [--amount 12.34] [--url URL] [--trace FILE]
  tessera scenario reissue [--network N] [--amount 12.34] [--url URL] [--trace FILE]`;

export async function run(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === 'provision') return provision(rest);
  if (name === 'tap') return tapScenario(rest);
  if (name === 'lost-device') return lifecycleScenario(rest, 'lost-device', runLostDevice);
  if (name === 'reissue') return lifecycleScenario(rest, 'reissue', runReissue);
  throw new UsageError(USAGE.replace(/\n/g, ' '));
}

async function tapScenario(argv: string[]): Promise<number> {
  const { values } = parse(
    argv,
    { network: { type: 'string' }, card: { type: 'string' }, amount: { type: 'string' }, currency: { type: 'string' }, url: { type: 'string' }, trace: { type: 'string' }, replay: { type: 'boolean' } },
    false,
  );
  const network = networkOption(values.network);
  const card = cardOption(values.card);
  const url = urlOption(values.url);
  const currency = currencyByAlpha(values.currency ?? 'USD');
  if (!currency) throw new UsageError(`--currency must be one of ${SUPPORTED_CURRENCIES.join(', ')}`);
  const amount = parseAmount(values.amount ?? '12.34', currency);
  if (amount === undefined || amount <= 0) throw new UsageError(`--amount must be a positive amount with at most ${currency.exponent} decimals`);
  const log = stepper();
  const target = await openTarget({ url, traceFile: values.trace });
  try {
    log.step(url ? `platform at ${url}` : 'throwaway embedded platform (PGlite in memory, every party in this process)');
    const device = await runProvision(target.device, { network, card }, log);
    await device.wallet.setDefaultCard(device.cardId);
    const terminal = { ...(await sandboxTerminal(target)), currency: currency.alpha };
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
    const code = (err as { code?: string }).code;
    process.stdout.write(`\nFAILED: ${code ? `${code}: ` : ''}${(err as Error).message}\n`);
    return 1;
  } finally {
    await target.close();
  }
}

/** The flow-4 scenarios: the same options, output and exit codes as `scenario tap` (0 only when the expected outcomes happen). */
async function lifecycleScenario(
  argv: string[],
  name: string,
  fn: (target: Awaited<ReturnType<typeof openTarget>>, options: { network?: NetworkName | undefined; amount: number }, log: ScenarioLog) => Promise<ScenarioOutcome>,
): Promise<number> {
  const { values } = parse(argv, { network: { type: 'string' }, amount: { type: 'string' }, url: { type: 'string' }, trace: { type: 'string' } }, false);
  const network = networkOption(values.network);
  const url = urlOption(values.url);
  const amount = parseAmount(values.amount ?? '12.34', currencyByAlpha('USD')!);
  if (amount === undefined || amount <= 0) throw new UsageError('--amount must be a positive amount with at most 2 decimals');
  const log = stepper();
  const target = await openTarget({ url, traceFile: values.trace });
  try {
    log.step(url ? `platform at ${url}` : 'throwaway embedded platform (PGlite in memory, every party in this process)');
    const r = await fn(target, { network, amount }, log);
    process.stdout.write(`\n${r.ok ? 'OK' : 'FAILED'}: ${name}: ${r.summary}${values.trace ? `; trace in ${values.trace}` : ''}\n`);
    return r.ok ? 0 : 1;
  } catch (err) {
    const code = (err as { code?: string }).code;
    process.stdout.write(`\nFAILED: ${code ? `${code}: ` : ''}${(err as Error).message}\n`);
    return 1;
  } finally {
    await target.close();
  }
}

async function countHolds(target: Awaited<ReturnType<typeof openTarget>>, device: { network: string }): Promise<number | undefined> {
  if (!target.tessera) return undefined;
  const pan = (SANDBOX_DEFAULT_CARDS as Record<string, { pan: string }>)[device.network]!.pan;
  const account = await target.tessera.issuers.service.accountForPan(pan);
  if (!account) return undefined;
  const { rows } = await target.tessera.db.query<{ n: number }>("SELECT count(*)::int AS n FROM issuer.holds WHERE card_id = $1 AND status = 'active'", [account.cardId]);
  return rows[0]!.n;
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
