import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fromHex as h, toHex } from '../bytes.js';
import { ProtocolError } from '../errors.js';
import { TripleDes } from '../crypto/des.js';
import {
  deriveCommonSessionKey,
  deriveIccMasterKeyA,
  deriveMastercardSessionKey,
  deriveSessionKey,
  hasOddParity,
  keyCheckValue,
  optionAInput,
} from './keys.js';
import { EMV_VECTORS as V } from './test-vectors.js';

test('ICC master key option A and its KCV (pyemv vector)', () => {
  const mk = deriveIccMasterKeyA(h(V.imk), V.pan, V.psn);
  assert.equal(toHex(mk), V.mk);
  assert.equal(toHex(keyCheckValue(mk)), V.mkKcv);
  assert.equal(hasOddParity(mk), true);
  // A prepared IMK, a numeric PSN and the default PSN give the same key.
  assert.equal(toHex(deriveIccMasterKeyA(new TripleDes(h(V.imk)), V.pan, 0)), V.mk);
  assert.equal(toHex(deriveIccMasterKeyA(h(V.imk), V.pan)), V.mk);
});

test('option A input: rightmost 16 digits of PAN ‖ PSN, left-padded with zeros', () => {
  assert.equal(toHex(optionAInput('1234567890123456', '00')), '3456789012345600');
  assert.equal(toHex(optionAInput('4761739001010010', '01')), '6173900101001001');
  assert.equal(toHex(optionAInput('1234567890123456789', '05')), '6789012345678905'); // 19 digits: leading ones dropped
  assert.equal(toHex(optionAInput('4000123412341', '1')), '0400012341234101'); // 13 digits + PSN 01 → 15 → padded
  assert.equal(toHex(optionAInput('12345678901234', 7)), '1234567890123407');
});

test('session keys: EMV common (R = ATC ‖ 0…0) and Mastercard (R = ATC ‖ 0000 ‖ UN)', () => {
  const mk = h(V.mk);
  assert.equal(toHex(deriveSessionKey(h(V.sessionKeyAlone.mk), h(V.sessionKeyAlone.r))), V.sessionKeyAlone.sk);
  assert.equal(toHex(deriveCommonSessionKey(h(V.sessionKeyAlone.mk), h('001C'))), V.sessionKeyAlone.sk);
  const visaSk = deriveCommonSessionKey(mk, h(V.atc));
  assert.equal(toHex(visaSk), V.visa.cvn18.sk);
  assert.equal(toHex(keyCheckValue(visaSk)), V.visa.cvn18.skKcv);
  const mcSk = deriveMastercardSessionKey(mk, h(V.atc), h(V.mastercard.icc['9F37']));
  assert.equal(toHex(keyCheckValue(mcSk)), V.mastercard.cvn16.skKcv);
  assert.equal(hasOddParity(visaSk) && hasOddParity(mcSk), true);
});

test('KCV: 3DES of zeros, first 2 bytes by default', () => {
  assert.equal(toHex(keyCheckValue(h(V.mk), 3)).slice(0, 4), V.mkKcv);
  assert.equal(keyCheckValue(h(V.mk), 8).length, 8);
  assert.throws(() => keyCheckValue(h(V.mk), 9), ProtocolError);
});

test('bad input is a typed error that echoes no key or PAN', () => {
  const noEcho = (code: string) => (err: unknown) =>
    err instanceof ProtocolError && err.code === code && !/0123|3456|FEDC/i.test(err.message);
  assert.throws(() => deriveIccMasterKeyA(h(V.imk).subarray(0, 8), V.pan), noEcho('emv_bad_key_length'));
  assert.throws(() => deriveIccMasterKeyA(h(V.imk), '12345678901234567890'), noEcho('emv_bad_pan'));
  assert.throws(() => deriveIccMasterKeyA(h(V.imk), '1234-5678'), noEcho('emv_bad_pan'));
  assert.throws(() => deriveIccMasterKeyA(h(V.imk), V.pan, '100'), noEcho('emv_bad_psn'));
  assert.throws(() => deriveIccMasterKeyA(h(V.imk), V.pan, 100), noEcho('emv_bad_psn'));
  assert.throws(() => deriveCommonSessionKey(h(V.mk), h('01')), noEcho('emv_bad_atc'));
  assert.throws(() => deriveMastercardSessionKey(h(V.mk), h('0001'), h('01')), noEcho('emv_bad_un'));
  assert.throws(() => deriveSessionKey(h(V.mk), h('00')), noEcho('emv_bad_diversifier'));
});
