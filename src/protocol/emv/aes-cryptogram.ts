/**
 * Tessera's AES cryptogram, for networks whose real algorithm is not public (American Express,
 * Discover). THIS IS A TESSERA DESIGN, not a network specification; it follows the EMV pattern
 * (per-card master key, per-transaction session key, MAC over the transaction) with AES-CMAC
 * (NIST SP 800-38B) in place of 3DES and the retail MAC.
 *
 * Cryptogram version identifiers (Tessera-specific; the 9F10 CVN byte is the hex value):
 *   'A1' = Tessera AES cryptogram for American Express (9F10 CVN byte 0xA1)
 *   'D1' = Tessera AES cryptogram for Discover         (9F10 CVN byte 0xD1)
 *
 * 9F10 layout (as Visa's): length(1) ‖ DKI(1) ‖ CVN(1) ‖ CVR(4) [‖ more], at least 7 bytes.
 *
 * Keys (all AES-128 results; every derivation input is exactly one 16-byte block):
 *   IMK  issuer master key for AC, AES 16/24/32 bytes.
 *   MK   = AES-CMAC(IMK, "TMK" ‖ 01 ‖ len(PAN) ‖ BCD(PAN ‖ PSN) left-padded with 0 to 11 bytes)
 *          ("TMK" is ASCII 544D4B; 01 is the derivation version; len(PAN) one binary byte;
 *           PSN two digits, 00 when the card has none)
 *   SK   = AES-CMAC(MK, "TSK" ‖ CVN byte ‖ ATC(2) ‖ 00 × 10)   ("TSK" = 54534B)
 * Cryptograms:
 *   ARQC = leftmost 8 bytes of AES-CMAC(SK, 9F02 ‖ 9F03 ‖ 9F1A ‖ 95 ‖ 5F2A ‖ 9A ‖ 9C ‖ 9F37 ‖ 82 ‖ 9F36 ‖ 9F10)
 *          (the Visa CVN 18 data: the whole 9F10 value is covered)
 *   ARPC = leftmost 4 bytes of AES-CMAC(SK, ARQC ‖ CSU(4) ‖ proprietary data (0–8 bytes))
 *          (the ARPC method 2 pattern)
 *   KCV of an AES key = leftmost 2 bytes of AES-CMAC(key, 16 zero bytes) (X9.24-1:2017 style).
 *
 * Everything here is async: AES runs on WebCrypto. Verification compares in constant time.
 */
import { ProtocolError } from '../errors.js';
import { bytesEqual, concatBytes, fromHex } from '../bytes.js';
import { AesCmac, aesCmac } from './primitives.js';
import { assertCryptogramInput, commonData, type CryptogramInput } from './cryptogram.js';

export const AES_CVNS = ['A1', 'D1'] as const;
/** Tessera-specific AES cryptogram versions: 'A1' American Express, 'D1' Discover. */
export type AesCvn = (typeof AES_CVNS)[number];
export const AES_CVN_BYTE: Readonly<Record<AesCvn, number>> = { A1: 0xa1, D1: 0xd1 };
export const AES_CVN_NETWORK: Readonly<Record<AesCvn, 'amex' | 'discover'>> = { A1: 'amex', D1: 'discover' };

export function isAesCvn(value: unknown): value is AesCvn {
  return value === 'A1' || value === 'D1';
}

const MK_LABEL = [0x54, 0x4d, 0x4b, 0x01]; // "TMK" ‖ version 01
const SK_LABEL = [0x54, 0x53, 0x4b]; // "TSK"

/** AES ICC master key (16 bytes) for PAN and PSN under the AES IMK. */
export async function deriveAesIccMasterKey(imk: Uint8Array, pan: string, psn: string | number = '00'): Promise<Uint8Array> {
  if (!/^\d{1,19}$/.test(pan)) throw new ProtocolError('emv_bad_pan', 'PAN must be 1 to 19 digits');
  let p: string;
  if (typeof psn === 'number') {
    if (!Number.isInteger(psn) || psn < 0 || psn > 99) throw new ProtocolError('emv_bad_psn', 'PSN must be 0 to 99');
    p = String(psn).padStart(2, '0');
  } else {
    if (!/^\d{1,2}$/.test(psn)) throw new ProtocolError('emv_bad_psn', 'PSN must be 1 or 2 digits');
    p = psn.padStart(2, '0');
  }
  const block = concatBytes(Uint8Array.from(MK_LABEL), Uint8Array.of(pan.length), fromHex((pan + p).padStart(22, '0')));
  return aesCmac(imk, block);
}

/** AES session key (16 bytes) for the CVN and ATC under the AES ICC master key. */
export async function deriveAesSessionKey(cvn: AesCvn, mk: Uint8Array, atc: Uint8Array): Promise<Uint8Array> {
  checkCvn(cvn);
  checkMk(mk);
  if (atc.length !== 2) throw new ProtocolError('emv_bad_atc', 'ATC must be 2 bytes');
  const block = concatBytes(Uint8Array.from(SK_LABEL), Uint8Array.of(AES_CVN_BYTE[cvn]), atc, new Uint8Array(10));
  return aesCmac(mk, block);
}

/** Checks the Visa-style 9F10 (at least 7 bytes) and that its CVN byte is the CVN's. */
export function checkAesIad(cvn: AesCvn, iad: Uint8Array): void {
  checkCvn(cvn);
  if (iad.length < 7) throw new ProtocolError('emv_bad_iad', '9F10 must be at least 7 bytes', '9F10');
  if (iad[2] !== AES_CVN_BYTE[cvn]) throw new ProtocolError('emv_cvn_mismatch', `9F10 does not carry CVN ${cvn}`, '9F10');
}

/** The bytes the AES ARQC is a CMAC of. */
export function aesCryptogramData(cvn: AesCvn, input: CryptogramInput): Uint8Array {
  assertCryptogramInput(input);
  checkAesIad(cvn, input['9F10']);
  return concatBytes(commonData(input), input['9F10']);
}

/** The 8-byte ARQC under the AES ICC master key. */
export async function generateAesArqc(cvn: AesCvn, mk: Uint8Array, input: CryptogramInput): Promise<Uint8Array> {
  const data = aesCryptogramData(cvn, input);
  const sk = await deriveAesSessionKey(cvn, mk, input['9F36']);
  return (await aesCmac(sk, data)).slice(0, 8);
}

export async function verifyAesArqc(cvn: AesCvn, mk: Uint8Array, input: CryptogramInput, arqc: Uint8Array): Promise<boolean> {
  const expected = await generateAesArqc(cvn, mk, input);
  return arqc.length === 8 && bytesEqual(expected, arqc);
}

/** The 4-byte ARPC: CMAC(SK, ARQC ‖ CSU ‖ proprietary data). CSU defaults to 00000000. */
export async function generateAesArpc(
  cvn: AesCvn,
  mk: Uint8Array,
  input: Pick<CryptogramInput, '9F36'>,
  arqc: Uint8Array,
  csu: Uint8Array = new Uint8Array(4),
  proprietary: Uint8Array = new Uint8Array(0),
): Promise<Uint8Array> {
  if (arqc.length !== 8) throw new ProtocolError('emv_bad_arqc', 'ARQC must be 8 bytes');
  if (csu.length !== 4) throw new ProtocolError('emv_bad_csu', 'CSU must be 4 bytes');
  if (proprietary.length > 8) throw new ProtocolError('emv_bad_proprietary_data', 'proprietary authentication data must be at most 8 bytes');
  const sk = await deriveAesSessionKey(cvn, mk, input['9F36']);
  return (await aesCmac(sk, concatBytes(arqc, csu, proprietary))).slice(0, 4);
}

export async function verifyAesArpc(
  cvn: AesCvn,
  mk: Uint8Array,
  input: Pick<CryptogramInput, '9F36'>,
  arqc: Uint8Array,
  arpc: Uint8Array,
  csu?: Uint8Array,
  proprietary?: Uint8Array,
): Promise<boolean> {
  const expected = await generateAesArpc(cvn, mk, input, arqc, csu, proprietary);
  return arpc.length === 4 && bytesEqual(expected, arpc);
}

/** KCV of an AES key: leftmost `length` (default 2) bytes of AES-CMAC(key, 16 zero bytes). */
export async function aesKeyCheckValue(key: Uint8Array, length = 2): Promise<Uint8Array> {
  if (!Number.isInteger(length) || length < 1 || length > 16) {
    throw new ProtocolError('emv_bad_kcv_length', 'KCV length must be 1 to 16 bytes');
  }
  return (await (await AesCmac.create(key)).mac(new Uint8Array(16))).slice(0, length);
}

function checkCvn(cvn: AesCvn): void {
  if (!isAesCvn(cvn)) throw new ProtocolError('emv_unsupported_cvn', 'unsupported cryptogram version');
}

function checkMk(mk: Uint8Array): void {
  if (!(mk instanceof Uint8Array) || mk.length !== 16) throw new ProtocolError('emv_bad_key_length', 'AES MK must be 16 bytes');
}
