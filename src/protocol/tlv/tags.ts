/**
 * EMV tag dictionary (names from EMV Books 3 and C-2/C-3) and masking of sensitive data objects.
 *
 * Formats as EMV defines them: `b` binary, `n` BCD numeric (right-aligned, left-padded with 0),
 * `cn` compressed numeric (left-aligned, right-padded with F), `an`/`ans` text.
 *
 * Masking (`maskTlv`), so that a masked copy is safe to log or print:
 * - card-number-like data objects (5A PAN, 57 track 2 equivalent, 9F6B track 2 data) keep the first
 *   6 and the last 4 digits of the card number; every other digit nibble of the number, and every
 *   nibble after the field separator `D` (expiry, service code, discretionary data), becomes `F`.
 *   The length and the separator stay, e.g. PAN 4761739001010119 → `476173FFFFFF0119`.
 *   A number of fewer than 13 digits is masked completely;
 * - every other sensitive data object (track 1, cardholder name, expiry date, PIN data, ...)
 *   has each byte of its value replaced by `FF`, keeping the length;
 * - constructed data objects are rebuilt from their masked children; a constructed data object whose
 *   value does not parse as TLV (so could hide anything) is masked completely.
 */
import { buildTlv, isConstructed, type TlvNode } from './tlv.js';

export type TagFormat = 'b' | 'n' | 'an' | 'ans' | 'cn';

export interface TagInfo {
  name: string;
  format?: TagFormat;
  sensitive?: boolean;
}

export const TAGS: Readonly<Record<string, TagInfo>> = {
  // Templates
  '61': { name: 'Application Template' },
  '6F': { name: 'File Control Information (FCI) Template' },
  '70': { name: 'READ RECORD Response Message Template' },
  '77': { name: 'Response Message Template Format 2' },
  '80': { name: 'Response Message Template Format 1', format: 'b' },
  '83': { name: 'Command Template', format: 'b' },
  A5: { name: 'FCI Proprietary Template' },
  BF0C: { name: 'FCI Issuer Discretionary Data' },
  // Application selection
  '4F': { name: 'Application Identifier (AID) - card', format: 'b' },
  '50': { name: 'Application Label', format: 'ans' },
  '84': { name: 'Dedicated File (DF) Name', format: 'b' },
  '87': { name: 'Application Priority Indicator', format: 'b' },
  '88': { name: 'Short File Identifier (SFI)', format: 'b' },
  '9F06': { name: 'Application Identifier (AID) - terminal', format: 'b' },
  '9F0A': { name: 'Application Selection Registered Proprietary Data', format: 'b' },
  '9F11': { name: 'Issuer Code Table Index', format: 'n' },
  '9F12': { name: 'Application Preferred Name', format: 'ans' },
  '5F2D': { name: 'Language Preference', format: 'an' },
  '9F38': { name: 'Processing Options Data Object List (PDOL)', format: 'b' },
  // Card data
  '5A': { name: 'Application Primary Account Number (PAN)', format: 'cn', sensitive: true },
  '57': { name: 'Track 2 Equivalent Data', format: 'b', sensitive: true },
  '56': { name: 'Track 1 Data', format: 'ans', sensitive: true },
  '5F20': { name: 'Cardholder Name', format: 'ans', sensitive: true },
  '9F0B': { name: 'Cardholder Name Extended', format: 'ans', sensitive: true },
  '5F24': { name: 'Application Expiration Date', format: 'n', sensitive: true },
  '5F25': { name: 'Application Effective Date', format: 'n' },
  '5F28': { name: 'Issuer Country Code', format: 'n' },
  '5F30': { name: 'Service Code', format: 'n' },
  '5F34': { name: 'Application PAN Sequence Number', format: 'n' },
  '9F1F': { name: 'Track 1 Discretionary Data', format: 'ans', sensitive: true },
  '9F20': { name: 'Track 2 Discretionary Data', format: 'cn', sensitive: true },
  '9F6B': { name: 'Track 2 Data', format: 'b', sensitive: true },
  '99': { name: 'Transaction PIN Data', format: 'b', sensitive: true },
  '9F19': { name: 'Token Requestor ID', format: 'n' },
  '9F24': { name: 'Payment Account Reference (PAR)', format: 'an' },
  '9F25': { name: 'Last 4 Digits of PAN', format: 'n' },
  // Processing
  '82': { name: 'Application Interchange Profile (AIP)', format: 'b' },
  '94': { name: 'Application File Locator (AFL)', format: 'b' },
  '8C': { name: 'Card Risk Management Data Object List 1 (CDOL1)', format: 'b' },
  '8D': { name: 'Card Risk Management Data Object List 2 (CDOL2)', format: 'b' },
  '8E': { name: 'Cardholder Verification Method (CVM) List', format: 'b' },
  '8A': { name: 'Authorisation Response Code', format: 'an' },
  '91': { name: 'Issuer Authentication Data', format: 'b' },
  '71': { name: 'Issuer Script Template 1' },
  '72': { name: 'Issuer Script Template 2' },
  '9F07': { name: 'Application Usage Control', format: 'b' },
  '9F08': { name: 'Application Version Number - card', format: 'b' },
  '9F09': { name: 'Application Version Number - terminal', format: 'b' },
  '9F0D': { name: 'Issuer Action Code - Default', format: 'b' },
  '9F0E': { name: 'Issuer Action Code - Denial', format: 'b' },
  '9F0F': { name: 'Issuer Action Code - Online', format: 'b' },
  '9F42': { name: 'Application Currency Code', format: 'n' },
  '9F44': { name: 'Application Currency Exponent', format: 'n' },
  '9F4A': { name: 'Static Data Authentication Tag List', format: 'b' },
  '9F4D': { name: 'Log Entry', format: 'b' },
  '9F4F': { name: 'Log Format', format: 'b' },
  '9F17': { name: 'PIN Try Counter', format: 'b' },
  '9F13': { name: 'Last Online ATC Register', format: 'b' },
  // Terminal and transaction data
  '95': { name: 'Terminal Verification Results (TVR)', format: 'b' },
  '9A': { name: 'Transaction Date', format: 'n' },
  '9B': { name: 'Transaction Status Information', format: 'b' },
  '9C': { name: 'Transaction Type', format: 'n' },
  '5F2A': { name: 'Transaction Currency Code', format: 'n' },
  '5F36': { name: 'Transaction Currency Exponent', format: 'n' },
  '9F02': { name: 'Amount, Authorised (Numeric)', format: 'n' },
  '9F03': { name: 'Amount, Other (Numeric)', format: 'n' },
  '9F15': { name: 'Merchant Category Code', format: 'n' },
  '9F16': { name: 'Merchant Identifier', format: 'ans' },
  '9F1A': { name: 'Terminal Country Code', format: 'n' },
  '9F1C': { name: 'Terminal Identification', format: 'an' },
  '9F1E': { name: 'Interface Device (IFD) Serial Number', format: 'an' },
  '9F21': { name: 'Transaction Time', format: 'n' },
  '9F33': { name: 'Terminal Capabilities', format: 'b' },
  '9F34': { name: 'Cardholder Verification Method (CVM) Results', format: 'b' },
  '9F35': { name: 'Terminal Type', format: 'n' },
  '9F37': { name: 'Unpredictable Number', format: 'b' },
  '9F39': { name: 'Point-of-Service (POS) Entry Mode', format: 'n' },
  '9F40': { name: 'Additional Terminal Capabilities', format: 'b' },
  '9F41': { name: 'Transaction Sequence Counter', format: 'n' },
  '9F53': { name: 'Transaction Category Code', format: 'an' },
  '9F66': { name: 'Terminal Transaction Qualifiers (TTQ)', format: 'b' },
  '9F7C': { name: 'Merchant Custom Data', format: 'b' },
  // Cryptogram
  '9F10': { name: 'Issuer Application Data (IAD)', format: 'b' },
  '9F26': { name: 'Application Cryptogram', format: 'b' },
  '9F27': { name: 'Cryptogram Information Data (CID)', format: 'b' },
  '9F36': { name: 'Application Transaction Counter (ATC)', format: 'b' },
  '9F45': { name: 'Data Authentication Code', format: 'b' },
  '9F4B': { name: 'Signed Dynamic Application Data', format: 'b' },
  '9F4C': { name: 'ICC Dynamic Number', format: 'b' },
  '9F5D': { name: 'Available Offline Spending Amount', format: 'b' },
  '9F5B': { name: 'Issuer Script Results', format: 'b' },
  '9F6C': { name: 'Card Transaction Qualifiers (CTQ)', format: 'b' },
  '9F6E': { name: 'Form Factor Indicator / Third Party Data', format: 'b' },
  '9F71': { name: 'Mobile CVM Results', format: 'b' },
  // Offline data authentication
  '8F': { name: 'Certification Authority Public Key Index', format: 'b' },
  '90': { name: 'Issuer Public Key Certificate', format: 'b' },
  '92': { name: 'Issuer Public Key Remainder', format: 'b' },
  '93': { name: 'Signed Static Application Data', format: 'b' },
  '9F32': { name: 'Issuer Public Key Exponent', format: 'b' },
  '9F46': { name: 'ICC Public Key Certificate', format: 'b' },
  '9F47': { name: 'ICC Public Key Exponent', format: 'b' },
  '9F48': { name: 'ICC Public Key Remainder', format: 'b' },
  '9F49': { name: 'Dynamic Data Authentication Data Object List (DDOL)', format: 'b' },
  '9F69': { name: 'Card Authentication Related Data', format: 'b' },
};

/** The tag's name, or `Unknown` (upper-case hex or not). */
export function tagName(tag: string): string {
  return TAGS[tag.toUpperCase()]?.name ?? 'Unknown';
}

/** Data objects whose value is a card number (BCD digits), optionally followed by `D` and more. */
const CARD_NUMBER_TAGS = new Set(['5A', '57', '9F6B']);

function maskCardNumber(value: Uint8Array): Uint8Array {
  const nibbles: number[] = [];
  for (const b of value) nibbles.push(b >> 4, b & 15);
  let end = nibbles.findIndex((n) => n > 9);
  if (end < 0) end = nibbles.length;
  const partial = end >= 13;
  for (let k = 0; k < nibbles.length; k++) {
    if (k < end) {
      if (!(partial && (k < 6 || k >= end - 4))) nibbles[k] = 0xf;
    } else if (k > end || nibbles[k] !== 0xd) {
      nibbles[k] = 0xf;
    }
  }
  const out = new Uint8Array(value.length);
  for (let k = 0; k < out.length; k++) out[k] = (nibbles[2 * k]! << 4) | nibbles[2 * k + 1]!;
  return out;
}

/** True when the data object is marked sensitive in `TAGS`. */
export function isSensitiveTag(tag: string): boolean {
  return TAGS[tag.toUpperCase()]?.sensitive === true;
}

/** A copy of the data objects with sensitive values masked (rules at the top of this file). */
export function maskTlv(nodes: TlvNode[]): TlvNode[] {
  return nodes.map((node) => {
    if (node.children) {
      const children = maskTlv(node.children);
      const value = buildTlv(children);
      return { tag: node.tag, length: value.length, value, children };
    }
    const opaque = isConstructed(node.tag);
    if (!opaque && !isSensitiveTag(node.tag)) return { tag: node.tag, length: node.length, value: node.value.slice() };
    const value = !opaque && CARD_NUMBER_TAGS.has(node.tag) ? maskCardNumber(node.value) : new Uint8Array(node.value.length).fill(0xff);
    return { tag: node.tag, length: value.length, value };
  });
}
