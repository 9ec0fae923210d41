import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { CompactEncrypt, compactDecrypt, importJWK } from 'jose';
import { createTestEnv, type TestEnv } from '../../test/helpers/env.js';
import { migrate } from '../infra/db/index.js';
import { buildHttpApp } from '../infra/http/app.js';
import { ApiKeys } from '../infra/http/auth.js';
import { KeyEncryptionKeys } from '../infra/keys/kek.js';
import { InjectTransport, PartyError, type Transport } from '../infra/transport.js';
import { x509 } from '../infra/x509.js';
import { IssuerClient } from '../issuer/client.js';
import { NetworkClient } from './client.js';
import { createNetworks, type Networks } from './index.js';
import type { CardVerification, IssuerGateway } from './issuers.js';

// The issuer module's client is what the composition root hands the networks: it must fit the gateway.
const _fits: (t: Transport) => IssuerGateway = (t) => new IssuerClient(t, 'tsk_network_x');
void _fits;

/** Green for one card, yellow for another; the code is always 135790. */
const issuers: IssuerGateway = {
  async createCardVerification(_issuerId, body): Promise<CardVerification> {
    const yellow = body.pan === '5555550000000010';
    return {
      id: `civ_${body.token_ref}`,
      decision: yellow ? 'yellow' : 'green',
      reasons: [],
      methods: yellow ? [{ id: 'sms', type: 'sms', destination: '•••• 0102' }] : [],
      card: { last4: body.pan.slice(-4), product: 'debit', par_seed: 'ABCDEFGHIJKLMNOPQRSTUVWXY', account_id: 'acct_1', issuer_name: 'Tessera Bank' },
    };
  },
  async sendVerificationOtp() {
    return { sent: true, expires_at: new Date(Date.now() + 600_000).toISOString() };
  },
  async confirmVerification(_i, _v, code) {
    if (code !== '135790') throw new PartyError(402, { error: { type: 'card_error', code: 'verification_code_incorrect', message: 'The verification code is incorrect; 2 attempts left.', request_id: 'r' } }, 'issuer');
    return { decision: 'green' };
  },
  async verificationMessages() {
    return { data: [{ channel: 'sms', destination: '•••• 0102', body: 'Your code is 135790', created_at: new Date().toISOString() }] };
  },
};

let env: TestEnv;
let networks: Networks;
let app: FastifyInstance;
let adminKey: string;
let apiKeys: ApiKeys;

const ECDSA = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;

before(async () => {
  env = await createTestEnv();
  await migrate(env.db, [
    { module: 'infra', dir: new URL('../infra/migrations/', import.meta.url) },
    { module: 'network', dir: new URL('./migrations/', import.meta.url) },
  ]);
  networks = createNetworks({ db: env.db, cache: env.cache, kek: KeyEncryptionKeys.random(), issuers: { visa: issuers, mastercard: issuers, amex: issuers, discover: issuers } });
  await networks.init();
  apiKeys = new ApiKeys(env.db, env.cache);
  app = await buildHttpApp({ db: env.db, cache: env.cache, logger: env.logger, apiKeys }, networks.routes, { title: 't', version: '0' });
  adminKey = (await apiKeys.create('admin', 'operator')).secret;
});

after(async () => {
  await app?.close();
  await env?.close();
});

describe('NetworkClient', () => {
  it('drives registration, provisioning (green and yellow), codes, messages and token status over a transport', async () => {
    const transport = new InjectTransport(() => app);
    const caKeys = (await crypto.subtle.generateKey(ECDSA, true, ['sign', 'verify'])) as CryptoKeyPair;
    const ca = await x509.X509CertificateGenerator.createSelfSigned({
      serialNumber: '01',
      name: 'CN=Client Test CA',
      notBefore: new Date(Date.now() - 60_000),
      notAfter: new Date(Date.now() + 86400_000),
      signingAlgorithm: ECDSA,
      keys: caKeys,
      extensions: [new x509.BasicConstraintsExtension(true, 0, true)],
    });
    const seKeys = (await crypto.subtle.generateKey({ name: 'ECDH', namedCurve: 'P-256' }, true, ['deriveBits'])) as CryptoKeyPair;
    const deviceId = 'dev_client0000000000000000001';
    const se = await x509.X509CertificateGenerator.create({
      serialNumber: '02',
      subject: `CN=${deviceId}`,
      issuer: ca.subject,
      notBefore: new Date(Date.now() - 60_000),
      notAfter: new Date(Date.now() + 86400_000),
      signingAlgorithm: ECDSA,
      publicKey: seKeys.publicKey,
      signingKey: caKeys.privateKey,
    });

    const admin = new NetworkClient(transport, {}, { adminKey });
    const tr = await admin.registerTokenRequestor('mastercard', { name: 'Client Wallet', device_ca_pem: ca.toString('pem') });
    assert.match(tr.id, /^501\d{8}$/);
    assert.equal(tr.object, 'token_requestor');
    const client = new NetworkClient(transport, { mastercard: (await apiKeys.create('platform', tr.id)).secret });
    assert.throws(() => client.encryptionKey('visa'), /no API key/);

    const key = await client.encryptionKey('mastercard');
    const encrypt = async (pan: string) =>
      new CompactEncrypt(new TextEncoder().encode(JSON.stringify({ pan, exp_month: 12, exp_year: 2030, cvv: '123' })))
        .setProtectedHeader({ alg: 'ECDH-ES+A256KW', enc: 'A256GCM', kid: key.kid, cty: 'card+json' })
        .encrypt(await importJWK(key.jwk, 'ECDH-ES+A256KW'));
    const body = async (pan: string) => ({
      token_requestor_id: tr.id,
      encrypted_card: await encrypt(pan),
      device: { id: deviceId, kind: 'watch' as const, se_certificate_pem: se.toString('pem') },
      wallet_account_id: 'usr_1',
      device_score: 5,
    });

    const green = await client.createToken('mastercard', await body('5555555555554444'), 'ck-1');
    assert.equal(green.status, 'active');
    assert.equal(green.card.product, 'debit');
    assert.equal(green.card.par, '5001ABCDEFGHIJKLMNOPQRSTUVWXY');
    assert.equal(green.card.issuer_name, 'Tessera Bank');
    const payload = JSON.parse(new TextDecoder().decode((await compactDecrypt(green.provisioning_payload!, seKeys.privateKey)).plaintext));
    assert.equal(payload.label, 'DEBIT MASTERCARD');
    assert.equal(payload.cvn, 20);
    assert.deepEqual(await client.getToken('mastercard', green.token_ref), { token_ref: green.token_ref, status: 'active', domains: ['contactless', 'inapp'], last4: green.token.last4 });

    // Errors arrive as PartyError with the catalogue code.
    await assert.rejects(client.createToken('mastercard', await body('5555555555554444'), 'ck-2'), (e: unknown) => e instanceof PartyError && e.status === 409 && e.code === 'card_already_provisioned');

    const yellow = await client.createToken('mastercard', await body('5555550000000010'), 'ck-3');
    assert.equal(yellow.status, 'inactive');
    const ver = yellow.verification!.id;
    const sent = await client.sendOtp('mastercard', ver, 'sms');
    assert.deepEqual([sent.id, sent.object, sent.sent], [ver, 'verification', true]);
    const messages = await client.sandboxMessages('mastercard', ver);
    assert.equal(messages.object, 'list');
    assert.equal(messages.data.length, 1);
    await assert.rejects(client.confirm('mastercard', ver, '000000', 'cc-1'), (e: unknown) => e instanceof PartyError && e.status === 402 && e.code === 'verification_code_incorrect' && /2 attempts left/.test(e.message));
    const confirmed = await client.confirm('mastercard', ver, '135790', 'cc-2');
    assert.equal(confirmed.status, 'active');
    assert.ok(confirmed.provisioning_payload);
    await assert.rejects(client.getToken('mastercard', 'tok_missing'), (e: unknown) => e instanceof PartyError && e.status === 404);
  });
});
