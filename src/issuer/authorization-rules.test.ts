import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fromHex } from '../protocol/bytes.js';
import { packSubelements, type IsoMessage } from '../protocol/iso8583/iso8583.js';
import { buildTlv, tlv } from '../protocol/tlv/tlv.js';
import { answer, authCode, cdcvmPerformed, expiryHasPassed, isContactless, keyOfOriginal, keyOfRequest, parseExpiry, tokenContext } from './authorization-rules.js';

const chip = (tags: Record<string, string>) => buildTlv(Object.entries(tags).map(([t, v]) => tlv(t, fromHex(v))));

describe('transaction key', () => {
  const original: IsoMessage = { mti: '0100', fields: { 7: '0615120000', 11: '000123', 32: '412345', 41: 'TERM0001' } };

  it('is DE32 zero-filled : DE11 : DE7 : DE41, and undefined without DE11, DE7 or DE41', () => {
    assert.equal(keyOfRequest(original), '00000412345:000123:0615120000:TERM0001');
    assert.equal(keyOfRequest({ mti: '0100', fields: { 7: '0615120000', 11: '000123', 41: 'TERM0001' } }), '00000000000:000123:0615120000:TERM0001');
    for (const n of [7, 11, 41]) {
      const fields = { ...original.fields };
      delete fields[n];
      assert.equal(keyOfRequest({ mti: '0100', fields }), undefined, `without DE ${n}`);
    }
  });

  it("a reversal's DE90 and DE41 name the same key; an all-zero acquirer id in DE90 takes DE32", () => {
    const de90 = `0100000123061512000000000412345${'0'.repeat(11)}`;
    assert.equal(keyOfOriginal({ mti: '0400', fields: { 7: '0615120005', 11: '000124', 32: '412345', 41: 'TERM0001', 90: de90 } }), keyOfRequest(original));
    const zeros = `01000001230615120000${'0'.repeat(22)}`;
    assert.equal(keyOfOriginal({ mti: '0400', fields: { 32: '412345', 41: 'TERM0001', 90: zeros } }), keyOfRequest(original));
    assert.equal(keyOfOriginal({ mti: '0400', fields: { 41: 'TERM0001', 90: `0200${de90.slice(4)}` } }), undefined, 'not a 0100');
    assert.equal(keyOfOriginal({ mti: '0400', fields: { 90: de90 } }), undefined, 'no DE41');
    assert.equal(keyOfOriginal({ mti: '0400', fields: { 41: 'TERM0001' } }), undefined, 'no DE90');
  });
});

describe('consumer-device CVM from DE55', () => {
  const visaCvr = (cvrByte2: string) => `060112 03${cvrByte2}0000`.replace(/ /g, '');
  it('Visa layout: the CVR inside 9F10 decides (bit 04 of CVR byte 2), whatever the CTQ says', () => {
    assert.equal(cdcvmPerformed('visa', chip({ '9F10': visaCvr('A4'), '9F6C': '0080' })), true);
    assert.equal(cdcvmPerformed('visa', chip({ '9F10': visaCvr('A4'), '9F6C': '0000' })), true);
    assert.equal(cdcvmPerformed('visa', chip({ '9F10': visaCvr('A0'), '9F6C': '0080' })), false, 'the covered CVR wins over the uncovered CTQ');
    assert.equal(cdcvmPerformed('amex', chip({ '9F10': visaCvr('A4') })), true);
    assert.equal(cdcvmPerformed('discover', chip({ '9F10': visaCvr('A0') })), false);
  });

  it('without a CVR of the layout: the CTQ (byte 2 bit 80)', () => {
    assert.equal(cdcvmPerformed('visa', chip({ '9F6C': '0080' })), true);
    assert.equal(cdcvmPerformed('visa', chip({ '9F6C': '0000' })), false);
    assert.equal(cdcvmPerformed('visa', chip({ '9F10': '', '9F6C': '0080' })), true);
    assert.equal(cdcvmPerformed('visa', chip({ '9F02': '000000001000' })), false);
  });

  it('Mastercard layout: CVR byte 1 with ARQC and bits 05; else the CVM results 01..02', () => {
    assert.equal(cdcvmPerformed('mastercard', chip({ '9F10': '0114A50000000000' + '0000' })), true);
    assert.equal(cdcvmPerformed('mastercard', chip({ '9F10': '0114A00000000000' + '0000' })), false);
    assert.equal(cdcvmPerformed('mastercard', chip({ '9F10': '0114850000000000' + '0000' })), false, 'AAC');
    assert.equal(cdcvmPerformed('mastercard', chip({ '9F34': '010002' })), true);
    assert.equal(cdcvmPerformed('mastercard', chip({ '9F34': '1F0002' })), false);
    assert.equal(cdcvmPerformed('mastercard', chip({ '9F34': '010001' })), false, 'failed');
  });

  it('no DE55, empty or unparseable DE55: no CDCVM', () => {
    assert.equal(cdcvmPerformed('visa', undefined), false);
    assert.equal(cdcvmPerformed('visa', new Uint8Array(0)), false);
    assert.equal(cdcvmPerformed('visa', Uint8Array.of(0x9f, 0x6c, 0x05, 0x00)), false);
  });
});

describe('small rules', () => {
  it('contactless is DE22 07x or 91x', () => {
    assert.equal(isContactless('071'), true);
    assert.equal(isContactless('911'), true);
    assert.equal(isContactless('051'), false);
    assert.equal(isContactless('812'), false);
    assert.equal(isContactless(undefined), false);
  });

  it('expiry YYMM: parsed, and good through the end of its month', () => {
    assert.deepEqual(parseExpiry('3012'), { month: 12, year: 2030 });
    assert.equal(parseExpiry('3013'), undefined);
    assert.equal(parseExpiry('3000'), undefined);
    assert.equal(parseExpiry(undefined), undefined);
    const now = new Date('2026-06-15T12:00:00Z');
    assert.equal(expiryHasPassed(6, 2026, now), false);
    assert.equal(expiryHasPassed(5, 2026, now), true);
    assert.equal(expiryHasPassed(1, 2027, now), false);
  });

  it('token context from DE48; a DE48 that does not parse is none', () => {
    const de48 = packSubelements({ '33': '4895370012345678', '36': 'V', '71': 'V' });
    assert.deepEqual(tokenContext({ mti: '0100', fields: { 48: de48 } }), { cryptogram: 'V', domain: 'V', tokenLast4: '5678' });
    assert.equal(tokenContext({ mti: '0100', fields: { 48: '36' } }), undefined);
    assert.equal(tokenContext({ mti: '0100', fields: {} }), undefined);
  });

  it('answers echo the keys and DE48, with DE38 only when given', () => {
    const req: IsoMessage = { mti: '0100', fields: { 2: '4111111111111111', 3: '000000', 4: '000000001000', 7: '0615120000', 11: '000001', 14: '3012', 22: '071', 37: '000000000001', 41: 'TERM0001', 42: 'MERCHANT0000001', 48: '3601V', 49: '840', 55: Uint8Array.of(1) } };
    const a = answer(req, '0110', '00', 'ABC123');
    assert.deepEqual(Object.keys(a.fields).map(Number), [2, 3, 4, 7, 11, 37, 38, 39, 41, 42, 48, 49]);
    assert.equal(a.fields[38], 'ABC123');
    const r = answer({ mti: '0400', fields: { ...req.fields, 90: '0'.repeat(42) } }, '0410', '00');
    assert.equal(r.fields[90], '0'.repeat(42));
    assert.equal(r.fields[48], undefined);
    assert.equal(r.fields[38], undefined);
  });

  it('approval codes are 6 characters of 0-9A-Z', () => {
    let i = 0;
    const code = authCode(() => i++ % 36);
    assert.equal(code, '012345');
    assert.match(authCode(() => 35), /^Z{6}$/);
  });
});
