import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { JsonlTraceSink, maskIsoHex } from '../../infra/trace.js';

const BIN = fileURLToPath(new URL('../../../bin/tessera.js', import.meta.url));

function tessera(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 600_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function assertUsageFailure(r: { code: number | null; stdout: string; stderr: string }): void {
  assert.equal(r.code, 2);
  assert.equal(r.stdout, '');
  assert.equal(r.stderr.trimEnd().split('\n').length, 1, 'one line on stderr');
}

const MESSAGE = {
  mti: '0100',
  fields: {
    '2': '4761739001010119',
    '3': '000000',
    '4': '000000001000',
    '11': '000123',
    '22': '071',
    '35': '4761739001010119D2502201',
    '41': 'TERM0001',
    '49': '978',
    '55': '5A0847617390010101199F2608CC297291B6D757E49F36020363',
    '128': '0102030405060708',
  },
};
// Independently computed: MTI, 16-byte bitmap (1 2 3 4 11 22 35 41 49 55 / 128), fields.
const ascii = (s: string) => Buffer.from(s, 'latin1').toString('hex').toUpperCase();
const EXPECTED_HEX =
  ascii('0100') +
  'F020040020808200' + '0000000000000001' +
  ascii('16' + '4761739001010119' + '000000' + '000000001000' + '000123' + '071' + '24' + '4761739001010119D2502201' + 'TERM0001' + '978') +
  ascii('026') + '5A0847617390010101199F2608CC297291B6D757E49F36020363' +
  '0102030405060708';

test('tessera iso8583 encode prints the packed message as upper-case hex', () => {
  const r = tessera('iso8583', 'encode', JSON.stringify(MESSAGE));
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, `${EXPECTED_HEX}\n`);
});

/** `{ "2": "..." }` of a decoded message: the values, without the names. */
function valuesOf(out: { fields: Record<string, { name: string; value: string }> }): Record<string, string> {
  return Object.fromEntries(Object.entries(out.fields).map(([n, f]) => [n, f.value]));
}

test('tessera iso8583 decode names each field and masks PAN, track 2 and sensitive DE 55 tags; --unmasked shows them', () => {
  const r = tessera('iso8583', 'decode', EXPECTED_HEX);
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  assert.equal(out.mti, '0100');
  assert.deepEqual(out.fields['2'], { name: 'primary account number', value: '476173******0119' });
  assert.deepEqual(out.fields['35'], { name: 'track 2 data', value: '*'.repeat(24) });
  assert.deepEqual(out.fields['55'], { name: 'ICC data', value: '5A08476173FFFFFF01199F2608CC297291B6D757E49F36020363' });
  assert.equal(out.fields['41'].name, 'card acceptor terminal id');
  assert.equal(out.fields['128'].value, '0102030405060708');
  assert.doesNotMatch(r.stdout, /7390010101/);
  const u = tessera('iso8583', 'decode', EXPECTED_HEX, '--unmasked');
  assert.equal(u.code, 0, u.stderr);
  const unmasked = JSON.parse(u.stdout);
  assert.deepEqual({ mti: unmasked.mti, fields: valuesOf(unmasked) }, MESSAGE);
});

test('tessera iso8583 decode shows the digits a trace masked as masked (a hex with * in DE 2 and DE 35), --unmasked too', () => {
  // What src/infra/trace.ts writes: the card number's middle digits replaced by '*' in place.
  const masked = maskIsoHex(Buffer.from(EXPECTED_HEX, 'hex'));
  assert.notEqual(masked, EXPECTED_HEX);
  for (const flags of [[], ['--unmasked']]) {
    const r = tessera('iso8583', 'decode', masked, ...flags);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    assert.equal(out.fields['2'].value, '476173******0119');
    assert.doesNotMatch(r.stdout, /7390010101/);
    assert.equal(out.fields['128'].value, '0102030405060708');
  }
});

test('tessera iso8583 decode --trace decodes every ISO 8583 message of a scenario trace, with who sent it', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-iso-trace-'));
  try {
    const file = join(dir, 'trace.jsonl');
    const sink = new JsonlTraceSink(file);
    sink.record({ ts: '2026-01-01T00:00:00.000Z', from: 'wallet', to: 'platform', protocol: 'http', json: { method: 'GET', path: '/platform/v1/cards' } });
    sink.record({ ts: '2026-01-01T00:00:01.000Z', from: 'terminal', to: 'acquirer', protocol: 'iso8583', hex: maskIsoHex(Buffer.from(EXPECTED_HEX, 'hex')) });
    const r = tessera('iso8583', 'decode', '--trace', file);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    assert.equal(out.length, 1);
    assert.equal(out[0].line, 2);
    assert.equal(out[0].from, 'terminal');
    assert.equal(out[0].to, 'acquirer');
    assert.equal(out[0].mti, '0100');
    assert.deepEqual(out[0].fields['2'], { name: 'primary account number', value: '476173******0119' });
    assert.doesNotMatch(r.stdout, /7390010101/);

    const empty = join(dir, 'empty.jsonl');
    writeFileSync(empty, '{"ts":"x","from":"a","to":"b","protocol":"http","json":{}}\n');
    assertUsageFailure(tessera('iso8583', 'decode', '--trace', empty));
    assertUsageFailure(tessera('iso8583', 'decode', '--trace', join(dir, 'missing.jsonl')));
    assertUsageFailure(tessera('iso8583', 'decode', EXPECTED_HEX, '--trace', file));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('tessera iso8583: decode --unmasked output encodes back to the same bytes', () => {
  const u = tessera('iso8583', 'decode', '--unmasked', EXPECTED_HEX);
  const again = tessera('iso8583', 'encode', u.stdout);
  assert.equal(again.code, 0, again.stderr);
  assert.equal(again.stdout.trim(), EXPECTED_HEX);
});

test('tessera iso8583: bad input is one line on stderr and exit 2, naming the DE but not the value', () => {
  const wrong = tessera('iso8583', 'encode', JSON.stringify({ mti: '0100', fields: { '2': '4761739001010119X' } }));
  assertUsageFailure(wrong);
  assert.match(wrong.stderr, /DE 2/);
  assert.doesNotMatch(wrong.stderr, /4761/);
  assertUsageFailure(tessera('iso8583', 'encode', '{not json'));
  assertUsageFailure(tessera('iso8583', 'encode', JSON.stringify({ mti: '0100', fields: { '5': '1' } })));
  assertUsageFailure(tessera('iso8583', 'encode', JSON.stringify({ mti: '9999', fields: {} })));
  assertUsageFailure(tessera('iso8583', 'decode', EXPECTED_HEX.slice(0, -4)));
  assertUsageFailure(tessera('iso8583', 'decode', 'nothex'));
  assertUsageFailure(tessera('iso8583', 'frobnicate', '00'));
  assertUsageFailure(tessera('iso8583'));
});
