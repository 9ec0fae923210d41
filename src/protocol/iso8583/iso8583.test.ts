import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fromHex, toHex, utf8 } from '../bytes.js';
import { ProtocolError, MAX_INPUT_BYTES } from '../errors.js';
import {
  packMessage, unpackMessage, describeMessage, responseMti, frameMessage, unframeMessages,
  packSubelements, parseSubelements, maskPan, type IsoMessage,
} from './iso8583.js';
import { FIELDS, SUPPORTED_MTIS, DE48 } from './spec.js';

const hex = (h: string): Uint8Array => fromHex(h.replace(/\s+/g, ''));
const ascii = (s: string): string => toHex(utf8.encode(s));

/** An in-store contactless authorization request as the acquirer sends it (token in DE 2, chip data in DE 55). */
export const SAMPLE: IsoMessage = {
  mti: '0100',
  fields: {
    2: '4761739001010119',
    3: '000000',
    4: '000000001000',
    7: '0301120000',
    11: '000123',
    12: '130000',
    13: '0301',
    14: '2502',
    18: '5411',
    22: '071',
    23: '000',
    25: '00',
    32: '12345678',
    37: '306012000123',
    41: 'TERM0001',
    42: 'MERCHANT0000001',
    43: 'Tessera Coffee           Amsterdam    NL',
    49: '978',
    55: hex('9F2608CC297291B6D757E4 9F270180 9F360203 63 9F100706040A03A02000 820220 00 5F340100 9F02060000000010 00'),
  },
};

const expectCode = (fn: () => unknown, code: string, at?: string): void => {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof ProtocolError, 'a ProtocolError');
    assert.equal(err.code, code);
    if (at !== undefined) assert.equal(err.at, at);
    return true;
  });
};

test('packs MTI, binary bitmap and ASCII fields exactly as the profile says', () => {
  const bytes = packMessage({ mti: '0100', fields: { 3: '000000', 4: '000000001000', 11: '000123' } });
  assert.equal(toHex(bytes), ascii('0100') + '3020000000000000' + ascii('000000' + '000000001000' + '000123'));
  assert.deepEqual(unpackMessage(bytes), { mti: '0100', fields: { 3: '000000', 4: '000000001000', 11: '000123' } });
});

test('LLVAR and LLLVAR prefixes; DE 55 raw bytes counted in bytes', () => {
  const bytes = packMessage({ mti: '0200', fields: { 2: '4761739001010119', 48: '2603TSW', 55: hex('9F2701809F36020363') } });
  const body = toHex(bytes).slice(8 + 16);
  assert.equal(body, ascii('16') + ascii('4761739001010119') + ascii('007') + ascii('2603TSW') + ascii('009') + '9F2701809F36020363');
});

test('secondary bitmap only when a field above 64 is present', () => {
  const primaryOnly = packMessage({ mti: '0800', fields: { 7: '0301120000', 11: '000001' } });
  assert.equal(primaryOnly.length, 4 + 8 + 10 + 6);
  const withSecondary = packMessage({ mti: '0800', fields: { 7: '0301120000', 11: '000001', 70: '301' } });
  assert.equal(toHex(withSecondary.subarray(4, 20)), '82200000000000000400000000000000');
  assert.deepEqual(unpackMessage(withSecondary).fields, { 7: '0301120000', 11: '000001', 70: '301' });
  const mac = packMessage({ mti: '0810', fields: { 39: '00', 128: hex('0102030405060708') } });
  assert.equal(toHex(mac.subarray(mac.length - 8)), '0102030405060708');
  assert.equal(toHex(unpackMessage(mac).fields[128] as Uint8Array), '0102030405060708');
});

test('a present but empty secondary bitmap is accepted (other packers always send one)', () => {
  const bytes = hex(ascii('0800') + '8220000000000000' + '0000000000000000' + ascii('0301120000' + '000001'));
  assert.deepEqual(unpackMessage(bytes), { mti: '0800', fields: { 7: '0301120000', 11: '000001' } });
});

test('the sample authorization round-trips and describes with masking', () => {
  const bytes = packMessage(SAMPLE);
  const back = unpackMessage(bytes);
  assert.equal(toHex(packMessage(back)), toHex(bytes));
  assert.equal(toHex(back.fields[55] as Uint8Array), toHex(SAMPLE.fields[55] as Uint8Array));
  const described = describeMessage(back);
  assert.equal(described.mti, '0100');
  assert.equal(described.fields['2'], '476173******0119');
  assert.equal(described.fields['55'], toHex(SAMPLE.fields[55] as Uint8Array)); // no sensitive tags inside
  assert.equal(described.fields['4'], '000000001000');
  assert.deepEqual(Object.keys(described.fields).map(Number), Object.keys(SAMPLE.fields).map(Number));
  assert.equal(describeMessage(back, { unmasked: true }).fields['2'], '4761739001010119');
});

test('describe masks DE 35 and DE 52 fully, sensitive tags inside DE 55, and the token PAN in DE 48', () => {
  const msg: IsoMessage = {
    mti: '0100',
    fields: {
      35: '4761739001010119D25022013650000000000',
      48: packSubelements({ [DE48.TOKEN_PAN]: '4895370012345678', [DE48.WALLET_ID]: 'TSW' }),
      52: hex('0123456789ABCDEF'),
      55: hex('5A084761739001010119 9F360203 63'),
    },
  };
  const d = describeMessage(unpackMessage(packMessage(msg)));
  assert.equal(d.fields['35'], '*'.repeat(37));
  assert.equal(d.fields['52'], '*'.repeat(16));
  assert.equal(d.fields['55'], '5A08476173FFFFFF01199F36020363');
  assert.equal(d.fields['48'], '2603TSW3316489537******5678');
  const all = JSON.stringify(d);
  assert.doesNotMatch(all, /7390010101|0123456789ABCDEF|0012345678/);
  // DE 55 that does not parse as TLV is masked completely.
  assert.equal(describeMessage({ mti: '0100', fields: { 55: hex('9F2608AA') } }).fields['55'], '********');
});

test('pack validation: typed errors that name the DE, never the value', () => {
  expectCode(() => packMessage({ mti: '0101', fields: {} }), 'iso8583_bad_mti', 'MTI');
  expectCode(() => packMessage({ mti: '01000', fields: {} }), 'iso8583_bad_mti');
  expectCode(() => packMessage({ mti: '0100', fields: { 5: '000000001000' } }), 'iso8583_unknown_field', 'DE 5');
  expectCode(() => packMessage({ mti: '0100', fields: { 1: '00' } }), 'iso8583_unknown_field', 'DE 1');
  expectCode(() => packMessage({ mti: '0100', fields: { 4: '1000' } }), 'iso8583_bad_field', 'DE 4');
  expectCode(() => packMessage({ mti: '0100', fields: { 2: '4761-7390-0101-01' } }), 'iso8583_bad_field', 'DE 2');
  expectCode(() => packMessage({ mti: '0100', fields: { 2: '47617390010101191234' } }), 'iso8583_bad_field', 'DE 2');
  expectCode(() => packMessage({ mti: '0100', fields: { 55: '9F2701' } }), 'iso8583_bad_field', 'DE 55');
  expectCode(() => packMessage({ mti: '0100', fields: { 3: hex('000000') } }), 'iso8583_bad_field', 'DE 3');
  expectCode(() => packMessage({ mti: '0100', fields: { 55: new Uint8Array(256) } }), 'iso8583_bad_field', 'DE 55');
  expectCode(() => packMessage({ mti: '0100', fields: { 41: 'TERMé001' } }), 'iso8583_bad_field', 'DE 41');
  expectCode(() => packMessage({ mti: '0100', fields: { 39: '0!' } }), 'iso8583_bad_field', 'DE 39');
  try {
    packMessage({ mti: '0100', fields: { 2: '4761739001010119X' } });
  } catch (err) {
    assert.ok(err instanceof ProtocolError);
    assert.doesNotMatch(err.message, /4761/);
  }
});

test('unpack validation: truncation, bad prefixes, unknown bits, trailing bytes', () => {
  const good = packMessage(SAMPLE);
  expectCode(() => unpackMessage(good.subarray(0, 10)), 'iso8583_truncated');
  expectCode(() => unpackMessage(good.subarray(0, good.length - 1)), 'iso8583_truncated', 'DE 55');
  expectCode(() => unpackMessage(hex(ascii('0100') + '4000000000000000' + ascii('1X4761'))), 'iso8583_bad_field', 'DE 2');
  expectCode(() => unpackMessage(hex(ascii('0100') + '4000000000000000' + ascii('204761739001010119123'))), 'iso8583_bad_field', 'DE 2');
  expectCode(() => unpackMessage(hex(ascii('0100') + '0800000000000000' + ascii('1000'))), 'iso8583_unknown_field', 'DE 5');
  expectCode(() => unpackMessage(hex(ascii('0100') + '8000000000000000' + '8000000000000000')), 'iso8583_unknown_field', 'DE 65');
  expectCode(() => unpackMessage(hex(ascii('0100') + '8000000000000000')), 'iso8583_truncated', 'bitmap');
  expectCode(() => unpackMessage(hex(ascii('0100') + '2000000000000000' + ascii('00000A'))), 'iso8583_bad_field', 'DE 3');
  expectCode(() => unpackMessage(hex(ascii('0500') + '2000000000000000' + ascii('000000'))), 'iso8583_bad_mti');
  expectCode(() => unpackMessage(hex(toHex(good) + '00')), 'iso8583_trailing_data');
  expectCode(() => unpackMessage(new Uint8Array(MAX_INPUT_BYTES + 1)), 'input_too_large');
});

test('responseMti and supported MTIs', () => {
  assert.equal(responseMti('0100'), '0110');
  assert.equal(responseMti('0120'), '0130');
  assert.equal(responseMti('0200'), '0210');
  assert.equal(responseMti('0400'), '0410');
  assert.equal(responseMti('0420'), '0430');
  assert.equal(responseMti('0800'), '0810');
  expectCode(() => responseMti('0110'), 'iso8583_bad_mti');
  assert.deepEqual([...SUPPORTED_MTIS].sort(), ['0100', '0110', '0120', '0130', '0200', '0210', '0400', '0410', '0420', '0430', '0800', '0810']);
  for (const de of [2, 3, 4, 7, 11, 12, 13, 14, 18, 22, 23, 25, 37, 38, 39, 41, 42, 43, 49, 52, 55, 90]) assert.ok(FIELDS[de], `DE ${de}`);
});

test('stream framing: 2-byte big-endian length, partial frames kept, keep-alives skipped', () => {
  const a = packMessage(SAMPLE);
  const b = packMessage({ mti: '0800', fields: { 70: '301' } });
  const framed = frameMessage(a);
  assert.equal((framed[0]! << 8) | framed[1]!, a.length);
  const stream = new Uint8Array([...framed, 0, 0, ...frameMessage(b)]);
  const whole = unframeMessages(stream);
  assert.equal(whole.messages.length, 2);
  assert.equal(toHex(whole.messages[1]!), toHex(b));
  assert.equal(whole.rest.length, 0);
  const partial = unframeMessages(stream.subarray(0, stream.length - 3));
  assert.equal(partial.messages.length, 1);
  assert.equal(partial.rest.length, b.length + 2 - 3);
  const resumed = unframeMessages(new Uint8Array([...partial.rest, ...stream.subarray(stream.length - 3)]));
  assert.equal(toHex(resumed.messages[0]!), toHex(b));
  expectCode(() => frameMessage(new Uint8Array(0x10000)), 'iso8583_too_long');
});

test('DE 48 subelements: pack ascending, parse back, errors', () => {
  const packed = packSubelements(new Map([['33', '4895370012345678'], ['26', 'TSW'], ['42', '05']]));
  assert.equal(packed, '2603TSW' + '33164895370012345678' + '420205');
  assert.deepEqual(parseSubelements(packed), new Map([['26', 'TSW'], ['33', '4895370012345678'], ['42', '05']]));
  assert.deepEqual(parseSubelements(''), new Map());
  expectCode(() => parseSubelements('2603TS'), 'iso8583_truncated');
  expectCode(() => parseSubelements('26'), 'iso8583_truncated');
  expectCode(() => parseSubelements('2A03TSW'), 'iso8583_bad_subelement');
  expectCode(() => parseSubelements('260XTSW'), 'iso8583_bad_subelement');
  expectCode(() => parseSubelements('2603TSW2603TSW'), 'iso8583_bad_subelement');
  expectCode(() => packSubelements({ '3': 'x' }), 'iso8583_bad_subelement');
  expectCode(() => packSubelements({ '33': 'x'.repeat(100) }), 'iso8583_bad_subelement');
  expectCode(() => packSubelements({ '33': 'ü' }), 'iso8583_bad_subelement');
  assert.equal(maskPan('4761739001010119'), '476173******0119');
  assert.equal(maskPan('123456789012'), '************');
});
