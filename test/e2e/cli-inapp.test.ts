import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fromBase64, signedContent, type PaymentData } from '../../src/protocol/paytoken/index.js';

interface BasisTheory {
  ApplePaymentTokenContext: new (options: { merchants: Array<{ certificatePem: Buffer; privateKeyPem: Buffer }> }) => { decrypt(paymentData: unknown): Record<string, unknown> };
}
/** A decrypter written by others for real Apple Pay tokens. */
const basisTheory = createRequire(import.meta.url)('@basis-theory/apple-pay-js') as BasisTheory;

/** `openssl cms -verify` over the detached signed content, trusting only the written root-ca.pem. */
function opensslVerify(out: string, paymentData: PaymentData, root: string): { status: number | null; text: string } {
  const sig = join(out, 'signature.der');
  const content = join(out, 'content.bin');
  writeFileSync(sig, fromBase64(paymentData.signature));
  writeFileSync(content, signedContent(paymentData));
  const r = spawnSync('/usr/bin/openssl', ['cms', '-verify', '-inform', 'DER', '-in', sig, '-binary', '-content', content, '-CAfile', root, '-out', '/dev/null'], { encoding: 'utf8' });
  return { status: r.status, text: `${r.stdout}${r.stderr}` };
}

/** `tessera applepay token` then `tessera applepay decrypt` on what it wrote, as a user runs them (separate processes). */
function tessera(args: string[]) {
  return spawnSync(process.execPath, ['bin/tessera.js', ...args], { encoding: 'utf8', timeout: 600_000, env: { ...process.env, DATABASE_URL: '', REDIS_URL: '' } });
}

describe('tessera applepay token', () => {
  it('writes a token that applepay decrypt verifies against the written root, for an RSA merchant too', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tessera-applepay-'));
    try {
      for (const [network, rsa, amount, cents] of [['amex', false, '10.00', 1000], ['visa', true, '7.25', 725]] as const) {
        const out = join(dir, network);
        const r = tessera(['applepay', 'token', '--out', out, '--network', network, '--amount', amount, '--merchant-id', `merchant.dev.tessera.clitest.${network}`, ...(rsa ? ['--rsa'] : [])]);
        assert.equal(r.status, 0, r.stdout + r.stderr);
        assert.match(r.stdout, /merchant validation over mutual TLS/);
        const token = JSON.parse(readFileSync(join(out, 'token.json'), 'utf8')) as { paymentData: { version: string }; transactionIdentifier: string };
        assert.equal(token.paymentData.version, rsa ? 'RSA_v1' : 'EC_v1');
        assert.equal(statSync(join(out, 'merchant-key.pem')).mode & 0o077, 0, 'the private key is not readable by others');
        const d = tessera(['applepay', 'decrypt', '--token', join(out, 'token.json'), '--cert', join(out, 'merchant-cert.pem'), '--key', join(out, 'merchant-key.pem'), '--root', join(out, 'root-ca.pem'), '--merchant-id', `merchant.dev.tessera.clitest.${network}`]);
        assert.equal(d.status, 0, d.stdout + d.stderr);
        const payload = JSON.parse(d.stdout) as { transactionAmount: number; paymentDataType: string; paymentData: { onlinePaymentCryptogram: string; eciIndicator?: string } };
        assert.equal(payload.transactionAmount, cents);
        assert.equal(payload.paymentDataType, '3DSecure');
        assert.equal(Buffer.from(payload.paymentData.onlinePaymentCryptogram, 'base64').length, 20);
        assert.equal(payload.paymentData.eciIndicator, '5');
        // Independent checks of the very files the command wrote: OpenSSL verifies the signature against
        // root-ca.pem (and refuses it against another root), Basis Theory's decrypter gets the same payload.
        const written = JSON.parse(readFileSync(join(out, 'token.json'), 'utf8')) as { paymentData: PaymentData };
        const ssl = opensslVerify(out, written.paymentData, join(out, 'root-ca.pem'));
        assert.equal(ssl.status, 0, ssl.text);
        const otherRoot = opensslVerify(out, written.paymentData, join(out, 'merchant-cert.pem'));
        assert.notEqual(otherRoot.status, 0, 'a root the token does not chain to is refused');
        const bt = new basisTheory.ApplePaymentTokenContext({ merchants: [{ certificatePem: readFileSync(join(out, 'merchant-cert.pem')), privateKeyPem: readFileSync(join(out, 'merchant-key.pem')) }] });
        assert.deepEqual(bt.decrypt(written.paymentData), payload);
        // Another merchant's identifier: refused (exit 1).
        const wrong = tessera(['applepay', 'decrypt', '--token', join(out, 'token.json'), '--cert', join(out, 'merchant-cert.pem'), '--key', join(out, 'merchant-key.pem'), '--root', join(out, 'root-ca.pem'), '--merchant-id', 'merchant.dev.other']);
        assert.equal(wrong.status, 1, wrong.stdout + wrong.stderr);
      }
      const bad = tessera(['applepay', 'token', '--out', join(dir, 'x'), '--network', 'diners']);
      assert.equal(bad.status, 2);
      assert.match(bad.stderr, /--network/);
      const noOut = tessera(['applepay', 'token']);
      assert.equal(noOut.status, 2);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('bench inapp: the last line is the JSON summary with approvals', () => {
    const r = spawnSync(process.execPath, ['bin/tessera.js', 'bench', 'inapp', '--duration', '3', '--concurrency', '2'], { encoding: 'utf8', timeout: 600_000, env: { ...process.env, DATABASE_URL: '', REDIS_URL: '' } });
    assert.equal(r.status, 0, r.stdout + r.stderr);
    const summary = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { scenario: string; ok: number; failed: number; rps: number; p50_ms: number; p99_ms: number };
    assert.equal(summary.scenario, 'inapp');
    assert.ok(summary.ok > 0);
    assert.equal(summary.failed, 0);
    assert.ok(summary.p99_ms >= summary.p50_ms);
  });
});
