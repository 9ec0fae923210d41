import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { CompactEncrypt, compactDecrypt, decodeProtectedHeader, importJWK } from 'jose';
import { createTestEnv, type TestEnv } from '../../test/helpers/env.js';
import { checkRouteSecurity } from '../../test/helpers/security.js';
import { isUniqueViolation, migrate } from '../infra/db/index.js';
import { buildHttpApp } from '../infra/http/app.js';
import { ApiKeys } from '../infra/http/auth.js';
import { KeyEncryptionKeys } from '../infra/keys/kek.js';
import { PartyError, PartyUnavailable } from '../infra/transport.js';
import { x509 } from '../infra/x509.js';
import { sandboxCard } from '../issuer/sandbox-cards.js';
import { fromHex, toHex } from '../protocol/bytes.js';
import { isCardBin, isTokenBin, luhnCheck, luhnCheckDigit } from '../protocol/cards/index.js';
import { aesKeyCheckValue, keyCheckValue } from '../protocol/emv/index.js';
import { Secret } from '../protocol/secret.js';
import { BRAND_PROFILES, BRANDS, type Brand } from './brands.js';
import { Hsm } from './hsm.js';
import { createNetworks, type Networks } from './index.js';
import type { CardVerification, CardVerificationRequest, IssuerGateway, IssuerMessage } from './issuers.js';
import type { ProvisioningPayload } from './service.js';

// --- A stub of the issuers (the lead's end-to-end tests use the real ones) -------------------------

function partyError(status: number, code: string, message: string): PartyError {
  return new PartyError(status, { error: { type: status === 402 ? 'card_error' : 'invalid_request_error', code, message, request_id: 'req_stub' } }, 'issuer');
}

interface StubVerification {
  v: CardVerification;
  code: string | null;
  attempts: number;
  status: 'pending' | 'verified' | 'locked';
  messages: IssuerMessage[];
}

class StubIssuers implements IssuerGateway {
  readonly byToken = new Map<string, StubVerification>();
  readonly byId = new Map<string, StubVerification>();
  calls = 0;
  delayMs = 0;
  /** The next card verification fails like this (then behaves again). */
  failNext: 'crash' | 'unavailable' | null = null;
  lastRequest: CardVerificationRequest | undefined;

  async createCardVerification(issuerId: string, body: CardVerificationRequest): Promise<CardVerification> {
    this.calls++;
    this.lastRequest = body;
    if (this.delayMs) await sleep(this.delayMs);
    if (this.failNext) {
      const f = this.failNext;
      this.failNext = null;
      if (f === 'crash') throw new Error('connection reset while reading the answer');
      throw new PartyUnavailable(`issuer:${issuerId}`, 'timeout');
    }
    // Like the real issuer: a retry for the same token gets the same verification.
    const existing = this.byToken.get(body.token_ref);
    if (existing) return existing.v;
    const card = sandboxCard(body.pan);
    if (!card || card.issuerId !== issuerId) throw partyError(402, 'card_not_supported', 'This card is not supported.');
    if (card.outcome === 'card_expired') throw partyError(402, 'card_expired', 'The card has expired.');
    if (body.cvv !== card.cvv) throw partyError(402, 'card_cvv_incorrect', "The card's security code is incorrect.");
    const decision = card.idvPolicy === 'red' ? 'red' : card.idvPolicy === 'yellow' || body.device_score <= 2 ? 'yellow' : 'green';
    const v: CardVerification = {
      id: `civ_${this.byId.size + 1}_${body.token_ref.slice(-6)}`,
      decision,
      reasons: decision === 'red' ? ['risk'] : decision === 'yellow' ? ['new_device'] : [],
      methods: decision === 'yellow' ? [{ id: 'sms', type: 'sms', destination: '•••• 0101' }, { id: 'email', type: 'email', destination: 'a•••@example.com' }] : [],
      card: { last4: body.pan.slice(-4), product: card.product, par_seed: `SEED${card.key.toUpperCase().replace(/[^0-9A-Z]/g, '')}`.padEnd(25, '0').slice(0, 25), account_id: 'acct_stub' },
    };
    const record: StubVerification = { v, code: null, attempts: 0, status: decision === 'yellow' ? 'pending' : 'verified', messages: [] };
    this.byToken.set(body.token_ref, record);
    this.byId.set(v.id, record);
    return v;
  }

  async sendVerificationOtp(_issuerId: string, id: string, methodId: string): Promise<{ sent: boolean; expires_at: string }> {
    const r = this.byId.get(id);
    if (!r) throw partyError(404, 'resource_missing', 'No such object.');
    if (r.status !== 'pending') throw partyError(409, 'verification_not_pending', 'Not pending.');
    r.code = '246810';
    r.messages.push({ channel: methodId, destination: methodId === 'sms' ? '•••• 0101' : 'a•••@example.com', body: `Your code is ${r.code}`, created_at: new Date().toISOString() });
    return { sent: true, expires_at: new Date(Date.now() + 600_000).toISOString() };
  }

  async confirmVerification(_issuerId: string, id: string, code: string): Promise<{ decision: 'green' }> {
    const r = this.byId.get(id);
    if (!r) throw partyError(404, 'resource_missing', 'No such object.');
    if (r.status === 'locked') throw partyError(402, 'verification_locked', 'Locked.');
    if (r.status !== 'pending') throw partyError(409, 'verification_not_pending', 'Not pending.');
    if (r.code === null || code !== r.code) {
      r.attempts++;
      if (r.attempts >= 3) {
        r.status = 'locked';
        throw partyError(402, 'verification_locked', 'Too many incorrect verification codes: this verification is locked. Start again.');
      }
      throw partyError(402, 'verification_code_incorrect', `The verification code is incorrect; ${3 - r.attempts} attempts left.`);
    }
    r.status = 'verified';
    return { decision: 'green' };
  }

  async verificationMessages(_issuerId: string, id: string): Promise<{ data: IssuerMessage[] }> {
    const r = this.byId.get(id);
    if (!r) throw partyError(404, 'resource_missing', 'No such object.');
    return { data: r.messages };
  }
}

// --- The device side: a device CA (the platform's) and Secure Element certificates ------------------

const ECDSA = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const DAY = 86400_000;

interface Ca {
  cert: x509.X509Certificate;
  pem: string;
  key: CryptoKey;
}

async function makeCa(name: string): Promise<Ca> {
  const keys = (await crypto.subtle.generateKey(ECDSA, true, ['sign', 'verify'])) as CryptoKeyPair;
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: '01',
    name: `CN=${name}, O=Test Wallet`,
    notBefore: new Date(Date.now() - DAY),
    notAfter: new Date(Date.now() + 3650 * DAY),
    signingAlgorithm: ECDSA,
    keys,
    extensions: [new x509.BasicConstraintsExtension(true, 0, true), new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign, true)],
  });
  return { cert, pem: cert.toString('pem'), key: keys.privateKey };
}

interface Device {
  id: string;
  pem: string;
  privateKey: CryptoKey;
}

async function makeDevice(ca: Ca, id: string, options: { cn?: string; notAfter?: Date } = {}): Promise<Device> {
  const keys = (await crypto.subtle.generateKey({ name: 'ECDH', namedCurve: 'P-256' }, true, ['deriveBits'])) as CryptoKeyPair;
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: '02',
    subject: `CN=${options.cn ?? id}, OU=Secure Element, O=Test Wallet`,
    issuer: ca.cert.subject,
    notBefore: new Date(Date.now() - DAY),
    notAfter: options.notAfter ?? new Date(Date.now() + 3 * 365 * DAY),
    signingAlgorithm: ECDSA,
    publicKey: keys.publicKey,
    signingKey: ca.key,
    extensions: [new x509.BasicConstraintsExtension(false, undefined, true), new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyAgreement, true)],
  });
  return { id, pem: cert.toString('pem'), privateKey: keys.privateKey };
}

// --- Setup -------------------------------------------------------------------------------------------

let env: TestEnv;
let kek: KeyEncryptionKeys;
let issuers: StubIssuers;
let networks: Networks;
let app: FastifyInstance;
let adminKey: string;
let merchantKey: string;
let ca: Ca;
let otherCa: Ca;
const requestor = {} as Record<Brand, { id: string; key: string }>;
let other: { id: string; key: string };
let deviceCount = 0;

const GREEN: Record<Brand, { pan: string; cvv: string }> = {
  visa: { pan: '4111111111111111', cvv: '123' },
  mastercard: { pan: '5555555555554444', cvv: '123' },
  amex: { pan: '378282246310005', cvv: '1234' },
  discover: { pan: '6011111111111117', cvv: '123' },
};
const YELLOW_VISA = '4111110000000013';
const RED_VISA = '4111110000000021';
const EXPIRED_VISA = '4111110000000047';
const ALL_PANS = [...Object.values(GREEN).map((c) => c.pan), YELLOW_VISA, RED_VISA, EXPIRED_VISA];

async function newDevice(): Promise<Device> {
  deviceCount++;
  return makeDevice(ca, `dev_test${String(deviceCount).padStart(21, '0')}`);
}

function send(method: 'GET' | 'POST', url: string, key: string | undefined, body?: unknown, idem?: string): Promise<LightMyRequestResponse> {
  return app.inject({
    method,
    url,
    headers: { ...(key ? { authorization: `Bearer ${key}` } : {}), ...(idem ? { 'idempotency-key': idem } : {}) },
    ...(body !== undefined ? { payload: body as object } : {}),
  });
}

/** Card data encrypted like the device does it: a compact JWE to the network's published key. */
async function encryptCard(brand: Brand, card: Record<string, unknown>, jwk?: Record<string, unknown>): Promise<string> {
  const published = jwk ?? (await send('GET', `/network/${brand}/v1/encryption-key`, requestor[brand].key)).json().jwk;
  const key = await importJWK(published, 'ECDH-ES+A256KW');
  return new CompactEncrypt(new TextEncoder().encode(JSON.stringify(card)))
    .setProtectedHeader({ alg: 'ECDH-ES+A256KW', enc: 'A256GCM', kid: published.kid, cty: 'card+json' })
    .encrypt(key);
}

const cardOf = (pan: string, cvv = '123') => ({ pan, exp_month: 12, exp_year: 2030, cvv, name: 'ADA LOVELACE' });

async function tokenBody(brand: Brand, device: Device, card: Record<string, unknown>, overrides: Record<string, unknown> = {}) {
  return {
    token_requestor_id: requestor[brand].id,
    encrypted_card: await encryptCard(brand, card),
    device: { id: device.id, kind: 'phone', se_certificate_pem: device.pem },
    wallet_account_id: 'usr_wallet_account_1',
    device_score: 4,
    ...overrides,
  };
}

async function provision(brand: Brand, device: Device, card: Record<string, unknown>, options: { idem?: string; key?: string; overrides?: Record<string, unknown> } = {}) {
  const body = await tokenBody(brand, device, card, options.overrides);
  return send('POST', `/network/${brand}/v1/tokens`, options.key ?? requestor[brand].key, body, options.idem);
}

async function openPayload(device: Device, jwe: string): Promise<ProvisioningPayload> {
  const header = decodeProtectedHeader(jwe);
  assert.equal(header.alg, 'ECDH-ES+A256KW');
  assert.equal(header.enc, 'A256GCM');
  assert.equal(header.cty, 'provisioning+json');
  const { plaintext } = await compactDecrypt(jwe, device.privateKey);
  return JSON.parse(new TextDecoder().decode(plaintext)) as ProvisioningPayload;
}

async function countTokens(where = 'true', params: unknown[] = []): Promise<number> {
  const { rows } = await env.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM network.tokens WHERE ${where}`, params);
  return rows[0]!.n;
}

/** Every payload key and token number seen, for the leak scan at the end. */
const seenSecrets = new Set<string>();

before(async () => {
  env = await createTestEnv();
  await migrate(env.db, [
    { module: 'infra', dir: new URL('../infra/migrations/', import.meta.url) },
    { module: 'network', dir: new URL('./migrations/', import.meta.url) },
  ]);
  kek = KeyEncryptionKeys.random();
  issuers = new StubIssuers();
  networks = createNetworks({ db: env.db, cache: env.cache, kek, issuers });
  await networks.init();
  const apiKeys = new ApiKeys(env.db, env.cache);
  app = await buildHttpApp({ db: env.db, cache: env.cache, logger: env.logger, apiKeys }, networks.routes, { title: 'network test', version: '0' });
  adminKey = (await apiKeys.create('admin', 'operator')).secret;
  merchantKey = (await apiKeys.create('merchant', 'mer_test')).secret;
  ca = await makeCa('Test Device CA');
  otherCa = await makeCa('Other Device CA');
  for (const brand of BRANDS) {
    const res = await send('POST', `/network/${brand}/v1/token-requestors`, adminKey, { name: 'Test Wallet', device_ca_pem: ca.pem });
    assert.equal(res.statusCode, 201, res.body);
    const id = res.json().id as string;
    requestor[brand] = { id, key: (await apiKeys.create('platform', id)).secret };
  }
  const res = await send('POST', '/network/visa/v1/token-requestors', adminKey, { name: 'Other Wallet', device_ca_pem: otherCa.pem });
  other = { id: res.json().id, key: (await apiKeys.create('platform', res.json().id)).secret };
});

after(async () => {
  await app?.close();
  await env?.close();
});

// --- Tests -------------------------------------------------------------------------------------------

describe('token requestors and keys', () => {
  it('registers token requestors with 11-digit ids: the brand\'s TSP code + 8 digits', async () => {
    for (const brand of BRANDS) {
      assert.match(requestor[brand].id, /^\d{11}$/);
      assert.equal(requestor[brand].id.slice(0, 3), BRAND_PROFILES[brand].tspCode);
    }
    const res = await send('POST', '/network/amex/v1/token-requestors', adminKey, { name: 'x', device_ca_pem: 'not a certificate' });
    assert.equal(res.statusCode, 400);
    assert.equal(res.json().error.code, 'parameter_invalid');
    assert.equal(res.json().error.param, 'device_ca_pem');
    const leaf = await newDevice();
    const notCa = await send('POST', '/network/amex/v1/token-requestors', adminKey, { name: 'x', device_ca_pem: leaf.pem });
    assert.equal(notCa.statusCode, 400);
  });

  it('publishes one P-256 encryption key per brand, the same on every call', async () => {
    const kids = new Set<string>();
    for (const brand of BRANDS) {
      const res = await send('GET', `/network/${brand}/v1/encryption-key`, requestor[brand].key);
      assert.equal(res.statusCode, 200);
      const body = res.json();
      assert.equal(body.alg, 'ECDH-ES+A256KW');
      assert.equal(body.enc, 'A256GCM');
      assert.deepEqual(Object.keys(body.jwk).sort(), ['alg', 'crv', 'kid', 'kty', 'use', 'x', 'y']);
      assert.equal(body.jwk.crv, 'P-256');
      assert.equal(body.jwk.use, 'enc');
      assert.equal(body.jwk.kid, body.kid);
      kids.add(body.kid);
      assert.deepEqual((await send('GET', `/network/${brand}/v1/encryption-key`, requestor[brand].key)).json(), body);
    }
    assert.equal(kids.size, 4);
  });

  it('init is idempotent and a second process shares the keys', async () => {
    await networks.init();
    const again = createNetworks({ db: env.db, cache: env.cache, kek, issuers });
    await again.init();
    for (const brand of BRANDS) {
      assert.deepEqual(await again.keys.publicKey(brand), await networks.keys.publicKey(brand));
      assert.equal(await again.hsm.masterKeyCheckValue(brand), await networks.hsm.masterKeyCheckValue(brand));
    }
    const { rows } = await env.db.query<{ n: number }>('SELECT count(*)::int AS n FROM network.encryption_keys');
    assert.equal(rows[0]!.n, 4);
  });

  it('a rotated encryption key is published at once, and card data encrypted to the old one still opens', async () => {
    const device = await newDevice();
    const oldJwk = (await send('GET', '/network/discover/v1/encryption-key', requestor.discover.key)).json().jwk;
    const early = await encryptCard('discover', cardOf(GREEN.discover.pan), oldJwk);
    const rotated = await networks.keys.rotate('discover');
    assert.notEqual(rotated.kid, oldJwk.kid);
    assert.equal((await send('GET', '/network/discover/v1/encryption-key', requestor.discover.key)).json().kid, rotated.kid);
    const res = await send('POST', '/network/discover/v1/tokens', requestor.discover.key, {
      token_requestor_id: requestor.discover.id,
      encrypted_card: early,
      device: { id: device.id, kind: 'phone', se_certificate_pem: device.pem },
      wallet_account_id: 'w',
      device_score: 4,
    });
    assert.equal(res.statusCode, 201, res.body);
    const p = await openPayload(device, res.json().provisioning_payload);
    seenSecrets.add(p.token_pan);
    seenSecrets.add(p.key.mk);
    // Another process learns the new key from the database.
    const again = createNetworks({ db: env.db, cache: env.cache, kek, issuers });
    assert.equal((await again.keys.publicKey('discover')).kid, rotated.kid);
  });

  it('an unknown brand is 404', async () => {
    const res = await send('GET', '/network/diners/v1/encryption-key', requestor.visa.key);
    assert.equal(res.statusCode, 404);
    assert.equal(res.json().error.code, 'route_not_found');
  });
});

describe('green path', () => {
  for (const brand of BRANDS) {
    it(`${brand}: an active token in the brand's range with a payload only the SE can open`, async () => {
      const device = await newDevice();
      const { pan, cvv } = GREEN[brand];
      const res = await provision(brand, device, cardOf(pan, cvv));
      assert.equal(res.statusCode, 201, res.body);
      const result = res.json();
      assert.equal(result.object, 'provisioning');
      assert.match(result.token_ref, /^tok_/);
      assert.equal(result.status, 'active');
      assert.equal(result.verification, null);
      assert.deepEqual(result.card, {
        last4: pan.slice(-4),
        exp_month: 12,
        exp_year: 2030,
        product: 'credit',
        issuer_id: sandboxCard(pan)!.issuerId,
        issuer_name: brand === 'visa' || brand === 'mastercard' ? 'Tessera Bank' : 'Sandbox Credit Union',
        par: result.card.par,
      });
      assert.match(result.card.par, /^[0-9A-Z]{29}$/);
      assert.equal(result.card.par.slice(0, 4), BRAND_PROFILES[brand].parPrefix);
      // The issuer was asked with the card data and the token reference.
      assert.equal(issuers.lastRequest!.token_ref, result.token_ref);
      assert.equal(issuers.lastRequest!.network, brand);

      const p = await openPayload(device, result.provisioning_payload);
      assert.deepEqual(Object.keys(p).sort(), ['aid', 'card_last4', 'cvn', 'issued_at', 'key', 'label', 'network', 'par', 'psn', 'token_exp', 'token_pan', 'token_ref', 'token_requestor_id', 'v'].sort());
      assert.equal(p.v, 1);
      assert.equal(p.token_ref, result.token_ref);
      assert.equal(p.network, brand);
      assert.equal(p.token_exp, '3012');
      assert.equal(p.psn, '00');
      assert.equal(p.aid, BRAND_PROFILES[brand].aid);
      assert.equal(p.cvn, BRAND_PROFILES[brand].cvn);
      assert.equal(p.par, result.card.par);
      assert.equal(p.token_requestor_id, requestor[brand].id);
      assert.equal(p.card_last4, pan.slice(-4));
      assert.ok(!Number.isNaN(Date.parse(p.issued_at)));
      assert.ok(p.label.length >= 1 && p.label.length <= 16);

      // The token number: Luhn-valid, the brand's token range and length, never a card number.
      assert.equal(p.token_pan.length, brand === 'amex' ? 15 : 16);
      assert.ok(luhnCheck(p.token_pan));
      assert.ok(p.token_pan.startsWith(BRAND_PROFILES[brand].tokenBin));
      assert.ok(isTokenBin(p.token_pan));
      assert.ok(!isCardBin(p.token_pan));
      assert.notEqual(p.token_pan, pan);
      assert.equal(result.token.last4, p.token_pan.slice(-4));
      assert.deepEqual(result.token, { last4: p.token_pan.slice(-4), exp_month: 12, exp_year: 2030 });

      // The key: the HSM's derivation for this token, with a matching check value.
      assert.equal(p.key.alg, BRAND_PROFILES[brand].keyAlg);
      assert.match(p.key.mk, /^[0-9A-F]{32}$/);
      const mk = fromHex(p.key.mk);
      const kcv = p.key.alg === '3des' ? toHex(keyCheckValue(mk)) : toHex(await aesKeyCheckValue(mk));
      assert.equal(p.key.kcv, kcv);
      const derived = await networks.hsm.deriveTokenKey(brand, Secret.pan(p.token_pan), '00');
      assert.equal(derived.kcv, p.key.kcv);
      assert.equal(toHex(derived.mk), p.key.mk);
      seenSecrets.add(p.token_pan);
      seenSecrets.add(p.key.mk);

      // Another SE key cannot open it.
      const stranger = await newDevice();
      await assert.rejects(compactDecrypt(result.provisioning_payload, stranger.privateKey));

      // The vault row: active, device domains, the brand's CVN.
      const { rows } = await env.db.query<{ status: string; domains: string[]; cryptogram_required: boolean; cvn: string; atc_high_water: number; device_id: string }>(
        'SELECT status, domains, cryptogram_required, cvn, COALESCE((SELECT a.atc_high_water FROM network.token_atc a WHERE a.token_ref = t.token_ref), 0) AS atc_high_water, device_id FROM network.tokens t WHERE token_ref = $1',
        [result.token_ref],
      );
      assert.deepEqual(rows[0], { status: 'active', domains: ['contactless', 'inapp'], cryptogram_required: true, cvn: String(BRAND_PROFILES[brand].cvn), atc_high_water: 0, device_id: device.id });

      const got = await send('GET', `/network/${brand}/v1/tokens/${result.token_ref}`, requestor[brand].key);
      assert.equal(got.statusCode, 200);
      assert.deepEqual(got.json(), { token_ref: result.token_ref, status: 'active', domains: ['contactless', 'inapp'], last4: p.token_pan.slice(-4) });
    });
  }

  it('the same card on the same device is 409 card_already_provisioned; on another device, another token with the same PAR', async () => {
    const device = await newDevice();
    const first = await provision('visa', device, cardOf(GREEN.visa.pan));
    assert.equal(first.statusCode, 201);
    const again = await provision('visa', device, cardOf(GREEN.visa.pan));
    assert.equal(again.statusCode, 409);
    assert.equal(again.json().error.code, 'card_already_provisioned');

    const watch = await newDevice();
    const second = await provision('visa', watch, cardOf(GREEN.visa.pan));
    assert.equal(second.statusCode, 201);
    assert.notEqual(second.json().token_ref, first.json().token_ref);
    assert.equal(second.json().card.par, first.json().card.par);
    const [a, b] = [await openPayload(device, first.json().provisioning_payload), await openPayload(watch, second.json().provisioning_payload)];
    assert.notEqual(a.token_pan, b.token_pan);
    assert.notEqual(a.key.mk, b.key.mk);
    assert.equal(await countTokens("device_id = $1 AND status <> 'deleted'", [device.id]), 1);
  });

  it('concurrent requests for the same card and device (different keys): exactly one 201, the other 409', async () => {
    const device = await newDevice();
    issuers.delayMs = 30;
    try {
      const bodies = await Promise.all([0, 1, 2, 3].map(() => tokenBody('mastercard', device, cardOf(GREEN.mastercard.pan))));
      const results = await Promise.all(bodies.map((b, i) => send('POST', '/network/mastercard/v1/tokens', requestor.mastercard.key, b, `race-${deviceCount}-${i}`)));
      const statuses = results.map((r) => r.statusCode).sort();
      assert.deepEqual(statuses, [201, 409, 409, 409], results.map((r) => r.body).join('\n'));
      for (const r of results.filter((x) => x.statusCode === 409)) assert.equal(r.json().error.code, 'card_already_provisioned');
    } finally {
      issuers.delayMs = 0;
    }
    assert.equal(await countTokens('device_id = $1', [device.id]), 1);
  });

  it('a retry with the same Idempotency-Key gets the same token: one row, one issuer call', async () => {
    const device = await newDevice();
    const body = await tokenBody('discover', device, cardOf(GREEN.discover.pan));
    const calls = issuers.calls;
    const first = await send('POST', '/network/discover/v1/tokens', requestor.discover.key, body, 'retry-key-1');
    const second = await send('POST', '/network/discover/v1/tokens', requestor.discover.key, body, 'retry-key-1');
    assert.equal(first.statusCode, 201);
    assert.equal(second.statusCode, 201);
    assert.equal(second.headers['idempotent-replayed'], 'true');
    assert.deepEqual(second.json(), first.json());
    assert.equal(issuers.calls, calls + 1);
    assert.equal(await countTokens('device_id = $1', [device.id]), 1);
    // Same key, other parameters: 422.
    const changed = await send('POST', '/network/discover/v1/tokens', requestor.discover.key, { ...body, device_score: 5 }, 'retry-key-1');
    assert.equal(changed.statusCode, 422);
  });

  it('a request that died after the reservation resumes on retry with the same token', async () => {
    const device = await newDevice();
    const body = await tokenBody('amex', device, cardOf(GREEN.amex.pan, GREEN.amex.cvv));
    issuers.failNext = 'crash';
    const died = await send('POST', '/network/amex/v1/tokens', requestor.amex.key, body, 'resume-key-1');
    assert.equal(died.statusCode, 500);
    assert.equal(await countTokens("device_id = $1 AND status = 'inactive'", [device.id]), 1);
    const tokenRef = issuers.lastRequest!.token_ref;
    const retried = await send('POST', '/network/amex/v1/tokens', requestor.amex.key, body, 'resume-key-1');
    assert.equal(retried.statusCode, 201, retried.body);
    assert.equal(retried.json().token_ref, tokenRef);
    assert.equal(retried.json().status, 'active');
    assert.equal(await countTokens('device_id = $1', [device.id]), 1);
    const p = await openPayload(device, retried.json().provisioning_payload);
    seenSecrets.add(p.token_pan);
    seenSecrets.add(p.key.mk);
  });

  it('an issuer that does not answer is 424 downstream_failed, and the card can be added again', async () => {
    const device = await newDevice();
    issuers.failNext = 'unavailable';
    const res = await provision('visa', device, cardOf(GREEN.visa.pan));
    assert.equal(res.statusCode, 424);
    assert.equal(res.json().error.code, 'downstream_failed');
    const again = await provision('visa', device, cardOf(GREEN.visa.pan));
    assert.equal(again.statusCode, 201);
  });
});

describe('vault constraints', () => {
  it('the database itself allows one live token per device and card, and checks token states', async () => {
    const { rows } = await env.db.query<Record<string, unknown>>(
      `SELECT token_ref, brand, token_pan_encrypted, token_fingerprint, token_last4, token_exp_month, token_exp_year, psn, pan_encrypted,
              pan_fingerprint, card_last4, card_exp_month, card_exp_year, issuer_id, token_requestor_id, device_id, device_kind,
              se_certificate_pem, wallet_account_id, cvn
         FROM network.tokens WHERE status = 'active' AND brand = 'visa' LIMIT 1`,
    );
    const t = rows[0]!;
    const copy = (ref: string, fingerprint: Buffer) => [ref, t.brand, t.token_pan_encrypted, fingerprint, t.token_last4, t.token_exp_month, t.token_exp_year, t.psn, t.pan_encrypted,
      t.pan_fingerprint, t.card_last4, t.card_exp_month, t.card_exp_year, t.issuer_id, t.token_requestor_id, t.device_id, t.device_kind, t.se_certificate_pem, t.wallet_account_id, t.cvn];
    const insert = (values: unknown[], status = 'inactive') =>
      env.db.query(
        `INSERT INTO network.tokens (token_ref, brand, token_pan_encrypted, token_fingerprint, token_last4, token_exp_month, token_exp_year, psn, pan_encrypted,
           pan_fingerprint, card_last4, card_exp_month, card_exp_year, issuer_id, token_requestor_id, device_id, device_kind, se_certificate_pem, wallet_account_id, cvn, status)
         VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,$19,$20,$21)`,
        [...values, status],
      );
    const fresh = () => Buffer.from(crypto.getRandomValues(new Uint8Array(32)));
    await assert.rejects(insert(copy('tok_dupe_device_card', fresh())), (e: unknown) => isUniqueViolation(e, 'tokens_device_card_unique'));
    await assert.rejects(insert(copy('tok_dupe_fingerprint', t.token_fingerprint as Buffer), 'deleted'), (e: unknown) => isUniqueViolation(e, 'tokens_token_fingerprint_unique'));
    // A deleted token does not count; an active one needs a passed ID&V.
    await insert(copy('tok_deleted_same_card', fresh()), 'deleted');
    await assert.rejects(insert(copy('tok_bad_status', fresh()), 'frozen'), (e: unknown) => (e as { code?: string }).code === '23514');
    await assert.rejects(
      env.db.query("UPDATE network.tokens SET status = 'active' WHERE token_ref = 'tok_deleted_same_card'"),
      (e: unknown) => (e as { code?: string }).code === '23514',
    );
    await env.db.query("DELETE FROM network.tokens WHERE token_ref = 'tok_deleted_same_card'");
  });
});

describe('yellow path', () => {
  it('inactive with a verification, then the one-time code activates it with a payload', async () => {
    const device = await newDevice();
    const res = await provision('visa', device, cardOf(YELLOW_VISA));
    assert.equal(res.statusCode, 201, res.body);
    const result = res.json();
    assert.equal(result.status, 'inactive');
    assert.equal(result.provisioning_payload, null);
    assert.match(result.verification.id, /^ver_/);
    assert.deepEqual(result.verification.methods.map((m: { id: string }) => m.id), ['sms', 'email']);
    assert.match(result.card.par, /^V001[0-9A-Z]{25}$/);
    const ver = result.verification.id as string;
    const base = `/network/visa/v1/verifications/${ver}`;
    assert.equal((await send('GET', `/network/visa/v1/tokens/${result.token_ref}`, requestor.visa.key)).json().status, 'inactive');

    const empty = await send('GET', `${base}/sandbox-messages`, requestor.visa.key);
    assert.deepEqual(empty.json(), { object: 'list', data: [], has_more: false });

    const badMethod = await send('POST', `${base}/otp`, requestor.visa.key, { method_id: 'pigeon' });
    assert.equal(badMethod.statusCode, 400);
    const otp = await send('POST', `${base}/otp`, requestor.visa.key, { method_id: 'sms' });
    assert.equal(otp.statusCode, 200, otp.body);
    assert.equal(otp.json().id, ver);
    assert.equal(otp.json().object, 'verification');
    assert.equal(otp.json().sent, true);
    assert.ok(Date.parse(otp.json().expires_at) > Date.now());

    const messages = await send('GET', `${base}/sandbox-messages`, requestor.visa.key);
    assert.equal(messages.statusCode, 200);
    assert.equal(messages.json().data.length, 1);
    const code = /(\d{6})/.exec(messages.json().data[0].body)![1]!;
    assert.equal(messages.json().data[0].channel, 'sms');

    const wrong = await send('POST', `${base}/confirm`, requestor.visa.key, { code: '000000' }, 'confirm-wrong-1');
    assert.equal(wrong.statusCode, 402);
    assert.equal(wrong.json().error.code, 'verification_code_incorrect');
    assert.match(wrong.json().error.message, /attempts left/);

    const ok = await send('POST', `${base}/confirm`, requestor.visa.key, { code }, 'confirm-1');
    assert.equal(ok.statusCode, 200, ok.body);
    assert.equal(ok.json().status, 'active');
    assert.equal(ok.json().token_ref, result.token_ref);
    assert.equal(ok.json().card.par, result.card.par);
    const p = await openPayload(device, ok.json().provisioning_payload);
    assert.equal(p.token_ref, result.token_ref);
    assert.equal((await networks.hsm.deriveTokenKey('visa', Secret.pan(p.token_pan), '00')).kcv, p.key.kcv);
    seenSecrets.add(p.token_pan);
    seenSecrets.add(p.key.mk);

    // The first confirmation's answer is kept; another confirmation is a conflict; no more codes.
    const replay = await send('POST', `${base}/confirm`, requestor.visa.key, { code }, 'confirm-1');
    assert.equal(replay.statusCode, 200);
    assert.equal(replay.json().provisioning_payload, ok.json().provisioning_payload);
    const second = await send('POST', `${base}/confirm`, requestor.visa.key, { code }, 'confirm-2');
    assert.equal(second.statusCode, 409);
    assert.equal(second.json().error.code, 'resource_conflict');
    assert.equal((await send('POST', `${base}/otp`, requestor.visa.key, { method_id: 'sms' })).statusCode, 409);
    assert.equal((await send('GET', `/network/visa/v1/tokens/${result.token_ref}`, requestor.visa.key)).json().status, 'active');
  });

  it('a low device score steps up a green card; a locked verification frees the card to start again', async () => {
    const device = await newDevice();
    const res = await provision('discover', device, cardOf(GREEN.discover.pan), { overrides: { device_score: 1 } });
    assert.equal(res.json().status, 'inactive');
    const base = `/network/discover/v1/verifications/${res.json().verification.id}`;
    await send('POST', `${base}/otp`, requestor.discover.key, { method_id: 'email' });
    const codes = [];
    for (let i = 0; i < 3; i++) codes.push((await send('POST', `${base}/confirm`, requestor.discover.key, { code: '111111' }, `lock-${i}`)).json().error.code);
    assert.deepEqual(codes, ['verification_code_incorrect', 'verification_code_incorrect', 'verification_locked']);
    assert.equal((await send('GET', `/network/discover/v1/tokens/${res.json().token_ref}`, requestor.discover.key)).json().status, 'deleted');
    const again = await provision('discover', device, cardOf(GREEN.discover.pan), { overrides: { device_score: 1 } });
    assert.equal(again.statusCode, 201);
    assert.notEqual(again.json().token_ref, res.json().token_ref);
  });
});

describe('abandoned attempts', () => {
  it('a step-up never confirmed gives way after 24 hours, a reservation whose request died after 10 minutes; not before', async () => {
    const device = await newDevice();
    const yellow = await provision('visa', device, cardOf(YELLOW_VISA));
    assert.equal(yellow.json().status, 'inactive');
    assert.equal((await provision('visa', device, cardOf(YELLOW_VISA))).json().error.code, 'card_already_provisioned');
    await env.db.query("UPDATE network.tokens SET updated_at = now() - interval '25 hours' WHERE token_ref = $1", [yellow.json().token_ref]);
    const restarted = await provision('visa', device, cardOf(YELLOW_VISA));
    assert.equal(restarted.statusCode, 201, restarted.body);
    assert.notEqual(restarted.json().token_ref, yellow.json().token_ref);
    const { rows } = await env.db.query<{ status: string }>('SELECT status FROM network.verifications WHERE id = $1', [yellow.json().verification.id]);
    assert.equal(rows[0]!.status, 'failed');
    const old = `/network/visa/v1/verifications/${yellow.json().verification.id}`;
    assert.equal((await send('POST', `${old}/otp`, requestor.visa.key, { method_id: 'sms' })).statusCode, 409);

    // A request that died right after its reservation (issuer never asked).
    const other = await newDevice();
    const deadBody = await tokenBody('visa', other, cardOf(GREEN.visa.pan));
    issuers.failNext = 'crash';
    assert.equal((await send('POST', '/network/visa/v1/tokens', requestor.visa.key, deadBody, 'dies-1')).statusCode, 500);
    assert.equal((await provision('visa', other, cardOf(GREEN.visa.pan))).json().error.code, 'card_already_provisioned');
    await env.db.query("UPDATE network.tokens SET updated_at = now() - interval '11 minutes' WHERE device_id = $1", [other.id]);
    const fresh = await provision('visa', other, cardOf(GREEN.visa.pan));
    assert.equal(fresh.statusCode, 201, fresh.body);
    // The dead request, retried much later with its key, does not bring back its reservation.
    const calls = issuers.calls;
    const late = await send('POST', '/network/visa/v1/tokens', requestor.visa.key, deadBody, 'dies-1');
    assert.equal(late.statusCode, 409, late.body);
    assert.equal(late.json().error.code, 'resource_conflict');
    assert.equal(issuers.calls, calls, 'the issuer is not asked for an abandoned reservation');
    assert.equal(await countTokens("device_id = $1 AND status <> 'deleted'", [other.id]), 1);
  });
});

describe('refusals', () => {
  it('red: 402 provisioning_declined with the issuer\'s reason; nothing stays live', async () => {
    const device = await newDevice();
    const res = await provision('visa', device, cardOf(RED_VISA));
    assert.equal(res.statusCode, 402);
    assert.equal(res.json().error.code, 'provisioning_declined');
    assert.equal(res.json().error.type, 'card_error');
    assert.equal(res.json().error.decline_code, 'risk');
    assert.equal(await countTokens("device_id = $1 AND status <> 'deleted'", [device.id]), 0);
    const again = await provision('visa', device, cardOf(RED_VISA));
    assert.equal(again.json().error.code, 'provisioning_declined');
  });

  it("the issuer's card errors go through unchanged", async () => {
    const device = await newDevice();
    const expired = await provision('visa', device, cardOf(EXPIRED_VISA));
    assert.equal(expired.statusCode, 402);
    assert.equal(expired.json().error.code, 'card_expired');
    const cvv = await provision('visa', device, cardOf(GREEN.visa.pan, '999'));
    assert.equal(cvv.statusCode, 402);
    assert.equal(cvv.json().error.code, 'card_cvv_incorrect');
    assert.equal(await countTokens("device_id = $1 AND status <> 'deleted'", [device.id]), 0);
  });

  it('card numbers: bad Luhn or length → 400 card_number_invalid; another brand, unknown BIN or a token number → card_not_supported', async () => {
    const device = await newDevice();
    const cases: [Brand, string, number, string][] = [
      ['visa', '4111111111111112', 400, 'card_number_invalid'],
      ['visa', '41111111111', 400, 'card_number_invalid'],
      ['visa', '4111-1111-1111-1111', 400, 'card_number_invalid'],
      ['mastercard', GREEN.visa.pan, 402, 'card_not_supported'],
      ['visa', GREEN.mastercard.pan, 402, 'card_not_supported'],
      ['discover', '9111111111111111', 402, 'card_not_supported'],
      ['visa', `489537000000000${luhnCheckDigit('489537000000000')}`, 402, 'card_not_supported'],
      // A well-formed Visa number no sandbox issuer has.
      ['visa', '4242424242424242', 402, 'card_not_supported'],
    ];
    for (const [brand, pan, status, code] of cases) {
      const res = await provision(brand, device, cardOf(pan));
      assert.equal(res.statusCode, status, `${brand} ${pan.slice(0, 4)}: ${res.body}`);
      assert.equal(res.json().error.code, code);
      assert.ok(!res.body.includes(pan), 'the error never echoes the number');
    }
    assert.equal(await countTokens('device_id = $1', [device.id]), 0);
  });

  it('bad encrypted card data → 400 encrypted_card_invalid, never echoing its content', async () => {
    const device = await newDevice();
    const visaJwk = (await send('GET', '/network/visa/v1/encryption-key', requestor.visa.key)).json().jwk;
    const { publicKey } = (await crypto.subtle.generateKey({ name: 'ECDH', namedCurve: 'P-256' }, true, ['deriveBits'])) as CryptoKeyPair;
    const strangerJwk = { ...(await crypto.subtle.exportKey('jwk', publicKey)), kid: visaJwk.kid };
    const notJson = await new CompactEncrypt(new TextEncoder().encode(`pan=${GREEN.visa.pan}`))
      .setProtectedHeader({ alg: 'ECDH-ES+A256KW', enc: 'A256GCM', kid: visaJwk.kid })
      .encrypt(await importJWK(visaJwk, 'ECDH-ES+A256KW'));
    const variants: [Brand, string][] = [
      ['visa', 'garbage'],
      ['visa', 'a.b.c.d.e'],
      ['visa', await encryptCard('visa', cardOf(GREEN.visa.pan), strangerJwk)],
      // Encrypted to Visa's key, sent to Mastercard.
      ['mastercard', await encryptCard('visa', cardOf(GREEN.mastercard.pan))],
      ['visa', notJson],
      ['visa', await encryptCard('visa', { pan: GREEN.visa.pan, exp_month: 13, exp_year: 2030, cvv: '123' })],
      ['visa', await encryptCard('visa', { pan: GREEN.visa.pan, exp_month: 12, exp_year: 2030 })],
    ];
    for (const [brand, jwe] of variants) {
      const res = await send('POST', `/network/${brand}/v1/tokens`, requestor[brand].key, {
        token_requestor_id: requestor[brand].id,
        encrypted_card: jwe,
        device: { id: device.id, kind: 'phone', se_certificate_pem: device.pem },
        wallet_account_id: 'w',
        device_score: 4,
      });
      assert.equal(res.statusCode, 400, res.body);
      assert.equal(res.json().error.code, 'encrypted_card_invalid');
      for (const pan of ALL_PANS) assert.ok(!res.body.includes(pan));
    }
  });

  it('a Secure Element certificate not from the registered CA, for another device or expired → device_certificate_invalid', async () => {
    const stranger = await makeDevice(otherCa, 'dev_stranger0000000000000001');
    const misnamed = await makeDevice(ca, 'dev_misnamed0000000000000001', { cn: 'dev_someone_else' });
    const expired = await makeDevice(ca, 'dev_expired00000000000000001', { notAfter: new Date(Date.now() - 1000) });
    const tampered = await newDevice();
    const lines = tampered.pem.split('\n');
    lines[5] = lines[5]!.slice(0, 10) + (lines[5]![10] === 'A' ? 'B' : 'A') + lines[5]!.slice(11);
    for (const [device, pem] of [[stranger, stranger.pem], [misnamed, misnamed.pem], [expired, expired.pem], [tampered, lines.join('\n')], [tampered, 'nope']] as const) {
      const res = await provision('visa', device, cardOf(GREEN.visa.pan), { overrides: { device: { id: device.id, kind: 'phone', se_certificate_pem: pem } } });
      assert.equal(res.statusCode, 400, res.body);
      assert.equal(res.json().error.code, 'device_certificate_invalid');
    }
  });
});

describe('security', () => {
  it('every route: no or bad credentials → 401, other roles → 403', async () => {
    const checks = await checkRouteSecurity(app, networks.routes, { admin: adminKey, platform: requestor.visa.key, merchant: merchantKey });
    assert.ok(checks > 30);
  });

  it("another token requestor: POST /tokens in another's name → 403; another's tokens and verifications → 404", async () => {
    const device = await newDevice();
    const asOther = await provision('visa', device, cardOf(GREEN.visa.pan), { key: other.key });
    assert.equal(asOther.statusCode, 403);
    assert.equal(asOther.json().error.code, 'permission_denied');

    // Registered with Visa only: not a token requestor of Mastercard.
    const wrongNetwork = await send('POST', '/network/mastercard/v1/tokens', requestor.visa.key, await tokenBody('mastercard', device, cardOf(GREEN.mastercard.pan), { token_requestor_id: requestor.visa.id }));
    assert.equal(wrongNetwork.statusCode, 404);

    const mine = await provision('visa', device, cardOf(YELLOW_VISA));
    assert.equal(mine.statusCode, 201);
    const ref = mine.json().token_ref;
    const ver = mine.json().verification.id;
    assert.equal((await send('GET', `/network/visa/v1/tokens/${ref}`, other.key)).statusCode, 404);
    assert.equal((await send('GET', `/network/mastercard/v1/tokens/${ref}`, requestor.mastercard.key)).statusCode, 404);
    assert.equal((await send('GET', '/network/visa/v1/tokens/tok_nope', requestor.visa.key)).statusCode, 404);
    assert.equal((await send('POST', `/network/visa/v1/verifications/${ver}/otp`, other.key, { method_id: 'sms' })).statusCode, 404);
    assert.equal((await send('POST', `/network/visa/v1/verifications/${ver}/confirm`, other.key, { code: '123456' })).statusCode, 404);
    assert.equal((await send('GET', `/network/visa/v1/verifications/${ver}/sandbox-messages`, other.key)).statusCode, 404);
    // A certificate from the other requestor's CA does not count for this one.
    const theirs = await makeDevice(otherCa, 'dev_theirs000000000000000001');
    const res = await provision('visa', theirs, cardOf(GREEN.visa.pan));
    assert.equal(res.json().error.code, 'device_certificate_invalid');
  });

  it('no card number, token number or key in clear in any network table, the idempotency records or the logs', async () => {
    assert.ok(seenSecrets.size >= 10);
    const needles = new Set<string>();
    for (const s of [...ALL_PANS, ...seenSecrets]) {
      needles.add(s);
      needles.add(s.toLowerCase());
      needles.add(Buffer.from(s).toString('hex'));
    }
    // The unwrapped master keys and the payload keys, as the hex of their bytes.
    const { rows: imks } = await env.db.query<{ id: string; kek_id: string; wrapped: Buffer }>('SELECT id, kek_id, wrapped FROM network.hsm_keys');
    for (const r of imks) needles.add(kek.unwrap(r.kek_id, r.wrapped, Hsm.wrapContext(r.id)).toString('hex'));
    for (const mk of [...seenSecrets].filter((s) => /^[0-9A-F]{32}$/.test(s))) needles.add(mk.toLowerCase());

    const { rows: tables } = await env.db.query<{ table_name: string }>("SELECT table_name FROM information_schema.tables WHERE table_schema = 'network'");
    assert.ok(tables.length >= 7);
    let scanned = 0;
    for (const t of [...tables.map((x) => `network.${x.table_name}`), 'infra.idempotency_keys']) {
      const { rows } = await env.db.query<{ t: string }>(`SELECT x::text AS t FROM ${t} x`);
      for (const r of rows) {
        scanned++;
        for (const n of needles) assert.ok(!r.t.includes(n), `${t} holds a secret in clear`);
      }
    }
    assert.ok(scanned > 50);
    const logs = env.logLines.join('\n');
    for (const n of needles) assert.ok(!logs.includes(n), 'the logs hold a secret');
  });
});
