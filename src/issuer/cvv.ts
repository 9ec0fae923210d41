/**
 * Card verification values the way issuers compute them (Visa CVV / Mastercard CVC, the method of the
 * IBM 3624 family every payment HSM implements): a double-length DES key pair (CVK A ‖ CVK B) over
 * PAN ‖ expiry (YYMM) ‖ service code, padded with zeros to 32 digits and split into two 8-byte blocks:
 *
 *   r = 3DES-EDE(CVK A ‖ CVK B, DES(CVK A, block 1) XOR block 2)
 *
 * then "decimalised": the decimal digits of hex(r) left to right, followed by its letters A–F mapped to
 * 0–5, and the first 3 of those are the value. The CVV2 printed on the card (what a cardholder types into
 * a wallet) is the same computation with service code 000. American Express's CSC uses its own
 * algorithm; the sandbox takes 4 digits of this one instead.
 *
 * Nothing is stored: an issuer checks a CVV by computing it again.
 */
import { fromHex, toHex, xorBytes } from '../protocol/bytes.js';
import { Des, TripleDes } from '../protocol/crypto/des.js';

export const CVV2_SERVICE_CODE = '000';

export function computeCvv(cvk: Uint8Array, pan: string, expiryYymm: string, serviceCode: string, digits = 3): string {
  if (cvk.length !== 16) throw new Error('a CVK pair is 16 bytes');
  if (!/^\d{12,19}$/.test(pan) || !/^\d{4}$/.test(expiryYymm) || !/^\d{3}$/.test(serviceCode)) throw new Error('bad CVV input');
  if (digits < 3 || digits > 5) throw new Error('a CVV has 3 to 5 digits');
  const data = fromHex(`${pan}${expiryYymm}${serviceCode}`.padEnd(32, '0'));
  const first = new Des(cvk.subarray(0, 8)).encryptBlock(data.subarray(0, 8));
  const result = toHex(new TripleDes(cvk).encryptBlock(xorBytes(first, data.subarray(8, 16)))).toUpperCase();
  const decimals = [...result].filter((c) => c >= '0' && c <= '9');
  const letters = [...result].filter((c) => c >= 'A' && c <= 'F').map((c) => String(c.charCodeAt(0) - 65));
  return [...decimals, ...letters].slice(0, digits).join('');
}

/** YYMM as the CVV computation wants it. */
export function expiryYymm(month: number, year: number): string {
  return `${String(year % 100).padStart(2, '0')}${String(month).padStart(2, '0')}`;
}
