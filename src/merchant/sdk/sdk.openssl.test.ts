/**
 * OpenSSL as an independent second opinion: it must agree that each fixture's signature is valid
 * over OUR signed-content bytes at the token's signingTime (and not at today's date, nor over
 * altered content); and CMS signatures OpenSSL makes with chains we control must pass or fail our
 * verifier for the right reason (the marker OIDs, the intermediate being a CA, the algorithms).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { signedContent, type PaymentData } from '../../protocol/paytoken/index.js';
import { MemoryReplayCache, PaymentTokenError, verifyPaymentToken, verifyAndDecrypt, type PaymentTokenErrorReason } from './index.js';
import { APPLE_ROOT_PATH, clone, FIXTURES, fixture, paymentDataOf } from './fixtures.test-helper.js';

const OPENSSL = '/usr/bin/openssl';
let dir = '';

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'tessera-applepay-openssl-'));
});
after(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function openssl(args: string[]): { code: number; out: string } {
  const r = spawnSync(OPENSSL, args, { encoding: 'utf8' });
  return { code: r.status ?? -1, out: `${r.stdout}${r.stderr}` };
}

/** The command this test proves: OpenSSL 3.0 verifies a detached, DER (BER) CMS at a given time. */
function opensslVerify(name: string, content: Uint8Array, signatureDer: Buffer, at?: Date): { code: number; out: string } {
  const contentFile = join(dir, `${name}.content`);
  const sigFile = join(dir, `${name}.p7s`);
  writeFileSync(contentFile, content);
  writeFileSync(sigFile, signatureDer);
  const args = ['cms', '-verify', '-inform', 'DER', '-in', sigFile, '-binary', '-content', contentFile, '-CAfile', APPLE_ROOT_PATH, '-purpose', 'any', '-out', '/dev/null'];
  if (at) args.push('-attime', String(Math.floor(at.getTime() / 1000)));
  return openssl(args);
}

for (const f of FIXTURES) {
  test(`OpenSSL agrees: ${f.name}'s signature over signedContent() is valid at its signingTime, not today, not over altered content`, () => {
    const pd = paymentDataOf(f.json) as unknown as PaymentData;
    const content = signedContent(pd);
    const sig = Buffer.from(pd.signature, 'base64');
    const ok = opensslVerify(f.name, content, sig, f.signingTime);
    assert.equal(ok.code, 0, ok.out);
    assert.match(ok.out, /CMS Verification successful/);
    const today = opensslVerify(f.name, content, sig);
    assert.notEqual(today.code, 0);
    assert.match(today.out, /certificate has expired/);
    const altered = Uint8Array.from(content);
    altered[100]! ^= 1;
    const bad = opensslVerify(f.name, altered, sig, f.signingTime);
    assert.notEqual(bad.code, 0);
    assert.match(bad.out, /digest failure|verification failure/i);
  });
}

// ---- Chains we control, signatures OpenSSL makes ----

interface Pki {
  rootPem: string;
  sign(content: Uint8Array, leaf: string, intermediate: string): string;
}

/** Runs OpenSSL quietly (its progress output would clutter the test report); throws on failure. */
function run(args: string[]): void {
  execFileSync(OPENSSL, args, { stdio: 'pipe' });
}

function makePki(): Pki {
  const p = (name: string) => join(dir, name);
  const key = (name: string, kind: 'ec' | 'rsa') =>
    run(['genpkey', '-algorithm', kind === 'ec' ? 'EC' : 'RSA', '-pkeyopt', kind === 'ec' ? 'ec_paramgen_curve:P-256' : 'rsa_keygen_bits:2048', '-out', p(`${name}.key`)]);
  key('root', 'ec');
  run(['req', '-new', '-x509', '-key', p('root.key'), '-subj', '/CN=Test Root', '-days', '30', '-out', p('root.pem'),
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
  const issue = (name: string, kind: 'ec' | 'rsa', issuer: string, ext: string) => {
    key(name, kind);
    writeFileSync(p(`${name}.ext`), `${ext}\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n`);
    run(['req', '-new', '-key', p(`${name}.key`), '-subj', `/CN=${name}`, '-out', p(`${name}.csr`)]);
    run(['x509', '-req', '-in', p(`${name}.csr`), '-CA', p(`${issuer}.pem`), '-CAkey', p(`${issuer}.key`), '-CAcreateserial',
      '-days', '30', '-extfile', p(`${name}.ext`), '-out', p(`${name}.pem`)]);
  };
  const CA = 'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign';
  issue('inter', 'ec', 'root', `${CA}\n1.2.840.113635.100.6.2.14=DER:0500`);
  issue('inter-no-oid', 'ec', 'root', CA);
  issue('inter-not-ca', 'ec', 'root', 'basicConstraints=critical,CA:FALSE\n1.2.840.113635.100.6.2.14=DER:0500');
  const LEAF = 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature';
  for (const issuer of ['inter', 'inter-no-oid', 'inter-not-ca']) {
    issue(`leaf-${issuer}`, 'ec', issuer, `${LEAF}\n1.2.840.113635.100.6.29=DER:0500`);
  }
  issue('leaf-no-oid', 'ec', 'inter', LEAF);
  issue('leaf-rsa', 'rsa', 'inter', `${LEAF}\n1.2.840.113635.100.6.29=DER:0500`);
  return {
    rootPem: readFileSync(p('root.pem'), 'utf8'),
    sign(content, leaf, intermediate) {
      writeFileSync(p('content.bin'), content);
      run(['cms', '-sign', '-binary', '-in', p('content.bin'), '-signer', p(`${leaf}.pem`), '-inkey', p(`${leaf}.key`),
        '-certfile', p(`${intermediate}.pem`), '-md', 'sha256', '-nosmimecap', '-outform', 'DER', '-out', p('sig.der')]);
      return readFileSync(p('sig.der')).toString('base64');
    },
  };
}

async function reason(p: Promise<unknown>): Promise<PaymentTokenErrorReason | 'ok'> {
  try {
    await p;
    return 'ok';
  } catch (err) {
    if (err instanceof PaymentTokenError) return err.reason;
    throw err;
  }
}

test('OpenSSL-made signatures on chains we control: accepted when right, oid / chain / signature when not', async () => {
  const pki = makePki();
  const gala = fixture('gala-mastercard');
  const rsa = fixture('basistheory-rsa');
  /** The fixture's token re-signed by `leaf` (OpenSSL stamps signingTime = now). */
  const resigned = (json: Record<string, unknown>, leaf: string, intermediate: string) => {
    const copy = clone(json);
    const pd = paymentDataOf(copy);
    pd.signature = pki.sign(signedContent(pd as unknown as PaymentData), leaf, intermediate);
    return copy;
  };
  const opts = () => ({ roots: [pki.rootPem], seenTransactionIds: new MemoryReplayCache() });

  // Right chain: accepted, and the token still decrypts with the merchant key (EC_v1).
  const good = resigned(gala.json, 'leaf-inter', 'inter');
  assert.equal(await reason(verifyPaymentToken(good, opts())), 'ok');
  const result = await verifyAndDecrypt(good, { ...opts(), keys: [{ certificatePem: gala.certificatePem!, privateKeyPem: gala.privateKeyPem! }] });
  assert.deepEqual(result.payload, gala.expected);
  assert.ok(Math.abs(result.signingTime.getTime() - Date.now()) < 120_000);
  // With Apple's root instead of ours: chain.
  assert.equal(await reason(verifyPaymentToken(good, { ...opts(), roots: [readFileSync(APPLE_ROOT_PATH, 'utf8')] })), 'chain');

  // RSA_v1 signed with an RSA leaf (OpenSSL writes rsaEncryption as the signature algorithm): accepted.
  assert.equal(await reason(verifyPaymentToken(resigned(rsa.json, 'leaf-rsa', 'inter'), opts())), 'ok');
  // EC_v1 signed with an RSA leaf: the algorithm does not match the version.
  assert.equal(await reason(verifyPaymentToken(resigned(gala.json, 'leaf-rsa', 'inter'), opts())), 'signature');
  // RSA_v1 signed with ECDSA: likewise.
  assert.equal(await reason(verifyPaymentToken(resigned(rsa.json, 'leaf-inter', 'inter'), opts())), 'signature');

  // Missing marker OIDs.
  assert.equal(await reason(verifyPaymentToken(resigned(gala.json, 'leaf-no-oid', 'inter'), opts())), 'oid');
  assert.equal(await reason(verifyPaymentToken(resigned(gala.json, 'leaf-inter-no-oid', 'inter-no-oid'), opts())), 'oid');
  // An intermediate that is not a CA.
  assert.equal(await reason(verifyPaymentToken(resigned(gala.json, 'leaf-inter-not-ca', 'inter-not-ca'), opts())), 'chain');
  // The leaf without its intermediate in the signature.
  assert.equal(await reason(verifyPaymentToken(resigned(gala.json, 'leaf-inter', 'inter-no-oid'), opts())), 'chain');
  // A signature over another token's content.
  const other = clone(good);
  paymentDataOf(other).signature = paymentDataOf(resigned(fixture('basistheory-ec-new').json, 'leaf-inter', 'inter')).signature!;
  assert.equal(await reason(verifyPaymentToken(other, opts())), 'signature');
});
