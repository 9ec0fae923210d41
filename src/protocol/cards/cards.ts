/**
 * Card numbers: Luhn, network detection by BIN, expected lengths, masking and validation; and the
 * sandbox's token BIN ranges, from which device account numbers (payment tokens) are issued.
 *
 * Card BIN table (IIN prefixes, ISO/IEC 7812 as published by the networks):
 *   Visa 4 · Mastercard 51–55, 2221–2720 · American Express 34, 37 · Discover 6011, 644–649, 65
 * Lengths: Visa 13/16/19 · Mastercard 16 · American Express 15 · Discover 16–19.
 *
 * Token BIN ranges in this sandbox (6-digit prefixes, each inside its network's IIN space so a
 * token routes to its network, and reserved for tokens: sandbox issuers must not issue cards
 * from them; none of the well-known test cards 4111111111111111, 5555555555554444,
 * 378282246310005, 6011111111111117, 371449635398431, 374245455400126, 6011000990139424 is in one):
 *   Visa 489537 · Mastercard 520473 · American Express 374999 · Discover 659001
 * Tokens are 16 digits (15 for American Express) and pass the Luhn check.
 *
 * Pure: no randomness of its own (generateToken takes a random-bytes source).
 */
import { ProtocolError } from '../errors.js';

export type Network = 'visa' | 'mastercard' | 'amex' | 'discover';
export const NETWORKS: readonly Network[] = ['visa', 'mastercard', 'amex', 'discover'];

/** True when the digits pass the Luhn (mod 10) check. False for anything that is not 2+ digits. */
export function luhnCheck(digits: string): boolean {
  if (!/^\d{2,}$/.test(digits)) return false;
  return luhnSum(digits, false) % 10 === 0;
}

/** The check digit to append to `partial` (1+ digits) so the result passes the Luhn check. */
export function luhnCheckDigit(partial: string): string {
  if (!/^\d+$/.test(partial)) throw new ProtocolError('card_not_digits', 'number must be digits only');
  return String((10 - (luhnSum(partial, true) % 10)) % 10);
}

/** Luhn sum; `doubleLast` when the rightmost digit given is in a doubled position (check digit to come). */
function luhnSum(digits: string, doubleLast: boolean): number {
  let sum = 0;
  let double = doubleLast;
  for (let i = digits.length - 1; i >= 0; i--) {
    let d = digits.charCodeAt(i) - 48;
    if (double) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    double = !double;
  }
  return sum;
}

/** The card network of a number by its leading digits, or null. Needs only the prefix (6+ digits to be sure). */
export function detectNetwork(pan: string): Network | null {
  if (!/^\d+$/.test(pan)) return null;
  if (pan.startsWith('4')) return 'visa';
  const p2 = Number(pan.slice(0, 2));
  const p3 = Number(pan.slice(0, 3));
  const p4 = Number(pan.slice(0, 4));
  if (pan.length >= 2 && p2 >= 51 && p2 <= 55) return 'mastercard';
  if (pan.length >= 4 && p4 >= 2221 && p4 <= 2720) return 'mastercard';
  if (pan.length >= 2 && (p2 === 34 || p2 === 37)) return 'amex';
  if (pan.length >= 4 && p4 === 6011) return 'discover';
  if (pan.length >= 3 && p3 >= 644 && p3 <= 649) return 'discover';
  if (pan.length >= 2 && p2 === 65) return 'discover';
  return null;
}

export const PAN_LENGTHS: Readonly<Record<Network, readonly number[]>> = {
  visa: [13, 16, 19],
  mastercard: [16],
  amex: [15],
  discover: [16, 17, 18, 19],
};

/** Why a card number is refused. */
export type PanProblem = 'not_digits' | 'bad_length' | 'bad_luhn' | 'unknown_bin';
export type PanValidation = { ok: true; network: Network } | { ok: false; reason: PanProblem };

/**
 * Checks, in order: digits only (not_digits), 12–19 digits (bad_length), a known network
 * (unknown_bin), a length that network issues (bad_length), the Luhn check (bad_luhn).
 */
export function validatePan(pan: string): PanValidation {
  if (!/^\d+$/.test(pan)) return { ok: false, reason: 'not_digits' };
  if (pan.length < 12 || pan.length > 19) return { ok: false, reason: 'bad_length' };
  const network = detectNetwork(pan);
  if (network === null) return { ok: false, reason: 'unknown_bin' };
  if (!PAN_LENGTHS[network].includes(pan.length)) return { ok: false, reason: 'bad_length' };
  if (!luhnCheck(pan)) return { ok: false, reason: 'bad_luhn' };
  return { ok: true, network };
}

/**
 * First 6 and last 4 digits with the middle as '*' (PCI DSS 3.4.1), e.g. 411111******1111.
 * Anything that is not 13–19 digits is masked completely (never thrown on: this runs in logging).
 */
export function maskPan(pan: string): string {
  if (typeof pan !== 'string') return '[redacted]';
  if (!/^\d{13,19}$/.test(pan)) return '*'.repeat(Math.min(pan.length, 19));
  return `${pan.slice(0, 6)}${'*'.repeat(pan.length - 10)}${pan.slice(-4)}`;
}

/** The last four digits (for display next to a card). */
export function last4(pan: string): string {
  if (!/^\d{4,19}$/.test(pan)) throw new ProtocolError('card_bad_pan', 'card number must be 4 to 19 digits');
  return pan.slice(-4);
}

// --- Tokens -----------------------------------------------------------------------------------------

export interface TokenBinRange {
  network: Network;
  /** 6-digit token BIN. */
  bin: string;
  /** Token length in digits. */
  length: number;
}

export const TOKEN_BIN_RANGES: Readonly<Record<Network, TokenBinRange>> = {
  visa: { network: 'visa', bin: '489537', length: 16 },
  mastercard: { network: 'mastercard', bin: '520473', length: 16 },
  amex: { network: 'amex', bin: '374999', length: 15 },
  discover: { network: 'discover', bin: '659001', length: 16 },
};

/** The token BIN of a network. */
export function tokenBinFor(network: Network): string {
  const range = TOKEN_BIN_RANGES[network];
  if (!range) throw new ProtocolError('card_unknown_network', 'unknown network');
  return range.bin;
}

/** True when the number starts with one of the sandbox's token BINs (a token, not a card). */
export function isTokenBin(pan: string): boolean {
  if (!/^\d{6,}$/.test(pan)) return false;
  const bin = pan.slice(0, 6);
  return NETWORKS.some((n) => TOKEN_BIN_RANGES[n].bin === bin);
}

/** True for a number of a known card network that is not in a token range. */
export function isCardBin(pan: string): boolean {
  return detectNetwork(pan) !== null && !isTokenBin(pan);
}

/**
 * A fresh token for the network: its token BIN, uniformly random middle digits from `randomBytes`
 * (rejection sampling, no modulo bias), and a Luhn check digit. 16 digits (15 for American Express).
 */
export function generateToken(network: Network, randomBytes: (n: number) => Uint8Array): string {
  const range = TOKEN_BIN_RANGES[network];
  if (!range) throw new ProtocolError('card_unknown_network', 'unknown network');
  const need = range.length - range.bin.length - 1;
  let digits = '';
  for (let attempt = 0; digits.length < need; attempt++) {
    if (attempt >= 64) throw new ProtocolError('card_bad_randomness', 'random source gave no usable bytes');
    const bytes = randomBytes(need + 4);
    for (const b of bytes) {
      if (b < 250 && digits.length < need) digits += String(b % 10);
    }
  }
  const partial = range.bin + digits;
  return partial + luhnCheckDigit(partial);
}
