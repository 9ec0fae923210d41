import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Secret } from '../protocol/secret.js';
import { DeviceError } from './errors.js';
import { FakePartyError, FakePlatform, TEST_CERT_PEM, dumpStorage } from './fixtures.test-helper.js';
import { setupDevice } from './setup.js';
import { MemoryStorage } from './storage.js';
import { MAX_TRANSACTIONS, Wallet, type CardInput, type TransactionEntry } from './wallet.js';

/** 2026-06-15, so cards expiring before June 2026 are expired. */
const NOW = Date.UTC(2026, 5, 15, 12, 0, 0);
const VISA = '4111111111111111';
const AMEX = '378282246310005';
const CVV = '739';
const AMEX_CVV = '7391';
const visaCard: CardInput = { pan: VISA, expMonth: 12, expYear: 2030, cvv: CVV, name: 'ADA LOVELACE' };

async function rejectsWith(promise: Promise<unknown>, code: string, reason?: string): Promise<DeviceError> {
  let caught: unknown;
  try {
    await promise;
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof DeviceError, `expected DeviceError ${code}, got ${String(caught)}`);
  assert.equal(caught.code, code);
  if (reason !== undefined) assert.equal(caught.reason, reason);
  return caught;
}

async function newWallet(options: { random?: (n: number) => Uint8Array } = {}) {
  const storage = new MemoryStorage();
  const clock = { now: NOW };
  const { se, enclave } = await setupDevice(storage, { biometric: 'face', passcode: '482916', passcodeIterations: 1_000, clock: () => clock.now });
  const api = new FakePlatform();
  const wallet = new Wallet({ api, se, enclave, storage, clock: () => clock.now, ...options });
  await wallet.register({ kind: 'phone', name: "Ada's phone" });
  return { wallet, api, se, enclave, storage, clock };
}

/** Everything the wallet persisted and every answer, with no card number, CVV, token number or key. */
async function assertNoSecrets(storage: MemoryStorage, api: FakePlatform, pans: string[], shown: unknown[] = []) {
  const dump = await dumpStorage(storage);
  const text = dump + '\n' + JSON.stringify(shown);
  for (const pan of pans) {
    assert.ok(!text.includes(pan), 'card number persisted or returned');
    assert.ok(!text.includes(pan.slice(0, 10)), 'card number prefix persisted or returned');
  }
  assert.ok(!/"cvv"|"pan"|"mk"|token_pan|tokenPan/.test(text), 'a secret field persisted or returned');
  for (const s of api.issuedSecrets) {
    assert.ok(!text.includes(s.tokenPan), 'token number persisted or returned');
    assert.ok(!text.toUpperCase().includes(s.mk), 'key persisted or returned');
  }
}

describe('Wallet registration', () => {
  it('registers the SE public key and keeps the certificate in the SE', async () => {
    const { wallet, se } = await newWallet();
    assert.deepEqual(await se.certificate(), { pem: TEST_CERT_PEM, caPem: TEST_CERT_PEM });
    assert.equal(await wallet.deviceId(), 'dev_test0000000000000000001');
    await rejectsWith(wallet.register({ kind: 'tablet' as 'phone', name: 'x' }), 'wallet_request_invalid');
  });
});

describe('Wallet.addCard', () => {
  it('green: encrypts the card data to the network key, installs the payload, makes the card default', async () => {
    const { wallet, api, se, storage } = await newWallet();
    const result = await wallet.addCard({ ...visaCard, pan: '4111 1111 1111 1111' });
    assert.equal(result.state, 'active');
    assert.equal(result.card.network, 'visa');

    assert.equal(api.received.length, 1);
    const got = api.received[0]!;
    assert.deepEqual(got.card, { pan: VISA, exp_month: 12, exp_year: 2030, cvv: CVV, name: 'ADA LOVELACE' });
    assert.deepEqual(got.header, { alg: 'ECDH-ES+A256KW', enc: 'A256GCM', kid: 'visa-enc-1', cty: 'card+json', epk: got.header.epk });
    assert.ok(!api.provisionCalls[0]!.input.encrypted_card.includes(VISA));
    assert.equal(api.provisionCalls[0]!.input.sandbox_device_score, undefined);

    const seCards = await se.listCards();
    assert.equal(seCards.length, 1);
    assert.equal(seCards[0]!.tokenRef, result.card.token_ref);
    assert.equal(seCards[0]!.tokenLast4, result.card.token_last4);

    const cards = await wallet.cards();
    assert.equal(cards.length, 1);
    assert.equal(cards[0]!.on_device, true);
    assert.equal(cards[0]!.wallet_status, 'active');
    assert.equal(cards[0]!.is_default, true);
    assert.deepEqual(await wallet.defaultCard(), { cardId: result.card.id, tokenRef: result.card.token_ref });
    await assertNoSecrets(storage, api, [VISA], [result, cards, seCards]);
  });

  it('accepts card number and CVV as Secrets; amex takes a 4-digit CVV', async () => {
    const { wallet, api, storage } = await newWallet();
    const result = await wallet.addCard({ pan: Secret.pan(AMEX), expMonth: 1, expYear: 2029, cvv: new Secret(AMEX_CVV), name: ' grace  hopper ' });
    assert.equal(result.state, 'active');
    assert.deepEqual(api.received[0]!.card, { pan: AMEX, exp_month: 1, exp_year: 2029, cvv: AMEX_CVV, name: 'grace hopper' });
    await assertNoSecrets(storage, api, [AMEX], [result]);
  });

  it('validates locally and calls nothing for a bad card', async () => {
    const { wallet, api } = await newWallet();
    const cases: Array<[Partial<CardInput>, string, string | undefined]> = [
      [{ pan: '4111111111111112' }, 'wallet_card_invalid', 'bad_luhn'],
      [{ pan: '9111111111111116' }, 'wallet_card_invalid', 'unknown_bin'],
      [{ pan: '41111111111111111' }, 'wallet_card_invalid', 'bad_length'],
      [{ pan: '4111-1111-1111-111x' }, 'wallet_card_invalid', 'not_digits'],
      [{ expMonth: 5, expYear: 2026 }, 'wallet_card_expired', undefined],
      [{ expMonth: 12, expYear: 2025 }, 'wallet_card_expired', undefined],
      [{ expMonth: 13 }, 'wallet_card_invalid', 'bad_expiry'],
      [{ expYear: 30 }, 'wallet_card_invalid', 'bad_expiry'],
      [{ cvv: '12' }, 'wallet_card_invalid', 'bad_cvv'],
      [{ cvv: '1234' }, 'wallet_card_invalid', 'bad_cvv'],
      [{ pan: AMEX, cvv: '123' }, 'wallet_card_invalid', 'bad_cvv'],
      [{ name: '   ' }, 'wallet_card_invalid', 'bad_name'],
    ];
    for (const [change, code, reason] of cases) {
      const err = await rejectsWith(wallet.addCard({ ...visaCard, ...change }), code, reason);
      assert.ok(!err.message.includes('4111') && !err.message.includes(CVV), 'error message echoes card data');
    }
    await rejectsWith(wallet.addCard(visaCard, { sandboxDeviceScore: 7 }), 'wallet_request_invalid');
    assert.equal(api.provisionCalls.length, 0);
    // This month's expiry is still good.
    assert.equal((await wallet.addCard({ ...visaCard, expMonth: 6, expYear: 2026 })).state, 'active');
  });

  it('yellow: answers the verification methods, then installs on the right code', async () => {
    const { wallet, api, se, storage } = await newWallet();
    const result = await wallet.addCard(visaCard, { sandboxDeviceScore: 2 });
    assert.equal(api.provisionCalls[0]!.input.sandbox_device_score, 2);
    assert.equal(result.state, 'needs_verification');
    assert.ok(result.state === 'needs_verification');
    assert.deepEqual(result.methods, [{ id: 'sms', type: 'sms', destination: '•••• 1234' }]);
    assert.deepEqual(await se.listCards(), []);
    assert.equal((await wallet.cards())[0]!.wallet_status, 'inactive');
    assert.equal(await wallet.defaultCard(), null);

    assert.deepEqual(await wallet.sendCode(result.card.id, 'sms'), { sent: true, expires_at: '2026-01-01T00:10:00.000Z' });
    const messages = await wallet.verificationMessages(result.card.id);
    const code = /\d{6}/.exec(messages[0]!.body)![0];
    await rejectsWith(wallet.confirmCode(result.card.id, '12345'), 'wallet_request_invalid');
    await assert.rejects(wallet.confirmCode(result.card.id, '000000'), (err: FakePartyError) => err.code === 'verification_code_incorrect');
    const confirmed = await wallet.confirmCode(result.card.id, code);
    assert.equal(confirmed.state, 'active');
    assert.equal((await se.listCards())[0]!.tokenRef, result.card.token_ref);
    assert.equal((await wallet.cards())[0]!.wallet_status, 'active');
    assert.equal((await wallet.defaultCard())?.cardId, result.card.id);
    assert.notEqual(api.confirmCalls[0]!.idempotencyKey, api.confirmCalls[1]!.idempotencyKey);
    await assertNoSecrets(storage, api, [VISA], [result, confirmed]);
  });

  it('retries once with the same Idempotency-Key and body when no answer arrived', async () => {
    const { wallet, api, se } = await newWallet();
    api.loseProvisionAnswers = 1;
    const result = await wallet.addCard(visaCard);
    assert.equal(result.state, 'active');
    assert.equal(api.provisionCalls.length, 2);
    const [first, second] = api.provisionCalls;
    assert.equal(first!.idempotencyKey, second!.idempotencyKey);
    assert.match(first!.idempotencyKey, /^[0-9a-f]{32}$/);
    assert.deepEqual(first!.input, second!.input);
    assert.equal(api.received.length, 1, 'the platform acted once');
    assert.equal((await se.listCards()).length, 1);

    // The next attempt is a new one: a new key.
    await wallet.addCard({ ...visaCard, pan: '4012888888881881' });
    assert.notEqual(api.provisionCalls[2]!.idempotencyKey, first!.idempotencyKey);
  });

  it('retries a confirmation that got no answer with the same Idempotency-Key', async () => {
    const { wallet, api, se } = await newWallet();
    const result = await wallet.addCard(visaCard, { sandboxDeviceScore: 1 });
    api.loseConfirmAnswers = 1;
    assert.equal((await wallet.confirmCode(result.card.id, '123456')).state, 'active');
    assert.equal(api.confirmCalls.length, 2);
    assert.equal(api.confirmCalls[0]!.idempotencyKey, api.confirmCalls[1]!.idempotencyKey);
    assert.equal((await se.listCards()).length, 1);
  });

  it('gives up after one retry, and does not retry an answer from the platform', async () => {
    const { wallet, api } = await newWallet();
    api.loseProvisionAnswers = 2;
    await assert.rejects(wallet.addCard(visaCard), { name: 'PartyUnavailable' });
    assert.equal(api.provisionCalls.length, 2);

    api.failProvisionWith = new FakePartyError(402, 'card_cvv_incorrect');
    await assert.rejects(wallet.addCard(visaCard), (err: FakePartyError) => err.status === 402 && err.code === 'card_cvv_incorrect');
    assert.equal(api.provisionCalls.length, 3);
  });

  it('uses the injected random source for idempotency keys', async () => {
    const { wallet, api } = await newWallet({ random: (n) => new Uint8Array(n).fill(0xab) });
    await wallet.addCard(visaCard);
    assert.equal(api.provisionCalls[0]!.idempotencyKey, 'ab'.repeat(16));
  });

  it('refuses a network key that is not a P-256 ECDH-ES+A256KW public key', async () => {
    const { wallet, api } = await newWallet();
    const good = await api.networkEncryptionKey('visa');
    for (const bad of [
      { alg: 'RSA-OAEP-256' },
      { enc: 'A128CBC-HS256' },
      { kid: '' },
      { jwk: { ...good.jwk, d: 'AAAA' } },
      { jwk: { ...good.jwk, crv: 'P-384' } },
      { jwk: { ...good.jwk, x: 'AAAA' } },
    ]) {
      api.keyOverride = bad;
      await rejectsWith(wallet.addCard(visaCard), 'wallet_network_key_invalid');
    }
    assert.equal(api.provisionCalls.length, 0);
  });
});

describe('Wallet cards', () => {
  it('shows a card whose token is not in this SE as not_on_device, and one suspended in the SE as suspended', async () => {
    const { wallet, se } = await newWallet();
    const a = await wallet.addCard(visaCard);
    const b = await wallet.addCard({ ...visaCard, pan: '5555555555554444' });
    await wallet.setDefaultCard(b.card.id);
    assert.equal((await wallet.defaultCard())?.cardId, b.card.id);

    await wallet.removeLocal(b.card.token_ref);
    await se.setStatus(a.card.token_ref, 'suspended');
    const cards = await wallet.cards();
    const byId = new Map(cards.map((c) => [c.id, c]));
    assert.equal(byId.get(b.card.id)!.wallet_status, 'not_on_device');
    assert.equal(byId.get(b.card.id)!.on_device, false);
    assert.equal(byId.get(a.card.id)!.wallet_status, 'suspended');
    assert.equal(await wallet.defaultCard(), null, 'removing the default card clears it');
    assert.ok(cards.every((c) => !c.is_default));

    await rejectsWith(wallet.setDefaultCard(b.card.id), 'wallet_card_not_on_device');
    await wallet.setDefaultCard(a.card.id);
    assert.equal((await wallet.defaultCard())?.tokenRef, a.card.token_ref);
    await rejectsWith(wallet.removeLocal(b.card.token_ref), 'se_card_unknown');
  });

  it('reports the Secure Enclave state for the UI', async () => {
    const { wallet, enclave } = await newWallet();
    await enclave.authorize({ purpose: 'contactless', challenge: new Uint8Array(4), method: { biometric: 'no_match' } });
    assert.equal((await wallet.verificationState()).failedBiometric, 1);
  });
});

describe('Wallet transaction log', () => {
  const entry = (i: number, extra: Partial<TransactionEntry> = {}): TransactionEntry => ({
    id: `txn_${i}`,
    cardId: 'card_a',
    amount: 100 + i,
    currency: 'EUR',
    merchant: `Shop ${i}`,
    status: 'approved',
    at: new Date(NOW + i * 1_000).toISOString(),
    ...extra,
  });

  it('keeps entries newest first, replaces by id, persists, and caps at 500', async () => {
    const { wallet, api, se, enclave, storage } = await newWallet();
    await wallet.recordTransaction(entry(2));
    await wallet.recordTransaction(entry(1));
    await wallet.recordTransaction(entry(3, { cardId: 'card_b' }));
    assert.deepEqual((await wallet.transactions()).map((t) => t.id), ['txn_3', 'txn_2', 'txn_1']);
    await wallet.recordTransaction(entry(2, { status: 'reversed' }));
    const list = await wallet.transactions();
    assert.equal(list.length, 3);
    assert.equal(list.find((t) => t.id === 'txn_2')!.status, 'reversed');
    assert.deepEqual((await wallet.transactions({ cardId: 'card_b' })).map((t) => t.id), ['txn_3']);

    const again = new Wallet({ api, se, enclave, storage });
    assert.deepEqual(await again.transactions(), list);

    await Promise.all(Array.from({ length: MAX_TRANSACTIONS + 20 }, (_, i) => again.recordTransaction(entry(100 + i))));
    const capped = await again.transactions();
    assert.equal(capped.length, MAX_TRANSACTIONS);
    assert.equal(capped[0]!.id, `txn_${100 + MAX_TRANSACTIONS + 19}`);
    assert.ok(!capped.some((t) => t.id === 'txn_1'), 'the oldest are dropped');
  });

  it('refuses malformed entries', async () => {
    const { wallet } = await newWallet();
    for (const bad of [
      { amount: 1.5 },
      { amount: Number.NaN },
      { currency: 'eur' },
      { status: 'done' as 'approved' },
      { at: 'yesterday' },
      { id: '' },
      { merchant: 'x'.repeat(201) },
    ]) {
      await rejectsWith(wallet.recordTransaction(entry(1, bad)), 'wallet_transaction_invalid');
    }
    assert.deepEqual(await wallet.transactions(), []);
  });
});
