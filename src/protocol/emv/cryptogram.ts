/**
 * Application cryptograms (ARQC) and authorization response cryptograms (ARPC) for Visa CVN 10/18/22
 * and Mastercard CVN 16/17/20/21, per the data and issuer-application-data (9F10) layouts in
 * docs/reference/emv-contactless.md:
 *
 * | CVN | session key | data after 9F02…9F36 | MAC padding | ARPC |
 * |---|---|---|---|---|
 * | Visa 10 | MK itself | CVR (4) | 1 (zeros) | method 1, MK |
 * | Visa 18, 22 | common SK, R = ATC ‖ 0…0 | whole 9F10 | 2 (80 00…) | method 2, SK |
 * | Mastercard 16 | Mastercard SK, R = ATC ‖ 0000 ‖ UN | CVR (6) | 2 | method 1, MK |
 * | Mastercard 17 | Mastercard SK | CVR (6) ‖ counters (8) | 2 | method 1, MK |
 * | Mastercard 20 | common SK | CVR (6) | 2 | method 1, SK |
 * | Mastercard 21 | common SK | CVR (6) ‖ counters (8) | 2 | method 1, SK |
 *
 * 9F10 layouts: Visa = length(1) ‖ DKI(1) ‖ CVN(1) ‖ CVR(4) [‖ more];
 * Mastercard = DKI(1) ‖ CVN(1) ‖ CVR(6) ‖ DAC(2) [‖ counters(8)]. The CVN byte in 9F10 is the CVN
 * in hex (CVN 18 = 0x12) and must agree with the CVN asked for.
 *
 * `mk` everywhere is the 16-byte ICC master key (see keys.ts: deriveIccMasterKeyA). Verification
 * compares in constant time. Keys never reach an error message.
 */
import { ProtocolError } from '../errors.js';
import { bytesEqual, concatBytes } from '../bytes.js';
import { tripleDes, type TripleDesKey } from './primitives.js';
import { deriveCommonSessionKey, deriveMastercardSessionKey } from './keys.js';
import { RetailMac, type MacPadding } from './mac.js';

export const VISA_CVNS = [10, 18, 22] as const;
export const MASTERCARD_CVNS = [16, 17, 20, 21] as const;
export type VisaCvn = (typeof VISA_CVNS)[number];
export type MastercardCvn = (typeof MASTERCARD_CVNS)[number];
/** The cryptogram versions with a public (3DES) algorithm. */
export type Cvn = VisaCvn | MastercardCvn;
export const CVNS: readonly Cvn[] = [...VISA_CVNS, ...MASTERCARD_CVNS];

export function isCvn(value: unknown): value is Cvn {
  return typeof value === 'number' && (CVNS as readonly number[]).includes(value);
}

export function isVisaCvn(cvn: Cvn): cvn is VisaCvn {
  return cvn === 10 || cvn === 18 || cvn === 22;
}

/** The EMV tags a cryptogram is computed over, with their fixed lengths (9F10 varies: 1–32). */
export const CRYPTOGRAM_TAGS = ['9F02', '9F03', '9F1A', '95', '5F2A', '9A', '9C', '9F37', '82', '9F36', '9F10'] as const;
export type CryptogramTag = (typeof CRYPTOGRAM_TAGS)[number];
const FIXED_LENGTHS: Record<Exclude<CryptogramTag, '9F10'>, number> = {
  '9F02': 6, '9F03': 6, '9F1A': 2, '95': 5, '5F2A': 2, '9A': 3, '9C': 1, '9F37': 4, '82': 2, '9F36': 2,
};

/** Terminal and card data of one transaction, keyed by EMV tag (upper-case hex). */
export type CryptogramInput = { readonly [T in CryptogramTag]: Uint8Array };

/**
 * Picks and checks the cryptogram tags out of a tag map (e.g. tlvToMap of DE55 or of GENERATE AC's
 * answer) or a plain object; extra tags are ignored. Throws `emv_missing_tag` / `emv_bad_tag_length`.
 */
export function cryptogramInput(source: ReadonlyMap<string, Uint8Array> | Readonly<Record<string, Uint8Array | undefined>>): CryptogramInput {
  const get = (tag: string): Uint8Array | undefined =>
    source instanceof Map ? source.get(tag) : (source as Readonly<Record<string, Uint8Array | undefined>>)[tag];
  const out: Partial<Record<CryptogramTag, Uint8Array>> = {};
  for (const tag of CRYPTOGRAM_TAGS) {
    const value = get(tag);
    if (value === undefined) throw new ProtocolError('emv_missing_tag', `tag ${tag} is missing`, tag);
    checkTag(tag, value);
    out[tag] = value;
  }
  return out as CryptogramInput;
}

function checkTag(tag: CryptogramTag, value: Uint8Array): void {
  if (tag === '9F10') {
    if (value.length < 1 || value.length > 32) throw new ProtocolError('emv_bad_tag_length', 'tag 9F10 must be 1 to 32 bytes', tag);
  } else if (value.length !== FIXED_LENGTHS[tag]) {
    throw new ProtocolError('emv_bad_tag_length', `tag ${tag} must be ${FIXED_LENGTHS[tag]} bytes`, tag);
  }
}

/** Throws `emv_missing_tag` / `emv_bad_tag_length` unless every cryptogram tag is present with its length. */
export function assertCryptogramInput(input: CryptogramInput): void {
  for (const tag of CRYPTOGRAM_TAGS) {
    const value = (input as Partial<CryptogramInput>)[tag];
    if (!(value instanceof Uint8Array)) throw new ProtocolError('emv_missing_tag', `tag ${tag} is missing`, tag);
    checkTag(tag, value);
  }
}

/** The parts of 9F10 this project uses. */
export interface IssuerApplicationData {
  dki: number;
  /** The CVN byte, e.g. 0x12 for Visa CVN 18. */
  cvn: number;
  /** 4 bytes (Visa) or 6 bytes (Mastercard). */
  cvr: Uint8Array;
  /** Mastercard only. */
  dac?: Uint8Array;
  /** Mastercard CVN 17/21 only: 8 bytes. */
  counters?: Uint8Array;
}

/** Splits 9F10 per the layout of the CVN's network and checks its CVN byte. */
export function parseIad(cvn: Cvn, iad: Uint8Array): IssuerApplicationData {
  let parsed: IssuerApplicationData;
  if (isVisaCvn(cvn)) {
    if (iad.length < 7) throw new ProtocolError('emv_bad_iad', 'Visa 9F10 must be at least 7 bytes', '9F10');
    parsed = { dki: iad[1]!, cvn: iad[2]!, cvr: iad.slice(3, 7) };
  } else {
    const withCounters = cvn === 17 || cvn === 21;
    const need = withCounters ? 18 : 10;
    if (iad.length < need) throw new ProtocolError('emv_bad_iad', `Mastercard 9F10 for CVN ${cvn} must be at least ${need} bytes`, '9F10');
    parsed = { dki: iad[0]!, cvn: iad[1]!, cvr: iad.slice(2, 8), dac: iad.slice(8, 10) };
    if (withCounters) parsed.counters = iad.slice(10, 18);
  }
  if (parsed.cvn !== cvn) throw new ProtocolError('emv_cvn_mismatch', `9F10 does not carry CVN ${cvn}`, '9F10');
  return parsed;
}

/** 9F02 ‖ 9F03 ‖ 9F1A ‖ 95 ‖ 5F2A ‖ 9A ‖ 9C ‖ 9F37 ‖ 82 ‖ 9F36: the terminal part common to every CVN. */
export function commonData(input: CryptogramInput): Uint8Array {
  return concatBytes(
    input['9F02'], input['9F03'], input['9F1A'], input['95'], input['5F2A'],
    input['9A'], input['9C'], input['9F37'], input['82'], input['9F36'],
  );
}

/** The bytes the ARQC is a MAC of (before padding), for the CVN. */
export function cryptogramData(cvn: Cvn, input: CryptogramInput): Uint8Array {
  checkCvn(cvn);
  assertCryptogramInput(input);
  const iad = parseIad(cvn, input['9F10']);
  const common = commonData(input);
  if (cvn === 10) return concatBytes(common, iad.cvr);
  if (cvn === 18 || cvn === 22) return concatBytes(common, input['9F10']);
  if (cvn === 17 || cvn === 21) return concatBytes(common, iad.cvr, iad.counters!);
  return concatBytes(common, iad.cvr);
}

/** MAC padding method for the CVN's ARQC: 1 for Visa CVN 10, 2 for the rest. */
export function macPadding(cvn: Cvn): MacPadding {
  return cvn === 10 ? 1 : 2;
}

/** The key the ARQC is computed with: MK for Visa CVN 10, otherwise the CVN's session key. */
export function sessionKey(cvn: Cvn, mk: Uint8Array, input: Pick<CryptogramInput, '9F36' | '9F37'>): Uint8Array {
  checkCvn(cvn);
  checkMk(mk);
  if (cvn === 10) return Uint8Array.from(mk);
  if (cvn === 16 || cvn === 17) return deriveMastercardSessionKey(mk, input['9F36'], input['9F37']);
  return deriveCommonSessionKey(mk, input['9F36']);
}

function checkMk(mk: Uint8Array): void {
  if (!(mk instanceof Uint8Array) || mk.length !== 16) {
    throw new ProtocolError('emv_bad_key_length', 'MK must be a 16-byte double-length key');
  }
}

/** The 8-byte ARQC (tag 9F26) for the transaction. */
export function generateArqc(cvn: Cvn, mk: Uint8Array, input: CryptogramInput): Uint8Array {
  const data = cryptogramData(cvn, input);
  return new RetailMac(sessionKey(cvn, mk, input)).mac(data, macPadding(cvn));
}

/** True when arqc is the transaction's cryptogram under mk. Constant-time comparison. */
export function verifyArqc(cvn: Cvn, mk: Uint8Array, input: CryptogramInput, arqc: Uint8Array): boolean {
  const expected = generateArqc(cvn, mk, input);
  return arqc.length === 8 && bytesEqual(expected, arqc);
}

/** ARPC method 1: 3DES(key, ARQC xor (ARC ‖ 000000000000)), 8 bytes. */
export function arpcMethod1(key: TripleDesKey, arqc: Uint8Array, arc: Uint8Array): Uint8Array {
  if (arqc.length !== 8) throw new ProtocolError('emv_bad_arqc', 'ARQC must be 8 bytes');
  if (arc.length !== 2) throw new ProtocolError('emv_bad_arc', 'ARC must be 2 bytes');
  const block = Uint8Array.from(arqc);
  block[0]! ^= arc[0]!;
  block[1]! ^= arc[1]!;
  return tripleDes(key).encryptBlock(block);
}

/**
 * ARPC method 2: MAC algorithm 3 (padding 2) under the session key over ARQC ‖ CSU(4) ‖ proprietary
 * authentication data (0–8 bytes), leftmost 4 bytes.
 */
export function arpcMethod2(sk: Uint8Array, arqc: Uint8Array, csu: Uint8Array, proprietary: Uint8Array = new Uint8Array(0)): Uint8Array {
  if (arqc.length !== 8) throw new ProtocolError('emv_bad_arqc', 'ARQC must be 8 bytes');
  if (csu.length !== 4) throw new ProtocolError('emv_bad_csu', 'CSU must be 4 bytes');
  if (proprietary.length > 8) throw new ProtocolError('emv_bad_proprietary_data', 'proprietary authentication data must be at most 8 bytes');
  return new RetailMac(sk).mac(concatBytes(arqc, csu, proprietary), 2).slice(0, 4);
}

/** 1 for Visa CVN 10 and every Mastercard CVN, 2 for Visa CVN 18/22. */
export function arpcMethod(cvn: Cvn): 1 | 2 {
  return cvn === 18 || cvn === 22 ? 2 : 1;
}

/** What the issuer answers with: ARC for method 1; CSU (default 00000000) and optional proprietary data for method 2. */
export interface ArpcResponse {
  arc?: Uint8Array;
  csu?: Uint8Array;
  proprietary?: Uint8Array;
}

/** The ARPC key for the CVN: MK for Visa CVN 10 and Mastercard CVN 16/17, the session key otherwise. */
export function arpcKey(cvn: Cvn, mk: Uint8Array, input: Pick<CryptogramInput, '9F36' | '9F37'>): Uint8Array {
  checkCvn(cvn);
  checkMk(mk);
  if (cvn === 10 || cvn === 16 || cvn === 17) return mk;
  return sessionKey(cvn, mk, input);
}

/** The ARPC for the CVN (8 bytes for method 1, 4 for method 2). */
export function generateArpc(
  cvn: Cvn,
  mk: Uint8Array,
  input: Pick<CryptogramInput, '9F36' | '9F37'>,
  arqc: Uint8Array,
  response: ArpcResponse,
): Uint8Array {
  checkAtcUn(input);
  const key = arpcKey(cvn, mk, input);
  if (arpcMethod(cvn) === 1) {
    if (!response.arc) throw new ProtocolError('emv_bad_arc', 'ARPC method 1 needs the ARC');
    return arpcMethod1(key, arqc, response.arc);
  }
  return arpcMethod2(key, arqc, response.csu ?? new Uint8Array(4), response.proprietary);
}

/** Card side: true when arpc answers arqc under mk. Constant-time comparison. */
export function verifyArpc(
  cvn: Cvn,
  mk: Uint8Array,
  input: Pick<CryptogramInput, '9F36' | '9F37'>,
  arqc: Uint8Array,
  response: ArpcResponse,
  arpc: Uint8Array,
): boolean {
  const expected = generateArpc(cvn, mk, input, arqc, response);
  return arpc.length === expected.length && bytesEqual(expected, arpc);
}

function checkAtcUn(input: Pick<CryptogramInput, '9F36' | '9F37'>): void {
  if (!(input['9F36'] instanceof Uint8Array) || input['9F36'].length !== 2) throw new ProtocolError('emv_bad_tag_length', 'tag 9F36 must be 2 bytes', '9F36');
  if (!(input['9F37'] instanceof Uint8Array) || input['9F37'].length !== 4) throw new ProtocolError('emv_bad_tag_length', 'tag 9F37 must be 4 bytes', '9F37');
}

function checkCvn(cvn: Cvn): void {
  if (!isCvn(cvn)) throw new ProtocolError('emv_unsupported_cvn', 'unsupported cryptogram version');
}
