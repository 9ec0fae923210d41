import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createCipheriv, createDecipheriv, createHash, createPrivateKey, diffieHellman, createPublicKey, randomBytes, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ProtocolError } from '../errors.js';
import { toHex } from '../bytes.js';
import {
  certificateExtensions,
  decryptData,
  decryptPaymentData,
  deriveEcV1Key,
  derToPem,
  ecdhSharedSecret,
  ecV1KdfOtherInfo,
  encodePaymentPayload,
  encryptData,
  fromBase64,
  merchantIdentifierHash,
  merchantIdHashExtensionValue,
  merchantIdHashFromCertificate,
  OID,
  parsePaymentPayload,
  parsePaymentToken,
  pemToDer,
  publicKeyHash,
  signedContent,
  subjectPublicKeyInfoFromCertificate,
  toBase64,
  unwrapRsaV1Key,
  wrapRsaV1Key,
  type PaymentData,
} from './index.js';

// Real Apple Pay tokens (origins and licences in test/fixtures/apple-pay/README.md).
const DIR = fileURLToPath(new URL('../../../test/fixtures/apple-pay/', import.meta.url));
const read = (path: string): string => readFileSync(`${DIR}${path}`, 'utf8');
const tokenJson = (name: string): Record<string, unknown> => JSON.parse(read(`${name}/token.json`)) as Record<string, unknown>;
const paymentData = (name: string): PaymentData => {
  const j = tokenJson(name);
  return (j.paymentData ?? j) as PaymentData;
};
const certDer = (name: string): Uint8Array => pemToDer(read(`${name}/merchant-cert.pem`));
const b64 = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'base64'));

const GALA_Z = 'yCUzDuNYTnUnANZEdxC7+DvPmqNslB2YWYn68SBsJHU=';
const GALA_KEY = '3GTXJ4RuP/IhS23hsdOw2J2ecAZmC0RasbPIFdC3nQM=';
const GALA_HASH = '358DA5890B9555C0A9EFB84B5CD6FF04BFDCD5AABF5DC14B9872D8DF51EAF439';
const BASIS_HASH = '774D916D4C83F5F32B528D0D23576B18D6795BE8250BAD7E5998B5F1414740A1';

function rejects(fn: () => unknown, code: string): void {
  assert.throws(fn, (err: unknown) => err instanceof ProtocolError && err.code === code);
}
async function rejectsAsync(p: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(p, (err: unknown) => err instanceof ProtocolError && err.code === code);
}

async function webCryptoPrivateKey(name: string, version: 'EC_v1' | 'RSA_v1'): Promise<CryptoKey> {
  const pkcs8 = createPrivateKey(read(`${name}/merchant-key.pem`)).export({ type: 'pkcs8', format: 'der' });
  return version === 'EC_v1'
    ? crypto.subtle.importKey('pkcs8', new Uint8Array(pkcs8), { name: 'ECDH', namedCurve: 'P-256' }, false, ['deriveBits'])
    : crypto.subtle.importKey('pkcs8', new Uint8Array(pkcs8), { name: 'RSA-OAEP', hash: 'SHA-256' }, false, ['decrypt']);
}

// ---- KDF ----

test('KDF: the gala-mastercard fixture\'s published Z and merchant id hash give its published symmetric key', async () => {
  const key = await deriveEcV1Key(b64(GALA_Z), Buffer.from(GALA_HASH, 'hex'));
  assert.equal(toBase64(key), GALA_KEY);
});

test('KDF: the input after Z is 0x0D "id-aes256-GCM" "Apple" hash (51 bytes), hashed with counter 00000001', async () => {
  const hash = Buffer.from(GALA_HASH, 'hex');
  const info = ecV1KdfOtherInfo(hash);
  assert.equal(info.length, 51);
  assert.equal(Buffer.from(info).toString('hex'), '0d' + Buffer.from('id-aes256-GCMApple').toString('hex') + GALA_HASH.toLowerCase());
  // Independently with node:crypto, for random Z.
  for (let i = 0; i < 20; i++) {
    const z = randomBytes(32);
    const expected = createHash('sha256').update(Buffer.from('00000001', 'hex')).update(z).update(Buffer.from([0x0d])).update('id-aes256-GCM').update('Apple').update(hash).digest();
    assert.deepEqual(Buffer.from(await deriveEcV1Key(z, hash)), expected);
  }
  await rejectsAsync(deriveEcV1Key(new Uint8Array(31), hash), 'paytoken_bad_key');
  await rejectsAsync(deriveEcV1Key(new Uint8Array(32), new Uint8Array(20)), 'paytoken_bad_key');
});

test('ECDH with the gala merchant key and the token\'s ephemeral key gives the published Z (WebCrypto and OpenSSL agree)', async () => {
  const pd = paymentData('gala-mastercard');
  assert.equal(pd.version, 'EC_v1');
  const ephemeral = b64(pd.version === 'EC_v1' ? pd.header.ephemeralPublicKey : '');
  const z = await ecdhSharedSecret(await webCryptoPrivateKey('gala-mastercard', 'EC_v1'), ephemeral);
  assert.equal(toBase64(z), GALA_Z);
  const openssl = diffieHellman({
    privateKey: createPrivateKey(read('gala-mastercard/merchant-key.pem')),
    publicKey: createPublicKey({ key: Buffer.from(ephemeral), format: 'der', type: 'spki' }),
  });
  assert.equal(openssl.toString('base64'), GALA_Z);
  await rejectsAsync(ecdhSharedSecret(await webCryptoPrivateKey('gala-mastercard', 'EC_v1'), ephemeral.subarray(1)), 'paytoken_bad_key');
});

// ---- AES-GCM ----

test('decryptData: the gala data with the published key is the expected payload; OpenSSL agrees', async () => {
  const pd = paymentData('gala-mastercard');
  const plain = await decryptData(b64(GALA_KEY), b64(pd.data));
  const payload = parsePaymentPayload(plain);
  assert.equal(payload.applicationPrimaryAccountNumber, '5353756319181169');
  const data = Buffer.from(pd.data, 'base64');
  const d = createDecipheriv('aes-256-gcm', Buffer.from(GALA_KEY, 'base64'), Buffer.alloc(16));
  d.setAuthTag(data.subarray(-16));
  assert.deepEqual(Buffer.concat([d.update(data.subarray(0, -16)), d.final()]), Buffer.from(plain));
});

test('encryptData / decryptData: AES-128 and AES-256 GCM, IV 16 zero bytes, tag appended; equal to OpenSSL', async () => {
  for (const size of [16, 32]) {
    const key = randomBytes(size);
    const plain = randomBytes(123);
    const sealed = await encryptData(key, plain);
    const c = createCipheriv(size === 16 ? 'aes-128-gcm' : 'aes-256-gcm', key, Buffer.alloc(16));
    const expected = Buffer.concat([c.update(plain), c.final(), c.getAuthTag()]);
    assert.deepEqual(Buffer.from(sealed), expected);
    assert.deepEqual(Buffer.from(await decryptData(key, sealed)), plain);
    const tampered = Uint8Array.from(sealed);
    tampered[7]! ^= 1;
    await rejectsAsync(decryptData(key, tampered), 'paytoken_decrypt_failed');
    await rejectsAsync(decryptData(randomBytes(size), sealed), 'paytoken_decrypt_failed');
    await rejectsAsync(decryptData(key, sealed.subarray(0, 10)), 'paytoken_decrypt_failed');
  }
  await rejectsAsync(decryptData(new Uint8Array(24), new Uint8Array(32)), 'paytoken_bad_key');
  await rejectsAsync(encryptData(new Uint8Array(8), new Uint8Array(1)), 'paytoken_bad_key');
});

test('RSA_v1: wrapRsaV1Key / unwrapRsaV1Key (OAEP SHA-256) round trip; the basistheory-rsa token decrypts', async () => {
  const pair = (await crypto.subtle.generateKey({ name: 'RSA-OAEP', modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' }, false, ['encrypt', 'decrypt'])) as CryptoKeyPair;
  const key = randomBytes(16);
  assert.deepEqual(Buffer.from(await unwrapRsaV1Key(pair.privateKey, await wrapRsaV1Key(pair.publicKey, key))), key);
  await rejectsAsync(unwrapRsaV1Key(pair.privateKey, new Uint8Array(256)), 'paytoken_decrypt_failed');
  await rejectsAsync(wrapRsaV1Key(pair.publicKey, new Uint8Array(32)), 'paytoken_bad_key');

  const token = parsePaymentToken(tokenJson('basistheory-rsa'));
  const privateKey = await webCryptoPrivateKey('basistheory-rsa', 'RSA_v1');
  assert.equal((await unwrapRsaV1Key(privateKey, token.bytes.keyMaterial)).length, 16);
  const payload = parsePaymentPayload(await decryptPaymentData(token, { privateKey, merchantIdHash: merchantIdHashFromCertificate(certDer('basistheory-rsa')) }));
  assert.equal(payload.paymentDataType, '3DSecure');
  assert.equal(payload.paymentDataType === '3DSecure' && payload.paymentData.onlinePaymentCryptogram, '/w87QS0AExt/z6EPXrU2MAACAAA=');
});

test('decryptPaymentData (pure, WebCrypto): every decryptable fixture gives its payload', async () => {
  const expectedExpiry: Record<string, string> = { 'gala-mastercard': '240930', 'basistheory-ec-new': '290228', 'basistheory-ec-old': '231231', 'basistheory-rsa': '290228' };
  for (const [name, expiry] of Object.entries(expectedExpiry)) {
    const token = parsePaymentToken(tokenJson(name));
    const privateKey = await webCryptoPrivateKey(name, token.version);
    const payload = parsePaymentPayload(await decryptPaymentData(token, { privateKey, merchantIdHash: merchantIdHashFromCertificate(certDer(name)) }));
    assert.equal(payload.applicationExpirationDate, expiry, name);
  }
});

// ---- Certificates ----

test('merchantIdHashFromCertificate reads extension 1.2.840.113635.100.6.32 of each fixture certificate', () => {
  assert.equal(toHex(merchantIdHashFromCertificate(certDer('gala-mastercard'))), GALA_HASH);
  for (const name of ['basistheory-ec-new', 'basistheory-ec-old', 'basistheory-rsa']) assert.equal(toHex(merchantIdHashFromCertificate(certDer(name))), BASIS_HASH);
});

test('merchantIdHashExtensionValue(SHA-256(id)) is byte for byte the extension Apple wrote (0C 40 + 64 upper-case hex)', async () => {
  const hash = await merchantIdentifierHash('merchant.test.spreedly.123merchant');
  assert.equal(toHex(hash), GALA_HASH);
  assert.equal(toHex(await merchantIdentifierHash('merchant.basistheory.sales')), BASIS_HASH);
  const ext = certificateExtensions(certDer('gala-mastercard')).find((e) => e.oid === OID.merchantIdentifierHash)!;
  assert.deepEqual(merchantIdHashExtensionValue(hash), ext.value);
  assert.deepEqual([...ext.value.subarray(0, 2)], [0x0c, 0x40]);
});

// A tiny DER builder for synthetic certificates (the reader checks structure, not signatures).
function der(tag: number, ...content: Uint8Array[]): Uint8Array {
  const body = Buffer.concat(content);
  const n = body.length;
  const len = n < 0x80 ? [n] : n < 0x100 ? [0x81, n] : [0x82, n >> 8, n & 0xff];
  return new Uint8Array(Buffer.concat([Buffer.from([tag, ...len]), body]));
}
function oid(dotted: string): Uint8Array {
  const [a, b, ...rest] = dotted.split('.').map(Number);
  const out = [a! * 40 + b!];
  for (const arc of rest) {
    const parts = [arc & 0x7f];
    for (let v = Math.floor(arc / 128); v > 0; v = Math.floor(v / 128)) parts.unshift((v & 0x7f) | 0x80);
    out.push(...parts);
  }
  return der(0x06, Uint8Array.from(out));
}
function syntheticCertificate(extensions: Array<[string, Uint8Array]>): Uint8Array {
  const alg = der(0x30, oid('1.2.840.10045.4.3.2'));
  const name = der(0x30, der(0x31, der(0x30, oid('2.5.4.3'), der(0x0c, Buffer.from('x')))));
  const spki = der(0x30, der(0x30, oid('1.2.840.10045.2.1'), oid('1.2.840.10045.3.1.7')), der(0x03, Uint8Array.of(0, 4, ...new Uint8Array(64))));
  const time = der(0x17, Buffer.from('250101000000Z'));
  const exts = extensions.map(([id, value]) => der(0x30, oid(id), der(0x04, value)));
  const tbs = der(0x30, der(0xa0, der(0x02, Uint8Array.of(2))), der(0x02, Uint8Array.of(1)), alg, name, der(0x30, time, time), name, spki, ...(exts.length ? [der(0xa3, der(0x30, ...exts))] : []));
  return der(0x30, tbs, alg, der(0x03, Uint8Array.of(0, 1, 2)));
}

test('merchantIdHashFromCertificate also accepts the "drop the first two bytes" view; rejects anything else', () => {
  const hex = Buffer.from(GALA_HASH);
  const ok: Uint8Array[] = [
    Uint8Array.of(0x0c, 0x40, ...hex),
    Uint8Array.of(0x13, 0x40, ...hex), // PrintableString
    Uint8Array.of(0x16, 0x40, ...hex), // IA5String
    Uint8Array.from(hex), // the 64 characters bare
    Uint8Array.of(0x0c, 0x40, ...Buffer.from(GALA_HASH.toLowerCase())),
  ];
  for (const value of ok) assert.equal(toHex(merchantIdHashFromCertificate(syntheticCertificate([['2.5.29.19', Uint8Array.of(0x30, 0)], [OID.merchantIdentifierHash, value]]))), GALA_HASH);
  const bad: Uint8Array[] = [
    Uint8Array.of(0x0c, 0x20, ...Buffer.from(GALA_HASH, 'hex')), // raw bytes, not hex text
    Uint8Array.of(0x0c, 0x40, ...Buffer.from('Z'.repeat(64))),
    Uint8Array.of(0x05, 0x00),
    Uint8Array.of(0x0c, 0x3e, ...hex.subarray(0, 62)),
  ];
  for (const value of bad) rejects(() => merchantIdHashFromCertificate(syntheticCertificate([[OID.merchantIdentifierHash, value]])), 'paytoken_no_merchant_id');
  rejects(() => merchantIdHashFromCertificate(syntheticCertificate([])), 'paytoken_no_merchant_id');
  rejects(() => merchantIdHashFromCertificate(syntheticCertificate([['2.5.29.19', Uint8Array.of(0x30, 0)]])), 'paytoken_no_merchant_id');
  rejects(() => merchantIdHashFromCertificate(Uint8Array.of(0x30, 0x03, 0x02, 0x01)), 'paytoken_certificate_malformed');
  rejects(() => merchantIdHashFromCertificate(certDer('gala-mastercard').subarray(0, 500)), 'paytoken_certificate_malformed');
});

test('publicKeyHash(SPKI of the processing certificate) equals header.publicKeyHash of each fixture token', async () => {
  for (const name of ['gala-mastercard', 'basistheory-ec-new', 'basistheory-ec-old', 'basistheory-rsa']) {
    const spki = subjectPublicKeyInfoFromCertificate(certDer(name));
    const openssl = new X509Certificate(read(`${name}/merchant-cert.pem`)).publicKey; // the certificate's key, via OpenSSL
    assert.deepEqual(Buffer.from(spki), openssl.export({ type: 'spki', format: 'der' }), name);
    assert.equal(await publicKeyHash(spki), paymentData(name).header.publicKeyHash, name);
  }
  // The old and new basistheory certificates (rotation) have different hashes.
  assert.notEqual(paymentData('basistheory-ec-old').header.publicKeyHash, paymentData('basistheory-ec-new').header.publicKeyHash);
});

test('certificateExtensions lists OIDs and criticality of a real certificate', () => {
  const exts = certificateExtensions(certDer('gala-mastercard'));
  assert.ok(exts.some((e) => e.oid === '2.5.29.15' && e.critical)); // keyUsage, critical
  assert.ok(exts.some((e) => e.oid === OID.merchantIdentifierHash && !e.critical));
});

// ---- Signed content ----

test('signedContent = ephemeralPublicKey ‖ data ‖ transactionId (‖ applicationData), per fixture', () => {
  for (const name of ['gala-mastercard', 'basistheory-ec-new', 'basistheory-rsa', 'processout-signature-only']) {
    const pd = paymentData(name);
    const key = pd.version === 'EC_v1' ? pd.header.ephemeralPublicKey : pd.header.wrappedKey;
    const expected = Buffer.concat([Buffer.from(key, 'base64'), Buffer.from(pd.data, 'base64'), Buffer.from(pd.header.transactionId, 'hex')]);
    assert.deepEqual(Buffer.from(signedContent(pd)), expected, name);
    assert.deepEqual(Buffer.from(signedContent(parsePaymentToken(pd).paymentData)), expected, name);
  }
  const pd = paymentData('gala-mastercard');
  const appData = 'aa'.repeat(32);
  const withApp = { ...pd, header: { ...pd.header, applicationData: appData } } as PaymentData;
  assert.deepEqual(Buffer.from(signedContent(withApp)).subarray(-32), Buffer.from(appData, 'hex'));
  // No signature needed: the producer computes it before signing.
  const { signature: _signature, ...unsigned } = pd;
  assert.equal(signedContent(unsigned).length, signedContent(pd).length);
  rejects(() => signedContent({ ...pd, data: 'not base64!' } as PaymentData), 'paytoken_malformed');
  rejects(() => signedContent({ ...pd, header: { ...pd.header, transactionId: 'xyz' } } as PaymentData), 'paytoken_malformed');
});

// ---- Parsing ----

test('parsePaymentToken: full PKPaymentToken, bare paymentData, JSON text, paymentData as JSON text', () => {
  const full = tokenJson('basistheory-ec-new');
  const a = parsePaymentToken(full);
  assert.equal(a.version, 'EC_v1');
  assert.deepEqual(a.paymentMethod, { displayName: 'Visa 6020', network: 'Visa', type: 'credit' });
  assert.equal(a.transactionIdentifier, '16bcfbb4e19a14644183df5220b8e0b257c118142f6b3f3ecf0b4a01a9210707');
  assert.equal(a.transactionId, a.transactionIdentifier);
  assert.equal(a.bytes.publicKeyHash.length, 32);
  assert.deepEqual(parsePaymentToken(JSON.stringify(full)), a);
  assert.deepEqual(parsePaymentToken({ ...full, paymentData: JSON.stringify(full.paymentData) }).paymentData, a.paymentData);
  const bare = parsePaymentToken(tokenJson('gala-mastercard'));
  assert.equal(bare.paymentMethod, undefined);
  assert.equal(bare.transactionIdentifier, undefined);
  // processout: transactionIdentifier upper case, header lower case: the same id.
  const po = parsePaymentToken(tokenJson('processout-signature-only'));
  assert.equal(po.transactionId, 'd60e5b29daaf960c9837d15f1e968e1bb3ad124fe7fa4f85482d7d53789c273f');
  const rsa = parsePaymentToken(tokenJson('basistheory-rsa'));
  assert.equal(rsa.version, 'RSA_v1');
  assert.ok('wrappedKey' in rsa.paymentData.header);
});

test('parsePaymentToken rejects malformed tokens with paytoken_malformed / paytoken_unsupported, never echoing values', () => {
  const full = tokenJson('basistheory-ec-new');
  const pd = full.paymentData as Record<string, unknown> & { header: Record<string, unknown> };
  const SECRET = 'SECRETVALUE1234567890';
  const cases: Array<[unknown, string]> = [
    [null, 'paytoken_malformed'],
    [[], 'paytoken_malformed'],
    [`{${SECRET}`, 'paytoken_malformed'],
    [{ ...pd, version: `EC_v2${SECRET}` }, 'paytoken_unsupported'],
    [{ ...pd, version: 1 }, 'paytoken_malformed'],
    [{ ...pd, data: `${SECRET}!` }, 'paytoken_malformed'],
    [{ ...pd, data: 'AAAA' }, 'paytoken_malformed'], // shorter than a GCM tag
    [{ ...pd, signature: '' }, 'paytoken_malformed'],
    [{ ...pd, signature: undefined }, 'paytoken_malformed'],
    [{ ...pd, header: 'x' }, 'paytoken_malformed'],
    [{ ...pd, header: { ...pd.header, publicKeyHash: 'AAAA' } }, 'paytoken_malformed'],
    [{ ...pd, header: { ...pd.header, transactionId: SECRET } }, 'paytoken_malformed'],
    [{ ...pd, header: { ...pd.header, transactionId: '' } }, 'paytoken_malformed'],
    [{ ...pd, header: { ...pd.header, applicationData: SECRET } }, 'paytoken_malformed'],
    [{ ...pd, header: { ...pd.header, ephemeralPublicKey: undefined } }, 'paytoken_malformed'],
    [{ ...pd, header: { ...pd.header, wrappedKey: 'AAAA' } }, 'paytoken_malformed'],
    [{ ...full, transactionIdentifier: 'ab'.repeat(32) }, 'paytoken_malformed'],
    [{ ...full, transactionIdentifier: 5 }, 'paytoken_malformed'],
    [{ ...full, paymentMethod: 'x' }, 'paytoken_malformed'],
    [{ ...full, paymentMethod: { network: 5 } }, 'paytoken_malformed'],
    [{ ...full, paymentData: `${SECRET}` }, 'paytoken_malformed'],
    [{ ...full, paymentData: 7 }, 'paytoken_malformed'],
    ['x'.repeat(300 * 1024), 'paytoken_malformed'],
  ];
  for (const [input, code] of cases) {
    assert.throws(
      () => parsePaymentToken(input),
      (err: unknown) => err instanceof ProtocolError && err.code === code && !err.message.includes(SECRET) && !err.message.includes('\n'),
      JSON.stringify(input)?.slice(0, 80),
    );
  }
});

test('parsePaymentPayload checks the fields merchants rely on; encodePaymentPayload orders keys as real tokens', () => {
  const good = {
    paymentData: { onlinePaymentCryptogram: 'AMwBRjPWDnAgAA7Rls7mAoABFA==', eciIndicator: '7' },
    paymentDataType: '3DSecure',
    deviceManufacturerIdentifier: '040010030273',
    transactionAmount: 100,
    currencyCode: '840',
    applicationExpirationDate: '290228',
    applicationPrimaryAccountNumber: '4784000000380075',
    extra: true,
  };
  const parsed = parsePaymentPayload(JSON.stringify(good));
  assert.deepEqual(parsed, good);
  assert.deepEqual(Object.keys(JSON.parse(Buffer.from(encodePaymentPayload(parsed)).toString())), [
    'applicationPrimaryAccountNumber', 'applicationExpirationDate', 'currencyCode', 'transactionAmount',
    'deviceManufacturerIdentifier', 'paymentDataType', 'paymentData', 'extra',
  ]);
  const emv = { ...good, paymentDataType: 'EMV', paymentData: { emvData: 'AAAA', encryptedPINData: 'ABCD' } };
  assert.equal(parsePaymentPayload(JSON.stringify(emv)).paymentDataType, 'EMV');
  const bad: unknown[] = [
    { ...good, transactionAmount: '100' },
    { ...good, transactionAmount: 1.5 },
    { ...good, currencyCode: 'USD' },
    { ...good, applicationExpirationDate: '2902' },
    { ...good, applicationPrimaryAccountNumber: 4784000000380075 },
    { ...good, paymentDataType: 'Other' },
    { ...good, paymentData: { eciIndicator: '7' } },
    { ...good, paymentData: 'x' },
    { ...good, cardholderName: 5 },
    { ...emv, paymentData: {} },
    [],
  ];
  for (const p of bad) rejects(() => parsePaymentPayload(JSON.stringify(p)), 'paytoken_payload_malformed');
  rejects(() => parsePaymentPayload(Uint8Array.of(0xff, 0xfe)), 'paytoken_payload_malformed');
  rejects(() => parsePaymentPayload('{'), 'paytoken_payload_malformed');
});

// ---- Encoding ----

test('base64: agrees with Buffer; padding optional; non-canonical input rejected; PEM round trip', () => {
  for (let n = 0; n < 70; n++) {
    const bytes = randomBytes(n);
    const text = bytes.toString('base64');
    assert.equal(toBase64(bytes), text);
    assert.deepEqual(Buffer.from(fromBase64(text)), bytes);
    assert.deepEqual(Buffer.from(fromBase64(text.replace(/=+$/, ''))), bytes);
  }
  for (const bad of ['A', 'AB=C', 'A===', '====', 'AB C', 'AB-_', 'QR==', 'QUI=x', 'é']) rejects(() => fromBase64(bad), 'paytoken_malformed');
  const cert = certDer('gala-mastercard');
  assert.deepEqual(pemToDer(derToPem(cert)), cert);
  rejects(() => pemToDer('no pem here'), 'pem_malformed');
});
