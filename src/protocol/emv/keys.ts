/**
 * EMV key derivation (EMV Book 2 annex A1.4, as summarised in docs/reference/emv-contactless.md):
 * ICC master keys from an issuer master key (option A), session keys (EMV common session key
 * derivation and Mastercard's own, R = ATC ‖ 0000 ‖ UN), key check values and odd parity.
 * Every derived key is returned with odd parity. Keys never reach an error message.
 */
import { ProtocolError } from '../errors.js';
import { concatBytes, fromHex } from '../bytes.js';
import { TripleDes, adjustOddParity, tripleDes, type TripleDesKey } from './primitives.js';

export { adjustOddParity, hasOddParity } from './primitives.js';

/** Validates a PAN (1–19 digits) and a PSN (0–99, as a number or one/two digit string; default 00). */
function normalise(pan: string, psn: string | number | undefined): { pan: string; psn: string } {
  if (!/^\d{1,19}$/.test(pan)) throw new ProtocolError('emv_bad_pan', 'PAN must be 1 to 19 digits');
  let p: string;
  if (psn === undefined) p = '00';
  else if (typeof psn === 'number') {
    if (!Number.isInteger(psn) || psn < 0 || psn > 99) throw new ProtocolError('emv_bad_psn', 'PSN must be 0 to 99');
    p = String(psn).padStart(2, '0');
  } else {
    if (!/^\d{1,2}$/.test(psn)) throw new ProtocolError('emv_bad_psn', 'PSN must be 1 or 2 digits');
    p = psn.padStart(2, '0');
  }
  return { pan, psn: p };
}

/**
 * Option A's Y: the rightmost 16 digits of PAN ‖ PSN, left-padded with zeros when shorter, as 8 BCD bytes.
 */
export function optionAInput(pan: string, psn?: string | number): Uint8Array {
  const n = normalise(pan, psn);
  return fromHex((n.pan + n.psn).slice(-16).padStart(16, '0'));
}

/**
 * ICC master key, option A: MK = 3DES(IMK, Y) ‖ 3DES(IMK, Y xor FF..FF), odd parity.
 * `imk` may be a prepared TripleDes, so a network deriving many cards' keys schedules the IMK once.
 */
export function deriveIccMasterKeyA(imk: TripleDesKey, pan: string, psn?: string | number): Uint8Array {
  checkDoubleLength(imk, 'IMK');
  const y = optionAInput(pan, psn);
  const c = tripleDes(imk);
  const out = new Uint8Array(16);
  c.encryptInto(y, 0, out, 0);
  for (let i = 0; i < 8; i++) y[i]! ^= 0xff;
  c.encryptInto(y, 0, out, 8);
  return adjustOddParity(out);
}

/**
 * EMV common session key derivation with a given 8-byte R:
 * SK = 3DES(MK, R with byte 2 = F0) ‖ 3DES(MK, R with byte 2 = 0F), odd parity.
 */
export function deriveSessionKey(mk: TripleDesKey, r: Uint8Array): Uint8Array {
  checkDoubleLength(mk, 'MK');
  if (r.length !== 8) throw new ProtocolError('emv_bad_diversifier', 'session key diversifier R must be 8 bytes');
  const c = tripleDes(mk);
  const left = Uint8Array.from(r);
  left[2] = 0xf0;
  const right = Uint8Array.from(r);
  right[2] = 0x0f;
  const out = new Uint8Array(16);
  c.encryptInto(left, 0, out, 0);
  c.encryptInto(right, 0, out, 8);
  return adjustOddParity(out);
}

/** EMV common session key with R = ATC ‖ 000000000000 (Visa CVN 18/22, Mastercard CVN 20/21). */
export function deriveCommonSessionKey(mk: TripleDesKey, atc: Uint8Array): Uint8Array {
  checkLength(atc, 2, 'emv_bad_atc', 'ATC must be 2 bytes');
  return deriveSessionKey(mk, concatBytes(atc, new Uint8Array(6)));
}

/** Mastercard session key (CVN 16/17): R = ATC ‖ 0000 ‖ UN. */
export function deriveMastercardSessionKey(mk: TripleDesKey, atc: Uint8Array, un: Uint8Array): Uint8Array {
  checkLength(atc, 2, 'emv_bad_atc', 'ATC must be 2 bytes');
  checkLength(un, 4, 'emv_bad_un', 'unpredictable number must be 4 bytes');
  return deriveSessionKey(mk, concatBytes(atc, new Uint8Array(2), un));
}

/** Key check value: the first `length` (default 2) bytes of 3DES-ECB(key, 0000000000000000). */
export function keyCheckValue(key: TripleDesKey, length = 2): Uint8Array {
  if (!Number.isInteger(length) || length < 1 || length > 8) {
    throw new ProtocolError('emv_bad_kcv_length', 'KCV length must be 1 to 8 bytes');
  }
  return tripleDes(key).encryptBlock(new Uint8Array(8)).slice(0, length);
}

function checkDoubleLength(key: TripleDesKey, what: string): void {
  const length = key instanceof TripleDes ? key.keyLength : key.length;
  if (length !== 16) throw new ProtocolError('emv_bad_key_length', `${what} must be a 16-byte double-length key`);
}

function checkLength(bytes: Uint8Array, length: number, code: string, message: string): void {
  if (bytes.length !== length) throw new ProtocolError(code, message);
}
