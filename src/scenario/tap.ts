import { AcquirerClient } from '../acquirer/client.js';
import { SANDBOX_ACQUIRER } from '../acquirer/seed.js';
import { seLink, tracingLink } from '../device/nfc.js';
import { maskApduHex, maskForTrace, maskIsoHex } from '../infra/trace.js';
import { call, PartyError, TracingTransport, type Transport } from '../infra/transport.js';
import { randomBase62 } from '../infra/ids.js';
import { ContactlessKernel } from '../merchant/terminal/kernel.js';
import { toHex } from '../protocol/bytes.js';
import { currencyByAlpha, formatAmount } from '../protocol/currency.js';
import { packMessage, unpackMessage, type IsoMessage } from '../protocol/iso8583/iso8583.js';
import { buildTlv, parseTlv, tlv } from '../protocol/tlv/tlv.js';
import type { Target } from './harness.js';
import type { ProvisionedDevice } from './provision.js';

export interface TerminalSetup {
  apiKey: string;
  terminalId: string;
  cardAcceptorId: string;
  merchantName: string;
  city: string;
  country: string;
  mcc: string;
  currency: string;
}

/** A scenario cannot run against this platform as it is (said before anyone is signed up). */
export class ScenarioSetupError extends Error {
  override readonly name = 'ScenarioSetupError';
}

const terminals = new WeakMap<Target, Map<string, Promise<TerminalSetup>>>();

/**
 * The sandbox's Corner Coffee reader: on a throwaway platform its seeded one; against a URL the one the
 * platform's sandbox publishes (GET /sandbox/v1), else a new reader created with TESSERA_ADMIN_KEY. One
 * per target and key: a scenario asks for it before it signs anyone up, and again when it taps.
 */
export function sandboxTerminal(target: Target, key: 'coffee' | 'transit' = 'coffee'): Promise<TerminalSetup> {
  let byKey = terminals.get(target);
  if (!byKey) terminals.set(target, (byKey = new Map()));
  let found = byKey.get(key);
  if (!found) {
    found = findTerminal(target, key);
    byKey.set(key, found);
    found.catch(() => byKey.delete(key));
  }
  return found;
}

async function findTerminal(target: Target, key: 'coffee' | 'transit'): Promise<TerminalSetup> {
  const spec = SANDBOX_ACQUIRER.find((s) => s.key === key)!;
  const base = { cardAcceptorId: spec.merchant.card_acceptor_id, merchantName: spec.merchant.name, city: spec.merchant.city ?? '', country: spec.merchant.country, mcc: spec.merchant.mcc, currency: spec.merchant.currency };
  if (target.tessera) {
    const t = target.tessera.terminals.find((x) => x.key === key)!;
    return { ...base, apiKey: t.api_key, terminalId: t.terminal_id };
  }
  if (!target.adminKey) {
    const published = await sandboxReader(target, spec.merchant.card_acceptor_id);
    if (published) return { ...base, apiKey: published.apiKey, terminalId: published.terminalId };
    throw new ScenarioSetupError(`the platform publishes no sandbox reader for ${spec.merchant.name} (sandbox off?): set TESSERA_ADMIN_KEY so the scenario can create one`);
  }
  const merchants = await call<{ data: { id: string; card_acceptor_id: string }[] }>(target.raw, 'acquirer', { method: 'GET', path: '/acquirer/v1/merchants?limit=100', apiKey: target.adminKey });
  const merchant = merchants.data.find((m) => m.card_acceptor_id === spec.merchant.card_acceptor_id);
  if (!merchant) throw new Error(`the platform has no ${spec.merchant.name} merchant`);
  const terminalId = `S${randomBase62(7).toUpperCase()}`;
  const created = await call<{ terminal?: { terminal_id: string }; secret?: string; api_key?: { secret: string } }>(target.raw, 'acquirer', {
    method: 'POST',
    path: `/acquirer/v1/merchants/${merchant.id}/terminals`,
    apiKey: target.adminKey,
    body: { kind: 'contactless', terminal_id: terminalId, name: 'Scenario reader' },
  });
  const secret = created.api_key?.secret ?? created.secret;
  if (!secret) throw new Error('the acquirer did not return the terminal key');
  return { ...base, apiKey: secret, terminalId };
}

/** The contactless reader of a merchant in the platform's public sandbox overview, if it has a sandbox. */
async function sandboxReader(target: Target, cardAcceptorId: string): Promise<{ apiKey: string; terminalId: string } | undefined> {
  let overview: { terminals?: { terminalId: string; apiKey: string; cardAcceptorId: string; kind: string }[] };
  try {
    overview = await call(target.raw, 'platform', { method: 'GET', path: '/sandbox/v1' });
  } catch (err) {
    if (err instanceof PartyError && (err.status === 404 || err.status === 401 || err.status === 403)) return undefined;
    throw err;
  }
  const t = overview.terminals?.find((x) => x.cardAcceptorId === cardAcceptorId && x.kind === 'contactless');
  return t ? { apiKey: t.apiKey, terminalId: t.terminalId } : undefined;
}

export interface TapResult {
  approved: boolean;
  responseCode: string;
  reason: string;
  authCode: string | undefined;
  request: IsoMessage | undefined;
  packed: Uint8Array | undefined;
  offline?: string;
}

export function kernelFor(terminal: TerminalSetup, options: { cvmLimit?: number; stan?: () => number } = {}): ContactlessKernel {
  const currency = currencyByAlpha(terminal.currency)!;
  // A random first STAN: repeated runs against one terminal in the same second must not collide.
  let stan = 1 + Math.floor(Math.random() * 900_000);
  const nextStan = options.stan ?? (() => (stan = (stan % 999_999) + 1));
  return new ContactlessKernel({
    terminalId: terminal.terminalId,
    merchantId: terminal.cardAcceptorId,
    merchantName: terminal.merchantName,
    merchantCity: terminal.city,
    merchantCountry: terminal.country,
    mcc: terminal.mcc,
    countryCode: '0840',
    currencyCode: currency.numeric,
    currencyAlpha: currency.alpha,
    ...(options.cvmLimit !== undefined ? { cvmLimit: options.cvmLimit } : {}),
    stan: nextStan,
  });
}

export function terminalTransport(target: Target): Transport {
  return target.trace ? new TracingTransport(target.raw, target.trace, 'terminal', 'acquirer', maskForTrace, maskIsoHex) : target.raw;
}

/** One tap: the phone (armed by the user's double-click) held to the reader, then the authorization online. */
export async function tap(target: Target, device: ProvisionedDevice, terminal: TerminalSetup, kernel: ContactlessKernel, amount: number, acquirer = new AcquirerClient(terminalTransport(target), terminal.apiKey)): Promise<TapResult> {
  const trace = target.trace;
  const link = trace ? tracingLink(seLink(device.se), (t) => trace.record({ ts: new Date().toISOString(), from: t.from, to: t.to, protocol: 'apdu', hex: maskApduHex(t.hex, t.from) })) : seLink(device.se);
  const outcome = await kernel.transact(link, { amount });
  if (outcome.kind !== 'online') return { approved: false, responseCode: '--', reason: outcome.reason, authCode: undefined, request: undefined, packed: undefined, offline: outcome.reason };
  const answer = await acquirer.authorize(outcome.packed);
  const result = kernel.interpretResponse(answer, outcome.request);
  return { approved: result.approved, responseCode: result.responseCode, reason: result.reason, authCode: result.authCode ?? undefined, request: outcome.request, packed: outcome.packed };
}

/** The same 0100 with only the amount (DE4 and 9F02 in DE55) changed: what a tampering terminal would send. */
export function withChangedAmount(packed: Uint8Array, newAmount: number): Uint8Array {
  const msg = unpackMessage(packed);
  const de55 = msg.fields[55] as Uint8Array;
  const nodes = parseTlv(de55).map((n) => (n.tag === '9F02' ? tlv('9F02', hexToBcd(String(newAmount).padStart(12, '0'))) : n));
  return packMessage({ mti: msg.mti, fields: { ...msg.fields, 4: String(newAmount).padStart(12, '0'), 55: buildTlv(nodes) } });
}

function hexToBcd(digits: string): Uint8Array {
  const out = new Uint8Array(digits.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(digits.slice(i * 2, i * 2 + 2), 16);
  return out;
}

export function describeAmount(minor: number, currency: string): string {
  const c = currencyByAlpha(currency);
  return c ? `${formatAmount(minor, c)} ${c.alpha}` : `${minor} (minor units)`;
}

export { toHex };
