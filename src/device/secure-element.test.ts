import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CompactEncrypt, importJWK } from 'jose';
import { utf8 } from '../protocol/bytes.js';
import { DeviceError } from './errors.js';
import { generateToken } from '../protocol/cards/index.js';
import { TEST_CERT_PEM, buildPayload, dumpStorage, random } from './fixtures.test-helper.js';
import { SecureElement } from './secure-element.js';
import { MemoryStorage } from './storage.js';

async function rejectsWith(promise: Promise<unknown>, code: string): Promise<DeviceError> {
  let caught: unknown;
  try {
    await promise;
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof DeviceError, `expected DeviceError ${code}, got ${String(caught)}`);
  assert.equal(caught.code, code);
  return caught;
}

describe('SecureElement keys', () => {
  it('keeps its private and storage keys non-extractable', async () => {
    const storage = new MemoryStorage();
    const se = await SecureElement.open(storage);
    const jwk = await se.publicKeyJwk();
    assert.deepEqual(Object.keys(jwk).sort(), ['crv', 'kty', 'x', 'y']);
    assert.equal(jwk.crv, 'P-256');

    const keys = (await storage.get('se:keys')) as Record<string, CryptoKey>;
    for (const name of ['agreementPrivate', 'sealing'] as const) {
      const key = keys[name]!;
      assert.equal(key.extractable, false, name);
      await assert.rejects(globalThis.crypto.subtle.exportKey('jwk', key));
      await assert.rejects(globalThis.crypto.subtle.exportKey(key.type === 'secret' ? 'raw' : 'pkcs8', key));
    }
  });

  it('keeps the same key pair when reopened on the same storage', async () => {
    const storage = new MemoryStorage();
    const a = await (await SecureElement.open(storage)).publicKeyJwk();
    const b = await (await SecureElement.open(storage)).publicKeyJwk();
    assert.deepEqual(a, b);
    const c = await (await SecureElement.open(new MemoryStorage())).publicKeyJwk();
    assert.notDeepEqual(a, c);
  });

  it('stores the device certificate and refuses what is not a PEM certificate', async () => {
    const se = await SecureElement.open(new MemoryStorage());
    assert.equal(await se.certificate(), null);
    await se.setCertificate(TEST_CERT_PEM, TEST_CERT_PEM);
    assert.deepEqual(await se.certificate(), { pem: TEST_CERT_PEM, caPem: TEST_CERT_PEM });
    await rejectsWith(se.setCertificate('not a certificate', TEST_CERT_PEM), 'se_certificate_invalid');
    await rejectsWith(se.setCertificate(TEST_CERT_PEM, TEST_CERT_PEM.replace('CERTIFICATE', 'PRIVATE KEY')), 'se_certificate_invalid');
  });
});

describe('SecureElement install', () => {
  for (const [network, alg] of [
    ['visa', '3des'],
    ['mastercard', '3des'],
    ['amex', 'aes'],
    ['discover', 'aes'],
  ] as const) {
    it(`installs a ${network} payload (${alg} key) and answers nothing secret`, async () => {
      const se = await SecureElement.open(new MemoryStorage());
      const { jwe, secrets, payload } = await buildPayload(await se.publicKeyJwk(), { network, alg });
      const installed = await se.install(jwe);
      assert.deepEqual(installed, { tokenRef: payload.token_ref, network, tokenLast4: secrets.tokenPan.slice(-4), label: payload.label });
      const cards = await se.listCards();
      assert.deepEqual(cards, [{ ...installed, status: 'active' }]);
      const shown = JSON.stringify([installed, cards]);
      assert.ok(!shown.includes(secrets.tokenPan), 'token number exposed');
      assert.ok(!shown.toUpperCase().includes(secrets.mk), 'master key exposed');
    });
  }

  it('replaces a card installed again under the same token_ref', async () => {
    const se = await SecureElement.open(new MemoryStorage());
    const jwk = await se.publicKeyJwk();
    await se.install((await buildPayload(jwk, { tokenRef: 'tok_same1', override: { label: 'FIRST' } })).jwe);
    await se.install((await buildPayload(jwk, { tokenRef: 'tok_other' })).jwe);
    await se.setStatus('tok_same1', 'suspended');
    await se.install((await buildPayload(jwk, { tokenRef: 'tok_same1', override: { label: 'SECOND' } })).jwe);
    const cards = await se.listCards();
    assert.equal(cards.length, 2);
    const same = cards.find((c) => c.tokenRef === 'tok_same1');
    assert.equal(same?.label, 'SECOND');
    assert.equal(same?.status, 'active');
  });

  it('refuses a payload for another token than the one expected', async () => {
    const se = await SecureElement.open(new MemoryStorage());
    const { jwe } = await buildPayload(await se.publicKeyJwk(), { tokenRef: 'tok_a' });
    await rejectsWith(se.install(jwe, { tokenRef: 'tok_b' }), 'se_payload_invalid');
    assert.deepEqual(await se.listCards(), []);
    await se.install(jwe, { tokenRef: 'tok_a' });
  });

  it('refuses a tampered JWE', async () => {
    const se = await SecureElement.open(new MemoryStorage());
    const { jwe } = await buildPayload(await se.publicKeyJwk());
    const parts = jwe.split('.');
    const ct = parts[3]!;
    parts[3] = (ct[0] === 'A' ? 'B' : 'A') + ct.slice(1);
    await rejectsWith(se.install(parts.join('.')), 'se_payload_invalid');
    const tag = parts[4]!;
    await rejectsWith(se.install([...jwe.split('.').slice(0, 4), (tag[0] === 'A' ? 'B' : 'A') + tag.slice(1)].join('.')), 'se_payload_invalid');
    await rejectsWith(se.install('not.a.jwe'), 'se_payload_invalid');
    await rejectsWith(se.install(''), 'se_payload_invalid');
    await rejectsWith(se.install('x'.repeat(20_000)), 'se_payload_invalid');
    assert.deepEqual(await se.listCards(), []);
  });

  it('refuses a payload encrypted to another SE', async () => {
    const se = await SecureElement.open(new MemoryStorage());
    const other = await SecureElement.open(new MemoryStorage());
    const { jwe } = await buildPayload(await other.publicKeyJwk());
    await rejectsWith(se.install(jwe), 'se_payload_invalid');
  });

  it('refuses another content type or key management algorithm', async () => {
    const se = await SecureElement.open(new MemoryStorage());
    const jwk = await se.publicKeyJwk();
    await rejectsWith(se.install((await buildPayload(jwk, { header: { cty: 'card+json' } })).jwe), 'se_payload_invalid');
    const noCty = await new CompactEncrypt(utf8.encode('{}')).setProtectedHeader({ alg: 'ECDH-ES+A256KW', enc: 'A256GCM' }).encrypt(await importJWK(jwk, 'ECDH-ES'));
    await rejectsWith(se.install(noCty), 'se_payload_invalid');
    const direct = await new CompactEncrypt(utf8.encode('{}'))
      .setProtectedHeader({ alg: 'ECDH-ES', enc: 'A256GCM', cty: 'provisioning+json' })
      .encrypt(await importJWK(jwk, 'ECDH-ES'));
    await rejectsWith(se.install(direct), 'se_payload_invalid');
    const a128 = await new CompactEncrypt(utf8.encode('{}'))
      .setProtectedHeader({ alg: 'ECDH-ES+A256KW', enc: 'A128GCM', cty: 'provisioning+json' })
      .encrypt(await importJWK(jwk, 'ECDH-ES+A256KW'));
    await rejectsWith(se.install(a128), 'se_payload_invalid');
  });

  it('refuses a wrong key check value', async () => {
    const se = await SecureElement.open(new MemoryStorage());
    const jwk = await se.publicKeyJwk();
    for (const alg of ['3des', 'aes'] as const) {
      const good = await buildPayload(jwk, { alg });
      const wrong = good.secrets.kcv === '0000' ? '0001' : '0000';
      const bad = await buildPayload(jwk, { alg, keyOverride: { kcv: wrong } });
      await rejectsWith(se.install(bad.jwe), 'se_payload_invalid');
      // A 3DES KCV does not pass for the same key declared AES, and the other way round.
      const swapped = await buildPayload(jwk, { alg, keyOverride: { alg: alg === '3des' ? 'aes' : '3des' } });
      await rejectsWith(se.install(swapped.jwe), 'se_payload_invalid');
    }
    assert.deepEqual(await se.listCards(), []);
  });

  it('refuses malformed payload fields with a message that echoes no value', async () => {
    const se = await SecureElement.open(new MemoryStorage());
    const jwk = await se.publicKeyJwk();
    const badLuhn = '4895370000000001';
    const cases: Array<[string, Parameters<typeof buildPayload>[1]]> = [
      ['bad Luhn token', { override: { token_pan: badLuhn } }],
      ['token with letters', { override: { token_pan: '48953700000000AB' } }],
      ['card number, not a token', { override: { token_pan: '4111111111111111' } }],
      ['token of another network', { network: 'visa', override: { token_pan: generateToken('mastercard', random) } }],
      ['version 2', { override: { v: 2 } }],
      ['no token_ref', { override: { token_ref: undefined } }],
      ['unknown network', { override: { network: 'jcb' } }],
      ['token_exp month 13', { override: { token_exp: '3013' } }],
      ['token_exp MMYY as a date', { override: { token_exp: '2030-12' } }],
      ['psn one digit', { override: { psn: '0' } }],
      ['aid not hex', { override: { aid: 'A00000000X1010' } }],
      ['empty label', { override: { label: '' } }],
      ['cvn object', { override: { cvn: { x: 1 } } }],
      ['no key', { override: { key: undefined } }],
      ['key alg des', { keyOverride: { alg: 'des' } }],
      ['mk too short', { keyOverride: { mk: '0123456789ABCDEF' } }],
      ['mk not hex', { keyOverride: { mk: 'Z'.repeat(32) } }],
      ['kcv 3 bytes', { keyOverride: { kcv: '000000' } }],
      ['card_last4 letters', { override: { card_last4: 'abcd' } }],
    ];
    for (const [name, options] of cases) {
      const { jwe, secrets } = await buildPayload(jwk, options);
      const err = await rejectsWith(se.install(jwe), 'se_payload_invalid').catch((e: unknown) => {
        throw new Error(`${name}: ${String(e)}`);
      });
      assert.ok(!err.message.includes(secrets.tokenPan) && !err.message.includes(badLuhn), `${name}: message echoes the token`);
      assert.ok(!err.message.toUpperCase().includes(secrets.mk), `${name}: message echoes the key`);
    }
    const notJson = await new CompactEncrypt(utf8.encode('not json'))
      .setProtectedHeader({ alg: 'ECDH-ES+A256KW', enc: 'A256GCM', cty: 'provisioning+json' })
      .encrypt(await importJWK(jwk, 'ECDH-ES+A256KW'));
    await rejectsWith(se.install(notJson), 'se_payload_invalid');
    assert.deepEqual(await se.listCards(), []);
  });
});

describe('SecureElement card commands and storage', () => {
  it('keeps cards across a reopen, and storage holds no token number or key in clear', async () => {
    const storage = new MemoryStorage();
    const se = await SecureElement.open(storage, { clock: () => 1_000 });
    const jwk = await se.publicKeyJwk();
    const visa = await buildPayload(jwk, { network: 'visa' });
    const amex = await buildPayload(jwk, { network: 'amex' });
    await se.install(visa.jwe);
    await se.install(amex.jwe);
    await se.setCertificate(TEST_CERT_PEM, TEST_CERT_PEM);

    const reopened = await SecureElement.open(storage);
    const cards = await reopened.listCards();
    assert.deepEqual(
      cards.map((c) => c.tokenRef).sort(),
      [visa.payload.token_ref, amex.payload.token_ref].sort(),
    );

    const dump = await dumpStorage(storage);
    for (const secrets of [visa.secrets, amex.secrets]) {
      assert.ok(!dump.includes(secrets.tokenPan), 'token number in storage');
      assert.ok(!dump.toUpperCase().includes(secrets.mk), 'master key in storage');
      assert.ok(!dump.includes(secrets.tokenPan.slice(0, 12)), 'token number prefix in storage');
    }
    assert.ok(!dump.includes('"mk"') && !dump.includes('token_pan') && !dump.includes('tokenPan'));
  });

  it('deletes and suspends cards; unknown refs are se_card_unknown', async () => {
    const se = await SecureElement.open(new MemoryStorage());
    const { jwe, payload } = await buildPayload(await se.publicKeyJwk());
    const ref = String(payload.token_ref);
    await se.install(jwe);
    await se.setStatus(ref, 'suspended');
    assert.equal((await se.listCards())[0]?.status, 'suspended');
    await se.setStatus(ref, 'active');
    assert.equal((await se.listCards())[0]?.status, 'active');
    await rejectsWith(se.setStatus(ref, 'deleted' as 'active'), 'se_request_invalid');
    await rejectsWith(se.setStatus('tok_nope', 'suspended'), 'se_card_unknown');
    await rejectsWith(se.deleteCard('tok_nope'), 'se_card_unknown');
    await rejectsWith(se.deleteCard('../se:keys'), 'se_card_unknown');
    await se.deleteCard(ref);
    assert.deepEqual(await se.listCards(), []);
    await rejectsWith(se.deleteCard(ref), 'se_card_unknown');
  });

  it('does not open a card record moved to another slot or altered', async () => {
    const storage = new MemoryStorage();
    const se = await SecureElement.open(storage);
    const jwk = await se.publicKeyJwk();
    await se.install((await buildPayload(jwk, { tokenRef: 'tok_one' })).jwe);
    await se.install((await buildPayload(jwk, { tokenRef: 'tok_two' })).jwe);
    await storage.put('se:card:tok_two', await storage.get('se:card:tok_one'));
    await rejectsWith(se.listCards(), 'se_storage_corrupt');
    await rejectsWith(se.setStatus('tok_two', 'suspended'), 'se_storage_corrupt');
    await storage.put('se:card:tok_two', { v: 1, iv: new Uint8Array(12), ct: new Uint8Array(40) });
    await rejectsWith(se.listCards(), 'se_storage_corrupt');
  });

  it('refuses to open storage whose key slot holds something else than keys', async () => {
    const storage = new MemoryStorage();
    await storage.put('se:keys', { v: 1, agreementPrivate: 'x', agreementPublic: 'y', sealing: 'z' });
    await rejectsWith(SecureElement.open(storage), 'se_storage_corrupt');
  });
});
