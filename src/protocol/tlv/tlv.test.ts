import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fromHex, toHex } from '../bytes.js';
import { ProtocolError, MAX_INPUT_BYTES } from '../errors.js';
import { parseTlv, buildTlv, tlv, findTag, tlvToMap, encodeLength, MAX_TLV_DEPTH, type TlvNode } from './tlv.js';

const hex = (h: string): Uint8Array => fromHex(h.replace(/\s+/g, ''));
const roundTrip = (h: string): void => {
  const input = hex(h);
  assert.equal(toHex(buildTlv(parseTlv(input))), toHex(input));
};
const rejects = (h: string | Uint8Array, code: string): void => {
  const input = typeof h === 'string' ? hex(h) : h;
  assert.throws(() => parseTlv(input), (err: unknown) => err instanceof ProtocolError && err.code === code);
};

test('primitive data objects: tag, length, value', () => {
  const nodes = parseTlv(hex('9F2608CC297291B6D757E4 9F270180 8202 2000'));
  assert.equal(nodes.length, 3);
  assert.deepEqual(
    nodes.map((n) => [n.tag, n.length, toHex(n.value)]),
    [['9F26', 8, 'CC297291B6D757E4'], ['9F27', 1, '80'], ['82', 2, '2000']],
  );
  assert.equal(nodes[0]!.children, undefined);
});

test('3-byte tags parse and round-trip; 4-byte tags are rejected', () => {
  const nodes = parseTlv(hex('DF810102ABCD 9F8101 01 00'));
  assert.deepEqual(nodes.map((n) => n.tag), ['DF8101', '9F8101']);
  assert.equal(toHex(nodes[0]!.value), 'ABCD');
  roundTrip('DF810102ABCD9F810100');
  rejects('DF81818101 00', 'tlv_bad_tag');
  assert.throws(() => buildTlv([{ tag: 'DF818181', length: 0, value: new Uint8Array(0) }]), { code: 'tlv_bad_tag' });
});

test('long lengths 81, 82, 83 and minimal re-encoding', () => {
  const v200 = 'AB'.repeat(200);
  const nodes = parseTlv(hex(`9F4681C8${v200}`));
  assert.equal(nodes[0]!.length, 200);
  roundTrip(`9F4681C8${v200}`);
  const v300 = '01'.repeat(300);
  assert.equal(parseTlv(hex(`90 82012C ${v300}`))[0]!.length, 300);
  roundTrip(`90 82012C ${v300}`);
  // The 83 form reads too (non-minimal here) and is what the encoder writes above 65535 bytes.
  assert.equal(toHex(encodeLength(70000)), '83011170');
  assert.equal(toHex(encodeLength(0x7f)), '7F');
  assert.equal(toHex(encodeLength(0x80)), '8180');
  assert.equal(toHex(encodeLength(0x100)), '820100');
  assert.equal(parseTlv(hex(`C1 83000003 AABBCC`))[0]!.length, 3);
  // Non-minimal lengths are accepted and re-encoded minimally.
  assert.equal(toHex(buildTlv(parseTlv(hex('5A 8102 1234')))), '5A021234');
});

test('bad lengths: indefinite and longer than 3 bytes are typed errors', () => {
  rejects('6F80 0000', 'tlv_bad_length');
  rejects('5A84 00000001 00', 'tlv_bad_length');
});

test('truncation anywhere is tlv_truncated and the message carries no value', () => {
  rejects('9F', 'tlv_truncated');
  rejects('9F26', 'tlv_truncated');
  rejects('9F2608CC2972', 'tlv_truncated');
  rejects('9F4681', 'tlv_truncated');
  rejects('9F468201', 'tlv_truncated');
  rejects('5A0847617390010101', 'tlv_truncated');
  try {
    parseTlv(hex('5A0847617390010101'));
    assert.fail('expected an error');
  } catch (err) {
    assert.ok(err instanceof ProtocolError);
    assert.doesNotMatch(err.message, /4761|7390|0101/);
    assert.match(err.message, /5A/);
  }
});

test('constructed data objects get children and keep their value', () => {
  const input = '6F1A 840E325041592E5359532E4444463031 A508 BF0C05 61034F0100';
  const nodes = parseTlv(hex(input));
  const fci = nodes[0]!;
  assert.equal(fci.tag, '6F');
  assert.equal(toHex(fci.value), input.replace(/\s+/g, '').slice(4));
  assert.deepEqual(fci.children!.map((c) => c.tag), ['84', 'A5']);
  const entry = findTag(nodes, '61')!;
  assert.deepEqual(entry.children!.map((c) => c.tag), ['4F']);
  roundTrip(input);
});

test('a constructed tag whose value is not TLV keeps the raw value and round-trips', () => {
  const nodes = parseTlv(hex('E103 9F0201'));
  assert.equal(nodes[0]!.children, undefined);
  assert.equal(toHex(nodes[0]!.value), '9F0201');
  roundTrip('E1039F0201');
});

test('00 and FF padding between data objects is skipped', () => {
  const nodes = parseTlv(hex('00 00 8A023030 FF FF 9F360201 00'));
  assert.deepEqual(nodes.map((n) => n.tag), ['8A', '9F36']);
  const nested = parseTlv(hex('7006 00 5F340101 00'));
  assert.deepEqual(nested[0]!.children!.map((n) => n.tag), ['5F34']);
  assert.deepEqual(parseTlv(hex('0000FFFF')), []);
});

test('unknown tags (and proprietary DF tags) are kept through a round trip', () => {
  const input = 'DF7F03010203 9F7E0100 BF6304DF200180 5F5502AABB';
  const nodes = parseTlv(hex(input));
  assert.deepEqual(nodes.map((n) => n.tag), ['DF7F', '9F7E', 'BF63', '5F55']);
  assert.equal(toHex(findTag(nodes, 'df20')!.value), '80');
  roundTrip(input);
});

test('nesting deeper than the cap is rejected', () => {
  let inner = hex('8001AA');
  for (let d = 0; d < MAX_TLV_DEPTH - 1; d++) inner = buildTlv([{ tag: 'E1', length: 0, value: inner }]);
  assert.equal(parseTlv(inner).length, 1); // exactly at the cap
  const deeper = buildTlv([{ tag: 'E1', length: 0, value: inner }]);
  rejects(deeper, 'tlv_too_deep');
});

test('inputs above 64 KiB are rejected with input_too_large', () => {
  rejects(new Uint8Array(MAX_INPUT_BYTES + 1), 'input_too_large');
  assert.deepEqual(parseTlv(new Uint8Array(MAX_INPUT_BYTES)), []); // all 00 padding
});

test('tlv() builds primitive and constructed nodes; buildTlv ignores stale lengths', () => {
  const node = tlv('77', [tlv('9f27', Uint8Array.of(0x80)), tlv('9F36', hex('0363'))]);
  assert.equal(node.tag, '77');
  assert.equal(node.length, 9);
  assert.equal(toHex(buildTlv([node])), '77099F2701809F36020363');
  const stale: TlvNode = { tag: '82', length: 99, value: hex('1980') };
  assert.equal(toHex(buildTlv([stale])), '82021980');
  assert.throws(() => tlv('GG', new Uint8Array(0)), { code: 'tlv_bad_tag' });
  assert.throws(() => tlv('1F', new Uint8Array(0)), { code: 'tlv_bad_tag' });
  assert.throws(() => tlv('9F80', new Uint8Array(0)), { code: 'tlv_bad_tag' });
});

test('findTag is depth-first and tlvToMap flattens primitives, first wins', () => {
  const nodes = parseTlv(hex('70 0B 5F340101 A505 5F340102 00 5F340103'));
  assert.equal(toHex(findTag(nodes, '5F34')!.value), '01');
  assert.equal(findTag(nodes, '9F26'), undefined);
  const map = tlvToMap(nodes);
  assert.equal(toHex(map.get('5F34')!), '01');
  assert.equal(map.has('70'), false);
  assert.equal(map.has('A5'), false);
});
