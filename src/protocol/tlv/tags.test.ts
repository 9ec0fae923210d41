import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fromHex, toHex } from '../bytes.js';
import { parseTlv, buildTlv, findTag } from './tlv.js';
import { TAGS, tagName, maskTlv, isSensitiveTag } from './tags.js';

const hex = (h: string): Uint8Array => fromHex(h.replace(/\s+/g, ''));

test('dictionary: names, formats, sensitive tags', () => {
  assert.equal(tagName('9f26'), 'Application Cryptogram');
  assert.equal(tagName('DF7F'), 'Unknown');
  for (const t of ['5A', '57', '5F20', '5F24', '56', '9F6B', '9F1F', '9F20']) assert.ok(isSensitiveTag(t), t);
  for (const t of ['9F26', '82', '95', '9F02', '9F10', '5F34']) assert.ok(!isSensitiveTag(t), t);
  assert.equal(TAGS['9F02']!.format, 'n');
  assert.equal(TAGS['5A']!.format, 'cn');
  for (const t of ['4F', '50', '6F', '84', '87', '88', '8C', '8D', '8E', '94', '9F38', 'A5', 'BF0C', '61', '70', '77', '80',
    '9F4B', '9F66', '9F6C', '9F6E', '9F19', '9F24', '9F33', '9F34', '9F35', '9F39', '9F45', '9F4C', '9F21', '9F7C', '9F08',
    '9F09', '9F42', '9F07', '9F0D', '9F0E', '9F0F', '8F', '90', '92', '9F32', '9F46', '9F47', '9F48', '9F49', '9F4A', '9F5D',
    '9F5B', '9F71', '9F0A', '9F1A', '5F2A', '9A', '9C', '9F37', '9F36', '9F27', '9F10', '82', '57', '5A', '5F24', '5F34']) {
    assert.ok(TAGS[t], `missing ${t}`);
  }
});

test('maskTlv: PAN keeps first 6 / last 4, track 2 masks everything after D, others FF', () => {
  const input = hex(
    '70 3A 5A08 4761739001010119 5713 4761739001010119D25022013650000000000F 5F2003 414243 5F2403 250228 9F2608 CC297291B6D757E4 5F3401 00',
  );
  const masked = maskTlv(parseTlv(input));
  assert.equal(toHex(findTag(masked, '5A')!.value), '476173FFFFFF0119');
  assert.equal(toHex(findTag(masked, '57')!.value), '476173FFFFFF0119DFFFFFFFFFFFFFFFFFFFFF');
  assert.equal(toHex(findTag(masked, '5F20')!.value), 'FFFFFF');
  assert.equal(toHex(findTag(masked, '5F24')!.value), 'FFFFFF');
  assert.equal(toHex(findTag(masked, '9F26')!.value), 'CC297291B6D757E4');
  // The constructed parent is rebuilt from masked children: no digit of the middle survives.
  const rebuilt = toHex(buildTlv(masked));
  assert.equal(rebuilt.length, toHex(input).length);
  assert.doesNotMatch(rebuilt, /900101|D2502/);
  assert.match(toHex(masked[0]!.value), /476173FFFFFF0119/);
  // The input is untouched.
  assert.equal(toHex(findTag(parseTlv(input), '5A')!.value), '4761739001010119');
});

test('maskTlv: short numbers are masked completely, F-padded PANs keep the padding', () => {
  const [short] = maskTlv(parseTlv(hex('5A06 123456789012')));
  assert.equal(toHex(short!.value), 'FFFFFFFFFFFF');
  const [odd] = maskTlv(parseTlv(hex('5A08 476173900101011F')));
  assert.equal(toHex(odd!.value), '476173FFFFF1011F');
});

test('maskTlv: a constructed object that does not parse is masked completely', () => {
  const [opaque] = maskTlv(parseTlv(hex('7004 5A084761')));
  assert.equal(toHex(opaque!.value), 'FFFFFFFF');
});
