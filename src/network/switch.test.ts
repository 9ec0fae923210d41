import assert from 'node:assert/strict';
import { REVERSAL_RETRY } from '../infra/reversal-policy.js';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { CompactEncrypt, compactDecrypt, importJWK } from 'jose';
import { createTestEnv, type TestEnv } from '../../test/helpers/env.js';
import { checkRouteSecurity } from '../../test/helpers/security.js';
import { RedisCache } from '../infra/cache/index.js';
import { migrate } from '../infra/db/index.js';
import { buildHttpApp } from '../infra/http/app.js';
import { ApiKeys } from '../infra/http/auth.js';
import { KeyEncryptionKeys } from '../infra/keys/kek.js';
import { InjectTransport, PartyError, PartyUnavailable, type Transport, type TransportRequest, type TransportResponse } from '../infra/transport.js';
import { x509 } from '../infra/x509.js';
import { fromHex, toHex } from '../protocol/bytes.js';
import {
  generateAesArqc,
  generateArqc,
  generateOnlineCryptogram,
  merchantBinding,
  onlineUnpredictableNumber,
  verifyAesArpc,
  verifyArpc,
  type CryptogramInput,
} from '../protocol/emv/index.js';
import { packMessage, packSubelements, parseSubelements, unpackMessage, type IsoMessage } from '../protocol/iso8583/iso8583.js';
import { buildTlv, parseTlv, tlv, tlvToMap } from '../protocol/tlv/tlv.js';
import { BRANDS, type Brand } from './brands.js';
import { NetworkClient } from './client.js';
import type { CardVerification, CardVerificationRequest, IssuerGateway } from './issuers.js';
import { createNetworks, type Networks } from './index.js';
import { switchRepo, type NewAuthorization } from './repository.js';
import { DEFAULT_SWITCH_SETTINGS } from './switch.js';
import type { ProvisioningPayload } from './service.js';
import { TokenDirectory } from './token-directory.js';

// --- The issuers: a green-only ID&V stub for provisioning, and a fake ISO 8583 endpoint ---------------

class GreenIssuers implements IssuerGateway {
  async createCardVerification(_issuerId: string, body: CardVerificationRequest): Promise<CardVerification> {
    return {
      id: `civ_${body.token_ref.slice(-10)}`,
      decision: 'green',
      reasons: [],
      methods: [],
      card: { last4: body.pan.slice(-4), product: 'credit', par_seed: 'SWITCHTESTSEED00000000000' },
    };
  }
  async sendVerificationOtp(): Promise<{ sent: boolean; expires_at: string }> {
    throw new Error('not used');
  }
  async confirmVerification(): Promise<{ decision: 'green' }> {
    throw new Error('not used');
  }
  async verificationMessages(): Promise<{ data: [] }> {
    return { data: [] };
  }
}

type IssuerMode = 'approve' | 'decline51' | 'slow' | 'unavailable' | 'http500' | 'wrong_stan';

/** The issuers' ISO 8583 endpoint as the network meets it (the real one is another developer's). */
class FakeIssuerIso implements Transport {
  mode: IssuerMode = 'approve';
  /** 0410 answers: '00' acknowledges; '91' means "not now". */
  reversalCode = '00';
  delayMs = 0;
  /** 'slow' 0100s still waiting for `releaseSlow()`: the issuer has not answered them yet. */
  slowInFlight = 0;
  #slowWaiting: (() => void)[] = [];
  readonly received: { path: string; apiKey: string | undefined; message: IsoMessage }[] = [];

  count(mti: string): number {
    return this.received.filter((r) => r.message.mti === mti).length;
  }
  last(mti: string): IsoMessage {
    const found = this.received.filter((r) => r.message.mti === mti);
    assert.ok(found.length > 0, `the issuer received no ${mti}`);
    return found[found.length - 1]!.message;
  }

  /** The slow issuer answers the 0100s it was holding. */
  releaseSlow(): void {
    for (const release of this.#slowWaiting.splice(0)) release();
  }

  async request<T>(req: TransportRequest): Promise<TransportResponse<T>> {
    const message = unpackMessage(req.raw!);
    this.received.push({ path: req.path, apiKey: req.apiKey, message });
    if (this.delayMs) await sleep(this.delayMs);
    const echo = (mti: string, code: string, extra: Record<number, string> = {}): TransportResponse<T> => {
      const fields: Record<number, string | Uint8Array> = {};
      for (const n of [2, 3, 4, 7, 11, 14, 32, 37, 41, 42, 49, 90]) if (message.fields[n] !== undefined) fields[n] = message.fields[n]!;
      return { status: 200, body: undefined as T, raw: packMessage({ mti, fields: { ...fields, ...extra, 39: code } }), headers: { 'content-type': 'application/octet-stream' } };
    };
    if (message.mti === '0400' || message.mti === '0420') return echo(message.mti === '0400' ? '0410' : '0430', this.reversalCode);
    switch (this.mode) {
      case 'approve':
        return echo('0110', '00', { 38: 'A1B2C3' });
      case 'decline51':
        return echo('0110', '51');
      case 'slow':
        // Holds the 0100 until the test releases it: the answer comes after the switch's timeout,
        // however slowly the machine runs.
        this.slowInFlight++;
        await new Promise<void>((release) => this.#slowWaiting.push(release));
        this.slowInFlight--;
        return echo('0110', '00', { 38: 'SLOW01' });
      case 'unavailable':
        throw new PartyUnavailable('issuer', 'connection failed');
      case 'http500':
        return { status: 500, body: { error: { code: 'internal_error' } } as T, headers: {} };
      case 'wrong_stan':
        return echo('0110', '00', { 11: '999999', 38: 'A1B2C3' });
    }
  }
}

// --- Device side: a device CA and Secure Element certificates ----------------------------------------

const ECDSA = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const DAY = 86400_000;

interface Ca {
  cert: x509.X509Certificate;
  pem: string;
  key: CryptoKey;
}

async function makeCa(): Promise<Ca> {
  const keys = (await crypto.subtle.generateKey(ECDSA, true, ['sign', 'verify'])) as CryptoKeyPair;
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: '01',
    name: 'CN=Switch Test Device CA, O=Test Wallet',
    notBefore: new Date(Date.now() - DAY),
    notAfter: new Date(Date.now() + 3650 * DAY),
    signingAlgorithm: ECDSA,
    keys,
    extensions: [new x509.BasicConstraintsExtension(true, 0, true), new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign, true)],
  });
  return { cert, pem: cert.toString('pem'), key: keys.privateKey };
}

async function makeDevice(ca: Ca, id: string): Promise<{ id: string; pem: string; privateKey: CryptoKey }> {
  const keys = (await crypto.subtle.generateKey({ name: 'ECDH', namedCurve: 'P-256' }, true, ['deriveBits'])) as CryptoKeyPair;
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: '02',
    subject: `CN=${id}, OU=Secure Element, O=Test Wallet`,
    issuer: ca.cert.subject,
    notBefore: new Date(Date.now() - DAY),
    notAfter: new Date(Date.now() + 3 * 365 * DAY),
    signingAlgorithm: ECDSA,
    publicKey: keys.publicKey,
    signingKey: ca.key,
    extensions: [new x509.BasicConstraintsExtension(false, undefined, true), new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyAgreement, true)],
  });
  return { id, pem: cert.toString('pem'), privateKey: keys.privateKey };
}

// --- Setup -------------------------------------------------------------------------------------------

const CARDS: Record<Brand, string> = {
  visa: '4111111111111111',
  mastercard: '5555555555554444',
  amex: '378282246310005',
  discover: '6011111111111117',
};
const ISSUER_TIMEOUT_MS = 300;
const ACQUIRER_ID = 'acq_switch_test';
const ACQUIRING_INSTITUTION = '4000001';
/** DE 43: name (25) ‖ city (13) ‖ country (2). */
const MERCHANT_NAME_LOCATION = 'TESSERA COFFEE'.padEnd(25, ' ') + 'SAN FRANCISCO'.padEnd(13, ' ') + 'US';

let env: TestEnv;
let kek: KeyEncryptionKeys;
let networks: Networks;
let issuer: FakeIssuerIso;
let app: FastifyInstance;
let apiKeys: ApiKeys;
let acquirerKey: string;
let otherAcquirerKey: string;
let platformKey: string;
let adminKey: string;
let ca: Ca;
let clockOffsetMs = 0;
const requestor = {} as Record<Brand, { id: string; key: string }>;
let deviceCount = 0;
let stanCounter = 0;

/** A provisioned token as the device holds it. */
interface DeviceToken {
  brand: Brand;
  ref: string;
  pan: string;
  exp: string;
  psn: string;
  cvn: 18 | 20 | 'A1' | 'D1';
  mk: Uint8Array;
  deviceId: string;
  trid: string;
  atc: number;
}

async function provisionToken(brand: Brand): Promise<DeviceToken> {
  deviceCount++;
  const device = await makeDevice(ca, `dev_switch${String(deviceCount).padStart(19, '0')}`);
  const jwk = (await app.inject({ method: 'GET', url: `/network/${brand}/v1/encryption-key`, headers: { authorization: `Bearer ${requestor[brand].key}` } })).json().jwk;
  const card = { pan: CARDS[brand], exp_month: 12, exp_year: 2030, cvv: brand === 'amex' ? '1234' : '123' };
  const encrypted = await new CompactEncrypt(new TextEncoder().encode(JSON.stringify(card)))
    .setProtectedHeader({ alg: 'ECDH-ES+A256KW', enc: 'A256GCM', kid: jwk.kid, cty: 'card+json' })
    .encrypt(await importJWK(jwk, 'ECDH-ES+A256KW'));
  const res = await app.inject({
    method: 'POST',
    url: `/network/${brand}/v1/tokens`,
    headers: { authorization: `Bearer ${requestor[brand].key}` },
    payload: {
      token_requestor_id: requestor[brand].id,
      encrypted_card: encrypted,
      device: { id: device.id, kind: 'phone', se_certificate_pem: device.pem },
      wallet_account_id: 'usr_wallet_switch',
      device_score: 4,
    },
  });
  assert.equal(res.statusCode, 201, res.body);
  const { plaintext } = await compactDecrypt(res.json().provisioning_payload, device.privateKey);
  const p = JSON.parse(new TextDecoder().decode(plaintext)) as ProvisioningPayload;
  return { brand, ref: p.token_ref, pan: p.token_pan, exp: p.token_exp, psn: p.psn, cvn: p.cvn, mk: fromHex(p.key.mk), deviceId: device.id, trid: p.token_requestor_id, atc: 0 };
}

before(async () => {
  env = await createTestEnv();
  await migrate(env.db, [
    { module: 'infra', dir: new URL('../infra/migrations/', import.meta.url) },
    { module: 'network', dir: new URL('./migrations/', import.meta.url) },
  ]);
  kek = KeyEncryptionKeys.random();
  issuer = new FakeIssuerIso();
  networks = createNetworks({
    db: env.db,
    cache: env.cache,
    kek,
    issuers: new GreenIssuers(),
    issuerIso: { transport: issuer, apiKey: (b) => `tsk_network_test_${b}` },
    clock: () => new Date(Date.now() + clockOffsetMs),
    switch: { issuerTimeoutMs: ISSUER_TIMEOUT_MS },
    logger: env.logger,
  });
  await networks.init();
  apiKeys = new ApiKeys(env.db, env.cache);
  app = await buildHttpApp({ db: env.db, cache: env.cache, logger: env.logger, apiKeys }, networks.routes, { title: 'switch test', version: '0' });
  adminKey = (await apiKeys.create('admin', 'operator')).secret;
  acquirerKey = (await apiKeys.create('acquirer', ACQUIRER_ID)).secret;
  otherAcquirerKey = (await apiKeys.create('acquirer', 'acq_other')).secret;
  ca = await makeCa();
  for (const brand of BRANDS) {
    const res = await app.inject({ method: 'POST', url: `/network/${brand}/v1/token-requestors`, headers: { authorization: `Bearer ${adminKey}` }, payload: { name: 'Switch Wallet', device_ca_pem: ca.pem } });
    assert.equal(res.statusCode, 201, res.body);
    requestor[brand] = { id: res.json().id, key: (await apiKeys.create('platform', res.json().id)).secret };
  }
  platformKey = requestor.visa.key;
});

after(async () => {
  await app?.close();
  await env?.close();
});

// --- Messages as a terminal and the acquirer make them -------------------------------------------------

function iad(cvn: DeviceToken['cvn']): Uint8Array {
  switch (cvn) {
    case 18:
      return fromHex('06011203A00000');
    case 20:
      return fromHex('0114A000032200000000');
    case 'A1':
      return fromHex('0601A103A00000');
    case 'D1':
      return fromHex('0601D103A00000');
  }
}

async function arqcFor(t: DeviceToken, input: CryptogramInput): Promise<Uint8Array> {
  return t.cvn === 'A1' || t.cvn === 'D1' ? generateAesArqc(t.cvn, t.mk, input) : generateArqc(t.cvn, t.mk, input);
}

interface Tap {
  msg: IsoMessage;
  packed: Uint8Array;
  input: CryptogramInput;
  arqc: Uint8Array;
}

interface TapOptions {
  amount?: number;
  atc?: number;
  stan?: string;
  de22?: string;
  /** Changes applied after the cryptogram is computed (tampering). */
  tamper?: (parts: { input: Record<string, Uint8Array>; fields: Record<number, string | Uint8Array>; arqc: Uint8Array }) => void;
  omit55?: boolean;
  de48?: Record<string, string>;
}

/** A 0100 as it reaches the network: the terminal's fields plus the acquirer's DE 32 and DE 37. */
async function tap(t: DeviceToken, o: TapOptions = {}): Promise<Tap> {
  const amount = o.amount ?? 1250;
  const atc = o.atc ?? ++t.atc;
  if (o.atc !== undefined) t.atc = Math.max(t.atc, o.atc);
  const input: Record<string, Uint8Array> = {
    '9F02': fromHex(String(amount).padStart(12, '0')),
    '9F03': fromHex('000000000000'),
    '9F1A': fromHex('0840'),
    '95': fromHex('0000000000'),
    '5F2A': fromHex('0840'),
    '9A': fromHex('260315'),
    '9C': fromHex('00'),
    '9F37': new Uint8Array(randomBytes(4)),
    '82': fromHex('1980'),
    '9F36': Uint8Array.of(atc >> 8, atc & 0xff),
    '9F10': iad(t.cvn),
  };
  const arqc = await arqcFor(t, input as CryptogramInput);
  const stan = o.stan ?? String(++stanCounter % 1_000_000).padStart(6, '0');
  const fields: Record<number, string | Uint8Array> = {
    2: t.pan,
    3: '000000',
    4: String(amount).padStart(12, '0'),
    7: '0315120000',
    11: stan,
    12: '120000',
    13: '0315',
    14: t.exp,
    18: '5411',
    22: o.de22 ?? '071',
    23: '000',
    25: '00',
    32: ACQUIRING_INSTITUTION,
    37: `6074${stan.padStart(8, '0')}`,
    41: 'TERM0001',
    42: 'MERCHANT0000001',
    43: MERCHANT_NAME_LOCATION,
    49: '840',
  };
  if (o.de48) fields[48] = packSubelements(o.de48);
  const parts = { input, fields, arqc: Uint8Array.from(arqc) };
  o.tamper?.(parts);
  if (!o.omit55) {
    const order = ['82', '95', '9A', '9C', '5F2A', '9F02', '9F03', '9F10', '9F1A', '9F36', '9F37'];
    fields[55] = buildTlv([
      ...order.map((tag) => tlv(tag, parts.input[tag]!)),
      tlv('5F34', fromHex(t.psn)),
      tlv('9F26', parts.arqc),
      tlv('9F27', fromHex('80')),
      tlv('9F34', fromHex('1F0302')),
      tlv('9F6C', fromHex('0080')),
    ]);
  }
  const msg = { mti: '0100', fields };
  return { msg, packed: packMessage(msg), input: input as CryptogramInput, arqc };
}

interface OnlineOptions {
  amount?: number;
  atc?: number;
  de22?: string;
  /** Sends this cryptogram (base64) instead of a new one. */
  reuse?: string;
  tamper?: (fields: Record<number, string | Uint8Array>) => void;
}

/** An in-app 0100 as the acquirer forwards it (docs/inapp.md): DE 22 812, the online cryptogram in DE 48 SE 43, ECI in SE 42. */
async function online(t: DeviceToken, o: OnlineOptions = {}): Promise<Tap & { cryptogram: string }> {
  const amount = o.amount ?? 990;
  let cryptogram = o.reuse;
  if (cryptogram === undefined) {
    const atc = o.atc ?? ++t.atc;
    t.atc = Math.max(t.atc, atc);
    const scheme = t.cvn === 'A1' || t.cvn === 'D1' ? t.cvn : '3des';
    const bytes = await generateOnlineCryptogram(scheme, t.mk, { atc, un: await onlineUnpredictableNumber(randomBytes(32)), merchant: await merchantBinding('merchant.test.switch'), amount, currency: '840' });
    cryptogram = Buffer.from(bytes).toString('base64');
  }
  const base = await tap(t, { amount, atc: t.atc, de22: o.de22 ?? '812', omit55: true, de48: { '26': 'TSW', '42': '05', '43': cryptogram } });
  o.tamper?.(base.msg.fields);
  return { ...base, packed: packMessage(base.msg), cryptogram };
}

async function sendRaw(brand: string, packed: Uint8Array | Buffer, key = acquirerKey) {
  return app.inject({
    method: 'POST',
    url: `/network/${brand}/v1/iso8583`,
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/octet-stream' },
    payload: Buffer.from(packed),
  });
}

async function send(brand: Brand, packed: Uint8Array, key = acquirerKey): Promise<IsoMessage> {
  const res = await sendRaw(brand, packed, key);
  assert.equal(res.statusCode, 200, res.body);
  assert.equal(res.headers['content-type'], 'application/octet-stream');
  return unpackMessage(new Uint8Array(res.rawPayload));
}

const code = (m: IsoMessage) => m.fields[39];

async function authorization(stan: string) {
  const { rows } = await env.db.query<{ id: string; status: string; response_code: string | null; decline_reason: string | null; atc: number | null; token_ref: string | null; auth_code: string | null }>(
    'SELECT id, status, response_code, decline_reason, atc, token_ref, auth_code FROM network.authorizations WHERE acquirer_id = $1 AND stan = $2',
    [ACQUIRER_ID, stan],
  );
  return rows[0];
}

async function tokenState(ref: string) {
  const { rows } = await env.db.query<{ atc_high_water: number; atc_rejections: number; status: string }>(
    'SELECT COALESCE(a.atc_high_water, 0) AS atc_high_water, t.atc_rejections, t.status FROM network.tokens t LEFT JOIN network.token_atc a ON a.token_ref = t.token_ref WHERE t.token_ref = $1',
    [ref],
  );
  return rows[0]!;
}

/** Checks DE 55 tag 91 of an approval against the card's own ARPC computation. */
async function assertArpc(t: DeviceToken, tapped: Tap, answer: IsoMessage): Promise<void> {
  const de55 = answer.fields[55];
  assert.ok(de55 instanceof Uint8Array, 'an approval carries DE 55');
  const tags = tlvToMap(parseTlv(de55));
  assert.deepEqual([...tags.keys()], ['91'], 'DE 55 of the answer holds tag 91 only');
  const data = tags.get('91')!;
  if (t.cvn === 20) {
    assert.equal(data.length, 10);
    const arc = data.slice(8);
    assert.equal(toHex(arc), '3030');
    assert.ok(verifyArpc(20, t.mk, tapped.input, tapped.arqc, { arc }, data.slice(0, 8)));
  } else if (t.cvn === 18) {
    assert.equal(data.length, 8);
    assert.ok(verifyArpc(18, t.mk, tapped.input, tapped.arqc, { csu: data.slice(4) }, data.slice(0, 4)));
  } else {
    assert.equal(data.length, 8);
    assert.ok(await verifyAesArpc(t.cvn, t.mk, tapped.input, tapped.arqc, data.slice(0, 4), data.slice(4)));
  }
}

// --- Tests -------------------------------------------------------------------------------------------

const tokens = {} as Record<Brand, DeviceToken>;

describe('approvals', () => {
  before(async () => {
    for (const brand of BRANDS) tokens[brand] = await provisionToken(brand);
  });

  for (const brand of ['visa', 'mastercard', 'amex', 'discover'] as const) {
    it(`${brand}: the issuer gets the card number and the token context; the acquirer gets the token back with a verifying ARPC`, async () => {
      issuer.mode = 'approve';
      const t = tokens[brand];
      const before = issuer.count('0100');
      const tapped = await tap(t);
      const answer = await send(brand, tapped.packed);
      assert.equal(answer.mti, '0110');
      assert.equal(code(answer), '00');
      assert.equal(answer.fields[2], t.pan);
      assert.equal(answer.fields[14], t.exp);
      assert.equal(answer.fields[11], tapped.msg.fields[11]);
      assert.equal(answer.fields[38], 'A1B2C3');
      assert.equal(answer.fields[48], undefined);
      await assertArpc(t, tapped, answer);

      assert.equal(issuer.count('0100'), before + 1);
      const sent = issuer.received[issuer.received.length - 1]!;
      assert.equal(sent.path, `/issuer/${brand === 'visa' || brand === 'mastercard' ? 'iss_tessera_bank' : 'iss_sandbox_credit_union'}/v1/iso8583`);
      assert.equal(sent.apiKey, `tsk_network_test_${brand}`);
      const m = sent.message;
      assert.equal(m.fields[2], CARDS[brand]);
      assert.equal(m.fields[14], '3012');
      assert.equal(m.fields[4], tapped.msg.fields[4]);
      assert.equal(m.fields[11], tapped.msg.fields[11]);
      assert.equal(m.fields[41], 'TERM0001');
      const se = parseSubelements(m.fields[48] as string);
      assert.equal(se.get('33'), t.pan);
      assert.equal(se.get('34'), t.exp);
      assert.equal(se.get('35'), t.trid);
      assert.equal(se.get('36'), 'V');
      assert.equal(se.get('37'), t.deviceId);
      assert.equal(se.get('71'), 'P');

      const row = await authorization(tapped.msg.fields[11] as string);
      assert.equal(row?.status, 'approved');
      assert.equal(row?.response_code, '00');
      assert.equal(row?.auth_code, 'A1B2C3');
      assert.equal(row?.atc, t.atc);
      assert.equal((await tokenState(t.ref)).atc_high_water, t.atc);
    });
  }

  it('an issuer decline (51) goes back as it is, without DE 55, and is recorded', async () => {
    issuer.mode = 'decline51';
    const t = tokens.visa;
    const tapped = await tap(t);
    const answer = await send('visa', tapped.packed);
    issuer.mode = 'approve';
    assert.equal(code(answer), '51');
    assert.equal(answer.fields[55], undefined);
    assert.equal(answer.fields[2], t.pan);
    const row = await authorization(tapped.msg.fields[11] as string);
    assert.equal(row?.status, 'declined');
    assert.equal(row?.decline_reason, 'issuer_declined');
  });

  it('writes a network.transaction event with the answer, in the same transaction, without any card or token number', async () => {
    const t = tokens.mastercard;
    const tapped = await tap(t, { amount: 4321 });
    assert.equal(code(await send('mastercard', tapped.packed)), '00');
    const row = (await authorization(tapped.msg.fields[11] as string))!;
    const { rows } = await env.db.query<{ topic: string; aggregate_id: string; payload: Record<string, unknown>; text: string }>(
      "SELECT topic, aggregate_id, payload, payload::text AS text FROM infra.outbox WHERE payload->>'network_transaction_id' = $1",
      [row.id],
    );
    assert.equal(rows.length, 1);
    const e = rows[0]!;
    assert.equal(e.topic, 'network.transaction');
    assert.equal(e.aggregate_id, t.ref);
    assert.deepEqual(
      { ...e.payload, occurred_at: typeof e.payload.occurred_at },
      {
        token_ref: t.ref,
        brand: 'mastercard',
        trid: t.trid,
        device_id: t.deviceId,
        amount: 4321,
        currency: '840',
        merchant_name: MERCHANT_NAME_LOCATION,
        mcc: '5411',
        status: 'approved',
        response_code: '00',
        auth_code: 'A1B2C3',
        decline_reason: null,
        type: 'nfc',
        network_transaction_id: row.id,
        occurred_at: 'string',
      },
    );
    for (const needle of [CARDS.mastercard, t.pan, toHex(tapped.arqc)]) assert.ok(!e.text.includes(needle));
  });
});

describe('declines by the network', () => {
  it('unknown token, a card number, or another network\'s token → 14', async () => {
    const t = tokens.visa;
    const unknown = await tap({ ...t, pan: '4895370000000013' });
    assert.equal(code(await send('visa', unknown.packed)), '14');
    const card = await tap({ ...t, pan: CARDS.visa });
    assert.equal(code(await send('visa', card.packed)), '14');
    const before = issuer.count('0100');
    const elsewhere = await tap(tokens.mastercard);
    const answer = await send('visa', elsewhere.packed);
    assert.equal(code(answer), '14');
    assert.equal(issuer.count('0100'), before);
    const row = await authorization(elsewhere.msg.fields[11] as string);
    assert.equal(row?.token_ref, null);
    assert.equal(row?.decline_reason, 'token_of_another_network');
  });

  it('a suspended token → 62, a deleted one → 14 (the status trigger allows only lifecycle changes)', async () => {
    const t = await provisionToken('visa');
    assert.equal(code(await send('visa', (await tap(t)).packed)), '00');
    for (const [status, expected] of [['suspended', '62'], ['deleted', '14']] as const) {
      await env.db.query('UPDATE network.tokens SET status = $2 WHERE token_ref = $1', [t.ref, status]);
      await networks.service.invalidateToken(t.ref);
      const tapped = await tap(t);
      assert.equal(code(await send('visa', tapped.packed)), expected, status);
      assert.equal((await authorization(tapped.msg.fields[11] as string))?.decline_reason, `token_${status}`);
    }
    // deleted is final: not even a direct update brings the token back.
    await assert.rejects(env.db.query("UPDATE network.tokens SET status = 'active' WHERE token_ref = $1", [t.ref]), (e: unknown) => (e as { code?: string }).code === '23514');
  });

  it('expiry: DE 14 other than the token\'s, or a token past its expiry → 54', async () => {
    const t = await provisionToken('discover');
    const wrong = await tap(t, { tamper: ({ fields }) => (fields[14] = '3011') });
    assert.equal(code(await send('discover', wrong.packed)), '54');
    await env.db.query('UPDATE network.tokens SET token_exp_year = 2020 WHERE token_ref = $1', [t.ref]);
    await networks.service.invalidateToken(t.ref);
    const old = await tap({ ...t, exp: '2012' });
    assert.equal(code(await send('discover', old.packed)), '54');
    assert.equal((await authorization(old.msg.fields[11] as string))?.decline_reason, 'token_expired');
  });

  it('domain restrictions: manual, contact, magstripe, e-commerce without cryptogram → 57; in-app with its cryptogram goes through', async () => {
    const t = tokens.amex;
    const before = issuer.count('0100');
    for (const de22 of ['012', '051', '912', '102', '812', '092']) {
      const tapped = await tap(t, { de22 });
      assert.equal(code(await send('amex', tapped.packed)), '57', de22);
    }
    assert.equal(issuer.count('0100'), before);
    // 20 random bytes are no online cryptogram of this token: 88, the issuer never asked.
    const forged = await tap(t, { de22: '812', omit55: true, de48: { '42': '05', '43': Buffer.from(randomBytes(20)).toString('base64') } });
    assert.equal(code(await send('amex', forged.packed)), '88');
    assert.equal(issuer.count('0100'), before);
    const inapp = await online(t);
    const answer = await send('amex', inapp.packed);
    assert.equal(code(answer), '00');
    assert.equal(answer.fields[55], undefined);
    const se = parseSubelements(issuer.last('0100').fields[48] as string);
    assert.equal(se.get('36'), 'V');
    assert.equal(se.get('42'), '05');
    assert.equal(se.get('33'), t.pan);
  });

  it('in-app: every brand\'s online cryptogram verifies; changed amount or currency → 88; replayed → 63; ATC shared with contactless', async () => {
    for (const brand of BRANDS) {
      const t = await provisionToken(brand);
      const ok = await online(t, { amount: 4200 });
      assert.equal(code(await send(brand, ok.packed)), '00', brand);
      assert.equal(parseSubelements(issuer.last('0100').fields[48] as string).get('36'), 'V');
      assert.equal((await authorization(ok.msg.fields[11] as string))?.atc, t.atc);
      // The same cryptogram under a new STAN: its ATC is not higher → 63.
      const replay = await online(t, { amount: 4200, reuse: ok.cryptogram });
      assert.equal(code(await send(brand, replay.packed)), '63', `${brand} replay`);
      assert.equal((await authorization(replay.msg.fields[11] as string))?.decline_reason, 'atc_replayed');
      // DE 4 / DE 49 other than the ones the cryptogram covers.
      const amount = await online(t, { amount: 100, tamper: (f) => (f[4] = '000000000101') });
      assert.equal(code(await send(brand, amount.packed)), '88', `${brand} amount`);
      assert.equal((await authorization(amount.msg.fields[11] as string))?.decline_reason, 'online_cryptogram_invalid');
      const currency = await online(t, { tamper: (f) => (f[49] = '978') });
      assert.equal(code(await send(brand, currency.packed)), '88', `${brand} currency`);
    }
    // One counter: a tap moves it past an in-app cryptogram made earlier, which is then refused.
    const t = await provisionToken('visa');
    const early = await online(t);
    assert.equal(code(await send('visa', (await tap(t)).packed)), '00');
    assert.equal(code(await send('visa', early.packed)), '63');
    // And an in-app ATC above the tap's high-water mark is accepted, after which a lower tap is refused.
    const later = await online(t, { atc: t.atc + 5 });
    assert.equal(code(await send('visa', later.packed)), '00');
    assert.equal(code(await send('visa', (await tap(t, { atc: t.atc - 2 })).packed)), '63');
  });

  it('in-app: the online cryptogram in a contactless 0100, or a token without the in-app domain', async () => {
    const t = await provisionToken('mastercard');
    const inapp = await online(t);
    // The same DE 48 sent as a tap (DE 22 071) without ICC data: no ARQC → 88; with another token's domain list → 57.
    const asTap = await online(t, { reuse: inapp.cryptogram, de22: '071' });
    assert.equal(code(await send('mastercard', asTap.packed)), '88');
    await env.db.query("UPDATE network.tokens SET domains = '{contactless}' WHERE token_ref = $1", [t.ref]);
    await networks.service.invalidateToken(t.ref);
    assert.equal(code(await send('mastercard', inapp.packed)), '57');
    assert.equal((await authorization(inapp.msg.fields[11] as string))?.decline_reason, 'domain_inapp');
  });

  it('a tampered cryptogram or transaction → 88, and the ATC does not move', async () => {
    const t = await provisionToken('visa');
    const flip = (b: Uint8Array) => {
      b[b.length - 1]! ^= 0x01;
    };
    const cases: [string, TapOptions][] = [
      ['DE 4 other than 9F02', { tamper: ({ fields }) => (fields[4] = '000000009999') }],
      ['9F02 and DE 4 changed together', { tamper: ({ fields, input }) => ((fields[4] = '000000009999'), (input['9F02'] = fromHex('000000009999'))) }],
      ['DE 49 other than 5F2A', { tamper: ({ fields }) => (fields[49] = '978') }],
      ['unpredictable number', { tamper: ({ input }) => flip(input['9F37']!) }],
      ['ATC', { tamper: ({ input }) => flip(input['9F36']!) }],
      ['ARQC', { tamper: ({ arqc }) => flip(arqc) }],
      ['IAD of another CVN', { tamper: ({ input }) => (input['9F10'] = fromHex('06011603A00000')) }],
      ['no DE 55', { omit55: true }],
    ];
    const before = issuer.count('0100');
    for (const [what, options] of cases) {
      const tapped = await tap(t, { ...options, atc: 7 });
      assert.equal(code(await send('visa', tapped.packed)), '88', what);
    }
    assert.equal(issuer.count('0100'), before);
    assert.equal((await tokenState(t.ref)).atc_high_water, 0);
    const good = await tap(t, { atc: 7 });
    assert.equal(code(await send('visa', good.packed)), '00');
  });

  it('cryptograms that keep failing on one token: the network suspends it at the limit, tells the platform and issuer; a good one in between starts the count again', async () => {
    const limit = DEFAULT_SWITCH_SETTINGS.cryptogramFailureLimit;
    const forge = async (t: DeviceToken) => {
      const forged = await tap(t, { tamper: ({ arqc }) => (arqc[0]! ^= 0xff) });
      assert.equal(code(await send('discover', forged.packed)), '88');
    };
    const t = await provisionToken('discover');
    // limit − 1 failures, a genuine tap, limit − 1 more: never suspended (the count is of failures in a row).
    for (let i = 1; i < limit; i++) await forge(t);
    assert.equal(code(await send('discover', (await tap(t)).packed)), '00');
    for (let i = 1; i < limit; i++) await forge(t);
    assert.equal((await tokenState(t.ref)).status, 'active');
    // A replay of a genuine message is refused by its ATC and does not reset the count.
    const genuine = await tap(t);
    assert.equal(code(await send('discover', genuine.packed)), '00');
    const genuineAtc = t.atc;
    for (let i = 1; i < limit; i++) await forge(t);
    assert.equal(code(await send('discover', (await tap(t, { atc: genuineAtc })).packed)), '63');
    await forge(t);
    const { rows } = await env.db.query<{ status: string; suspended_by: string; status_reason: string }>('SELECT status, suspended_by, status_reason FROM network.tokens WHERE token_ref = $1', [t.ref]);
    assert.deepEqual(rows[0], { status: 'suspended', suspended_by: 'network', status_reason: 'cryptogram_failures' });
    // Told to the token requestor (the wallet platform) and the issuer, through the outbox.
    const events = await env.db.query<{ topic: string; payload: { status: string; actor: string; reason: string } }>(
      "SELECT topic, payload FROM infra.outbox WHERE aggregate_id = $1 AND payload->>'reason' = 'cryptogram_failures' ORDER BY id",
      [t.ref],
    );
    assert.deepEqual(events.rows.map((e) => [e.topic, e.payload.status, e.payload.actor]).sort(), [['network.issuer_token', 'suspended', 'network'], ['network.token', 'suspended', 'network']]);
    // Even a genuine cryptogram is refused now (62); the wallet platform may not resume it, the issuer may.
    assert.equal(code(await send('discover', (await tap(t)).packed)), '62');
    const byPlatform = await app.inject({ method: 'POST', url: `/network/discover/v1/tokens/${t.ref}/resume`, headers: { authorization: `Bearer ${requestor.discover.key}` }, payload: { reason: 'user_request' } });
    assert.equal(byPlatform.statusCode, 409, byPlatform.body);
    assert.equal(byPlatform.json().error.code, 'token_transition_forbidden');
  });

  it('a replayed or lower ATC → 63, counted, logged as a metric without the number', async () => {
    const t = await provisionToken('mastercard');
    assert.equal(code(await send('mastercard', (await tap(t, { atc: 5 })).packed)), '00');
    const replay = await tap(t, { atc: 5 });
    assert.equal(code(await send('mastercard', replay.packed)), '63');
    assert.equal((await authorization(replay.msg.fields[11] as string))?.decline_reason, 'atc_replayed');
    const lower = await tap(t, { atc: 3 });
    assert.equal(code(await send('mastercard', lower.packed)), '63');
    assert.equal((await authorization(lower.msg.fields[11] as string))?.decline_reason, 'atc_lower');
    const state = await tokenState(t.ref);
    assert.equal(state.atc_high_water, 5);
    assert.equal(state.atc_rejections, 2);
    const lines = env.logLines.filter((l) => l.includes('network_atc_rejections_total') && l.includes(t.ref));
    assert.equal(lines.length, 2);
    for (const l of lines) {
      assert.equal(JSON.parse(l).level, 40);
      assert.ok(!l.includes(t.pan) && !l.includes(CARDS.mastercard));
    }
    assert.equal(code(await send('mastercard', (await tap(t, { atc: 6 })).packed)), '00');
  });

  it('admissions of many tokens in one statement: each as alone (ATC up only, active tokens only); a duplicate fails the whole statement', async () => {
    const [up, replayed, noAtc, suspended] = [await provisionToken('visa'), await provisionToken('mastercard'), await provisionToken('amex'), await provisionToken('discover')];
    await env.db.query('INSERT INTO network.token_atc (token_ref, atc_high_water) VALUES ($1, 9), ($2, 9)', [up.ref, replayed.ref]);
    await env.db.query("UPDATE network.tokens SET status = 'suspended' WHERE token_ref = $1", [suspended.ref]);
    let n = 0;
    const item = (t: DeviceToken, atc: number | null): NewAuthorization => ({
      acquirerId: ACQUIRER_ID,
      stan: String(900_000 + ++n),
      transmitted: '1124101500',
      terminalId: 'TBATCH01',
      id: `nauth_batch_test_${n}_${randomBytes(4).toString('hex')}`,
      requestHash: randomBytes(32),
      tokenRef: t.ref,
      brand: t.brand,
      processingCode: '000000',
      amount: 1234 + n,
      currency: '840',
      acquiringInstitution: '123456',
      rrn: `RRN00000000${n}`.padEnd(12, '0'),
      merchantId: 'MERCHANT0000001',
      merchantName: 'Batch Test Store',
      mcc: '5411',
      posEntryMode: '071',
      atc,
      issuerId: null,
      createdAt: new Date('2026-11-24T10:15:00.123Z'),
    });
    const items = [item(up, 12), item(replayed, 9), item(noAtc, null), item(suspended, 50)];
    assert.deepEqual(await switchRepo.admitMany(env.db, items), ['admitted', 'not_advanced', 'admitted', 'not_advanced']);
    assert.equal((await tokenState(up.ref)).atc_high_water, 12);
    assert.equal((await tokenState(replayed.ref)).atc_high_water, 9);
    assert.equal((await tokenState(suspended.ref)).atc_high_water, 0);
    const { rows } = await env.db.query<{ id: string; amount: string; request_hash: Buffer; created_at: Date; atc: number | null; status: string }>(
      "SELECT id, amount::text, request_hash, created_at, atc, status FROM network.authorizations WHERE terminal_id = 'TBATCH01' ORDER BY stan",
    );
    assert.deepEqual(
      rows.map((r) => [r.id, r.amount, Buffer.from(r.request_hash).toString('hex'), r.created_at.toISOString(), r.atc, r.status]),
      [items[0]!, items[2]!].map((a) => [a.id, String(a.amount), a.requestHash.toString('hex'), a.createdAt.toISOString(), a.atc, 'pending']),
    );
    // A transmission key recorded already: the statement fails and writes nothing (not even the other's ATC).
    const again = { ...item(up, 20), stan: items[0]!.stan };
    await assert.rejects(switchRepo.admitMany(env.db, [item(replayed, 15), again]), (e: unknown) => (e as { code?: string }).code === '23505');
    assert.equal((await tokenState(replayed.ref)).atc_high_water, 9);
    assert.equal(await switchRepo.admit(env.db, again), 'duplicate');
  });

  it('two identical 0100s at once: one issuer call, both get its answer; two messages with one ATC: one passes, one 63', async () => {
    const t = await provisionToken('discover');
    issuer.delayMs = 50;
    try {
      const tapped = await tap(t);
      const before = issuer.count('0100');
      const answers = await Promise.all([send('discover', tapped.packed), send('discover', tapped.packed)]);
      assert.equal(issuer.count('0100'), before + 1);
      assert.deepEqual(answers.map(code), ['00', '00']);
      assert.deepEqual(packMessage(answers[0]!), packMessage(answers[1]!));
      await assertArpc(t, tapped, answers[1]!);

      const atc = t.atc + 1;
      const a = await tap(t, { atc });
      const b = await tap(t, { atc });
      const both = await Promise.all([send('discover', a.packed), send('discover', b.packed)]);
      assert.deepEqual(both.map(code).sort(), ['00', '63']);
      assert.equal(issuer.count('0100'), before + 2);
    } finally {
      issuer.delayMs = 0;
    }
  });

  it('a retransmission gets the recorded answer without a second issuer call; another message under the same keys gets 94', async () => {
    const t = tokens.visa;
    const tapped = await tap(t);
    const first = await send('visa', tapped.packed);
    const before = issuer.count('0100');
    const again = await send('visa', tapped.packed);
    assert.deepEqual(packMessage(again), packMessage(first));
    assert.equal(issuer.count('0100'), before);
    const other = await tap(t, { stan: tapped.msg.fields[11] as string, amount: 999 });
    assert.equal(code(await send('visa', other.packed)), '94');
    // The same keys from another acquirer are another transmission.
    const theirs = await send('visa', (await tap(t, { stan: tapped.msg.fields[11] as string })).packed, otherAcquirerKey);
    assert.equal(code(theirs), '00');
  });

  it('what is not a message → 400 iso8583_invalid (never a 500); a message missing what it needs → 12', async () => {
    for (const body of [Buffer.from('hello'), Buffer.alloc(0), randomBytes(40), Buffer.from(packMessage({ mti: '0110', fields: { 39: '00' } }))]) {
      const res = await sendRaw('visa', body);
      assert.equal(res.statusCode, 400, res.body);
      assert.equal(res.json().error.code, 'iso8583_invalid');
    }
    const json = await app.inject({ method: 'POST', url: '/network/visa/v1/iso8583', headers: { authorization: `Bearer ${acquirerKey}` }, payload: { mti: '0100' } });
    assert.ok(json.statusCode === 400 || json.statusCode === 415, json.body);
    assert.equal((await sendRaw('nosuchbrand', Buffer.from('x'))).statusCode, 404);
    const tapped = await tap(tokens.visa);
    delete tapped.msg.fields[22];
    assert.equal(code(await send('visa', packMessage(tapped.msg))), '12');
    const refund = await tap(tokens.visa, { tamper: ({ fields }) => (fields[3] = '200000') });
    assert.equal(code(await send('visa', refund.packed)), '12');
    // An acquirer's DE 48 that leaves no room for the token context.
    const full = Object.fromEntries(Array.from({ length: 10 }, (_, i) => [String(50 + i), 'X'.repeat(95)]));
    const crowded = await tap(tokens.visa, { de48: full });
    assert.equal(code(await send('visa', crowded.packed)), '12');
    assert.equal((await authorization(crowded.msg.fields[11] as string))?.decline_reason, 'de48_too_long');
  });

  it('the route: no or bad credentials → 401, any role but acquirer → 403', async () => {
    const isoRoute = networks.routes.filter((r) => r.url.endsWith('/iso8583'));
    assert.equal(isoRoute.length, 1);
    const checks = await checkRouteSecurity(app, isoRoute, { admin: adminKey, platform: platformKey, acquirer: acquirerKey });
    assert.ok(checks >= 7);
    const issuerKey = (await apiKeys.create('issuer', 'iss_tessera_bank')).secret;
    assert.equal((await sendRaw('visa', (await tap(tokens.visa)).packed, issuerKey)).statusCode, 403);
  });
});

describe('the client', () => {
  it('authorizeIso: the packed answer; what is not a message, or not an acquirer, throws PartyError', async () => {
    const client = new NetworkClient(new InjectTransport(() => app), { visa: acquirerKey, mastercard: acquirerKey });
    const tapped = await tap(tokens.visa);
    const answer = unpackMessage(await client.authorizeIso('visa', tapped.packed));
    assert.equal(code(answer), '00');
    await assertArpc(tokens.visa, tapped, answer);
    await assert.rejects(client.authorizeIso('mastercard', Buffer.from('nope')), (err: unknown) => err instanceof PartyError && err.status === 400 && err.code === 'iso8583_invalid');
    await assert.rejects(() => client.authorizeIso('amex', tapped.packed), /no API key configured/);
    const asPlatform = new NetworkClient(new InjectTransport(() => app), platformKey);
    await assert.rejects(asPlatform.authorizeIso('visa', tapped.packed), (err: unknown) => err instanceof PartyError && err.status === 403);
  });
});

describe('the token cache', () => {
  it('caches active tokens only; a status change with invalidateToken is seen at once', async () => {
    const t = await provisionToken('amex');
    const key = TokenDirectory.cacheKey(await networks.vault.fingerprint(t.pan));
    assert.equal(code(await send('amex', (await tap(t)).packed)), '00');
    const cached = await env.cache.get(key);
    assert.ok(cached);
    assert.ok(!cached.includes(t.pan) && !cached.includes(CARDS.amex));
    assert.equal(JSON.parse(cached).status, 'active');
    await env.db.query("UPDATE network.tokens SET status = 'suspended' WHERE token_ref = $1", [t.ref]);
    await networks.service.invalidateToken(t.ref);
    assert.equal(await env.cache.get(key), null);
    assert.equal(code(await send('amex', (await tap(t)).packed)), '62');
    assert.equal(await env.cache.get(key), null, 'a suspended token is not cached');
  });

  it('a status changed in the database without invalidation is still refused (the database decides), and the entry goes', async () => {
    const t = await provisionToken('visa');
    const key = TokenDirectory.cacheKey(await networks.vault.fingerprint(t.pan));
    assert.equal(code(await send('visa', (await tap(t)).packed)), '00');
    assert.ok(await env.cache.get(key));
    await env.db.query("UPDATE network.tokens SET status = 'suspended' WHERE token_ref = $1", [t.ref]);
    const before = issuer.count('0100');
    assert.equal(code(await send('visa', (await tap(t)).packed)), '62');
    assert.equal(issuer.count('0100'), before);
    assert.equal(await env.cache.get(key), null);
  });

  it('with Redis down the switch authorizes from the database', async () => {
    const dead = new RedisCache('redis://127.0.0.1:1', { keyPrefix: 'switch-test-dead:', commandTimeoutMs: 100 });
    try {
      const alone = createNetworks({
        db: env.db,
        cache: dead,
        kek,
        issuers: new GreenIssuers(),
        issuerIso: { transport: issuer, apiKey: (b) => `tsk_network_test_${b}` },
        switch: { issuerTimeoutMs: ISSUER_TIMEOUT_MS },
      });
      await alone.init();
      const t = tokens.mastercard;
      for (let i = 0; i < 3; i++) {
        const tapped = await tap(t);
        const answer = unpackMessage(await alone.switch.handle('mastercard', ACQUIRER_ID, tapped.packed));
        assert.equal(code(answer), '00');
        await assertArpc(t, tapped, answer);
      }
    } finally {
      await dead.close();
    }
  });
});

describe('reversals', () => {
  async function reversalsOf(stan: string) {
    const { rows } = await env.db.query<{ id: string; status: string; reason: string; attempts: number; mti: string; stan: string; last_error: string | null }>(
      `SELECT r.id, r.status, r.reason, r.attempts, r.mti, r.stan, r.last_error FROM network.issuer_reversals r
         JOIN network.authorizations a ON a.id = r.authorization_id WHERE a.acquirer_id = $1 AND a.stan = $2`,
      [ACQUIRER_ID, stan],
    );
    return rows;
  }

  it('issuer timeout → 91 at once, and a 0400 with DE 90 owed to the issuer, sent by runPendingReversals until acknowledged', async () => {
    const t = tokens.visa;
    issuer.mode = 'slow';
    const tapped = await tap(t);
    const answer = await send('visa', tapped.packed);
    issuer.mode = 'approve';
    assert.equal(code(answer), '91');
    assert.equal(issuer.slowInFlight, 1, 'answered at the timeout, without waiting for the issuer');
    const stan = tapped.msg.fields[11] as string;
    assert.equal((await authorization(stan))?.status, 'timed_out');
    const [owed] = await reversalsOf(stan);
    assert.equal(owed?.status, 'pending');
    assert.equal(owed?.reason, 'issuer_timeout');
    issuer.releaseSlow(); // the slow issuer finishes with the 0100
    while (issuer.slowInFlight > 0) await sleep(5);
    const before = issuer.count('0400');
    assert.equal(await networks.runPendingReversals(), 0, 'not before the first delay');
    clockOffsetMs += 2_000;
    assert.equal(await networks.runPendingReversals(), 1);
    assert.equal(issuer.count('0400'), before + 1);
    const r = issuer.last('0400');
    assert.equal(r.fields[2], CARDS.visa);
    assert.equal(r.fields[4], tapped.msg.fields[4]);
    assert.equal(r.fields[11], owed!.stan);
    assert.equal(r.fields[90], `0100${stan}${tapped.msg.fields[7]}${ACQUIRING_INSTITUTION.padStart(11, '0')}${'0'.repeat(11)}`);
    assert.equal((await reversalsOf(stan))[0]?.status, 'acknowledged');
    clockOffsetMs += 60_000;
    assert.equal(await networks.runPendingReversals(), 0);
    assert.equal(issuer.count('0400'), before + 1);
  });

  /** A tap answered 91 because the issuer could not be reached: a reversal is owed. Its STAN. */
  async function tapWhileIssuerUnavailable(): Promise<string> {
    issuer.mode = 'unavailable';
    const tapped = await tap(tokens.amex);
    assert.equal(code(await send('amex', tapped.packed)), '91');
    issuer.mode = 'approve';
    return tapped.msg.fields[11] as string;
  }

  it('issuer unreachable → 91; the reversal is retried with backoff while the issuer answers 91', async () => {
    const stan = await tapWhileIssuerUnavailable();
    assert.equal((await reversalsOf(stan))[0]?.reason, 'issuer_unavailable');
    issuer.reversalCode = '91';
    try {
      clockOffsetMs += 5_000;
      assert.equal(await networks.runPendingReversals(), 0);
      const [first] = await reversalsOf(stan);
      assert.equal(first?.attempts, 1);
      assert.match(first?.last_error ?? '', /91/);
      assert.equal(await networks.runPendingReversals(), 0, 'not again before its backoff');
      assert.equal((await reversalsOf(stan))[0]?.attempts, 1);
    } finally {
      issuer.reversalCode = '00';
    }
    clockOffsetMs += 10_000;
    assert.equal(await networks.runPendingReversals(), 1);
    assert.equal((await reversalsOf(stan))[0]?.status, 'acknowledged');
  });

  it('a reversal the issuer never acknowledges is given up after the reversal policy\'s attempts: failed, for the operator', async () => {
    const stan = await tapWhileIssuerUnavailable();
    issuer.reversalCode = '91';
    try {
      for (let attempt = 1; attempt <= REVERSAL_RETRY.maxAttempts; attempt++) {
        clockOffsetMs += REVERSAL_RETRY.maxDelayMs + 60_000;
        assert.equal(await networks.runPendingReversals(), 0);
        const [r] = await reversalsOf(stan);
        assert.equal(r?.attempts, attempt);
        assert.equal(r?.status, attempt < REVERSAL_RETRY.maxAttempts ? 'pending' : 'failed', `after attempt ${attempt}`);
      }
      const sent = issuer.count('0400');
      clockOffsetMs += REVERSAL_RETRY.maxDelayMs + 60_000;
      await networks.runPendingReversals();
      assert.equal(issuer.count('0400'), sent, 'a failed reversal is not sent again');
    } finally {
      issuer.reversalCode = '00';
    }
  });

  it('an issuer answer that is not this 0110 → 96 and a reversal; an issuer 500 → 91 and a reversal', async () => {
    const t = tokens.discover;
    issuer.mode = 'wrong_stan';
    const a = await tap(t);
    assert.equal(code(await send('discover', a.packed)), '96');
    issuer.mode = 'http500';
    const b = await tap(t);
    assert.equal(code(await send('discover', b.packed)), '91');
    issuer.mode = 'approve';
    assert.equal((await reversalsOf(a.msg.fields[11] as string))[0]?.reason, 'issuer_unreadable');
    assert.equal((await reversalsOf(b.msg.fields[11] as string))[0]?.reason, 'issuer_unavailable');
    clockOffsetMs += 5_000;
    assert.equal(await networks.runPendingReversals(), 2);
  });

  it("the acquirer's 0400 reverses at the issuer once; a repeat is acknowledged without a second issuer call; 0420 → 0430", async () => {
    const t = tokens.mastercard;
    const tapped = await tap(t);
    assert.equal(code(await send('mastercard', tapped.packed)), '00');
    const stan = tapped.msg.fields[11] as string;
    const reversal = (mti: '0400' | '0420', of: Tap) =>
      packMessage({
        mti,
        fields: {
          2: t.pan,
          3: '000000',
          4: of.msg.fields[4]!,
          7: '0315120105',
          11: String(++stanCounter).padStart(6, '0'),
          32: ACQUIRING_INSTITUTION,
          37: of.msg.fields[37]!,
          41: 'TERM0001',
          42: 'MERCHANT0000001',
          49: '840',
          90: `0100${of.msg.fields[11]}${of.msg.fields[7]}${ACQUIRING_INSTITUTION.padStart(11, '0')}${'0'.repeat(11)}`,
        },
      });
    const before = issuer.count('0400');
    const answer = await send('mastercard', reversal('0400', tapped));
    assert.equal(answer.mti, '0410');
    assert.equal(code(answer), '00');
    assert.equal(issuer.count('0400'), before + 1);
    const r = issuer.last('0400');
    assert.equal(r.fields[2], CARDS.mastercard);
    assert.equal(r.fields[90], `0100${stan}${tapped.msg.fields[7]}${ACQUIRING_INSTITUTION.padStart(11, '0')}${'0'.repeat(11)}`);
    assert.equal((await authorization(stan))?.status, 'reversed');
    assert.equal((await reversalsOf(stan))[0]?.status, 'acknowledged');
    const again = await send('mastercard', reversal('0400', tapped));
    assert.equal(code(again), '00');
    assert.equal(issuer.count('0400'), before + 1);
    assert.equal(await networks.runPendingReversals(), 0);
    const { rows: events } = await env.db.query<{ status: string }>(
      "SELECT payload->>'status' AS status FROM infra.outbox WHERE payload->>'network_transaction_id' = $1 ORDER BY id",
      [(await authorization(stan))!.id],
    );
    assert.deepEqual(events.map((e) => e.status), ['approved', 'reversed']);

    const advised = await tap(t);
    assert.equal(code(await send('mastercard', advised.packed)), '00');
    const advice = await send('mastercard', reversal('0420', advised));
    assert.equal(advice.mti, '0430');
    assert.equal(code(advice), '00');
    assert.equal(issuer.last('0420').fields[2], CARDS.mastercard);
  });

  it('a reversal of an unknown original is acknowledged (00) and records nothing; without DE 90 → 12; a declined original needs none', async () => {
    const count = async () => (await env.db.query<{ n: number }>('SELECT count(*)::int AS n FROM network.issuer_reversals')).rows[0]!.n;
    const n = await count();
    const unknown = packMessage({
      mti: '0400',
      fields: { 2: tokens.visa.pan, 3: '000000', 4: '000000001250', 7: '0315120105', 11: '777777', 41: 'TERM0001', 49: '840', 90: `0100123456031511111100000000000${'0'.repeat(11)}` },
    });
    assert.equal(code(await send('visa', unknown)), '00');
    const bare = packMessage({ mti: '0400', fields: { 2: tokens.visa.pan, 3: '000000', 4: '000000001250', 7: '0315120105', 11: '777778', 41: 'TERM0001', 49: '840' } });
    assert.equal(code(await send('visa', bare)), '12');
    const declined = await tap(tokens.visa, { de22: '012' });
    assert.equal(code(await send('visa', declined.packed)), '57');
    const rev = packMessage({
      mti: '0400',
      fields: { 3: '000000', 4: declined.msg.fields[4]!, 7: '0315120105', 11: '777779', 41: 'TERM0001', 49: '840', 90: `0100${declined.msg.fields[11]}${declined.msg.fields[7]}${'0'.repeat(22)}` },
    });
    assert.equal(code(await send('visa', rev)), '00');
    assert.equal(await count(), n);
  });

  it('an authorization left pending by a stopped process is answered 91 and reversed at the issuer', async () => {
    const t = tokens.discover;
    const tapped = await tap(t);
    assert.equal(code(await send('discover', tapped.packed)), '00');
    const stan = tapped.msg.fields[11] as string;
    // As if the process had stopped between the issuer's answer and its record.
    await env.db.query(
      "UPDATE network.authorizations SET status = 'pending', response_code = NULL, auth_code = NULL, completed_at = NULL, created_at = created_at - interval '1 hour' WHERE acquirer_id = $1 AND stan = $2",
      [ACQUIRER_ID, stan],
    );
    const before = issuer.count('0400');
    assert.equal(await networks.runPendingReversals(), 1);
    assert.equal(issuer.count('0400'), before + 1);
    const row = await authorization(stan);
    assert.equal(row?.status, 'timed_out');
    assert.equal(row?.response_code, '91');
    assert.equal((await reversalsOf(stan))[0]?.reason, 'stale');
  });
});

describe('leaks and many taps', () => {
  it('no card number, token number or ICC data in the logs, the switch tables or the outbox', async () => {
    const needles = new Set<string>([...Object.values(CARDS), ...Object.values(tokens).map((t) => t.pan)]);
    const logs = env.logLines.join('\n');
    assert.ok(logs.includes('network authorization'));
    for (const n of needles) assert.ok(!logs.includes(n), 'the logs hold a number in clear');
    // Tag 9F26 (the ARQC) as it sits in DE 55, in hex.
    assert.ok(!/9F2608[0-9A-F]{16}/i.test(logs), 'the logs hold ICC data');
    for (const table of ['network.authorizations', 'network.issuer_reversals', 'infra.outbox']) {
      const { rows } = await env.db.query<{ t: string }>(`SELECT x::text AS t FROM ${table} x`);
      assert.ok(rows.length > 0);
      for (const r of rows) {
        for (const n of needles) {
          assert.ok(!r.t.includes(n), `${table} holds a number in clear`);
          assert.ok(!r.t.includes(Buffer.from(n).toString('hex')), `${table} holds a number in clear (hex)`);
        }
      }
    }
  });

  it('200 taps of one token in a row, each with the next ATC: every one approved (speed is measured by tessera bench, not here)', async () => {
    const t = await provisionToken('visa');
    const taps: Tap[] = [];
    for (let i = 0; i < 200; i++) taps.push(await tap(t));
    for (const tapped of taps) assert.equal(code(await send('visa', tapped.packed)), '00');
  });
});
