import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  checkPayment,
  decryptPaymentToken,
  MemoryReplayCache,
  MerchantConfigError,
  PaymentTokenError,
  verifyAndDecrypt,
  verifyPaymentToken,
  type PaymentTokenErrorReason,
  type ReplayCache,
  type VerifyAndDecryptOptions,
} from './index.js';
import {
  APPLE_ROOT,
  clone,
  DECRYPTABLE,
  FIXTURES,
  fixture,
  flipBase64,
  flipTransactionId,
  paymentDataOf,
  signatureValueOffset,
  type Fixture,
} from './fixtures.test-helper.js';

const keysOf = (f: Fixture) => [{ certificatePem: f.certificatePem!, privateKeyPem: f.privateKeyPem! }];

function options(f: Fixture, extra: Partial<VerifyAndDecryptOptions> = {}): VerifyAndDecryptOptions {
  return { roots: [APPLE_ROOT], now: f.signingTime, seenTransactionIds: new MemoryReplayCache(), keys: f.certificatePem ? keysOf(f) : [], ...extra };
}

async function rejectsWith(p: Promise<unknown>, reason: PaymentTokenErrorReason, label = ''): Promise<PaymentTokenError> {
  let caught: unknown;
  try {
    await p;
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof PaymentTokenError, `${label}: expected PaymentTokenError(${reason}), got ${caught instanceof Error ? `${caught.name}: ${caught.message}` : String(caught)}`);
  assert.equal(caught.reason, reason, `${label}: ${caught.message}`);
  assert.ok(!caught.message.includes('\n'), 'one line');
  return caught;
}

/** Verification only (the signature-only fixture has no key), or the whole thing. */
function check(f: Fixture, token: unknown, extra: Partial<VerifyAndDecryptOptions> = {}): Promise<unknown> {
  return f.expected ? verifyAndDecrypt(token, options(f, extra)) : verifyPaymentToken(token, options(f, extra));
}

// ---- Decryption of every fixture to the published values ----

for (const f of DECRYPTABLE) {
  test(`${f.name}: verifyAndDecrypt at its signingTime gives exactly the published payload`, async () => {
    const result = await verifyAndDecrypt(f.json, options(f));
    assert.deepEqual(result.payload, f.expected);
    // Same keys in the same order as the published payload (and no eciIndicator where there is none).
    assert.equal(JSON.stringify(result.payload), JSON.stringify(f.expected));
    assert.equal(result.signingTime.toISOString(), f.signingTime.toISOString());
    assert.equal(result.token.version, f.version);
    assert.equal(result.transactionId, paymentDataOf(f.json).header.transactionId!.toLowerCase());
    assert.equal(result.keyIndex, 0);
  });
}

test('decryptPaymentToken (no verification) gives the same payloads, from objects and from JSON text', async () => {
  for (const f of DECRYPTABLE) {
    assert.deepEqual((await decryptPaymentToken(f.json, { keys: keysOf(f) })).payload, f.expected, f.name);
    assert.deepEqual((await decryptPaymentToken(JSON.stringify(f.json), { keys: keysOf(f) })).payload, f.expected, f.name);
  }
});

test('processout-signature-only: the signature and chain verify at its signingTime', async () => {
  const f = fixture('processout-signature-only');
  const verified = await verifyPaymentToken(f.json, options(f));
  assert.equal(verified.signingTime.toISOString(), '2017-02-01T18:45:06.000Z');
  assert.equal(verified.transactionId, 'd60e5b29daaf960c9837d15f1e968e1bb3ad124fe7fa4f85482d7d53789c273f');
});

test('each fixture verifies at its signingTime ± the 300 s window and fails with signing_time just outside it', async () => {
  for (const f of FIXTURES) {
    const at = (s: number) => new Date(f.signingTime.getTime() + s * 1000);
    await verifyPaymentToken(f.json, options(f, { now: at(300) }));
    await verifyPaymentToken(f.json, options(f, { now: at(-300) }));
    await rejectsWith(verifyPaymentToken(f.json, options(f, { now: at(301) })), 'signing_time', f.name);
    await rejectsWith(verifyPaymentToken(f.json, options(f, { now: at(-301) })), 'signing_time', f.name);
    await verifyPaymentToken(f.json, options(f, { now: at(3600), replayWindowSeconds: 3600 }));
  }
});

// ---- Every fixture fails as it must ----

for (const f of FIXTURES) {
  test(`${f.name}: rejected at today's date (expired), and when altered (signature)`, async () => {
    await rejectsWith(check(f, f.json, { now: new Date() }), 'expired', 'today');
    await rejectsWith(check(f, f.json, { now: undefined }), 'expired', 'default clock');
    await rejectsWith(check(f, flipBase64(f.json, 'data', 10)), 'signature', 'data');
    await rejectsWith(check(f, flipBase64(f.json, 'data', -1)), 'signature', 'data tag');
    await rejectsWith(check(f, flipBase64(f.json, f.version === 'EC_v1' ? 'ephemeralPublicKey' : 'wrappedKey', -3)), 'signature', 'key');
    await rejectsWith(check(f, flipTransactionId(f.json)), 'signature', 'transactionId');
    const sig = paymentDataOf(f.json).signature as string;
    await rejectsWith(check(f, flipBase64(f.json, 'signature', signatureValueOffset(sig))), 'signature', 'signature value');
    // An applicationData the signature did not cover.
    const withApp = clone(f.json);
    paymentDataOf(withApp).header.applicationData = 'ab'.repeat(32);
    await rejectsWith(check(f, withApp), 'signature', 'applicationData');
  });
}

test('altered data without signature verification: decryption reports tampered data', async () => {
  for (const f of DECRYPTABLE) {
    await rejectsWith(decryptPaymentToken(flipBase64(f.json, 'data', 10), { keys: keysOf(f) }), 'tampered', f.name);
    await rejectsWith(decryptPaymentToken(flipBase64(f.json, 'data', -1), { keys: keysOf(f) }), 'tampered', f.name);
  }
  const rsa = fixture('basistheory-rsa');
  await rejectsWith(decryptPaymentToken(flipBase64(rsa.json, 'wrappedKey', 100), { keys: keysOf(rsa) }), 'tampered', 'wrappedKey');
  const ec = fixture('gala-mastercard');
  await rejectsWith(decryptPaymentToken(flipBase64(ec.json, 'ephemeralPublicKey', -3), { keys: keysOf(ec) }), 'malformed', 'ephemeral key off the curve');
});

// ---- Keys ----

test('key rotation: the old token with only the new key is key_mismatch; with both keys the old one decrypts', async () => {
  const oldF = fixture('basistheory-ec-old');
  const newF = fixture('basistheory-ec-new');
  await rejectsWith(decryptPaymentToken(oldF.json, { keys: keysOf(newF) }), 'key_mismatch');
  await rejectsWith(verifyAndDecrypt(oldF.json, options(oldF, { keys: keysOf(newF) })), 'key_mismatch');
  const both = [...keysOf(newF), ...keysOf(oldF)];
  const result = await verifyAndDecrypt(oldF.json, options(oldF, { keys: both }));
  assert.equal(result.keyIndex, 1);
  assert.deepEqual(result.payload, oldF.expected);
  assert.equal((await decryptPaymentToken(newF.json, { keys: both })).keyIndex, 0);
});

test('merchantIdentifier: checked against the certificate extension', async () => {
  const f = fixture('gala-mastercard');
  assert.deepEqual((await decryptPaymentToken(f.json, { keys: keysOf(f), merchantIdentifier: 'merchant.test.spreedly.123merchant' })).payload, f.expected);
  await rejectsWith(decryptPaymentToken(f.json, { keys: keysOf(f), merchantIdentifier: 'merchant.someone.else' }), 'key_mismatch');
});

test('an EC token whose publicKeyHash names an RSA key is key_mismatch', async () => {
  const ec = fixture('basistheory-ec-new');
  const rsa = fixture('basistheory-rsa');
  const token = clone(ec.json);
  paymentDataOf(token).header.publicKeyHash = paymentDataOf(rsa.json).header.publicKeyHash!;
  await rejectsWith(decryptPaymentToken(token, { keys: keysOf(rsa) }), 'key_mismatch');
});

test('merchant configuration errors are MerchantConfigError, not token verdicts', async () => {
  const gala = fixture('gala-mastercard');
  const rsa = fixture('basistheory-rsa');
  const bad: Array<VerifyAndDecryptOptions['keys']> = [
    [],
    [{ certificatePem: 'nope', privateKeyPem: gala.privateKeyPem! }],
    [{ certificatePem: gala.certificatePem!, privateKeyPem: 'nope' }],
    [{ certificatePem: gala.certificatePem!, privateKeyPem: rsa.privateKeyPem! }], // not its key
    [{ certificatePem: APPLE_ROOT, privateKeyPem: gala.privateKeyPem! }], // no merchant id extension (and not its key)
  ];
  for (const keys of bad) await assert.rejects(decryptPaymentToken(gala.json, { keys }), MerchantConfigError);
  await assert.rejects(verifyPaymentToken(gala.json, options(gala, { roots: ['not a certificate'] })), MerchantConfigError);
  await assert.rejects(verifyPaymentToken(gala.json, options(gala, { now: new Date('x') })), MerchantConfigError);
  await assert.rejects(verifyPaymentToken(gala.json, options(gala, { replayWindowSeconds: -1 })), MerchantConfigError);
  await assert.rejects(verifyPaymentToken(gala.json, options(gala, { replayWindowSeconds: Infinity })), MerchantConfigError);
});

// ---- Chain ----

test('chain: no roots, or a root that did not issue the intermediate, is chain', async () => {
  const f = fixture('basistheory-ec-new');
  await rejectsWith(verifyPaymentToken(f.json, options(f, { roots: [] })), 'chain', 'no roots');
  await rejectsWith(verifyPaymentToken(f.json, { now: f.signingTime, seenTransactionIds: new MemoryReplayCache() }), 'chain', 'default roots');
  await rejectsWith(verifyPaymentToken(f.json, options(f, { roots: [f.certificatePem!] })), 'chain', 'wrong root');
  // Several roots, one of them right: fine.
  await verifyPaymentToken(f.json, options(f, { roots: [f.certificatePem!, APPLE_ROOT] }));
  await verifyPaymentToken(f.json, options(f, { roots: [`${f.certificatePem!}\n${APPLE_ROOT}`] }));
});

// ---- Replay ----

test('replay: a transactionId accepted once is rejected the second time, until the window has passed', async () => {
  const f = fixture('basistheory-ec-new');
  const cache = new MemoryReplayCache();
  const opts = options(f, { seenTransactionIds: cache });
  await verifyAndDecrypt(f.json, opts);
  await rejectsWith(verifyAndDecrypt(f.json, opts), 'replay');
  await rejectsWith(verifyPaymentToken(f.json, opts), 'replay');
  await rejectsWith(verifyPaymentToken(f.json, { ...opts, now: new Date(f.signingTime.getTime() + 299_000) }), 'replay');
  // Past the window the signing time check rejects it anyway.
  await rejectsWith(verifyPaymentToken(f.json, { ...opts, now: new Date(f.signingTime.getTime() + 301_000) }), 'signing_time');
  // The same id, upper case (processout carries upper case in transactionIdentifier): still the same id.
  const po = fixture('processout-signature-only');
  const poCache = new MemoryReplayCache();
  await verifyPaymentToken(po.json, options(po, { seenTransactionIds: poCache }));
  const upper = clone(po.json);
  paymentDataOf(upper).header.transactionId = paymentDataOf(upper).header.transactionId!.toUpperCase();
  await rejectsWith(verifyPaymentToken(upper, options(po, { seenTransactionIds: poCache })), 'replay');
});

test('replay: a token that fails (wrong key, tampering) does not use up its transactionId', async () => {
  const oldF = fixture('basistheory-ec-old');
  const cache = new MemoryReplayCache();
  await rejectsWith(verifyAndDecrypt(oldF.json, options(oldF, { seenTransactionIds: cache, keys: keysOf(fixture('basistheory-ec-new')) })), 'key_mismatch');
  await rejectsWith(verifyAndDecrypt(flipBase64(oldF.json, 'data', 3), options(oldF, { seenTransactionIds: cache })), 'signature');
  assert.equal(cache.size, 0);
  await verifyAndDecrypt(oldF.json, options(oldF, { seenTransactionIds: cache }));
  assert.equal(cache.size, 1);
});

test('replay: without a cache given, one process-wide cache is used', async () => {
  const f = fixture('basistheory-rsa');
  const { seenTransactionIds: _none, ...opts } = options(f);
  await verifyAndDecrypt(f.json, opts);
  await rejectsWith(verifyAndDecrypt(f.json, opts), 'replay');
});

test('replay: a pluggable cache sees lower-case ids and expiry = signingTime + window; its errors propagate', async () => {
  const f = fixture('gala-mastercard');
  const calls: Array<[string, string, string]> = [];
  const cache: ReplayCache = {
    recordIfNew: async (id, expiresAt, now) => {
      calls.push([id, expiresAt.toISOString(), now.toISOString()]);
      return true;
    },
  };
  await verifyAndDecrypt(f.json, options(f, { seenTransactionIds: cache }));
  assert.deepEqual(calls, [[paymentDataOf(f.json).header.transactionId!.toLowerCase(), '2021-09-01T19:08:06.000Z', '2021-09-01T19:03:06.000Z']]);
  const down: ReplayCache = { recordIfNew: () => Promise.reject(new Error('database unavailable')) };
  await assert.rejects(verifyAndDecrypt(f.json, options(f, { seenTransactionIds: down })), /database unavailable/);
});

test('MemoryReplayCache: expiry by the given clock, bounded size', () => {
  const cache = new MemoryReplayCache({ maxEntries: 2 });
  const t = (s: number) => new Date(Date.UTC(2024, 0, 1, 0, 0, s));
  assert.equal(cache.recordIfNew('a', t(10), t(0)), true);
  assert.equal(cache.recordIfNew('a', t(10), t(5)), false);
  assert.equal(cache.recordIfNew('a', t(20), t(11)), true); // expired: new again
  assert.equal(cache.recordIfNew('b', t(20), t(11)), true);
  assert.equal(cache.recordIfNew('c', t(20), t(11)), true); // evicts the oldest ('a')
  assert.equal(cache.size, 2);
  assert.equal(cache.recordIfNew('b', t(20), t(12)), false);
  assert.throws(() => new MemoryReplayCache({ maxEntries: 0 }), RangeError);
});

// ---- Malformed and unsupported ----

test('malformed and unsupported tokens', async () => {
  const f = fixture('basistheory-ec-new');
  const pd = paymentDataOf(f.json);
  // [token, reason, whether decryption alone (which ignores the signature) rejects it too]
  const cases: Array<[unknown, PaymentTokenErrorReason, boolean]> = [
    [undefined, 'malformed', true],
    ['not json', 'malformed', true],
    [42, 'malformed', true],
    [{ ...f.json, paymentData: { ...pd, version: 'EC_v2' } }, 'unsupported', true],
    [{ ...f.json, transactionIdentifier: '00' }, 'malformed', true],
    [{ ...f.json, paymentData: { ...pd, signature: 'AAAA' } }, 'malformed', false],
    [{ ...f.json, paymentData: { ...pd, signature: Buffer.from('garbage that is not CMS').toString('base64') } }, 'malformed', false],
    [{ ...f.json, paymentData: { ...pd, signature: Buffer.from(pd.signature as string, 'base64').subarray(0, 900).toString('base64') } }, 'malformed', false],
  ];
  for (const [token, reason, decryptRejects] of cases) {
    const label = JSON.stringify(token)?.slice(0, 60);
    await rejectsWith(verifyPaymentToken(token, options(f)), reason, label);
    if (decryptRejects) await rejectsWith(decryptPaymentToken(token, { keys: keysOf(f) }), reason, label);
    else assert.deepEqual((await decryptPaymentToken(token, { keys: keysOf(f) })).payload, f.expected);
  }
  // The RSA token claiming to be EC_v1: wrong header shape.
  const rsa = fixture('basistheory-rsa');
  await rejectsWith(verifyPaymentToken({ ...rsa.json, paymentData: { ...paymentDataOf(rsa.json), version: 'EC_v1' } }, options(rsa)), 'malformed');
});

test('the signature of one token does not verify another (signature), and a signature over an EC token does not pass as RSA_v1', async () => {
  const a = fixture('basistheory-ec-new');
  const b = fixture('basistheory-ec-old');
  const swapped = clone(a.json);
  paymentDataOf(swapped).signature = paymentDataOf(b.json).signature as string;
  await rejectsWith(verifyPaymentToken(swapped, options(a, { now: b.signingTime })), 'signature');
});

test('error messages never carry token values', async () => {
  const f = fixture('basistheory-ec-new');
  const pd = paymentDataOf(f.json);
  const values = [pd.header.transactionId!, pd.header.publicKeyHash!, (pd.data as string).slice(0, 16), (pd.signature as string).slice(100, 116), '4784000000380075'];
  const errors: Error[] = [];
  for (const token of [f.json, flipBase64(f.json, 'data', 1), flipTransactionId(f.json), { ...f.json, paymentData: { ...pd, version: 'X' } }]) {
    for (const run of [() => verifyAndDecrypt(token, options(f)), () => verifyAndDecrypt(token, options(f, { now: new Date() })), () => decryptPaymentToken(token, { keys: keysOf(fixture('gala-mastercard')) })]) {
      try {
        await run();
      } catch (err) {
        errors.push(err as Error);
      }
    }
  }
  assert.ok(errors.length >= 8);
  for (const err of errors) for (const v of values) assert.ok(!err.message.includes(v), `${err.message} carries a value`);
});

// ---- checkPayment ----

test('checkPayment compares amount, currency (numeric or alphabetic) and applicationData hash', async () => {
  const f = fixture('basistheory-ec-new');
  const result = await decryptPaymentToken(f.json, { keys: keysOf(f) });
  assert.deepEqual(checkPayment(result, { amount: 100, currencyCode: 'USD' }), { ok: true, mismatches: [] });
  assert.deepEqual(checkPayment(result.payload, { amount: 100, currencyCode: '840' }), { ok: true, mismatches: [] });
  assert.deepEqual(checkPayment(result, { amount: 101, currencyCode: 'EUR' }), { ok: false, mismatches: ['amount', 'currency'] });
  assert.deepEqual(checkPayment(result, { amount: 100, currencyCode: 'USD', applicationDataHash: 'ab'.repeat(32) }), { ok: false, mismatches: ['application_data'] });
  const withApp = structuredClone(result);
  withApp.token.paymentData.header.applicationData = 'AB'.repeat(32);
  assert.deepEqual(checkPayment(withApp, { amount: 100, currencyCode: 'usd', applicationDataHash: 'ab'.repeat(32) }), { ok: true, mismatches: [] });
  assert.deepEqual(checkPayment(result, { amount: 100, currencyCode: 'XXX' }).mismatches, ['currency']);
});
