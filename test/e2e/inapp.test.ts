/**
 * Flow 3 end to end (docs/inapp.md): merchant registration and validation over mutual TLS, a simulated
 * device paying in an app, the platform's token checked by three independent verifiers (the merchant
 * SDK, Basis Theory's decrypter for real Apple tokens, `openssl cms -verify`), then the merchant's
 * e-commerce authorization through acquirer → network (online cryptogram in the HSM) → issuer; and the
 * refusals: replayed or altered cryptograms, an in-app cryptogram in a tap, a token without the in-app
 * domain, a reused nonce, a reused or expired merchant session.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { InjectTransport, PartyError } from '../../src/infra/transport.js';
import { MemoryReplayCache, verifyAndDecrypt } from '../../src/merchant/sdk/index.js';
import { packMessage, packSubelements, unpackMessage } from '../../src/protocol/iso8583/iso8583.js';
import { fromBase64, signedContent, type PaymentData } from '../../src/protocol/paytoken/index.js';
import { paymentRequest, registerMerchant, runInApp, validateMerchant, type InAppMerchant } from '../../src/scenario/inapp.js';
import { runProvision, type NetworkName, type ProvisionedDevice } from '../../src/scenario/provision.js';
import { createTessera, type Tessera } from '../../src/server/tessera.js';
import { createTestEnv, type TestEnv } from '../helpers/env.js';

interface BasisTheory {
  ApplePaymentTokenContext: new (options: { merchants: Array<{ identifier?: string; certificatePem: Buffer; privateKeyPem: Buffer }> }) => { decrypt(paymentData: unknown): Record<string, unknown> };
}
const basisTheory = createRequire(import.meta.url)('@basis-theory/apple-pay-js') as BasisTheory;

let env: TestEnv;
let tessera: Tessera;
let transport: InjectTransport;
let validationUrl: string;
let rootPem: string;
let adminKey: string;
let work: string;
/** Added to the platform's clock (merchant-session and nonce expiry tests). */
let offsetMs = 0;
let merchant: InAppMerchant;

const NETWORKS: NetworkName[] = ['visa', 'mastercard', 'amex', 'discover'];

before(async () => {
  env = await createTestEnv();
  tessera = await createTessera({ config: env.config, logger: env.logger, db: env.db, cache: env.cache, clock: () => new Date(Date.now() + offsetMs) });
  adminKey = tessera.newAdminKey!;
  transport = new InjectTransport(() => tessera.app);
  validationUrl = await tessera.listenMerchantValidation({ port: 0, host: '127.0.0.1' });
  rootPem = await tessera.pki.rootPem();
  merchant = await registerMerchant(transport, adminKey);
  work = mkdtempSync(join(tmpdir(), 'tessera-inapp-'));
});
after(async () => {
  await tessera.stopMerchantValidation();
  await tessera.close();
  await env.close();
  rmSync(work, { recursive: true, force: true });
});

function onlineTerminalKey(): string {
  const t = tessera.terminals.find((x) => x.key === 'online');
  assert.ok(t, 'the sandbox has an e-commerce terminal');
  return t.api_key;
}

async function decrypt(token: { paymentData: unknown }, m: InAppMerchant = merchant) {
  return verifyAndDecrypt(token, { roots: [rootPem], keys: [{ certificatePem: m.processing.certificatePem, privateKeyPem: m.processing.privateKeyPem }], seenTransactionIds: new MemoryReplayCache(), merchantIdentifier: m.merchantIdentifier });
}

/** What a merchant server sends the acquirer for a decrypted token (C4). */
async function authorize(payload: Record<string, unknown>, over: Record<string, unknown> = {}, key = onlineTerminalKey()) {
  const p = payload.paymentData as { onlinePaymentCryptogram: string; eciIndicator?: string };
  const body = {
    orderReference: `order-${Math.random().toString(36).slice(2, 10)}`,
    amount: payload.transactionAmount,
    currency: 'USD',
    paymentDataType: '3DSecure',
    applicationPrimaryAccountNumber: payload.applicationPrimaryAccountNumber,
    applicationExpirationDate: payload.applicationExpirationDate,
    onlinePaymentCryptogram: p.onlinePaymentCryptogram,
    ...(p.eciIndicator !== undefined ? { eciIndicator: p.eciIndicator } : {}),
    ...over,
  };
  const res = await tessera.app.inject({
    method: 'POST',
    url: '/acquirer/v1/ecommerce/authorizations',
    headers: { authorization: `Bearer ${key}`, 'idempotency-key': `idem-${Math.random().toString(36).slice(2)}` },
    payload: body,
  });
  return res;
}

function opensslVerify(token: PaymentData): { status: number | null; out: string } {
  const sig = join(work, 'signature.der');
  const data = join(work, 'content.bin');
  const root = join(work, 'root.pem');
  writeFileSync(sig, fromBase64(token.signature));
  writeFileSync(data, signedContent(token));
  writeFileSync(root, rootPem);
  const r = spawnSync('/usr/bin/openssl', ['cms', '-verify', '-inform', 'DER', '-in', sig, '-binary', '-content', data, '-CAfile', root, '-out', '/dev/null'], { encoding: 'utf8' });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

const quiet = { step() {}, detail() {} };
const devices = new Map<NetworkName, ProvisionedDevice>();
async function deviceFor(network: NetworkName): Promise<ProvisionedDevice> {
  let d = devices.get(network);
  if (!d) {
    d = await runProvision(transport, { network }, quiet);
    devices.set(network, d);
  }
  return d;
}

async function session(m: InAppMerchant = merchant) {
  return validateMerchant(validationUrl, m, rootPem, { initiative: 'in_app', initiativeContext: 'Test App' });
}

describe('in-app payments, every network', () => {
  for (const network of NETWORKS) {
    it(`${network}: token verified and decrypted three ways, approved through acquirer → network → issuer, in the user's history as inapp`, async () => {
      const device = await deviceFor(network);
      const run = await runInApp(transport, { adminKey, validationUrl, rootPem, amount: '12.34', currency: 'USD', merchant, device }, quiet);
      const { token } = run;
      assert.equal(token.paymentData.version, 'EC_v1');
      assert.equal(token.transactionIdentifier, token.paymentData.header.transactionId);
      assert.equal(token.paymentMethod.network, { visa: 'Visa', mastercard: 'MasterCard', amex: 'AmEx', discover: 'Discover' }[network]);

      const { payload } = await decrypt(token);
      assert.equal(payload.transactionAmount, 1234);
      assert.equal(payload.currencyCode, '840');
      assert.equal(payload.paymentDataType, '3DSecure');
      const pd = payload.paymentData as { onlinePaymentCryptogram: string; eciIndicator?: string };
      assert.equal(Buffer.from(pd.onlinePaymentCryptogram, 'base64').length, 20);
      assert.equal(pd.eciIndicator, network === 'mastercard' ? undefined : '5');
      assert.match(String(payload.applicationPrimaryAccountNumber), /^\d{15,16}$/);

      const bt = new basisTheory.ApplePaymentTokenContext({ merchants: [{ certificatePem: Buffer.from(merchant.processing.certificatePem), privateKeyPem: Buffer.from(merchant.processing.privateKeyPem) }] });
      assert.deepEqual(bt.decrypt(token.paymentData), payload);
      const ssl = opensslVerify(token.paymentData as unknown as PaymentData);
      assert.equal(ssl.status, 0, ssl.out);

      const res = await authorize(payload as unknown as Record<string, unknown>);
      assert.equal(res.statusCode, 201, res.body);
      const answer = res.json();
      assert.equal(answer.status, 'approved', res.body);
      assert.equal(answer.responseCode, '00');
      assert.match(answer.authCode, /^[ -~]{6}$/);
      assert.equal(answer.tokenLast4, String(payload.applicationPrimaryAccountNumber).slice(-4));

      // The network's event reaches the platform: the user's history shows it as an in-app payment.
      await tessera.outbox.runOnce();
      const history = await device.client.transactions({ limit: 10 });
      const entry = history.data.find((t) => t.amount === 1234 && t.type === 'inapp' && t.status === 'approved');
      assert.ok(entry, JSON.stringify(history.data));
    });
  }

  it('an RSA merchant gets RSA_v1 tokens, which the SDK and Basis Theory decrypt', async () => {
    const rsa = await registerMerchant(transport, adminKey, { rsa: true });
    const { token } = await runInApp(transport, { adminKey, validationUrl, rootPem, amount: '5.00', currency: 'USD', merchant: rsa, device: await deviceFor('visa') }, quiet);
    assert.equal(token.paymentData.version, 'RSA_v1');
    const { payload } = await decrypt(token, rsa);
    assert.equal(payload.transactionAmount, 500);
    const bt = new basisTheory.ApplePaymentTokenContext({ merchants: [{ certificatePem: Buffer.from(rsa.processing.certificatePem), privateKeyPem: Buffer.from(rsa.processing.privateKeyPem) }] });
    assert.deepEqual(bt.decrypt(token.paymentData), payload);
    assert.equal(opensslVerify(token.paymentData as unknown as PaymentData).status, 0);
  });
});

describe('in-app refusals', () => {
  async function paid(network: NetworkName = 'visa', amount = '20.00') {
    const device = await deviceFor(network);
    const { token } = await runInApp(transport, { adminKey, validationUrl, rootPem, amount, currency: 'USD', merchant, device }, quiet);
    return { device, payload: (await decrypt(token)).payload as unknown as Record<string, unknown> };
  }

  it('a replayed in-app cryptogram → 63; a changed amount → 88; the original still approves once', async () => {
    const { payload } = await paid('discover');
    const changed = await authorize(payload, { amount: Number(payload.transactionAmount) + 1 });
    assert.equal(changed.json().responseCode, '88', changed.body);
    assert.equal(changed.json().declineReason, 'cryptographic_failure');
    const first = await authorize(payload);
    assert.equal(first.json().status, 'approved', first.body);
    const replay = await authorize(payload);
    assert.equal(replay.json().status, 'declined');
    assert.equal(replay.json().responseCode, '63');
  });

  it('the same Idempotency-Key gets the same answer, without a second authorization', async () => {
    const { payload } = await paid('amex');
    const send = () =>
      tessera.app.inject({
        method: 'POST',
        url: '/acquirer/v1/ecommerce/authorizations',
        headers: { authorization: `Bearer ${onlineTerminalKey()}`, 'idempotency-key': 'order-42-attempt-1' },
        payload: {
          orderReference: 'order-42',
          amount: payload.transactionAmount,
          currency: 'USD',
          paymentDataType: '3DSecure',
          applicationPrimaryAccountNumber: payload.applicationPrimaryAccountNumber,
          applicationExpirationDate: payload.applicationExpirationDate,
          onlinePaymentCryptogram: (payload.paymentData as { onlinePaymentCryptogram: string }).onlinePaymentCryptogram,
        },
      });
    const a = await send();
    const b = await send();
    assert.equal(a.statusCode, 201, a.body);
    assert.equal(a.json().status, 'approved');
    assert.deepEqual(b.json(), a.json());
    const missing = await tessera.app.inject({ method: 'POST', url: '/acquirer/v1/ecommerce/authorizations', headers: { authorization: `Bearer ${onlineTerminalKey()}` }, payload: {} });
    assert.equal(missing.statusCode, 400);
  });

  it('a contactless terminal key cannot use the e-commerce route; an in-app cryptogram in a contactless 0100 → 88', async () => {
    const { payload } = await paid('mastercard');
    const coffee = tessera.terminals.find((t) => t.key === 'coffee')!;
    const wrongKey = await authorize(payload, {}, coffee.api_key);
    assert.equal(wrongKey.statusCode, 403);
    assert.equal(wrongKey.json().error.code, 'terminal_not_ecommerce');
    const now = new Date();
    const p = (n: number) => String(n).padStart(2, '0');
    const tapMessage = packMessage({
      mti: '0100',
      fields: {
        2: String(payload.applicationPrimaryAccountNumber),
        3: '000000',
        4: String(payload.transactionAmount).padStart(12, '0'),
        7: `${p(now.getUTCMonth() + 1)}${p(now.getUTCDate())}${p(now.getUTCHours())}${p(now.getUTCMinutes())}${p(now.getUTCSeconds())}`,
        11: '424242',
        14: String(payload.applicationExpirationDate).slice(0, 4),
        22: '071',
        41: coffee.terminal_id,
        42: coffee.card_acceptor_id,
        48: packSubelements({ '43': (payload.paymentData as { onlinePaymentCryptogram: string }).onlinePaymentCryptogram }),
        49: '840',
      },
    });
    const res = await tessera.app.inject({ method: 'POST', url: '/acquirer/v1/authorizations', headers: { authorization: `Bearer ${coffee.api_key}`, 'content-type': 'application/octet-stream' }, payload: Buffer.from(tapMessage) });
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(unpackMessage(new Uint8Array(res.rawPayload)).fields[39], '88');
    // The cryptogram is still good for its own channel.
    assert.equal((await authorize(payload)).json().responseCode, '00');
  });

  it('a token without the in-app domain → 57', async () => {
    const device = await runProvision(transport, { network: 'visa' }, quiet);
    const { token } = await runInApp(transport, { adminKey, validationUrl, rootPem, amount: '3.00', currency: 'USD', merchant, device }, quiet);
    const payload = (await decrypt(token)).payload as unknown as Record<string, unknown>;
    await env.db.query("UPDATE network.tokens SET domains = '{contactless}' WHERE token_ref = $1", [device.tokenRef]);
    await tessera.networks.service.invalidateToken(device.tokenRef);
    const res = await authorize(payload);
    assert.equal(res.json().responseCode, '57', res.body);
    assert.equal(res.json().declineReason, 'not_permitted');
  });

  it('a reused merchant session → merchant_session_used; a reused nonce → payment_nonce_used; an expired session or nonce refused', async () => {
    const device = await deviceFor('visa');
    const merchantSession = await session();
    const request = paymentRequest('7.00', 'USD', 'visa');
    const ok = await device.wallet.payInApp({ merchantSession, request, cardId: device.cardId }, { biometric: 'match' });
    assert.equal(ok.ok, true);
    await assert.rejects(device.wallet.payInApp({ merchantSession, request, cardId: device.cardId }, { biometric: 'match' }), (e: unknown) => e instanceof PartyError && e.code === 'merchant_session_used');

    // The same nonce for a second payment (with a fresh session): the SE binds it, the platform refuses it.
    const payWithNonce = async (nonce: { nonce: string; encryption_key: never }, s: Record<string, unknown>) => {
      const challenge = await device.se.newChallenge('inapp');
      const auth = await device.enclave.authorize({ purpose: 'inapp', challenge, method: { biometric: 'match' } });
      assert.ok(auth.ok);
      const { encryptedPayment } = await device.se.makeInAppPayment(
        device.tokenRef,
        { nonce: Buffer.from(nonce.nonce, 'hex'), amount: 700, currency: '840', merchantIdentifier: String(s.merchantIdentifier), encryptionKey: nonce.encryption_key },
        auth.authorization,
      );
      return device.client.submitPayment({ card_id: device.cardId, merchant_session: s, request, encrypted_payment: encryptedPayment }, `k-${Math.random()}`);
    };
    const s1 = await session();
    const nonce = (await device.client.paymentNonce({ merchant_session_identifier: String(s1.merchantSessionIdentifier) })) as never;
    const first = await payWithNonce(nonce, s1);
    assert.equal(first.token.paymentData.version, 'EC_v1');
    await assert.rejects(payWithNonce(nonce, await session()), (e: unknown) => e instanceof PartyError && e.code === 'payment_nonce_used');
    // A nonce for one merchant session does not serve another.
    const s2 = await session();
    const other = (await device.client.paymentNonce({ merchant_session_identifier: 'another-session' })) as never;
    await assert.rejects(payWithNonce(other, s2), (e: unknown) => e instanceof PartyError && e.code === 'payment_nonce_invalid');
    // …and, refused, it did not use up the session: the wallet pays with it.
    assert.equal((await device.wallet.payInApp({ merchantSession: s2, request, cardId: device.cardId }, { biometric: 'match' })).ok, true);

    // Expiry: a nonce older than 2 minutes, a session older than 5.
    const s3 = await session();
    const late = (await device.client.paymentNonce({ merchant_session_identifier: String(s3.merchantSessionIdentifier) })) as never;
    offsetMs = 150_000;
    try {
      await assert.rejects(payWithNonce(late, s3), (e: unknown) => e instanceof PartyError && e.code === 'payment_nonce_expired');
      offsetMs = 6 * 60_000;
      await assert.rejects(device.wallet.payInApp({ merchantSession: s3, request, cardId: device.cardId }, { biometric: 'match' }), (e: unknown) => e instanceof PartyError && e.code === 'merchant_session_expired');
    } finally {
      offsetMs = 0;
    }
  });

  it('a payment whose amount differs from the request, or bound to another merchant, is refused', async () => {
    const device = await deviceFor('visa');
    const s = await session();
    const request = paymentRequest('9.00', 'USD', 'visa');
    const nonce = await device.client.paymentNonce({ merchant_session_identifier: String(s.merchantSessionIdentifier) });
    const sign = async (amount: number, merchantIdentifier: string) => {
      const challenge = await device.se.newChallenge('inapp');
      const auth = await device.enclave.authorize({ purpose: 'inapp', challenge, method: { biometric: 'match' } });
      assert.ok(auth.ok);
      return (await device.se.makeInAppPayment(device.tokenRef, { nonce: Buffer.from(nonce.nonce, 'hex'), amount, currency: '840', merchantIdentifier, encryptionKey: nonce.encryption_key }, auth.authorization)).encryptedPayment;
    };
    const submit = (encrypted: string) => device.client.submitPayment({ card_id: device.cardId, merchant_session: s, request, encrypted_payment: encrypted }, `k-${Math.random()}`);
    await assert.rejects(submit(await sign(901, String(s.merchantIdentifier))), (e: unknown) => e instanceof PartyError && e.code === 'payment_invalid');
    await assert.rejects(submit(await sign(900, 'F'.repeat(64))), (e: unknown) => e instanceof PartyError && e.code === 'payment_invalid');
    // Neither refusal used the nonce or the session.
    const good = await submit(await sign(900, String(s.merchantIdentifier)));
    assert.equal((await decrypt(good.token)).payload.transactionAmount, 900);
  });
});
