import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fromHex, toHex } from '../bytes.js';
import { ProtocolError } from '../errors.js';
import { parseDol, buildDolData, splitDolData, fitDolValue } from './dol.js';

const hex = (h: string): Uint8Array => fromHex(h.replace(/\s+/g, ''));

const VISA_PDOL = '9F66049F02069F03069F1A0295055F2A029A039C019F3704';
const MC_CDOL1 = '9F02069F03069F1A0295055F2A029A039C019F37049F35019F45029F4C089F34039F21039F7C14';

test('parseDol reads tag + one-byte length pairs (Visa PDOL, Mastercard CDOL1)', () => {
  const pdol = parseDol(hex(VISA_PDOL));
  assert.deepEqual(
    pdol.map((e) => `${e.tag}:${e.length}`),
    ['9F66:4', '9F02:6', '9F03:6', '9F1A:2', '95:5', '5F2A:2', '9A:3', '9C:1', '9F37:4'],
  );
  assert.equal(pdol.reduce((s, e) => s + e.length, 0), 33);
  const cdol1 = parseDol(hex(MC_CDOL1));
  assert.equal(cdol1.length, 14);
  assert.equal(cdol1.reduce((s, e) => s + e.length, 0), 66);
  assert.deepEqual(parseDol(new Uint8Array(0)), []);
  assert.deepEqual(parseDol(hex('DF810103')), [{ tag: 'DF8101', length: 3 }]);
});

test('parseDol: truncated entries are typed errors', () => {
  for (const bad of ['9F66', '9F', '9F6604 9F02']) {
    assert.throws(() => parseDol(hex(bad)), (e: unknown) => e instanceof ProtocolError && e.code === 'tlv_truncated');
  }
});

test('buildDolData: exact values, missing values as zeros, Map or Record', () => {
  const dol = parseDol(hex(VISA_PDOL));
  const values = {
    '9F66': hex('A0000000'),
    '9F02': hex('000000001000'),
    '9f1a': hex('0978'), // lower-case key works too
    '95': hex('0000000000'),
    '5F2A': hex('0978'),
    '9A': hex('230301'),
    '9C': hex('00'),
    '9F37': hex('38393031'),
  };
  const data = buildDolData(dol, values);
  // The PDOL data of the logged Visa GPO command (9F03 missing → zeros).
  assert.equal(toHex(data), 'A0000000000000001000000000000000097800000000000978230301003839303100'.slice(0, 66));
  assert.equal(toHex(buildDolData(dol, new Map(Object.entries(values).map(([k, v]) => [k.toUpperCase(), v])))), toHex(data));
});

test('EMV fitting rules: n right-aligned, cn F-padded, others left-aligned', () => {
  // numeric: shorter → left zeros, longer → keep rightmost
  assert.equal(toHex(fitDolValue('9F02', hex('1000'), 6)), '000000001000');
  assert.equal(toHex(fitDolValue('9F02', hex('99000000001000'), 6)), '000000001000');
  // compressed numeric: shorter → trailing FF, longer → keep leftmost
  assert.equal(toHex(fitDolValue('5A', hex('4761739001'), 8)), '4761739001FFFFFF');
  assert.equal(toHex(fitDolValue('5A', hex('47617390010101190000'), 8)), '4761739001010119');
  // binary / text: shorter → trailing zeros, longer → keep leftmost
  assert.equal(toHex(fitDolValue('9F66', hex('A0'), 4)), 'A0000000');
  assert.equal(toHex(fitDolValue('9F7C', hex('0102030405'), 3)), '010203');
  assert.equal(toHex(fitDolValue('DF01', hex('0102'), 1)), '01'); // unknown tag: treated as binary
  assert.equal(toHex(fitDolValue('9F37', undefined, 4)), '00000000');
});

test('splitDolData is the inverse of buildDolData for exact-length values', () => {
  const dol = parseDol(hex(MC_CDOL1));
  const logged = hex(
    '000000001000000000000000097800000000000978230301003839303122000000000000000000000000001110090000000000000000000000000000000000000000',
  );
  const parts = splitDolData(dol, logged);
  assert.equal(toHex(parts.get('9F02')!), '000000001000');
  assert.equal(toHex(parts.get('9F37')!), '38393031');
  assert.equal(toHex(parts.get('9F35')!), '22');
  assert.equal(toHex(parts.get('9F21')!), '111009');
  assert.equal(toHex(buildDolData(dol, parts)), toHex(logged));
  assert.throws(() => splitDolData(dol, logged.subarray(1)), { code: 'dol_length_mismatch' });
});
