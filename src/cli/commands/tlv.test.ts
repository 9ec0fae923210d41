import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

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

// Mastercard PPSE answer from a real tap (see src/protocol/apdu/fixtures/real-taps.ts).
const PPSE = '6f3c840e325041592e5359532e4444463031a52abf0c2761254f07a000000004101050104465626974204d6173746572436172648701019f0a0400010101';

test('tessera tlv decode prints the tree as JSON', () => {
  const r = tessera('tlv', 'decode', PPSE);
  assert.equal(r.code, 0, r.stderr);
  const nodes = JSON.parse(r.stdout);
  assert.equal(nodes.length, 1);
  assert.deepEqual(Object.keys(nodes[0]), ['tag', 'name', 'length', 'value', 'children']);
  assert.equal(nodes[0].tag, '6F');
  assert.equal(nodes[0].name, 'File Control Information (FCI) Template');
  assert.equal(nodes[0].length, 60);
  assert.equal(nodes[0].value, PPSE.slice(4).toUpperCase());
  const entry = nodes[0].children[1].children[0].children[0];
  assert.equal(entry.tag, '61');
  assert.deepEqual(
    entry.children.map((c: { tag: string; value: string }) => [c.tag, c.value]),
    [['4F', 'A0000000041010'], ['50', '4465626974204D617374657243617264'], ['87', '01'], ['9F0A', '00010101']],
  );
  assert.equal(entry.children[0].children, undefined);
  assert.match(r.stdout, /\n {2}\{/); // pretty-printed
});

test('tessera tlv decode keeps unknown tags and names them Unknown', () => {
  const r = tessera('tlv', 'decode', 'DF7F020102');
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout), [{ tag: 'DF7F', name: 'Unknown', length: 2, value: '0102' }]);
});

test('tessera tlv: bad input is one line on stderr and exit 2, without echoing the value', () => {
  const truncated = tessera('tlv', 'decode', '5A0847617390010101');
  assertUsageFailure(truncated);
  assert.match(truncated.stderr, /truncated/);
  assert.doesNotMatch(truncated.stderr, /4761/);
  assertUsageFailure(tessera('tlv', 'decode', 'XYZ'));
  assertUsageFailure(tessera('tlv', 'decode'));
  assertUsageFailure(tessera('tlv', 'encode', '00'));
  assertUsageFailure(tessera('tlv', 'decode', '00', '--nope'));
});
