/**
 * The online payment cryptogram of in-app and web payments (flow 3, docs/inapp.md). THIS IS A TESSERA
 * DESIGN within the EMV pattern: the token's own ICC master key (the one the contactless ARQC uses,
 * which the network's HSM derives again), a session key per ATC, a MAC over the transaction. The
 * Secure Element makes it; the network's HSM verifies it. 20 bytes, carried base64 as
 * `onlinePaymentCryptogram` in the payment token and in DE 48 subelement 43 of the 0100.
 *
 * | offset | bytes | field |
 * |---|---|---|
 * | 0 | 1 | format version, `01` |
 * | 1 | 1 | flags: b8 (`80`) the user was verified on the device (always set: the SE makes none without a Secure Enclave authorization) |
 * | 2 | 2 | ATC, big-endian: the token's one counter, shared with contactless (every cryptogram increments it first) |
 * | 4 | 4 | unpredictable number: the first 4 bytes of SHA-256(the platform's one-time nonce) |
 * | 8 | 4 | merchant binding: the first 4 bytes of SHA-256(UTF-8 merchant identifier) |
 * | 12 | 8 | MAC |
 *
 * MAC data (20 bytes) = bytes 0–11 ‖ amount (6 bytes BCD, exactly DE 4's n12) ‖ currency (2 bytes BCD,
 * `0` ‖ DE 49, as EMV 5F2A).
 *
 * Session keys, separate from the contactless ones so that no ARQC key ever MACs these data:
 * - 3DES tokens (Visa CVN 18, Mastercard CVN 20): SK = EMV session key derivation (keys.ts,
 *   deriveSessionKey) with R = ATC ‖ 00 ‖ `494150` ("IAP") ‖ 0000; MAC = ISO/IEC 9797-1 MAC algorithm 3,
 *   padding method 2 (8 bytes).
 * - AES tokens (Tessera 'A1' American Express, 'D1' Discover): SK = AES-CMAC(MK, "TIK" ‖ CVN byte ‖ ATC ‖
 *   00 × 10) ("TIK" = 54494B); MAC = the leftmost 8 bytes of AES-CMAC(SK, MAC data).
 *
 * Verification compares in constant time; keys never reach an error message.
 */
import { ProtocolError } from '../errors.js';
import { bytesEqual, concatBytes, fromHex } from '../bytes.js';
import { aesCmac } from './primitives.js';
import { deriveSessionKey } from './keys.js';
import { RetailMac } from './mac.js';
import { AES_CVN_BYTE, isAesCvn, type AesCvn } from './aes-cryptogram.js';

export const ONLINE_CRYPTOGRAM_BYTES = 20;
export const ONLINE_CRYPTOGRAM_VERSION = 0x01;
/** Flags byte: the user was verified on the device. */
export const ONLINE_FLAG_USER_VERIFIED = 0x80;

/** Which key scheme: the 3DES tokens (any 3DES CVN) or one of the AES CVNs. */
export type OnlineKeyScheme = '3des' | AesCvn;

export interface OnlineCryptogramFields {
  /** 0..65535. */
  atc: number;
  /** 4 bytes: onlineUnpredictableNumber(nonce). */
  un: Uint8Array;
  /** 4 bytes: merchantBinding(merchantIdentifier). */
  merchant: Uint8Array;
  /** Minor units, 0..999999999999 (DE 4). */
  amount: number;
  /** ISO 4217 numeric, 3 digits (DE 49). */
  currency: string;
  /** Default ONLINE_FLAG_USER_VERIFIED. */
  flags?: number;
}

export interface ParsedOnlineCryptogram {
  version: number;
  flags: number;
  atc: number;
  un: Uint8Array;
  merchant: Uint8Array;
  mac: Uint8Array;
}

async function sha256(bytes: Uint8Array): Promise<Uint8Array> {
  return new Uint8Array(await globalThis.crypto.subtle.digest('SHA-256', Uint8Array.from(bytes)));
}

/** The unpredictable number a platform nonce gives: the first 4 bytes of its SHA-256. */
export async function onlineUnpredictableNumber(nonce: Uint8Array): Promise<Uint8Array> {
  if (!(nonce instanceof Uint8Array) || nonce.length < 16 || nonce.length > 64) throw new ProtocolError('emv_bad_nonce', 'nonce must be 16 to 64 bytes');
  return (await sha256(nonce)).slice(0, 4);
}

/** The merchant binding: the first 4 bytes of SHA-256 of the merchant identifier (UTF-8). */
export async function merchantBinding(merchantIdentifier: string): Promise<Uint8Array> {
  if (typeof merchantIdentifier !== 'string' || merchantIdentifier.length === 0 || merchantIdentifier.length > 255) {
    throw new ProtocolError('emv_bad_merchant', 'merchant identifier must be 1 to 255 characters');
  }
  return (await sha256(new TextEncoder().encode(merchantIdentifier))).slice(0, 4);
}

/** Splits a 20-byte online cryptogram (no key needed: only the MAC is secret-keyed). */
export function parseOnlineCryptogram(bytes: Uint8Array): ParsedOnlineCryptogram {
  if (!(bytes instanceof Uint8Array) || bytes.length !== ONLINE_CRYPTOGRAM_BYTES) throw new ProtocolError('emv_bad_online_cryptogram', 'online cryptogram must be 20 bytes');
  if (bytes[0] !== ONLINE_CRYPTOGRAM_VERSION) throw new ProtocolError('emv_bad_online_cryptogram', 'online cryptogram version is not supported');
  return {
    version: bytes[0]!,
    flags: bytes[1]!,
    atc: (bytes[2]! << 8) | bytes[3]!,
    un: bytes.slice(4, 8),
    merchant: bytes.slice(8, 12),
    mac: bytes.slice(12, 20),
  };
}

function header(f: OnlineCryptogramFields): Uint8Array {
  if (!Number.isInteger(f.atc) || f.atc < 0 || f.atc > 0xffff) throw new ProtocolError('emv_bad_atc', 'ATC must be 0 to 65535');
  if (!(f.un instanceof Uint8Array) || f.un.length !== 4) throw new ProtocolError('emv_bad_un', 'unpredictable number must be 4 bytes');
  if (!(f.merchant instanceof Uint8Array) || f.merchant.length !== 4) throw new ProtocolError('emv_bad_merchant', 'merchant binding must be 4 bytes');
  const flags = f.flags ?? ONLINE_FLAG_USER_VERIFIED;
  if (!Number.isInteger(flags) || flags < 0 || flags > 0xff) throw new ProtocolError('emv_bad_online_cryptogram', 'flags must be one byte');
  return concatBytes(Uint8Array.of(ONLINE_CRYPTOGRAM_VERSION, flags, (f.atc >> 8) & 0xff, f.atc & 0xff), f.un, f.merchant);
}

/** The 20 bytes the MAC is computed over. */
export function onlineMacData(head: Uint8Array, amount: number, currency: string): Uint8Array {
  if (!Number.isSafeInteger(amount) || amount < 0 || amount > 999_999_999_999) throw new ProtocolError('emv_bad_amount', 'amount must be 0 to 999999999999 minor units');
  if (typeof currency !== 'string' || !/^\d{3}$/.test(currency)) throw new ProtocolError('emv_bad_currency', 'currency must be 3 digits');
  return concatBytes(head, fromHex(String(amount).padStart(12, '0')), fromHex(`0${currency}`));
}

async function mac(scheme: OnlineKeyScheme, mk: Uint8Array, atc: number, data: Uint8Array): Promise<Uint8Array> {
  if (!(mk instanceof Uint8Array) || mk.length !== 16) throw new ProtocolError('emv_bad_key_length', 'MK must be 16 bytes');
  const atcBytes = Uint8Array.of((atc >> 8) & 0xff, atc & 0xff);
  if (scheme === '3des') {
    const sk = deriveSessionKey(mk, concatBytes(atcBytes, Uint8Array.of(0x00, 0x49, 0x41, 0x50, 0x00, 0x00)));
    try {
      return new RetailMac(sk).mac(data, 2);
    } finally {
      sk.fill(0);
    }
  }
  if (!isAesCvn(scheme)) throw new ProtocolError('emv_bad_cvn', 'key scheme must be 3des, A1 or D1');
  const sk = await aesCmac(mk, concatBytes(Uint8Array.of(0x54, 0x49, 0x4b, AES_CVN_BYTE[scheme]), atcBytes, new Uint8Array(10)));
  try {
    return (await aesCmac(sk, data)).slice(0, 8);
  } finally {
    sk.fill(0);
  }
}

/** The 20-byte online cryptogram under the token's ICC master key. */
export async function generateOnlineCryptogram(scheme: OnlineKeyScheme, mk: Uint8Array, fields: OnlineCryptogramFields): Promise<Uint8Array> {
  const head = header(fields);
  return concatBytes(head, await mac(scheme, mk, fields.atc, onlineMacData(head, fields.amount, fields.currency)));
}

/** True when `cryptogram` is the token's online cryptogram for this amount and currency. */
export async function verifyOnlineCryptogram(scheme: OnlineKeyScheme, mk: Uint8Array, cryptogram: Uint8Array, amount: number, currency: string): Promise<boolean> {
  const parsed = parseOnlineCryptogram(cryptogram);
  const expected = await mac(scheme, mk, parsed.atc, onlineMacData(cryptogram.subarray(0, 12), amount, currency));
  return bytesEqual(expected, parsed.mac);
}
