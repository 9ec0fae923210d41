/**
 * Test helpers for the acquirer: a card network fake that the test controls (answers, delays,
 * failures, every message it received), 0100/0400 builders, and the acquirer alone on a throwaway
 * database behind the real HTTP stack.
 */
import { KeyEncryptionKeys } from '../infra/keys/kek.js';
import { randomBytes } from 'node:crypto';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { migrate } from '../infra/db/index.js';
import { buildHttpApp } from '../infra/http/app.js';
import { ApiKeys } from '../infra/http/auth.js';
import type { Role } from '../infra/http/route.js';
import { PartyUnavailable, type Transport, type TransportRequest, type TransportResponse } from '../infra/transport.js';
import { fromHex, toHex } from '../protocol/bytes.js';
import { generateToken, luhnCheckDigit, type Network } from '../protocol/cards/index.js';
import { packMessage, unpackMessage, type IsoMessage } from '../protocol/iso8583/iso8583.js';
import { createTestEnv, type TestEnv } from '../../test/helpers/env.js';
import { createAcquirer, type Acquirer, type AcquirerDeps } from './index.js';
import type { SeededTerminal } from './seed.js';

/** What the fake network does with one message: an ISO answer, an HTTP error, no answer, or a hang. */
export type FakeReply =
  | { kind: 'iso'; message: IsoMessage; delayMs?: number }
  | { kind: 'raw'; status: number; raw?: Uint8Array; body?: unknown; delayMs?: number }
  | { kind: 'unavailable'; delayMs?: number }
  | { kind: 'hang'; release: Promise<FakeReply> };

export interface ReceivedMessage {
  brand: string;
  apiKey: string | undefined;
  raw: Uint8Array;
  message: IsoMessage;
  timeoutMs: number | undefined;
}

/** ICC data of the fake network's approvals: 91 ARPC (8 bytes) ‖ 8A ARC. */
export const NETWORK_DE55_HEX = '910AC0FFEE123456789030308A023030';

/** The card network as the acquirer sees it: POST /network/:brand/v1/iso8583. */
export class FakeNetwork implements Transport {
  readonly received: ReceivedMessage[] = [];
  /** The test's policy; the default approves 0100s and acknowledges 0400s. */
  reply: (msg: IsoMessage, n: number) => FakeReply = (msg) => approve(msg);

  byMti(mti: string): ReceivedMessage[] {
    return this.received.filter((r) => r.message.mti === mti);
  }

  async request<T>(req: TransportRequest): Promise<TransportResponse<T>> {
    const m = /^\/network\/([a-z]+)\/v1\/iso8583$/.exec(req.path);
    if (!m || req.method !== 'POST' || !req.raw) throw new Error(`unexpected request ${req.method} ${req.path}`);
    const message = unpackMessage(req.raw);
    this.received.push({ brand: m[1]!, apiKey: req.apiKey, raw: req.raw, message, timeoutMs: req.timeoutMs });
    let reply = this.reply(message, this.received.length);
    while (reply.kind === 'hang') reply = await reply.release;
    if (reply.delayMs) await new Promise((r) => setTimeout(r, reply.delayMs));
    switch (reply.kind) {
      case 'unavailable':
        throw new PartyUnavailable(`network:${m[1]}`, 'connection failed');
      case 'raw':
        return { status: reply.status, body: reply.body as T, ...(reply.raw ? { raw: reply.raw } : {}), headers: {} };
      case 'iso':
        return { status: 200, body: undefined as T, raw: packMessage(reply.message), headers: { 'content-type': 'application/octet-stream' } };
    }
  }
}

/** The network's answer to a 0100 (keys echoed, DE 38, 39 and for an approval DE 55 with the ARPC) or 0400. */
export function approve(msg: IsoMessage, code = '00'): FakeReply {
  const echo: Record<number, string | Uint8Array> = {};
  for (const n of [2, 3, 4, 7, 11, 32, 37, 41, 42, 49, 90]) if (msg.fields[n] !== undefined) echo[n] = msg.fields[n]!;
  if (msg.mti === '0400') return { kind: 'iso', message: { mti: '0410', fields: { ...echo, 39: code } } };
  if (code === '00') {
    echo[38] = 'A1B2C3';
    echo[55] = fromHex(NETWORK_DE55_HEX);
  }
  return { kind: 'iso', message: { mti: '0110', fields: { ...echo, 39: code } } };
}

/** ICC data as a terminal sends it (a recognisable ARQC, so leak scans can look for it). */
export const TERMINAL_DE55_HEX = '9F2608DEADBEEFCAFE12349F2701809F360200419F10120110A00003240000000000000000000000FF9F02060000000012349F3704A1B2C3D4950500000000009A032606159C01005F2A0208409F1A020840820220009F34031F0302';

export function token(network: Network = 'visa'): string {
  return generateToken(network, (n) => new Uint8Array(randomBytes(n)));
}

/** A Luhn-valid number in no network's range (BIN 999999). */
export const UNROUTABLE = (() => {
  const partial = '999999123456789';
  return partial + luhnCheckDigit(partial);
})();

let stanCounter = Math.floor(Math.random() * 900_000);
export function nextStan(): string {
  stanCounter = (stanCounter + 1) % 1_000_000;
  return String(stanCounter).padStart(6, '0');
}

export interface Auth0100 {
  pan?: string;
  amount?: number;
  stan?: string;
  transmitted?: string;
  terminal: Pick<SeededTerminal, 'terminal_id' | 'card_acceptor_id'>;
  extra?: Record<number, string | Uint8Array | undefined>;
}

/** A contactless 0100 as the terminal kernel builds it (docs/authorization.md). */
export function build0100(o: Auth0100): IsoMessage {
  const fields: Record<number, string | Uint8Array> = {
    2: o.pan ?? token(),
    3: '000000',
    4: String(o.amount ?? 1234).padStart(12, '0'),
    7: o.transmitted ?? '0615120000',
    11: o.stan ?? nextStan(),
    12: '120000',
    13: '0615',
    14: '3012',
    18: '5814',
    22: '071',
    23: '001',
    25: '00',
    41: o.terminal.terminal_id,
    42: o.terminal.card_acceptor_id,
    43: `${'CORNER COFFEE'.padEnd(25)}SAN FRANCISCOUS`,
    49: '840',
    55: fromHex(TERMINAL_DE55_HEX),
  };
  for (const [k, v] of Object.entries(o.extra ?? {})) {
    if (v === undefined) delete fields[Number(k)];
    else fields[Number(k)] = v;
  }
  return { mti: '0100', fields };
}

/** The terminal's own 0400 for one of its 0100s (DE 90 with the terminal's STAN and DE 7). */
export function build0400(original: IsoMessage, over: Record<number, string | undefined> = {}): IsoMessage {
  const f = original.fields;
  const fields: Record<number, string | Uint8Array> = {
    2: f[2]!,
    3: f[3]!,
    4: f[4]!,
    7: '0615120100',
    11: nextStan(),
    41: f[41]!,
    42: f[42]!,
    49: f[49]!,
    90: `0100${f[11] as string}${f[7] as string}${'0'.repeat(22)}`,
  };
  for (const [k, v] of Object.entries(over)) {
    if (v === undefined) delete fields[Number(k)];
    else fields[Number(k)] = v;
  }
  return { mti: '0400', fields };
}

/** A clock that follows real time from an offset the test can move forward. */
export class ShiftClock {
  #offset = 0;
  now = (): Date => new Date(Date.now() + this.#offset);
  advance(ms: number): void {
    this.#offset += ms;
  }
}

export interface AcquirerTestEnv {
  env: TestEnv;
  acquirer: Acquirer;
  app: FastifyInstance;
  apiKeys: ApiKeys;
  network: FakeNetwork;
  clock: ShiftClock;
  terminals: Record<'coffee' | 'transit' | 'online', SeededTerminal & { key: string; secret: string }>;
  /** Keys of every role (the terminal one is the coffee shop's). */
  keys: Record<Exclude<Role, 'ops'>, string>;
  networkApiKey: string;
  /** POSTs packed bytes to /acquirer/v1/authorizations. */
  send(bytes: Uint8Array, auth?: string): Promise<LightMyRequestResponse>;
  /** Sends a message and unpacks the 200 answer (fails the test otherwise). */
  exchange(msg: IsoMessage, auth?: string): Promise<{ raw: Uint8Array; message: IsoMessage }>;
  /** A second acquirer on the same database (another process, same clock), with its own network and settings. */
  sibling(over: Partial<AcquirerDeps>): Promise<{ acquirer: Acquirer; app: FastifyInstance; network: FakeNetwork; clock: ShiftClock }>;
  close(): Promise<void>;
}

export async function startAcquirerTestEnv(over: Partial<AcquirerDeps> = {}): Promise<AcquirerTestEnv> {
  const env = await createTestEnv();
  const apiKeys = new ApiKeys(env.db, env.cache);
  const networkApiKey = `tsk_acquirer_${'N'.repeat(40)}`;
  const apps: FastifyInstance[] = [];
  const clock = new ShiftClock();
  // One deployment, one KEK: a sibling opens the messages (sealed, they carry token numbers) another process kept.
  const kek = KeyEncryptionKeys.random();
  const make = async (o: Partial<AcquirerDeps>) => {
    const network = new FakeNetwork();
    const acquirer = createAcquirer({ db: env.db, cache: env.cache, apiKeys, network, networkApiKey, clock: clock.now, timeoutMs: 300, logger: env.logger, kek, ...o });
    const app = await buildHttpApp({ db: env.db, cache: env.cache, logger: env.logger, apiKeys }, acquirer.routes, { title: 'acquirer test', version: '0' });
    apps.push(app);
    return { acquirer, app, network, clock };
  };
  const main = await make(over);
  await migrate(env.db, [{ module: 'infra', dir: new URL('../infra/migrations/', import.meta.url) }, main.acquirer.migrations!]);
  const seeded = await main.acquirer.seed();
  const terminals = Object.fromEntries(seeded.map((s) => [s.key, { ...s, secret: s.new_api_key! }])) as AcquirerTestEnv['terminals'];
  const key = async (role: Role, owner: string) => (await apiKeys.create(role, owner)).secret;
  const keys: Record<Exclude<Role, 'ops'>, string> = {
    admin: await key('admin', 'operator'),
    platform: await key('platform', 'platform'),
    merchant: await key('merchant', terminals.coffee.merchant_id),
    acquirer: await key('acquirer', 'acq_test'),
    terminal: terminals.coffee.secret,
    issuer: await key('issuer', 'iss_tessera_bank'),
    network: await key('network', 'visa'),
  };
  const send = (bytes: Uint8Array, auth = keys.terminal) =>
    main.app.inject({ method: 'POST', url: '/acquirer/v1/authorizations', headers: { authorization: `Bearer ${auth}`, 'content-type': 'application/octet-stream' }, payload: Buffer.from(bytes) });
  return {
    env,
    ...main,
    apiKeys,
    terminals,
    keys,
    networkApiKey,
    send,
    async exchange(msg, auth) {
      const res = await send(packMessage(msg), auth);
      if (res.statusCode !== 200) throw new Error(`expected 200, got ${res.statusCode}: ${res.body}`);
      const raw = new Uint8Array(res.rawPayload);
      return { raw, message: unpackMessage(raw) };
    },
    sibling: make,
    async close() {
      for (const app of apps) await app.close();
      await env.close();
    },
  };
}

export { toHex };
