import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compactDecrypt, exportJWK, generateKeyPair } from 'jose';
import { fromHex } from '../protocol/bytes.js';
import { merchantBinding, onlineUnpredictableNumber, parseOnlineCryptogram, verifyOnlineCryptogram } from '../protocol/emv/index.js';
import { ALL_NETWORKS, CVN_BY_NETWORK, iccMasterKey, paymentDevice, type PaymentDevice } from './applet.test-helper.js';
import { DeviceError } from './errors.js';

async function platformKey() {
  const { publicKey, privateKey } = await generateKeyPair('ECDH-ES+A256KW', { crv: 'P-256' });
  const jwk = await exportJWK(publicKey);
  return { privateKey, key: { kid: 'pay_test', alg: 'ECDH-ES+A256KW', enc: 'A256GCM', jwk } };
}

async function authorize(d: PaymentDevice, purpose: 'inapp' | 'contactless' = 'inapp') {
  const challenge = await d.se.newChallenge('inapp');
  const r = await d.enclave.authorize({ purpose, challenge, method: { biometric: 'match' } });
  assert.ok(r.ok);
  return r.authorization;
}

const NONCE = fromHex('00112233445566778899AABBCCDDEEFF00112233445566778899AABBCCDDEEFF');
const MERCHANT = '358DA5890B9555C0A9EFB84B5CD6FF04BFDCD5AABF5DC14B9872D8DF51EAF439';

describe('SecureElement.makeInAppPayment', () => {
  it('every network: a 20-byte cryptogram under the token key the network derives, bound to nonce, merchant, amount, currency; JWE to the platform only', async () => {
    const d = await paymentDevice();
    const { privateKey, key } = await platformKey();
    for (const network of ALL_NETWORKS) {
      const card = d.cards[network];
      const out = await d.se.makeInAppPayment(card.tokenRef, { nonce: NONCE, amount: 1999, currency: '840', merchantIdentifier: MERCHANT, encryptionKey: key }, await authorize(d));
      assert.equal(out.atc, 1);
      assert.equal(out.encryptedPayment.includes(card.tokenPan), false);
      const { plaintext, protectedHeader } = await compactDecrypt(out.encryptedPayment, privateKey);
      assert.equal(protectedHeader.cty, 'inapp-payment+json');
      const p = JSON.parse(new TextDecoder().decode(plaintext)) as Record<string, string | number>;
      assert.equal(p.token_pan, card.tokenPan);
      assert.equal(p.eci_indicator, network === 'mastercard' ? undefined : '5');
      const cryptogram = new Uint8Array(Buffer.from(String(p.online_payment_cryptogram), 'base64'));
      const parsed = parseOnlineCryptogram(cryptogram);
      assert.deepEqual(parsed.un, await onlineUnpredictableNumber(NONCE));
      assert.deepEqual(parsed.merchant, await merchantBinding(MERCHANT));
      const cvn = CVN_BY_NETWORK[network];
      const scheme = cvn === 'A1' || cvn === 'D1' ? cvn : '3des';
      const mk = await iccMasterKey(network, card.tokenPan);
      assert.equal(await verifyOnlineCryptogram(scheme, mk, cryptogram, 1999, '840'), true, network);
      assert.equal(await verifyOnlineCryptogram(scheme, mk, cryptogram, 2000, '840'), false);
    }
  });

  it('the ATC is the contactless one: both go up together', async () => {
    const d = await paymentDevice();
    const { key } = await platformKey();
    const card = d.cards.visa;
    const a = await d.se.makeInAppPayment(card.tokenRef, { nonce: NONCE, amount: 1, currency: '840', merchantIdentifier: MERCHANT, encryptionKey: key }, await authorize(d));
    const b = await d.se.makeInAppPayment(card.tokenRef, { nonce: NONCE, amount: 1, currency: '840', merchantIdentifier: MERCHANT, encryptionKey: key }, await authorize(d));
    assert.deepEqual([a.atc, b.atc], [1, 2]);
    // Reopened (a reboot): the counter was persisted.
    const se = await d.reopen();
    const challenge = await se.newChallenge('inapp');
    const r = await d.enclave.authorize({ purpose: 'inapp', challenge, method: { biometric: 'match' } });
    assert.ok(r.ok);
    const c = await se.makeInAppPayment(card.tokenRef, { nonce: NONCE, amount: 1, currency: '840', merchantIdentifier: MERCHANT, encryptionKey: key }, r.authorization);
    assert.equal(c.atc, 3);
  });

  it('only with a fresh inapp authorization over the SE challenge, used once; suspended cards and bad input refused', async () => {
    const d = await paymentDevice();
    const { key } = await platformKey();
    const card = d.cards.amex;
    const input = { nonce: NONCE, amount: 100, currency: '840', merchantIdentifier: MERCHANT, encryptionKey: key };
    const code = (c: string) => (e: unknown) => e instanceof DeviceError && e.code === c;
    const auth = await authorize(d);
    await d.se.makeInAppPayment(card.tokenRef, input, auth);
    await assert.rejects(d.se.makeInAppPayment(card.tokenRef, input, auth), code('se_authorization_mismatch'));
    await d.se.newChallenge('inapp');
    await assert.rejects(d.se.makeInAppPayment(card.tokenRef, input, auth), code('se_authorization_mismatch'));
    await assert.rejects(d.se.makeInAppPayment(card.tokenRef, input, await authorize(d, 'contactless')), code('se_authorization_mismatch'));
    const stale = await authorize(d);
    d.clock.now += 61_000;
    await assert.rejects(d.se.makeInAppPayment(card.tokenRef, input, stale), code('se_authorization_expired'));
    await d.se.setStatus(card.tokenRef, 'suspended');
    await assert.rejects(d.se.makeInAppPayment(card.tokenRef, input, await authorize(d)), code('se_request_invalid'));
    await d.se.setStatus(card.tokenRef, 'active');
    await assert.rejects(d.se.makeInAppPayment(card.tokenRef, { ...input, nonce: new Uint8Array(4) }, await authorize(d)), code('se_request_invalid'));
    await assert.rejects(d.se.makeInAppPayment(card.tokenRef, { ...input, currency: 'USD' }, await authorize(d)), code('se_request_invalid'));
    await assert.rejects(d.se.makeInAppPayment(card.tokenRef, { ...input, encryptionKey: { ...key, alg: 'RSA-OAEP' } }, await authorize(d)), code('se_request_invalid'));
    // None of the refusals moved the counter.
    const ok = await d.se.makeInAppPayment(card.tokenRef, input, await authorize(d));
    assert.equal(ok.atc, 2);
  });
});
