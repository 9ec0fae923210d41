import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { APPLE_ROOT_PATH, DECRYPTABLE, fixture, flipBase64, type Fixture } from '../../merchant/sdk/fixtures.test-helper.js';

const BIN = fileURLToPath(new URL('../../../bin/tessera.js', import.meta.url));

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

let tmp = '';
/** A data dir without pki/root-ca.pem, and one with the Apple root installed as the platform root. */
let emptyDataDir = '';
let appleDataDir = '';

before(() => {
  tmp = mkdtempSync(join(tmpdir(), 'tessera-applepay-cli-'));
  emptyDataDir = join(tmp, 'empty');
  appleDataDir = join(tmp, 'apple');
  mkdirSync(emptyDataDir);
  mkdirSync(join(appleDataDir, 'pki'), { recursive: true });
  copyFileSync(APPLE_ROOT_PATH, join(appleDataDir, 'pki', 'root-ca.pem'));
});
after(() => {
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

function tessera(args: string[], dataDir = emptyDataDir): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, 'applepay', ...args], { timeout: 600_000, env: { ...process.env, TESSERA_DATA_DIR: dataDir } }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

const keyArgs = (f: Fixture) => ['--cert', f.certificatePath!, '--key', f.keyPath!];
const decryptArgs = (f: Fixture, token = f.tokenPath) => ['decrypt', '--token', token, ...keyArgs(f), '--root', APPLE_ROOT_PATH, '--at', f.signingTime.toISOString()];

function tempFile(name: string, content: string | object): string {
  const path = join(tmp, name);
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
  return path;
}

for (const f of DECRYPTABLE) {
  test(`applepay decrypt ${f.name} with the Apple root at its signingTime: the published payload, pretty, exit 0`, async () => {
    const r = await tessera(decryptArgs(f));
    assert.equal(r.stderr, '');
    assert.equal(r.code, 0);
    assert.deepEqual(JSON.parse(r.stdout), f.expected);
    assert.equal(r.stdout, `${JSON.stringify(f.expected, null, 2)}\n`);
  });
}

test('applepay decrypt: rejections are one line naming the reason, exit 1', async () => {
  const gala = fixture('gala-mastercard');
  const oldF = fixture('basistheory-ec-old');
  const newF = fixture('basistheory-ec-new');
  const rsa = fixture('basistheory-rsa');
  const tampered = tempFile('tampered.json', flipBase64(gala.json, 'data', 20));
  const cases: Array<[string[], RegExp]> = [
    // Today's date: the fixture certificates have expired.
    [['decrypt', '--token', gala.tokenPath, ...keyArgs(gala), '--root', APPLE_ROOT_PATH], /^expired: /],
    [['decrypt', '--token', rsa.tokenPath, ...keyArgs(rsa), '--root', APPLE_ROOT_PATH], /^expired: /],
    // Rotation: the old token, only the new key.
    [[...decryptArgs(oldF).slice(0, 3), ...keyArgs(newF), '--root', APPLE_ROOT_PATH, '--at', oldF.signingTime.toISOString()], /^key mismatch: /],
    [decryptArgs(gala, tampered), /^signature: /],
    // Outside the 5-minute window.
    [[...decryptArgs(gala).slice(0, -1), new Date(gala.signingTime.getTime() + 600_000).toISOString()], /^signing time: /],
    // Wrong root.
    [['decrypt', '--token', gala.tokenPath, ...keyArgs(gala), '--root', gala.certificatePath!, '--at', gala.signingTime.toISOString()], /^chain: /],
    // The certificate is not for this merchant identifier.
    [[...decryptArgs(gala), '--merchant-id', 'merchant.someone.else'], /^key mismatch: /],
    // Not a payment token.
    [['decrypt', '--token', tempFile('notatoken.json', { hello: 'world' }), ...keyArgs(gala), '--root', APPLE_ROOT_PATH], /^malformed: /],
    [['decrypt', '--token', tempFile('v2.json', { ...gala.json, version: 'EC_v2' }), ...keyArgs(gala), '--root', APPLE_ROOT_PATH], /^unsupported: /],
  ];
  const runs = await Promise.all(cases.map(([args]) => tessera(args)));
  runs.forEach((r, i) => {
    const [args, pattern] = cases[i]!;
    assert.equal(r.code, 1, `${args.join(' ')}: ${r.stdout}${r.stderr}`);
    assert.match(r.stdout, pattern);
    assert.equal(r.stdout.split('\n').length, 2, 'one line');
    assert.equal(r.stderr, '');
    assert.ok(!r.stdout.includes('5353756319181169') && !r.stdout.includes('4784000000380075'));
  });
});

test('applepay decrypt --merchant-id matching the certificate: exit 0', async () => {
  const f = fixture('basistheory-ec-new');
  const r = await tessera([...decryptArgs(f), '--merchant-id', 'merchant.basistheory.sales']);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.deepEqual(JSON.parse(r.stdout), f.expected);
});

test('applepay decrypt: the platform root in <data dir>/pki/root-ca.pem is the default; without it, chain and a hint to pass --root', async () => {
  const f = fixture('basistheory-ec-new');
  const withoutRoot = ['decrypt', '--token', f.tokenPath, ...keyArgs(f), '--at', f.signingTime.toISOString()];
  const [platform, missing] = await Promise.all([tessera(withoutRoot, appleDataDir), tessera(withoutRoot, emptyDataDir)]);
  assert.equal(platform.code, 0, platform.stdout + platform.stderr);
  assert.deepEqual(JSON.parse(platform.stdout), f.expected);
  assert.equal(missing.code, 1);
  assert.match(missing.stdout, /^chain: .*root-ca\.pem.*--root/);
  assert.equal(missing.stdout.split('\n').length, 2);
});

test('applepay decrypt: several --cert/--key pairs (rotation); the token picks its key', async () => {
  const oldF = fixture('basistheory-ec-old');
  const newF = fixture('basistheory-ec-new');
  const r = await tessera(['decrypt', '--token', oldF.tokenPath, ...keyArgs(newF), ...keyArgs(oldF), '--root', APPLE_ROOT_PATH, '--at', oldF.signingTime.toISOString()]);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.deepEqual(JSON.parse(r.stdout), oldF.expected);
});

test('applepay: bad arguments and unreadable files are exit 2 with one line on stderr', async () => {
  const gala = fixture('gala-mastercard');
  const rsa = fixture('basistheory-rsa');
  const cases: string[][] = [
    [],
    ['frobnicate'],
    ['decrypt'],
    ['decrypt', '--token', gala.tokenPath, '--root', APPLE_ROOT_PATH],
    ['decrypt', '--token', gala.tokenPath, '--cert', gala.certificatePath!, '--root', APPLE_ROOT_PATH],
    ['decrypt', '--token', gala.tokenPath, ...keyArgs(gala), '--cert', rsa.certificatePath!, '--root', APPLE_ROOT_PATH],
    ['decrypt', '--token', join(tmp, 'does-not-exist.json'), ...keyArgs(gala), '--root', APPLE_ROOT_PATH],
    ['decrypt', '--token', gala.tokenPath, '--cert', join(tmp, 'nope.pem'), '--key', gala.keyPath!, '--root', APPLE_ROOT_PATH],
    ['decrypt', '--token', gala.tokenPath, ...keyArgs(gala), '--root', join(tmp, 'nope.pem')],
    ['decrypt', '--token', tempFile('notjson.json', '{"paymentData": '), ...keyArgs(gala), '--root', APPLE_ROOT_PATH],
    ['decrypt', '--token', gala.tokenPath, ...keyArgs(gala), '--root', APPLE_ROOT_PATH, '--at', 'yesterday'],
    ['decrypt', '--token', gala.tokenPath, ...keyArgs(gala), '--root', APPLE_ROOT_PATH, '--at', '2021-13-45T99:00:00Z'],
    ['decrypt', '--token', gala.tokenPath, '--cert', gala.certificatePath!, '--key', rsa.keyPath!, '--root', APPLE_ROOT_PATH],
    ['decrypt', '--token', gala.tokenPath, '--cert', APPLE_ROOT_PATH, '--key', gala.keyPath!, '--root', APPLE_ROOT_PATH],
    ['decrypt', '--token', gala.tokenPath, ...keyArgs(gala), '--root', gala.keyPath!],
    ['decrypt', '--token', gala.tokenPath, ...keyArgs(gala), '--bogus'],
    ['decrypt', 'extra', '--token', gala.tokenPath, ...keyArgs(gala)],
  ];
  const runs = await Promise.all(cases.map((args) => tessera(args)));
  runs.forEach((r, i) => {
    assert.equal(r.code, 2, `${cases[i]!.join(' ')}: ${r.stdout}${r.stderr}`);
    assert.equal(r.stdout, '');
    assert.equal(r.stderr.split('\n').length, 2, `one line: ${r.stderr}`);
    assert.match(r.stderr, /^tessera applepay: /);
  });
  const help = await tessera(['--help']);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /tessera applepay decrypt --token FILE --cert PEM --key PEM/);
});
