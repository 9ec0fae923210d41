import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { buildTlv, tlv } from '../../protocol/tlv/tlv.js';
import { fromHex as h, toHex } from '../../protocol/bytes.js';
import { EMV_VECTORS as V } from '../../protocol/emv/test-vectors.js';

const BIN = fileURLToPath(new URL('../../../bin/tessera.js', import.meta.url));

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function tessera(...args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, 'emv', ...args], { timeout: 600_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

function icc(tags: Record<string, string>, extra: Record<string, string> = {}): string {
  return toHex(buildTlv(Object.entries({ ...tags, ...extra }).map(([tag, value]) => tlv(tag, h(value)))));
}

const CARD = ['--imk', V.imk, '--pan', V.pan, '--psn', V.psn];
const VISA10 = icc(V.visa.icc, { '9F10': V.visa.cvn10.iad });
const VISA18 = icc(V.visa.icc, { '9F10': V.visa.cvn18.iad });
const MC16 = icc(V.mastercard.icc, { '9F10': V.mastercard.cvn16.iad });
const MC20 = icc(V.mastercard.icc, { '9F10': V.mastercard.cvn20.iad });

async function ok(...args: string[]): Promise<string> {
  const r = await tessera(...args);
  assert.equal(r.stderr, '', `stderr for ${args[0]}`);
  assert.equal(r.code, 0);
  return r.stdout.trim();
}

test('emv keys reproduces MK, session keys and KCVs', async () => {
  const [plain, visa18, mc16, mc20, visa10] = await Promise.all([
    ok('keys', ...CARD),
    ok('keys', ...CARD, '--atc', V.atc, '--cvn', '18'),
    ok('keys', ...CARD, '--atc', V.atc, '--cvn', '16', '--un', V.mastercard.icc['9F37']),
    ok('keys', ...CARD, '--atc', '001c', '--cvn', '20'),
    ok('keys', ...CARD, '--atc', V.atc, '--cvn', '10'),
  ]);
  assert.deepEqual(JSON.parse(plain), { mk: V.mk, mkKcv: V.mkKcv });
  assert.deepEqual(JSON.parse(visa18), { mk: V.mk, mkKcv: V.mkKcv, sk: V.visa.cvn18.sk, skKcv: V.visa.cvn18.skKcv });
  assert.equal(JSON.parse(mc16).skKcv, V.mastercard.cvn16.skKcv);
  assert.equal(JSON.parse(mc20).skKcv, V.mastercard.cvn20.skKcv);
  assert.equal(JSON.parse(visa10).sk, V.mk); // CVN 10 uses the master key itself
});

test('emv arqc reproduces the Visa and Mastercard vectors', async () => {
  const results = await Promise.all([
    ok('arqc', '--cvn', '10', ...CARD, '--icc', VISA10),
    ok('arqc', '--cvn', '18', ...CARD, '--icc', VISA18),
    ok('arqc', '--cvn', '16', ...CARD, '--icc', MC16),
    ok('arqc', '--cvn', '20', ...CARD, '--icc', MC20.toLowerCase()),
  ]);
  assert.deepEqual(results, [V.visa.cvn10.arqc, V.visa.cvn18.arqc, V.mastercard.cvn16.arqc, V.mastercard.cvn20.arqc]);
});

test('emv arpc reproduces method 1 and method 2 vectors', async () => {
  const results = await Promise.all([
    ok('arpc', '--cvn', '10', ...CARD, '--icc', VISA10, '--arqc', V.visa.cvn10.arqc, '--arc', V.visa.cvn10.arc),
    ok('arpc', '--cvn', '18', ...CARD, '--icc', VISA18, '--arqc', V.visa.cvn18.arqc, '--arc', '0000', '--csu', V.visa.cvn18.csu),
    ok('arpc', '--cvn', '18', ...CARD, '--icc', VISA18, '--arqc', V.visa.cvn18.arqc, '--arc', '0000'),
    ok('arpc', '--cvn', '16', ...CARD, '--icc', MC16, '--arqc', V.mastercard.cvn16.arqc, '--arc', V.mastercard.arc),
    ok('arpc', '--cvn', '20', ...CARD, '--icc', MC20, '--arqc', V.mastercard.cvn20.arqc, '--arc', V.mastercard.arc),
  ]);
  assert.deepEqual(results, [V.visa.cvn10.arpc, V.visa.cvn18.arpc, V.visa.cvn18.arpc, V.mastercard.cvn16.arpc, V.mastercard.cvn20.arpc]);
});

test('emv verify: valid (exit 0) and invalid (exit 1)', async () => {
  const [valid18, valid16, invalid, wrongCard] = await Promise.all([
    tessera('verify', '--cvn', '18', ...CARD, '--icc', icc(V.visa.icc, { '9F10': V.visa.cvn18.iad, '9F26': V.visa.cvn18.arqc })),
    tessera('verify', '--cvn', '16', ...CARD, '--icc', icc(V.mastercard.icc, { '9F10': V.mastercard.cvn16.iad, '9F26': V.mastercard.cvn16.arqc })),
    tessera('verify', '--cvn', '18', ...CARD, '--icc', icc(V.visa.icc, { '9F10': V.visa.cvn18.iad, '9F26': '7A788EA6B8A3E734' })),
    tessera('verify', '--cvn', '18', '--imk', V.imk, '--pan', V.pan, '--psn', '01', '--icc', icc(V.visa.icc, { '9F10': V.visa.cvn18.iad, '9F26': V.visa.cvn18.arqc })),
  ]);
  assert.deepEqual([valid18.code, valid18.stdout, valid18.stderr], [0, 'valid\n', '']);
  assert.deepEqual([valid16.code, valid16.stdout], [0, 'valid\n']);
  assert.deepEqual([invalid.code, invalid.stdout, invalid.stderr], [1, 'invalid\n', '']);
  assert.deepEqual([wrongCard.code, wrongCard.stdout], [1, 'invalid\n']);
});

test('emv with Tessera\'s AES cryptogram (A1) reproduces its regression vector', async () => {
  const amex = icc(V.visa.icc, { '9F10': '0601A103A0B800' });
  const card = ['--imk', V.imk, '--pan', '378282246310005', '--psn', '00'];
  const [arqc, keys, verify] = await Promise.all([
    ok('arqc', '--cvn', 'A1', ...card, '--icc', amex),
    ok('keys', ...card, '--atc', V.atc, '--cvn', 'a1'),
    tessera('verify', '--cvn', 'A1', ...card, '--icc', icc(V.visa.icc, { '9F10': '0601A103A0B800', '9F26': '83950687EAC9FAAF' })),
  ]);
  assert.equal(arqc, '83950687EAC9FAAF');
  assert.deepEqual(JSON.parse(keys), { mk: '937D4F0B532FB8A847F94A012200C081', mkKcv: '7B08', sk: 'E395A8F5EC5080335A469067B9F78C5D', skKcv: 'B3A0' });
  assert.deepEqual([verify.code, verify.stdout], [0, 'valid\n']);
});

test('bad input: exit 2, one line on stderr, no key or PAN echoed', async () => {
  const cases: string[][] = [
    [],
    ['frobnicate'],
    ['keys', '--imk', V.imk.slice(0, 30), '--pan', V.pan, '--psn', '00'],
    ['keys', '--imk', V.imk, '--pan', '1234x', '--psn', '00'],
    ['keys', '--imk', V.imk, '--pan', V.pan, '--psn', '0'],
    ['keys', '--imk', V.imk, '--pan', V.pan],
    ['keys', ...CARD, '--atc', V.atc],
    ['keys', ...CARD, '--atc', V.atc, '--cvn', '16'],
    ['keys', ...CARD, '--bogus'],
    ['arqc', '--cvn', '11', ...CARD, '--icc', VISA18],
    ['arqc', '--cvn', '18', ...CARD],
    ['arqc', '--cvn', '18', ...CARD, '--icc', 'XYZ'],
    ['arqc', '--cvn', '18', ...CARD, '--icc', '9F0206000000'],
    ['arqc', '--cvn', '18', ...CARD, '--icc', icc(V.visa.icc)],
    ['arqc', '--cvn', '18', ...CARD, '--icc', VISA10],
    ['arpc', '--cvn', '16', ...CARD, '--icc', MC16, '--arqc', V.mastercard.cvn16.arqc],
    ['arpc', '--cvn', '16', ...CARD, '--icc', MC16, '--arqc', '00', '--arc', '0010'],
    ['verify', '--cvn', '18', ...CARD, '--icc', VISA18],
  ];
  const runs = await Promise.all(cases.map((args) => tessera(...args)));
  runs.forEach((r, i) => {
    const what = JSON.stringify(cases[i]!.slice(0, 3));
    assert.equal(r.code, 2, `exit code for ${what}: ${r.stderr}`);
    assert.equal(r.stdout, '', what);
    assert.match(r.stderr, /^tessera emv: [^\n]+\n$/, what);
    assert.ok(!r.stderr.includes(V.imk.slice(0, 16)) && !r.stderr.includes(V.pan), what);
  });
});
