import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash, X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { createTestEnv, type TestEnv } from '../../../test/helpers/env.js';
import { migrate } from '../../infra/db/index.js';
import { AppError } from '../../infra/errors.js';
import { KeyEncryptionKeys } from '../../infra/keys/kek.js';
import { x509 } from '../../infra/x509.js';
import { MemoryReplayCache, PaymentTokenError, verifyAndDecrypt, verifyPaymentToken } from '../../merchant/sdk/index.js';
import { fromBase64, pemToDer, signedContent, subjectPublicKeyInfoFromCertificate, type PaymentData } from '../../protocol/paytoken/index.js';
import { Secret } from '../../protocol/secret.js';
import { buildPayload, createPaymentPki, type IssuedCertificate, type PaymentPayloadFields, type PaymentPki } from './index.js';

const OPENSSL = '/usr/bin/openssl';
/** Real Apple Pay tokens (origins and licences in test/fixtures/apple-pay/README.md). */
const FIXTURES = fileURLToPath(new URL('../../../test/fixtures/apple-pay/', import.meta.url));
const MIGRATIONS = [
  { module: 'infra', dir: new URL('../../infra/migrations/', import.meta.url) },
  { module: 'platform', dir: new URL('../migrations/', import.meta.url) },
];

/**
 * Basis Theory's Apple Pay decrypter (npm @basis-theory/apple-pay-js), written for real Apple tokens:
 * the independent check. It only decrypts (no signature or chain check), so it needs no root at all.
 */
interface BasisTheory {
  ApplePaymentTokenContext: new (options: { merchants: Array<{ identifier?: string; certificatePem: Buffer; privateKeyPem: Buffer }> }) => {
    decrypt(paymentData: unknown): Record<string, unknown>;
  };
}
const basisTheory = createRequire(import.meta.url)('@basis-theory/apple-pay-js') as BasisTheory;

let env: TestEnv;
let pki: PaymentPki;
const kek = KeyEncryptionKeys.random();
let work: string;
let rootPem: string;
let ec: IssuedCertificate;
let rsa: IssuedCertificate;
const merchantIdentifier = 'merchant.com.tessera.shop';

const FIELDS: PaymentPayloadFields = {
  applicationPrimaryAccountNumber: new Secret('4817499999990075'),
  applicationExpirationDate: '291231',
  currencyCode: '840',
  transactionAmount: 1999,
  cardholderName: 'Ada Lovelace',
  deviceManufacturerIdentifier: '040010030273',
  paymentDataType: '3DSecure',
  paymentData: { onlinePaymentCryptogram: Buffer.alloc(20, 0xa7).toString('base64'), eciIndicator: '7' },
};
const EXPECTED = { ...FIELDS, applicationPrimaryAccountNumber: '4817499999990075' };

before(async () => {
  env = await createTestEnv();
  await migrate(env.db, MIGRATIONS);
  pki = createPaymentPki({ db: env.db, kek });
  await pki.init();
  rootPem = await pki.rootPem();
  ec = await pki.issueProcessingCertificate({ merchantIdentifier, generate: 'ec' });
  rsa = await pki.issueProcessingCertificate({ merchantIdentifier, generate: 'rsa' });
  work = mkdtempSync(join(tmpdir(), 'tessera-token-'));
});
after(async () => {
  await env.close();
  rmSync(work, { recursive: true, force: true });
});

const keysOf = (issued: IssuedCertificate) => [{ certificatePem: issued.certificatePem, privateKeyPem: issued.privateKeyPem!.reveal() }];

function sdk(token: unknown, issued: IssuedCertificate, options: { now?: Date; roots?: string[] } = {}) {
  return verifyAndDecrypt(token, { roots: options.roots ?? [rootPem], keys: keysOf(issued), merchantIdentifier, seenTransactionIds: new MemoryReplayCache(), ...(options.now ? { now: options.now } : {}) });
}

/** `openssl cms -verify` of the detached signature over signedContent, with our root as the only trust anchor. */
function opensslVerify(token: PaymentData, content = signedContent(token), trusted = rootPem): { status: number | null; out: string } {
  const sig = join(work, 'signature.der');
  const data = join(work, 'content.bin');
  const root = join(work, 'root.pem');
  writeFileSync(sig, fromBase64(token.signature));
  writeFileSync(data, content);
  writeFileSync(root, trusted);
  const r = spawnSync(OPENSSL, ['cms', '-verify', '-inform', 'DER', '-in', sig, '-binary', '-content', data, '-CAfile', root, '-out', '/dev/null'], { encoding: 'utf8' });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

function cmsOf(token: PaymentData): pkijs.SignedData {
  const info = pkijs.ContentInfo.fromBER(fromBase64(token.signature));
  return new pkijs.SignedData({ schema: info.content });
}

const certDer = (c: pkijs.CertificateSetItem) => new Uint8Array((c as pkijs.Certificate).toSchema().toBER());

describe(`payment tokens (${process.env.DATABASE_URL ? 'PostgreSQL' : 'PGlite'})`, () => {
  it('EC_v1: the merchant SDK verifies (our root as trust anchor) and decrypts it to the original payload', async () => {
    const applicationData = new TextEncoder().encode('order-42');
    const token = await pki.produceToken({ payload: buildPayload(FIELDS), merchantCertificatePem: ec.certificatePem, applicationData });
    assert.deepEqual(Object.keys(token), ['version', 'data', 'signature', 'header']);
    assert.equal(token.version, 'EC_v1');
    assert.deepEqual(Object.keys(token.header), ['ephemeralPublicKey', 'publicKeyHash', 'transactionId', 'applicationData']);
    const header = token.header as { ephemeralPublicKey: string; publicKeyHash: string; transactionId: string; applicationData: string };
    const ephemeral = fromBase64(header.ephemeralPublicKey);
    assert.equal(ephemeral.length, 91); // P-256 SPKI with an uncompressed point
    assert.equal(ephemeral[26], 0x04);
    assert.equal(header.publicKeyHash, ec.certificate.publicKeyHash);
    assert.equal(header.publicKeyHash, createHash('sha256').update(subjectPublicKeyInfoFromCertificate(pemToDer(ec.certificatePem))).digest('base64'));
    assert.match(header.transactionId, /^[0-9a-f]{64}$/);
    assert.equal(header.applicationData, createHash('sha256').update(applicationData).digest('hex'));

    // Trust is anchored in our root: with only Apple's root configured the SDK refuses the chain.
    const appleRoot = readFileSync(join(FIXTURES, 'apple-root', 'AppleRootCA-G3.pem'), 'utf8');
    await assert.rejects(sdk(token, ec, { roots: [appleRoot] }), (e: unknown) => e instanceof PaymentTokenError && e.reason === 'chain');
    const out = await sdk(token, ec);
    assert.deepEqual(out.payload, EXPECTED);
    assert.deepEqual(Object.keys(out.payload), ['applicationPrimaryAccountNumber', 'applicationExpirationDate', 'currencyCode', 'transactionAmount', 'cardholderName', 'deviceManufacturerIdentifier', 'paymentDataType', 'paymentData']);
    assert.deepEqual(Object.keys(out.payload.paymentData), ['onlinePaymentCryptogram', 'eciIndicator']);
    assert.equal(out.transactionId, header.transactionId);
    // The SDK's own replay cache: the same token twice is refused.
    const seen = new MemoryReplayCache();
    await verifyPaymentToken(token, { roots: [rootPem], seenTransactionIds: seen });
    await assert.rejects(verifyPaymentToken(token, { roots: [rootPem], seenTransactionIds: seen }), (e: unknown) => e instanceof PaymentTokenError && e.reason === 'replay');
  });

  it('RSA_v1: RSA-OAEP-wrapped AES-128 key; signed like real RSA_v1 tokens, by an RSA leaf with sha256WithRSAEncryption; the SDK verifies and decrypts it', async () => {
    const token = await pki.produceToken({ payload: buildPayload(FIELDS), merchantCertificatePem: rsa.certificatePem });
    assert.equal(token.version, 'RSA_v1');
    assert.deepEqual(Object.keys(token.header), ['wrappedKey', 'publicKeyHash', 'transactionId']);
    assert.equal(fromBase64((token.header as { wrappedKey: string }).wrappedKey).length, 256);
    assert.equal(token.header.publicKeyHash, rsa.certificate.publicKeyHash);
    const out = await sdk(token, rsa);
    assert.deepEqual(out.payload, EXPECTED);

    const cms = cmsOf(token);
    const signer = cms.signerInfos[0]!;
    assert.equal(signer.signatureAlgorithm.algorithmId, '1.2.840.113549.1.1.11');
    const leaf = new X509Certificate(certDer(cms.certificates![0]!));
    assert.equal(leaf.publicKey.asymmetricKeyType, 'rsa');
    assert.match(leaf.subject, /CN=Tessera Payment Token Signing RSA/);
    // An EC_v1 token's signer is the EC leaf.
    const ecToken = await pki.produceToken({ payload: buildPayload(FIELDS), merchantCertificatePem: ec.certificatePem });
    assert.equal(cmsOf(ecToken).signerInfos[0]!.signatureAlgorithm.algorithmId, '1.2.840.10045.4.3.2');
  });

  it('OpenSSL verifies the detached CMS signature against our root, and fails when one byte of the content changes', async () => {
    for (const issued of [ec, rsa]) {
      const token = await pki.produceToken({ payload: buildPayload(FIELDS), merchantCertificatePem: issued.certificatePem, applicationData: new Uint8Array([1, 2, 3]) });
      const ok = opensslVerify(token);
      assert.equal(ok.status, 0, ok.out);
      assert.match(ok.out, /Verification successful/);
      const content = signedContent(token);
      for (const at of [0, content.length - 1, Math.floor(content.length / 2)]) {
        const flipped = new Uint8Array(content);
        flipped[at]! ^= 0x01;
        const bad = opensslVerify(token, flipped);
        assert.notEqual(bad.status, 0);
        assert.match(bad.out, /digest failure|Verification failure/);
      }
      // Apple's root is not ours: the chain does not verify.
      const untrusted = opensslVerify(token, content, readFileSync(join(FIXTURES, 'apple-root', 'AppleRootCA-G3.pem'), 'utf8'));
      assert.notEqual(untrusted.status, 0);
      assert.match(untrusted.out, /unable to get local issuer certificate|certificate verify error/);
    }
  });

  it("the signature has Apple's shape: BER indefinite lengths, leaf + intermediate (no root), the four signed attributes", async () => {
    const now = new Date(Math.floor(Date.now() / 1000) * 1000 + 60_890); // a minute ahead, with milliseconds UTCTime drops
    const token = await pki.produceToken({ payload: buildPayload(FIELDS), merchantCertificatePem: ec.certificatePem, now });
    const der = fromBase64(token.signature);
    assert.deepEqual([...der.subarray(0, 2)], [0x30, 0x80]); // ContentInfo, indefinite length
    assert.deepEqual([...der.subarray(der.length - 6)], [0, 0, 0, 0, 0, 0]);
    const cms = cmsOf(token);
    assert.equal(cms.encapContentInfo.eContentType, '1.2.840.113549.1.7.1');
    assert.equal(cms.encapContentInfo.eContent, undefined); // detached
    const certs = cms.certificates!.map(certDer);
    assert.equal(certs.length, 2);
    assert.deepEqual(certs[1], pemToDer(await pki.intermediatePem()));
    const activeLeaf = (await pki.signingLeaves('ec')).find((l) => l.active)!;
    assert.deepEqual(certs[0], pemToDer(activeLeaf.certificatePem));
    assert.ok(!certs.some((c) => Buffer.from(c).equals(Buffer.from(pemToDer(rootPem)))));

    const signer = cms.signerInfos[0]!;
    assert.equal(signer.digestAlgorithm.algorithmId, '2.16.840.1.101.3.4.2.1');
    const attrs = signer.signedAttrs!.attributes;
    assert.deepEqual(attrs.map((a) => a.type), ['1.2.840.113549.1.9.3', '1.2.840.113549.1.9.5', '1.2.840.113549.1.9.52', '1.2.840.113549.1.9.4']);
    assert.equal((attrs[0]!.values[0] as asn1js.ObjectIdentifier).valueBlock.toString(), '1.2.840.113549.1.7.1');
    const signingTime = attrs[1]!.values[0]!;
    assert.ok(signingTime instanceof asn1js.UTCTime);
    assert.equal(signingTime.toDate().getTime(), now.getTime() - 890);
    const digest = (attrs[3]!.values[0] as asn1js.OctetString).valueBlock.valueHexView;
    assert.deepEqual(Buffer.from(digest), createHash('sha256').update(signedContent(token)).digest());
    // CMSAlgorithmProtection names the digest and signature algorithms actually used.
    const protection = attrs[2]!.values[0] as asn1js.Sequence;
    const [digestAlg, signatureAlg] = protection.valueBlock.value as [asn1js.Sequence, asn1js.Constructed];
    assert.equal((digestAlg.valueBlock.value[0] as asn1js.ObjectIdentifier).valueBlock.toString(), '2.16.840.1.101.3.4.2.1');
    assert.equal(signatureAlg.idBlock.tagClass, 3);
    assert.equal(signatureAlg.idBlock.tagNumber, 1);
    assert.equal((signatureAlg.valueBlock.value[0] as asn1js.ObjectIdentifier).valueBlock.toString(), '1.2.840.10045.4.3.2');

    // The SDK honours the signing time: accepted within 5 minutes of it, refused 10 minutes later.
    await sdk(token, ec, { now: new Date(now.getTime() + 60_000) });
    await assert.rejects(sdk(token, ec, { now: new Date(now.getTime() + 600_000) }), (e: unknown) => e instanceof PaymentTokenError && e.reason === 'signing_time');
  });

  it("an independent decrypter for real Apple Pay tokens (Basis Theory's @basis-theory/apple-pay-js) decrypts our EC_v1 and RSA_v1 tokens", async () => {
    const context = new basisTheory.ApplePaymentTokenContext({
      merchants: [ec, rsa].map((issued, i) => ({ identifier: `key-${i}`, certificatePem: Buffer.from(issued.certificatePem), privateKeyPem: Buffer.from(issued.privateKeyPem!.reveal()) })),
    });
    for (const issued of [ec, rsa]) {
      const token = await pki.produceToken({ payload: buildPayload(FIELDS), merchantCertificatePem: issued.certificatePem });
      assert.deepEqual(context.decrypt(token), EXPECTED);
    }
    // Sanity of the check itself: it decrypts the real Apple token it was written for.
    const fixture = join(FIXTURES, 'basistheory-ec-new');
    const real = JSON.parse(readFileSync(join(fixture, 'token.json'), 'utf8')) as { paymentData: unknown };
    const apple = new basisTheory.ApplePaymentTokenContext({
      merchants: [{ certificatePem: readFileSync(join(fixture, 'merchant-cert.pem')), privateKeyPem: readFileSync(join(fixture, 'merchant-key.pem')) }],
    });
    assert.equal(apple.decrypt(real.paymentData).applicationPrimaryAccountNumber, '4784000000380075');
  });

  it('a token signed before a leaf rotation still verifies after it; new tokens carry the new leaf', async () => {
    const before = await pki.produceToken({ payload: buildPayload(FIELDS), merchantCertificatePem: ec.certificatePem });
    const [rotation] = await pki.rotateSigningLeaf('ec');
    const afterToken = await pki.produceToken({ payload: buildPayload(FIELDS), merchantCertificatePem: ec.certificatePem });
    const leafOf = (t: PaymentData) => new X509Certificate(certDer(cmsOf(t).certificates![0]!));
    assert.equal(leafOf(before).fingerprint256, new X509Certificate(rotation!.previous!.certificatePem).fingerprint256);
    assert.equal(leafOf(afterToken).fingerprint256, new X509Certificate(rotation!.current.certificatePem).fingerprint256);
    assert.deepEqual((await sdk(before, ec)).payload, EXPECTED);
    assert.deepEqual((await sdk(afterToken, ec)).payload, EXPECTED);
    assert.equal(opensslVerify(before).status, 0);
    // A rotation by another process: a process starting now signs with the newest leaf.
    const other = createPaymentPki({ db: env.db, kek });
    const [byOther] = await other.rotateSigningLeaf('ec');
    const fresh = createPaymentPki({ db: env.db, kek });
    const fromFresh = await fresh.produceToken({ payload: buildPayload(FIELDS), merchantCertificatePem: ec.certificatePem });
    assert.equal(leafOf(fromFresh).fingerprint256, new X509Certificate(byOther!.current.certificatePem).fingerprint256);
    // ...while the first process's leaf (cached, retired, valid) still makes tokens merchants accept.
    assert.deepEqual((await sdk(await pki.produceToken({ payload: buildPayload(FIELDS), merchantCertificatePem: ec.certificatePem }), ec)).payload, EXPECTED);
  });

  it('processing-certificate rotation: two active keys, each token names its key by publicKeyHash', async () => {
    const next = await pki.issueProcessingCertificate({ merchantIdentifier, generate: 'ec' });
    const keys = [...keysOf(ec), ...keysOf(next)];
    for (const [issued, index] of [[ec, 0], [next, 1]] as const) {
      const token = await pki.produceToken({ payload: buildPayload(FIELDS), merchantCertificatePem: issued.certificatePem });
      const out = await verifyAndDecrypt(token, { roots: [rootPem], keys, seenTransactionIds: new MemoryReplayCache() });
      assert.equal(out.keyIndex, index);
    }
    // A token for the new key does not decrypt with the old key alone.
    const token = await pki.produceToken({ payload: buildPayload(FIELDS), merchantCertificatePem: next.certificatePem });
    await assert.rejects(sdk(token, ec), (e: unknown) => e instanceof PaymentTokenError && e.reason === 'key_mismatch');
  });

  it('refuses certificates it did not issue, revoked or identity certificates, wrong versions, and bad payloads', async () => {
    const invalid = (e: unknown) => e instanceof AppError && e.code === 'merchant_certificate_invalid';
    const apple = readFileSync(join(FIXTURES, 'gala-mastercard', 'merchant-cert.pem'), 'utf8');
    await assert.rejects(pki.produceToken({ payload: buildPayload(FIELDS), merchantCertificatePem: apple }), invalid);
    await assert.rejects(pki.produceToken({ payload: buildPayload(FIELDS), merchantCertificatePem: 'not a certificate' }), invalid);
    // Same issuer name and same serial as one of ours, but signed by another key: refused.
    const ours = new x509.X509Certificate(ec.certificatePem);
    const impostorCa = (await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign', 'verify'])) as CryptoKeyPair;
    const impostor = await x509.X509CertificateGenerator.create({
      serialNumber: ours.serialNumber,
      subject: ours.subject,
      issuer: ours.issuer,
      notBefore: ours.notBefore,
      notAfter: ours.notAfter,
      signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
      publicKey: ours.publicKey,
      signingKey: impostorCa.privateKey,
      extensions: ours.extensions,
    });
    await assert.rejects(pki.produceToken({ payload: buildPayload(FIELDS), merchantCertificatePem: impostor.toString('pem') }), invalid);
    const identity = await pki.issueIdentityCertificate({ merchantIdentifier, generate: 'ec' });
    await assert.rejects(pki.produceToken({ payload: buildPayload(FIELDS), merchantCertificatePem: identity.certificatePem }), invalid);
    const doomed = await pki.issueProcessingCertificate({ merchantIdentifier, generate: 'ec' });
    await pki.revokeCertificate(merchantIdentifier, doomed.certificate.id);
    await assert.rejects(pki.produceToken({ payload: buildPayload(FIELDS), merchantCertificatePem: doomed.certificatePem }), invalid);
    // Outside the certificate's validity.
    await assert.rejects(pki.produceToken({ payload: buildPayload(FIELDS), merchantCertificatePem: ec.certificatePem, now: new Date('2000-01-01T00:00:00Z') }), invalid);

    const param = (e: unknown) => e instanceof AppError && e.code === 'parameter_invalid';
    await assert.rejects(pki.produceToken({ payload: buildPayload(FIELDS), merchantCertificatePem: ec.certificatePem, version: 'RSA_v1' }), param);
    await assert.rejects(pki.produceToken({ payload: buildPayload(FIELDS), merchantCertificatePem: rsa.certificatePem, version: 'EC_v1' }), param);
    await assert.rejects(pki.produceToken({ payload: buildPayload(FIELDS), merchantCertificatePem: ec.certificatePem, version: 'EC_v2' as 'EC_v1' }), param);
    await assert.rejects(pki.produceToken({ payload: buildPayload(FIELDS), merchantCertificatePem: rsa.certificatePem, version: 'RSA_v2' as 'RSA_v1' }), param);
    for (const payload of ['', '{}', 'not json', JSON.stringify({ ...EXPECTED, paymentDataType: 'Magic' }), new Uint8Array([0xff, 0xfe])]) {
      await assert.rejects(pki.produceToken({ payload, merchantCertificatePem: ec.certificatePem }), param);
    }
    // Text or bytes of a valid payload are taken as they are.
    const bytes = new TextEncoder().encode(buildPayload(FIELDS).reveal());
    const fromBytes = await pki.produceToken({ payload: bytes, merchantCertificatePem: ec.certificatePem });
    assert.deepEqual((await sdk(fromBytes, ec)).payload, EXPECTED);
    assert.equal(new TextDecoder().decode(bytes), buildPayload(FIELDS).reveal()); // the caller's buffer is left alone
  });
});

describe('buildPayload', () => {
  it('emits the keys in the order of real tokens, and hides the device token number when printed', () => {
    const payload = buildPayload(FIELDS);
    assert.equal(String(payload), '[redacted]');
    assert.equal(JSON.stringify({ payload }), '{"payload":"[redacted]"}');
    assert.equal(
      payload.reveal(),
      '{"applicationPrimaryAccountNumber":"4817499999990075","applicationExpirationDate":"291231","currencyCode":"840","transactionAmount":1999,' +
        '"cardholderName":"Ada Lovelace","deviceManufacturerIdentifier":"040010030273","paymentDataType":"3DSecure",' +
        `"paymentData":{"onlinePaymentCryptogram":"${FIELDS.paymentData.onlinePaymentCryptogram}","eciIndicator":"7"}}`,
    );
    // Given in another order, without the optional fields: the same order, nothing invented.
    const shuffled = buildPayload({
      paymentData: { onlinePaymentCryptogram: 'AMwBRjPWDnAgAA7Rls7mAoABFA==' },
      paymentDataType: '3DSecure',
      deviceManufacturerIdentifier: '050110030273',
      transactionAmount: 100,
      currencyCode: '840',
      applicationExpirationDate: '240930',
      applicationPrimaryAccountNumber: '5353756319181169',
    });
    assert.equal(
      shuffled.reveal(),
      '{"applicationPrimaryAccountNumber":"5353756319181169","applicationExpirationDate":"240930","currencyCode":"840","transactionAmount":100,' +
        '"deviceManufacturerIdentifier":"050110030273","paymentDataType":"3DSecure","paymentData":{"onlinePaymentCryptogram":"AMwBRjPWDnAgAA7Rls7mAoABFA=="}}',
    );
    const emv = buildPayload({ ...EXPECTED, paymentDataType: 'EMV', paymentData: { encryptedPINData: 'AB12', emvData: 'nwIGAAAAAAEA' } });
    assert.match(emv.reveal(), /"paymentDataType":"EMV","paymentData":\{"emvData":"nwIGAAAAAAEA","encryptedPINData":"AB12"\}\}$/);
  });

  it('refuses malformed fields, naming the field and never its value', () => {
    const bad: Array<[Partial<Record<string, unknown>>, string]> = [
      [{ applicationPrimaryAccountNumber: '4817-4999' }, 'applicationPrimaryAccountNumber'],
      [{ applicationExpirationDate: '2912' }, 'applicationExpirationDate'],
      [{ applicationExpirationDate: '291331' }, 'applicationExpirationDate'],
      [{ currencyCode: 'USD' }, 'currencyCode'],
      [{ transactionAmount: 19.99 }, 'transactionAmount'],
      [{ transactionAmount: -1 }, 'transactionAmount'],
      [{ deviceManufacturerIdentifier: 'xyz' }, 'deviceManufacturerIdentifier'],
      [{ paymentData: { onlinePaymentCryptogram: 'AAAA' } }, 'paymentData.onlinePaymentCryptogram'],
      [{ paymentData: { onlinePaymentCryptogram: 'not base64!' } }, 'paymentData.onlinePaymentCryptogram'],
      [{ paymentData: { onlinePaymentCryptogram: FIELDS.paymentData.onlinePaymentCryptogram, eciIndicator: 'seven' } }, 'paymentData.eciIndicator'],
      [{ paymentDataType: 'Magic' }, 'paymentDataType'],
    ];
    for (const [change, param] of bad) {
      assert.throws(
        () => buildPayload({ ...FIELDS, ...change } as PaymentPayloadFields),
        (e: unknown) => e instanceof AppError && e.code === 'parameter_invalid' && e.param === param && !e.message.includes('4817'),
      );
    }
  });
});
