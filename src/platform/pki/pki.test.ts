import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash, createPrivateKey, createPublicKey, X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createTestEnv, type TestEnv } from '../../../test/helpers/env.js';
import { migrate } from '../../infra/db/index.js';
import { AppError } from '../../infra/errors.js';
import { KeyEncryptionKeys } from '../../infra/keys/kek.js';
import { x509 } from '../../infra/x509.js';
import { loadMerchantKeys } from '../../merchant/sdk/index.js';
import { certificateExtensions, pemToDer, subjectPublicKeyInfoFromCertificate } from '../../protocol/paytoken/index.js';
import { createPaymentPki, type PaymentPki } from './index.js';

const OPENSSL = '/usr/bin/openssl';
const MIGRATIONS = [
  { module: 'infra', dir: new URL('../../infra/migrations/', import.meta.url) },
  { module: 'platform', dir: new URL('../migrations/', import.meta.url) },
];

let env: TestEnv;
let pki: PaymentPki;
let work: string;
const kek = KeyEncryptionKeys.random();

before(async () => {
  env = await createTestEnv();
  await migrate(env.db, MIGRATIONS);
  work = mkdtempSync(join(tmpdir(), 'tessera-pki-'));
});
after(async () => {
  await env.close();
  rmSync(work, { recursive: true, force: true });
});

function file(name: string, content: string | Uint8Array): string {
  const path = join(work, name);
  writeFileSync(path, content);
  return path;
}

function openssl(args: string[], input?: string): { status: number | null; out: string } {
  const r = spawnSync(OPENSSL, args, { encoding: 'utf8', ...(input !== undefined ? { input } : {}) });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

function extension(pem: string, oid: string) {
  return certificateExtensions(pemToDer(pem)).find((e) => e.oid === oid);
}

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex').toUpperCase();

async function rejectsWith(p: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(p, (err: unknown) => err instanceof AppError && err.code === code);
}

describe(`payment PKI: authorities (${process.env.DATABASE_URL ? 'PostgreSQL' : 'PGlite'})`, () => {
  it('creates one hierarchy when several processes start at once, and reloads it on the next start', async () => {
    const starters = Array.from({ length: 4 }, () => createPaymentPki({ db: env.db, kek }));
    await Promise.all(starters.map((p) => p.init()));
    const roots = await Promise.all(starters.map((p) => p.rootPem()));
    assert.equal(new Set(roots).size, 1);
    const intermediates = await Promise.all(starters.map((p) => p.intermediatePem()));
    assert.equal(new Set(intermediates).size, 1);

    const { rows } = await env.db.query<{ purpose: string; n: string }>(
      `SELECT purpose, count(*)::text AS n FROM platform.authorities WHERE purpose LIKE 'payment\\_%' AND active GROUP BY purpose ORDER BY purpose`,
    );
    assert.deepEqual(rows.map((r) => [r.purpose, r.n]), [
      ['payment_intermediate', '1'],
      ['payment_root', '1'],
      ['payment_signing_ec', '1'],
      ['payment_signing_rsa', '1'],
    ]);
    // Losers of the race left no half-made chain: every active row hangs off the active one above it.
    const chain = await env.db.query<{ purpose: string; parent: string | null }>(
      `SELECT a.purpose, p.purpose AS parent FROM platform.authorities a LEFT JOIN platform.authorities p ON p.id = a.parent_id WHERE a.active AND a.purpose LIKE 'payment\\_%' ORDER BY a.purpose`,
    );
    assert.deepEqual(chain.rows.map((r) => [r.purpose, r.parent]), [
      ['payment_intermediate', 'payment_root'],
      ['payment_root', null],
      ['payment_signing_ec', 'payment_intermediate'],
      ['payment_signing_rsa', 'payment_intermediate'],
    ]);

    pki = createPaymentPki({ db: env.db, kek });
    await pki.init();
    assert.equal(await pki.rootPem(), roots[0]);
    // Another deployment's KEK cannot use these keys.
    await assert.rejects(createPaymentPki({ db: env.db, kek: KeyEncryptionKeys.random() }).init(), /KEK/);
  });

  it('stores the private keys only wrapped by the KEK', async () => {
    const { rows } = await env.db.query<{ id: string; key_wrapped: Buffer; kek_id: string }>(`SELECT id, key_wrapped, kek_id FROM platform.authorities WHERE purpose LIKE 'payment\\_%'`);
    for (const r of rows) {
      assert.equal(r.kek_id, kek.currentId);
      // The wrapped blob is not a PKCS#8 structure; unwrapped with the row's binding it is.
      assert.throws(() => createPrivateKey({ key: Buffer.from(r.key_wrapped), format: 'der', type: 'pkcs8' }));
      const pkcs8 = kek.unwrap(r.kek_id, r.key_wrapped, `platform.authorities:${r.id}`);
      assert.ok(createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' }));
      assert.throws(() => kek.unwrap(r.kek_id, r.key_wrapped, 'platform.authorities:ca_other'));
    }
  });

  it('root: "Tessera Root CA", P-384, 20 years, a CA; OpenSSL accepts the chain', async () => {
    const root = new X509Certificate(await pki.rootPem());
    assert.match(root.subject, /CN=Tessera Root CA/);
    assert.equal(root.subject, root.issuer);
    assert.equal(root.ca, true);
    assert.equal(root.publicKey.asymmetricKeyDetails?.namedCurve, 'secp384r1');
    const years = (Date.parse(root.validTo) - Date.parse(root.validFrom)) / (365 * 86_400_000);
    assert.ok(years > 19.9 && years < 20.1, `root validity ${years} years`);
    assert.ok(root.verify(root.publicKey));
    const rootFile = file('root.pem', await pki.rootPem());
    assert.equal(openssl(['verify', '-CAfile', rootFile, file('intermediate.pem', await pki.intermediatePem())]).status, 0);
  });

  it('intermediate: "Tessera Application Integration CA", pathLen 0, extension 1.2.840.113635.100.6.2.14 = DER NULL', async () => {
    const pem = await pki.intermediatePem();
    const cert = new x509.X509Certificate(pem);
    assert.match(cert.subject, /CN=Tessera Application Integration CA/);
    const bc = cert.getExtension(x509.BasicConstraintsExtension)!;
    assert.equal(bc.ca, true);
    assert.equal(bc.pathLength, 0);
    assert.equal(bc.critical, true);
    const marker = extension(pem, '1.2.840.113635.100.6.2.14');
    assert.ok(marker);
    assert.deepEqual([...marker.value], [0x05, 0x00]);
    assert.ok(new X509Certificate(pem).verify(new X509Certificate(await pki.rootPem()).publicKey));
  });

  it('signing leaves: EC P-256 and RSA 2048, extension 1.2.840.113635.100.6.29 = DER NULL, digitalSignature, under the intermediate', async () => {
    const intermediate = new X509Certificate(await pki.intermediatePem());
    const rootFile = file('root.pem', await pki.rootPem());
    const intermediateFile = file('intermediate.pem', await pki.intermediatePem());
    for (const kind of ['ec', 'rsa'] as const) {
      const [leaf] = (await pki.signingLeaves(kind)).filter((l) => l.active);
      assert.ok(leaf);
      const cert = new X509Certificate(leaf.certificatePem);
      assert.match(cert.subject, /CN=Tessera Payment Token Signing/);
      assert.equal(cert.ca, false);
      assert.ok(cert.verify(intermediate.publicKey));
      const details = cert.publicKey.asymmetricKeyDetails;
      if (kind === 'ec') assert.equal(details?.namedCurve, 'prime256v1');
      else assert.equal(details?.modulusLength, 2048);
      const marker = extension(leaf.certificatePem, '1.2.840.113635.100.6.29');
      assert.ok(marker);
      assert.deepEqual([...marker.value], [0x05, 0x00]);
      const ku = new x509.X509Certificate(leaf.certificatePem).getExtension(x509.KeyUsagesExtension)!;
      assert.equal(ku.usages, x509.KeyUsageFlags.digitalSignature);
      assert.equal(openssl(['verify', '-CAfile', rootFile, '-untrusted', intermediateFile, file(`leaf-${kind}.pem`, leaf.certificatePem)]).status, 0);
    }
  });

  it('writeRootPem writes the public root certificate to <data dir>/pki/root-ca.pem, nothing else', async () => {
    const dataDir = join(work, 'data');
    const path = await pki.writeRootPem(dataDir);
    assert.equal(path, join(dataDir, 'pki', 'root-ca.pem'));
    const text = readFileSync(path, 'utf8');
    assert.equal(text, await pki.rootPem());
    assert.match(text, /^-----BEGIN CERTIFICATE-----\n[\s\S]+\n-----END CERTIFICATE-----\n$/);
    assert.doesNotMatch(text, /PRIVATE/);
    await pki.writeRootPem(dataDir); // idempotent
    assert.equal(readFileSync(path, 'utf8'), text);
  });

  it('rotateSigningLeaf: a new leaf signs; the old one is retired, not revoked, and still chains to the root', async () => {
    const before = await pki.signingLeaves('ec');
    const [rotation] = await pki.rotateSigningLeaf('ec');
    const { previous, current } = rotation!;
    assert.ok(previous);
    assert.equal(previous.id, before.find((l) => l.active)!.id);
    assert.notEqual(current.id, previous.id);
    assert.equal(current.active, true);
    const after = await pki.signingLeaves('ec');
    assert.equal(after.length, before.length + 1);
    assert.deepEqual(after.filter((l) => l.active).map((l) => l.id), [current.id]);
    const old = new X509Certificate(previous.certificatePem);
    assert.ok(old.verify(new X509Certificate(await pki.intermediatePem()).publicKey));
    assert.ok(Date.parse(old.validTo) > Date.now());
    // Two rotations at once (two processes): both happen, one after the other; one leaf stays active.
    const other = createPaymentPki({ db: env.db, kek });
    await Promise.all([pki.rotateSigningLeaf('ec'), other.rotateSigningLeaf('ec')]);
    const leaves = await pki.signingLeaves('ec');
    assert.equal(leaves.length, after.length + 2);
    assert.equal(leaves.filter((l) => l.active).length, 1);
    // Rotating both kinds at once by default.
    const both = await pki.rotateSigningLeaf();
    assert.deepEqual(both.map((r) => r.current.kind), ['ec', 'rsa']);
  });

  it('renews a signing leaf that is within 30 days of its end before it signs again (clock injected)', async () => {
    const [active] = (await pki.signingLeaves('rsa')).filter((l) => l.active);
    const late = new Date(active!.notAfter.getTime() - 10 * 86_400_000);
    const later = createPaymentPki({ db: env.db, kek, clock: () => late });
    await later.init();
    const [renewed] = (await later.signingLeaves('rsa')).filter((l) => l.active);
    assert.notEqual(renewed!.id, active!.id);
    assert.ok(renewed!.notAfter > active!.notAfter);
    assert.ok(new X509Certificate(renewed!.certificatePem).verify(new X509Certificate(await pki.intermediatePem()).publicKey));
  });

  it('the database refuses a second active authority of a purpose and unknown purposes', async () => {
    const row = (await env.db.query<Record<string, unknown>>(`SELECT * FROM platform.authorities WHERE purpose = 'payment_root' AND active`)).rows[0]!;
    await assert.rejects(
      env.db.query(`INSERT INTO platform.authorities (id, purpose, certificate_pem, key_wrapped, kek_id, serial, not_after) VALUES ('ca_dup', 'payment_root', $1, $2, $3, 'abcd', now())`, [row.certificate_pem, row.key_wrapped, row.kek_id]),
      /authorities_one_active|duplicate key/,
    );
    await assert.rejects(
      env.db.query(`INSERT INTO platform.authorities (id, purpose, certificate_pem, key_wrapped, kek_id) VALUES ('ca_x', 'payment_other', 'x', '\\x00', 'k')`),
      /authorities_purpose_check|check constraint/,
    );
    await assert.rejects(
      env.db.query(`INSERT INTO platform.authorities (id, purpose, certificate_pem, key_wrapped, kek_id, active) VALUES ('ca_y', 'payment_signing_ec', 'x', '\\x00', 'k', false)`),
      /authorities_payment_chain_check|check constraint/,
    );
  });
});

describe('payment PKI: merchant certificates', () => {
  const merchantIdentifier = 'merchant.test.spreedly.123merchant';

  it('processing certificate (EC): subject, keyAgreement, and extension 1.2.840.113635.100.6.32 = 0C 40 + 64 upper-case hex characters', async () => {
    const issued = await pki.issueProcessingCertificate({ merchantIdentifier, teamId: '6D6MVLC567', generate: 'ec' });
    const pem = issued.certificatePem;
    const ext = extension(pem, '1.2.840.113635.100.6.32');
    assert.ok(ext);
    assert.equal(ext.critical, false);
    assert.equal(ext.value.length, 66);
    assert.deepEqual([...ext.value.subarray(0, 2)], [0x0c, 0x40]);
    assert.equal(Buffer.from(ext.value.subarray(2)).toString('ascii'), '358DA5890B9555C0A9EFB84B5CD6FF04BFDCD5AABF5DC14B9872D8DF51EAF439');
    assert.equal(Buffer.from(ext.value.subarray(2)).toString('ascii'), createHash('sha256').update(merchantIdentifier).digest('hex').toUpperCase());

    const cert = new x509.X509Certificate(pem);
    assert.deepEqual(cert.subjectName.toJSON(), [
      { '0.9.2342.19200300.100.1.1': [merchantIdentifier] },
      { CN: [`Apple Pay Payment Processing:${merchantIdentifier}`] },
      { OU: ['6D6MVLC567'] },
    ]);
    assert.equal(new X509Certificate(pem).subject.split('\n')[0], `UID=${merchantIdentifier}`);
    assert.equal(cert.issuer, new x509.X509Certificate(await pki.intermediatePem()).subject);
    const ku = cert.getExtension(x509.KeyUsagesExtension)!;
    assert.equal(ku.usages, x509.KeyUsageFlags.keyAgreement);
    assert.equal(ku.critical, true);
    assert.equal(cert.getExtension(x509.BasicConstraintsExtension)?.ca, false);

    // The private key: PKCS#8 PEM, returned once, matching the certificate, stored nowhere.
    assert.ok(issued.privateKeyPem);
    const keyPem = issued.privateKeyPem.reveal();
    assert.match(keyPem, /^-----BEGIN PRIVATE KEY-----\n/);
    assert.equal(String(issued.privateKeyPem), '[redacted]');
    const spki = subjectPublicKeyInfoFromCertificate(pemToDer(pem));
    assert.deepEqual(new Uint8Array(createPublicKey(createPrivateKey(keyPem)).export({ type: 'spki', format: 'der' })), spki);
    const keyBody = keyPem.split('\n').slice(1, 3).join('');
    const stored = await env.db.query<{ t: string }>(`SELECT row_to_json(c)::text AS t FROM platform.merchant_certificates c`);
    assert.ok(stored.rows.length > 0);
    for (const r of stored.rows) assert.ok(!r.t.includes(keyBody.slice(0, 40)) && !r.t.includes('PRIVATE'));

    assert.equal(issued.certificate.publicKeyHash, createHash('sha256').update(spki).digest('base64'));
    assert.equal(issued.certificate.kind, 'processing');
    assert.equal(issued.certificate.keyType, 'ec_p256');
    assert.equal(issued.certificate.status, 'active');
    assert.equal(issued.certificate.serial, cert.serialNumber.toLowerCase());
    assert.equal(issued.chainPem, pem + (await pki.intermediatePem()));

    // OpenSSL accepts the chain; the merchant SDK accepts the pair as a processing key.
    const rootFile = file('root.pem', await pki.rootPem());
    assert.equal(openssl(['verify', '-CAfile', rootFile, '-untrusted', file('int.pem', await pki.intermediatePem()), file('proc-ec.pem', pem)]).status, 0);
    const [loaded] = await loadMerchantKeys([{ certificatePem: pem, privateKeyPem: keyPem }]);
    assert.equal(loaded!.kind, 'ec');
    assert.equal(hex(loaded!.merchantIdHash), '358DA5890B9555C0A9EFB84B5CD6FF04BFDCD5AABF5DC14B9872D8DF51EAF439');
  });

  it('processing certificate (RSA 2048): keyEncipherment, same extension', async () => {
    const issued = await pki.issueProcessingCertificate({ merchantIdentifier: 'merchant.com.example.rsa', generate: 'rsa' });
    const cert = new x509.X509Certificate(issued.certificatePem);
    assert.equal(cert.getExtension(x509.KeyUsagesExtension)!.usages, x509.KeyUsageFlags.keyEncipherment);
    assert.equal(new X509Certificate(issued.certificatePem).publicKey.asymmetricKeyDetails?.modulusLength, 2048);
    const ext = extension(issued.certificatePem, '1.2.840.113635.100.6.32')!;
    assert.deepEqual([...ext.value.subarray(0, 2)], [0x0c, 0x40]);
    assert.equal(Buffer.from(ext.value.subarray(2)).toString('ascii'), createHash('sha256').update('merchant.com.example.rsa').digest('hex').toUpperCase());
    assert.equal(issued.certificate.keyType, 'rsa_2048');
    assert.match(issued.certificate.teamId, /^[0-9A-F]{10}$/);
    assert.match(issued.privateKeyPem!.reveal(), /^-----BEGIN PRIVATE KEY-----/);
  });

  it('from a CSR: verifies its self-signature, certifies its key, returns no private key', async () => {
    const keyFile = join(work, 'csr-ec.key');
    execFileSync(OPENSSL, ['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', keyFile, '-subj', '/CN=ignored/O=Whatever', '-out', join(work, 'csr-ec.pem')], { stdio: 'ignore' });
    const csrPem = readFileSync(join(work, 'csr-ec.pem'), 'utf8');
    const issued = await pki.issueProcessingCertificate({ merchantIdentifier: 'merchant.com.csr', teamId: 'ABCDE12345', csrPem });
    assert.equal(issued.privateKeyPem, undefined);
    const certKey = createPublicKey(issued.certificatePem).export({ type: 'spki', format: 'der' });
    const ownKey = createPublicKey(createPrivateKey(readFileSync(keyFile, 'utf8'))).export({ type: 'spki', format: 'der' });
    assert.deepEqual(certKey, ownKey);
    // The subject is the platform's, not the CSR's.
    assert.doesNotMatch(new X509Certificate(issued.certificatePem).subject, /ignored|Whatever/);
    // The same key again for this merchant: refused while the first certificate is active.
    await rejectsWith(pki.issueProcessingCertificate({ merchantIdentifier: 'merchant.com.csr', csrPem }), 'merchant_key_in_use');
    await rejectsWith(pki.issueIdentityCertificate({ merchantIdentifier: 'merchant.com.csr', csrPem }), 'merchant_key_in_use');

    // RSA 2048 CSR.
    execFileSync(OPENSSL, ['req', '-new', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(work, 'csr-rsa.key'), '-subj', '/CN=x', '-out', join(work, 'csr-rsa.pem')], { stdio: 'ignore' });
    const rsa = await pki.issueProcessingCertificate({ merchantIdentifier: 'merchant.com.csr', csrPem: readFileSync(join(work, 'csr-rsa.pem'), 'utf8') });
    assert.equal(rsa.certificate.keyType, 'rsa_2048');

    // A CSR whose signature does not verify (one byte of the signature changed).
    const der = Buffer.from(pemToDer(csrPem, 'CERTIFICATE REQUEST'));
    der[der.length - 1]! ^= 0x01;
    const tampered = `-----BEGIN CERTIFICATE REQUEST-----\n${der.toString('base64')}\n-----END CERTIFICATE REQUEST-----\n`;
    await rejectsWith(pki.issueProcessingCertificate({ merchantIdentifier: 'merchant.com.csr', csrPem: tampered }), 'csr_invalid');
    // A CSR whose subject was changed after signing.
    const resigned = Buffer.from(pemToDer(csrPem, 'CERTIFICATE REQUEST'));
    const at = resigned.indexOf(Buffer.from('ignored'));
    resigned[at] = 'I'.charCodeAt(0);
    await rejectsWith(
      pki.issueProcessingCertificate({ merchantIdentifier: 'merchant.com.csr', csrPem: `-----BEGIN CERTIFICATE REQUEST-----\n${resigned.toString('base64')}\n-----END CERTIFICATE REQUEST-----\n` }),
      'csr_invalid',
    );
    // Keys of other sizes or curves, and things that are not CSRs.
    execFileSync(OPENSSL, ['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-384', '-nodes', '-keyout', join(work, 'csr-384.key'), '-subj', '/CN=x', '-out', join(work, 'csr-384.pem')], { stdio: 'ignore' });
    await rejectsWith(pki.issueProcessingCertificate({ merchantIdentifier: 'merchant.com.csr', csrPem: readFileSync(join(work, 'csr-384.pem'), 'utf8') }), 'csr_invalid');
    await rejectsWith(pki.issueProcessingCertificate({ merchantIdentifier: 'merchant.com.csr', csrPem: 'hello' }), 'csr_invalid');
    await rejectsWith(pki.issueProcessingCertificate({ merchantIdentifier: 'merchant.com.csr', csrPem: await pki.rootPem() }), 'csr_invalid');
  });

  it('refuses bad merchant identifiers, team ids, and both or neither of CSR and generate', async () => {
    for (const merchantIdentifier of ['com.example', 'merchant.', 'merchant.a,CN=evil', 'merchant.a b', `merchant.${'a'.repeat(200)}`, '#merchant.x']) {
      await rejectsWith(pki.issueProcessingCertificate({ merchantIdentifier, generate: 'ec' }), 'parameter_invalid');
    }
    await rejectsWith(pki.issueProcessingCertificate({ merchantIdentifier: 'merchant.com.x', teamId: 'abc', generate: 'ec' }), 'parameter_invalid');
    await rejectsWith(pki.issueProcessingCertificate({ merchantIdentifier: 'merchant.com.x' }), 'parameter_invalid');
    await rejectsWith(pki.issueProcessingCertificate({ merchantIdentifier: 'merchant.com.x', generate: 'ec', csrPem: 'x' }), 'parameter_invalid');
    await rejectsWith(pki.issueProcessingCertificate({ merchantIdentifier: 'merchant.com.x', generate: 'dsa' as 'ec' }), 'parameter_invalid');
  });

  it('identity certificate: TLS client auth (clientAuth, digitalSignature), no merchant hash extension, verifies for sslclient', async () => {
    const issued = await pki.issueIdentityCertificate({ merchantIdentifier: 'merchant.com.example', teamId: 'TEAM123456', generate: 'rsa' });
    const cert = new x509.X509Certificate(issued.certificatePem);
    assert.equal(cert.getExtension(x509.KeyUsagesExtension)!.usages, x509.KeyUsageFlags.digitalSignature);
    assert.deepEqual([...cert.getExtension(x509.ExtendedKeyUsageExtension)!.usages], [x509.ExtendedKeyUsage.clientAuth]);
    assert.equal(extension(issued.certificatePem, '1.2.840.113635.100.6.32'), undefined);
    assert.match(new X509Certificate(issued.certificatePem).subject, /CN=Merchant ID: merchant\.com\.example/);
    assert.equal(issued.certificate.kind, 'identity');
    const rootFile = file('root.pem', await pki.rootPem());
    const r = openssl(['verify', '-purpose', 'sslclient', '-CAfile', rootFile, '-untrusted', file('int.pem', await pki.intermediatePem()), file('identity.pem', issued.certificatePem)]);
    assert.equal(r.status, 0, r.out);
    const ec = await pki.issueIdentityCertificate({ merchantIdentifier: 'merchant.com.example', generate: 'ec' });
    assert.equal(ec.certificate.keyType, 'ec_p256');
  });

  it('certificatesOf: several active processing certificates side by side (rotation by publicKeyHash), and revocation', async () => {
    const m = 'merchant.com.rotation';
    const first = await pki.issueProcessingCertificate({ merchantIdentifier: m, generate: 'ec' });
    const second = await pki.issueProcessingCertificate({ merchantIdentifier: m, generate: 'ec' });
    const identity = await pki.issueIdentityCertificate({ merchantIdentifier: m, generate: 'ec' });
    const list = await pki.certificatesOf(m);
    assert.deepEqual(new Set(list.map((c) => c.id)), new Set([first.certificate.id, second.certificate.id, identity.certificate.id]));
    const processing = list.filter((c) => c.kind === 'processing' && c.status === 'active');
    assert.equal(processing.length, 2);
    assert.notEqual(processing[0]!.publicKeyHash, processing[1]!.publicKeyHash);
    for (const c of list) assert.doesNotMatch(JSON.stringify(c), /PRIVATE/);

    const revoked = await pki.revokeCertificate(m, first.certificate.id);
    assert.equal(revoked.status, 'revoked');
    assert.ok(revoked.revokedAt instanceof Date);
    await rejectsWith(pki.revokeCertificate(m, first.certificate.id), 'resource_missing');
    await rejectsWith(pki.revokeCertificate('merchant.com.other', second.certificate.id), 'resource_missing');
    assert.deepEqual(await pki.certificatesOf('merchant.com.nobody'), []);
    assert.deepEqual(await pki.certificatesOf('not a merchant id'), []);
  });

  it('the database holds merchant certificate rows to their invariants', async () => {
    const row = (await env.db.query<Record<string, unknown>>(`SELECT * FROM platform.merchant_certificates WHERE status = 'active' LIMIT 1`)).rows[0]!;
    const insert = (over: Record<string, unknown>) => {
      const r: Record<string, unknown> = { ...row, id: `mcert_${Math.random().toString(36).slice(2)}`, serial: 'ab12', ...over };
      return env.db.query(
        `INSERT INTO platform.merchant_certificates (id, merchant_identifier, team_id, kind, key_type, public_key_hash, issuer_id, serial, certificate_pem, not_before, not_after, status, revoked_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
        [r.id, r.merchant_identifier, r.team_id, r.kind, r.key_type, r.public_key_hash, r.issuer_id, r.serial, r.certificate_pem, r.not_before, r.not_after, r.status, r.revoked_at],
      );
    };
    await assert.rejects(insert({}), /merchant_certificates_key_unique|duplicate key/); // same key, same merchant, both active
    await assert.rejects(insert({ kind: 'tls', public_key_hash: 'A'.repeat(43) + '=' }), /check constraint/);
    await assert.rejects(insert({ key_type: 'ec_p384', public_key_hash: 'B'.repeat(43) + '=' }), /check constraint/);
    await assert.rejects(insert({ status: 'revoked', public_key_hash: 'C'.repeat(43) + '=' }), /check constraint/); // revoked without revoked_at
    await assert.rejects(insert({ serial: row.serial, public_key_hash: 'D'.repeat(43) + '=' }), /merchant_certificates_serial_unique|duplicate key/);
    await insert({ status: 'revoked', revoked_at: new Date(), public_key_hash: row.public_key_hash }); // a revoked twin is fine
  });
});
