/**
 * ISO/IEC 7816-4 APDUs: command cases 1-4 in short and extended form, responses with their status
 * word, and the commands of an EMV contactless tap.
 *
 * `le` is the number of response bytes expected: 1-256 in short form (256 is written `00`),
 * up to 65536 in extended form (65536 is written `0000`). `le: 0` is accepted when building and
 * means the same as 256 (the `Le = 00` of EMV commands); parsing reports it as 256.
 * The extended form is used when the data is longer than 255 bytes or `le` is above 256.
 */
import { ProtocolError, assertInputSize } from '../errors.js';
import { concatBytes, utf8 } from '../bytes.js';
import { buildTlv, tlv } from '../tlv/tlv.js';

export interface CommandApdu {
  cla: number;
  ins: number;
  p1: number;
  p2: number;
  data?: Uint8Array;
  le?: number;
}

export interface ResponseApdu {
  data: Uint8Array;
  sw1: number;
  sw2: number;
  /** sw1 << 8 | sw2, e.g. 0x9000. */
  sw: number;
}

/** Status words. */
export const SW = {
  OK: 0x9000,
  WRONG_LENGTH: 0x6700,
  SECURITY_STATUS_NOT_SATISFIED: 0x6982,
  AUTH_METHOD_BLOCKED: 0x6983,
  REFERENCED_DATA_INVALIDATED: 0x6984,
  CONDITIONS_NOT_SATISFIED: 0x6985,
  WRONG_DATA: 0x6a80,
  FUNCTION_NOT_SUPPORTED: 0x6a81,
  FILE_NOT_FOUND: 0x6a82,
  RECORD_NOT_FOUND: 0x6a83,
  INCORRECT_P1P2: 0x6a86,
  REFERENCED_DATA_NOT_FOUND: 0x6a88,
  INS_NOT_SUPPORTED: 0x6d00,
  CLA_NOT_SUPPORTED: 0x6e00,
  UNKNOWN_ERROR: 0x6f00,
} as const;

const MEANINGS: Record<number, string> = {
  0x9000: 'success',
  0x6700: 'wrong length',
  0x6982: 'security status not satisfied',
  0x6983: 'authentication method blocked',
  0x6984: 'referenced data invalidated',
  0x6985: 'conditions of use not satisfied',
  0x6a80: 'incorrect data field',
  0x6a81: 'function not supported',
  0x6a82: 'file or application not found',
  0x6a83: 'record not found',
  0x6a86: 'incorrect P1 or P2',
  0x6a88: 'referenced data not found',
  0x6d00: 'instruction not supported',
  0x6e00: 'class not supported',
  0x6f00: 'unknown error',
  0x6283: 'selected file deactivated',
};

/** A short English description of a status word. */
export function swMeaning(sw: number): string {
  const known = MEANINGS[sw];
  if (known) return known;
  const sw1 = sw >> 8;
  const sw2 = sw & 0xff;
  if (sw1 === 0x61) return `success, ${sw2 === 0 ? 256 : sw2} more bytes available`;
  if (sw1 === 0x6c) return `wrong Le, ${sw2 === 0 ? 256 : sw2} bytes available`;
  if (sw1 === 0x63 && (sw2 & 0xf0) === 0xc0) return `verification failed, ${sw2 & 0x0f} tries left`;
  if (sw1 === 0x62 || sw1 === 0x63) return 'warning';
  if (sw1 >= 0x64 && sw1 <= 0x6f) return 'error';
  return 'unknown status';
}

function checkByte(value: number, name: string): void {
  if (!Number.isInteger(value) || value < 0 || value > 0xff) {
    throw new ProtocolError('apdu_bad_field', `${name} must be a byte`, name);
  }
}

/** Encodes a command APDU (case 1-4; extended form when needed). */
export function buildCommand(cmd: CommandApdu): Uint8Array {
  checkByte(cmd.cla, 'CLA');
  checkByte(cmd.ins, 'INS');
  checkByte(cmd.p1, 'P1');
  checkByte(cmd.p2, 'P2');
  const data = cmd.data ?? new Uint8Array(0);
  if (data.length > 0xffff) throw new ProtocolError('apdu_bad_length', 'command data longer than 65535 bytes', 'data');
  const le = cmd.le;
  if (le !== undefined && (!Number.isInteger(le) || le < 0 || le > 0x10000)) {
    throw new ProtocolError('apdu_bad_length', 'Le must be between 0 and 65536', 'Le');
  }
  const header = Uint8Array.of(cmd.cla, cmd.ins, cmd.p1, cmd.p2);
  const extended = data.length > 0xff || (le !== undefined && le > 0x100);
  if (!extended) {
    const lc = data.length > 0 ? Uint8Array.of(data.length) : new Uint8Array(0);
    const leBytes = le === undefined ? new Uint8Array(0) : Uint8Array.of(le & 0xff);
    return concatBytes(header, lc, data, leBytes);
  }
  const lc = data.length > 0 ? Uint8Array.of(0x00, data.length >> 8, data.length & 0xff) : new Uint8Array(0);
  let leBytes = new Uint8Array(0);
  if (le !== undefined) {
    const v = le & 0xffff; // 65536 → 0000
    leBytes = data.length > 0 ? Uint8Array.of(v >> 8, v & 0xff) : Uint8Array.of(0x00, v >> 8, v & 0xff);
  }
  return concatBytes(header, lc, data, leBytes);
}

/** Decodes a command APDU of any case, short or extended. */
export function parseCommand(bytes: Uint8Array): CommandApdu {
  assertInputSize(bytes, 'command APDU');
  if (bytes.length < 4) throw new ProtocolError('apdu_truncated', 'command APDU shorter than its 4-byte header');
  const cmd: CommandApdu = { cla: bytes[0]!, ins: bytes[1]!, p1: bytes[2]!, p2: bytes[3]! };
  const n = bytes.length;
  if (n === 4) return cmd; // case 1
  const b4 = bytes[4]!;
  if (n === 5) {
    cmd.le = b4 === 0 ? 0x100 : b4; // case 2S
    return cmd;
  }
  if (b4 !== 0) {
    if (n === 5 + b4) {
      cmd.data = bytes.slice(5, 5 + b4); // case 3S
      return cmd;
    }
    if (n === 6 + b4) {
      cmd.data = bytes.slice(5, 5 + b4); // case 4S
      const le = bytes[5 + b4]!;
      cmd.le = le === 0 ? 0x100 : le;
      return cmd;
    }
    throw new ProtocolError('apdu_bad_length', 'command APDU length does not match Lc', 'Lc');
  }
  // Extended form: 00 then two bytes.
  if (n < 7) throw new ProtocolError('apdu_bad_length', 'extended length field truncated', 'Lc');
  const v = (bytes[5]! << 8) | bytes[6]!;
  if (n === 7) {
    cmd.le = v === 0 ? 0x10000 : v; // case 2E
    return cmd;
  }
  if (v === 0) throw new ProtocolError('apdu_bad_length', 'extended Lc of zero', 'Lc');
  if (n === 7 + v) {
    cmd.data = bytes.slice(7, 7 + v); // case 3E
    return cmd;
  }
  if (n === 9 + v) {
    cmd.data = bytes.slice(7, 7 + v); // case 4E
    const le = (bytes[7 + v]! << 8) | bytes[8 + v]!;
    cmd.le = le === 0 ? 0x10000 : le;
    return cmd;
  }
  throw new ProtocolError('apdu_bad_length', 'command APDU length does not match Lc', 'Lc');
}

/** Splits a response APDU into data and status word. */
export function parseResponse(bytes: Uint8Array): ResponseApdu {
  assertInputSize(bytes, 'response APDU');
  if (bytes.length < 2) throw new ProtocolError('apdu_truncated', 'response APDU shorter than its status word');
  const sw1 = bytes[bytes.length - 2]!;
  const sw2 = bytes[bytes.length - 1]!;
  return { data: bytes.slice(0, bytes.length - 2), sw1, sw2, sw: (sw1 << 8) | sw2 };
}

/** Data followed by the status word. */
export function buildResponse(data: Uint8Array, sw: number): Uint8Array {
  if (!Number.isInteger(sw) || sw < 0 || sw > 0xffff) throw new ProtocolError('apdu_bad_field', 'status word must be two bytes', 'SW');
  return concatBytes(data, Uint8Array.of(sw >> 8, sw & 0xff));
}

// ---- EMV contactless commands ----

/** Proximity Payment System Environment name. */
export const PPSE_NAME = '2PAY.SYS.DDF01';

/** SELECT by DF name / AID: 00 A4 04 00 Lc name 00. */
export function selectByName(aidOrName: Uint8Array): Uint8Array {
  if (aidOrName.length < 1 || aidOrName.length > 16) {
    throw new ProtocolError('apdu_bad_field', 'DF name must be 1 to 16 bytes', 'name');
  }
  return buildCommand({ cla: 0x00, ins: 0xa4, p1: 0x04, p2: 0x00, data: aidOrName, le: 0 });
}

/** SELECT PPSE (2PAY.SYS.DDF01). */
export function selectPpse(): Uint8Array {
  return selectByName(utf8.encode(PPSE_NAME));
}

/** GET PROCESSING OPTIONS: 80 A8 00 00 Lc 83 len PDOL-data 00. */
export function getProcessingOptions(pdolData: Uint8Array = new Uint8Array(0)): Uint8Array {
  const data = buildTlv([tlv('83', pdolData)]);
  if (data.length > 0xff) throw new ProtocolError('apdu_bad_length', 'PDOL data too long', 'PDOL');
  return buildCommand({ cla: 0x80, ins: 0xa8, p1: 0x00, p2: 0x00, data, le: 0 });
}

/** READ RECORD: 00 B2 record (SFI << 3 | 4) 00. */
export function readRecord(record: number, sfi: number): Uint8Array {
  if (!Number.isInteger(record) || record < 1 || record > 0xff) {
    throw new ProtocolError('apdu_bad_field', 'record number must be 1 to 255', 'record');
  }
  if (!Number.isInteger(sfi) || sfi < 1 || sfi > 30) throw new ProtocolError('apdu_bad_field', 'SFI must be 1 to 30', 'SFI');
  return buildCommand({ cla: 0x00, ins: 0xb2, p1: record, p2: (sfi << 3) | 0x04, le: 0 });
}

/** GENERATE AC: 80 AE P1 00 Lc CDOL-data 00 (P1 80 = ARQC, 40 = TC, 00 = AAC; bit 10 asks for CDA). */
export function generateAc(p1: number, cdolData: Uint8Array): Uint8Array {
  checkByte(p1, 'P1');
  if (cdolData.length > 0xff) throw new ProtocolError('apdu_bad_length', 'CDOL data too long', 'CDOL');
  return buildCommand({ cla: 0x80, ins: 0xae, p1, p2: 0x00, data: cdolData, le: 0 });
}

/** GET DATA for a 1- or 2-byte tag (e.g. 9F36 ATC, 9F17 PIN try counter): 80 CA P1 P2 00. */
export function getData(tag: string): Uint8Array {
  if (!/^(?:[0-9A-Fa-f]{2}){1,2}$/.test(tag)) throw new ProtocolError('apdu_bad_field', 'GET DATA tag must be 1 or 2 bytes of hex', 'tag');
  const t = tag.padStart(4, '0');
  return buildCommand({ cla: 0x80, ins: 0xca, p1: parseInt(t.slice(0, 2), 16), p2: parseInt(t.slice(2), 16), le: 0 });
}
