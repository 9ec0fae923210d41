/**
 * The issuer's authorization rules as data and pure functions (no I/O): the network's transaction key,
 * the limits, consumer-device CVM as the chip data reports it, and the shape of the answers. The decision
 * itself, with the database, is src/issuer/authorizations.ts.
 */
import type { Network } from '../protocol/cards/index.js';
import { parseSubelements, type IsoMessage } from '../protocol/iso8583/iso8583.js';
import { DE48 } from '../protocol/iso8583/spec.js';
import { parseTlv, tlvToMap } from '../protocol/tlv/tlv.js';

/**
 * Limits, in minor units of the account's currency (two decimals assumed: the sandbox's accounts are
 * USD). A single authorization above the product's limit is declined 61; so is the 31st approval on
 * one card within 10 minutes (a velocity limit: ISO 8583 has 65 "exceeds frequency limit", which is
 * not among the codes Tessera uses, so it answers 61, "exceeds amount limit").
 */
export const AUTHORIZATION_LIMITS = {
  /** Largest single authorization: 5,000.00 on a credit card, 2,500.00 on a debit card. */
  singleAmount: { credit: 500_000n, debit: 250_000n } as const,
  /** Approvals allowed per card in the velocity window; one more is declined 61. */
  velocityMaxApprovals: 30,
  velocityWindowMs: 10 * 60 * 1000,
  /** Contactless (DE22 07x or 91x) above this needs consumer-device CVM, else 55. */
  contactlessCvmLimit: 10_000n,
} as const;

/** ISO 4217 numeric codes (DE49) of the currencies accounts may hold. */
export const CURRENCY_NUMERIC: Readonly<Record<string, string>> = {
  USD: '840',
  EUR: '978',
  GBP: '826',
  CAD: '124',
  AUD: '036',
  CHF: '756',
  JPY: '392',
};

/** Fields an answer echoes from its request (ISO 8583: the response repeats the request's keys). */
const ECHO_0110 = [2, 3, 4, 7, 11, 12, 13, 32, 37, 41, 42, 48, 49] as const;
const ECHO_0410 = [2, 3, 4, 7, 11, 12, 13, 32, 37, 41, 42, 49, 90] as const;

export function text(msg: IsoMessage, n: number): string | undefined {
  const v = msg.fields[n];
  return typeof v === 'string' ? v : undefined;
}

export function bytes(msg: IsoMessage, n: number): Uint8Array | undefined {
  const v = msg.fields[n];
  return v instanceof Uint8Array ? v : undefined;
}

/** The answer to a request: its keys echoed, DE39, and DE38 on an approval. */
export function answer(request: IsoMessage, mti: string, responseCode: string, authCode?: string): IsoMessage {
  const echo = request.mti === '0100' ? ECHO_0110 : ECHO_0410;
  const fields: Record<number, string | Uint8Array> = {};
  for (const n of echo) {
    const v = request.fields[n];
    if (v !== undefined) fields[n] = v;
  }
  if (authCode !== undefined) fields[38] = authCode;
  fields[39] = responseCode;
  return { mti, fields };
}

/**
 * The network's transaction key of a 0100 as the issuer received it:
 * `acquirer id (DE32, zero-filled to 11) : STAN (DE11) : DE7 : terminal id (DE41)`.
 * Undefined when DE11, DE7 or DE41 is missing (DE32 absent counts as 00000000000).
 */
export function transactionKey(parts: { acquirerId: string | undefined; stan: string | undefined; transmitted: string | undefined; terminalId: string | undefined }): string | undefined {
  const { acquirerId, stan, transmitted, terminalId } = parts;
  if (stan === undefined || transmitted === undefined || terminalId === undefined) return undefined;
  const acq = acquirerId ?? '';
  if (!/^\d{0,11}$/.test(acq) || !/^\d{6}$/.test(stan) || !/^\d{10}$/.test(transmitted) || !/^[\x20-\x7E]{8}$/.test(terminalId)) return undefined;
  return `${acq.padStart(11, '0')}:${stan}:${transmitted}:${terminalId}`;
}

export function keyOfRequest(msg: IsoMessage): string | undefined {
  return transactionKey({ acquirerId: text(msg, 32), stan: text(msg, 11), transmitted: text(msg, 7), terminalId: text(msg, 41) });
}

/**
 * The key of the original a reversal names: DE90 = original MTI (4) ‖ STAN (6) ‖ DE7 (10) ‖ acquirer id
 * (11) ‖ forwarding institution id (11), plus the reversal's own DE41 (an acquirer copies the original's).
 * DE90's acquirer id all zeros means "not given": the reversal's DE32 stands in. Only reversals of a 0100.
 */
export function keyOfOriginal(msg: IsoMessage): string | undefined {
  const de90 = text(msg, 90);
  if (de90 === undefined || !/^\d{42}$/.test(de90)) return undefined;
  if (de90.slice(0, 4) !== '0100') return undefined;
  const acq = de90.slice(20, 31);
  return transactionKey({ acquirerId: /^0+$/.test(acq) ? text(msg, 32) : acq, stan: de90.slice(4, 10), transmitted: de90.slice(10, 20), terminalId: text(msg, 41) });
}

export interface TokenContext {
  /** SE 36: the network's check of the token cryptogram (`V` valid). */
  cryptogram?: string;
  /** SE 71: the network's token domain restriction check. */
  domain?: string;
  /** The token's last four digits (SE 33), for notifications; never the token itself. */
  tokenLast4?: string;
}

/** DE48's token context; undefined when DE48 is absent or not a valid subelement list. */
export function tokenContext(msg: IsoMessage): TokenContext | undefined {
  const de48 = text(msg, 48);
  if (de48 === undefined) return undefined;
  try {
    const se = parseSubelements(de48);
    const token = se.get(DE48.TOKEN_PAN);
    const cryptogram = se.get(DE48.CRYPTOGRAM_RESULT);
    const domain = se.get(DE48.DOMAIN_CHECK);
    return {
      ...(cryptogram !== undefined ? { cryptogram } : {}),
      ...(domain !== undefined ? { domain } : {}),
      ...(token !== undefined && /^\d{13,19}$/.test(token) ? { tokenLast4: token.slice(-4) } : {}),
    };
  } catch {
    return undefined;
  }
}

/** DE22 07x (contactless chip) and 91x (contactless magstripe): the contactless CVM limit applies. */
export function isContactless(posEntryMode: string | undefined): boolean {
  return posEntryMode !== undefined && (posEntryMode.startsWith('07') || posEntryMode.startsWith('91'));
}

/**
 * Did the cardholder verify on the device (consumer-device CVM, CDCVM)? Read from DE55 (layouts in
 * src/device/applet.ts):
 * 1. The CVR inside the issuer application data (9F10), which the ARQC covers (the network verified it,
 *    DE48 SE 36 `V`), so no terminal or acquirer can set it:
 *    - Visa layout (Visa, Amex, Discover): 9F10 = `06` ‖ DKI ‖ CVN ‖ CVR(4) with CVR byte 1 = `03`;
 *      CDCVM when CVR byte 2 has bit `04` ("cardholder verified by the card").
 *    - Mastercard layout: 9F10 = DKI ‖ CVN ‖ CVR(6) ‖ DAC(2); CDCVM when CVR byte 1 says ARQC (b6-5 `10`)
 *      and has bits `05` (offline PIN performed and successful, the M/Chip mobile convention).
 * 2. Only when 9F10 carries no CVR of that layout, the terminal-reported indicators: CTQ (9F6C) byte 2
 *    bit `80` (Visa, Amex, Discover), or CVM results (9F34) with CVM code `01` (low six bits of byte 1)
 *    and result `02` successful (Mastercard; `1F` "no CVM" is not CDCVM).
 * No DE55, or DE55 that does not parse: no CDCVM.
 */
export function cdcvmPerformed(network: Network, de55: Uint8Array | undefined): boolean {
  if (!de55 || de55.length === 0) return false;
  let tags: Map<string, Uint8Array>;
  try {
    tags = tlvToMap(parseTlv(de55));
  } catch {
    return false;
  }
  const iad = tags.get('9F10');
  if (network === 'mastercard') {
    if (iad && iad.length >= 8 && iad.length <= 32) {
      const cvr1 = iad[2]!;
      return (cvr1 & 0x30) === 0x20 && (cvr1 & 0x05) === 0x05;
    }
    const cvm = tags.get('9F34');
    return cvm !== undefined && cvm.length === 3 && (cvm[0]! & 0x3f) === 0x01 && cvm[2] === 0x02;
  }
  if (iad && iad.length >= 7 && iad[0] === 0x06 && iad[3] === 0x03) return (iad[4]! & 0x04) !== 0;
  const ctq = tags.get('9F6C');
  return ctq !== undefined && ctq.length === 2 && (ctq[1]! & 0x80) !== 0;
}

/** DE14 YYMM → month and year, or undefined when it is not a date. */
export function parseExpiry(de14: string | undefined): { month: number; year: number } | undefined {
  if (de14 === undefined || !/^\d{4}$/.test(de14)) return undefined;
  const month = Number(de14.slice(2, 4));
  if (month < 1 || month > 12) return undefined;
  return { month, year: 2000 + Number(de14.slice(0, 2)) };
}

/** A card is good through the last day of its expiry month (UTC). */
export function expiryHasPassed(month: number, year: number, now: Date): boolean {
  const y = now.getUTCFullYear();
  return year < y || (year === y && month < now.getUTCMonth() + 1);
}

const AUTH_CODE_ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ';

/** A 6-character approval code (DE38) from a source of random integers below 36. */
export function authCode(randomBelow: (n: number) => number): string {
  let out = '';
  for (let i = 0; i < 6; i++) out += AUTH_CODE_ALPHABET[randomBelow(36)];
  return out;
}
