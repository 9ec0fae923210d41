/**
 * The network's check of an in-app / e-commerce 0100 (DE 22 81x or 09x): the online payment cryptogram
 * in DE 48 subelement 43 (base64 of 20 bytes, docs/inapp.md), verified in the HSM against DE 4 and
 * DE 49 under the token's key. Its ATC is the token's one counter, shared with contactless: the switch
 * admits it only when it is higher than every ATC accepted before (a replayed cryptogram → 63).
 */
import { parseOnlineCryptogram } from '../protocol/emv/index.js';
import type { IsoMessage } from '../protocol/iso8583/iso8583.js';
import { DE48 } from '../protocol/iso8583/spec.js';
import { Secret } from '../protocol/secret.js';
import type { Brand, BrandCvn } from './brands.js';
import type { Hsm } from './hsm.js';

const BASE64_20 = /^[A-Za-z0-9+/]{26}[AEIMQUYcgkosw048]=$/;

/** The checked cryptogram's ATC, or why it was refused (each answered 88). */
export async function checkOnlineCryptogram(
  hsm: Hsm,
  brand: Brand,
  token: { psn: string; cvn: BrandCvn },
  tokenPan: string,
  msg: IsoMessage,
  subelements: Map<string, string>,
): Promise<{ atc: number } | { reason: string }> {
  const encoded = subelements.get(DE48.ECOM_CRYPTOGRAM);
  if (encoded === undefined || !BASE64_20.test(encoded)) return { reason: 'online_cryptogram_invalid' };
  const bytes = new Uint8Array(Buffer.from(encoded, 'base64'));
  let atc: number;
  try {
    atc = parseOnlineCryptogram(bytes).atc;
  } catch {
    return { reason: 'online_cryptogram_invalid' };
  }
  const amount = msg.fields[4];
  const currency = msg.fields[49];
  if (typeof amount !== 'string' || typeof currency !== 'string') return { reason: 'online_cryptogram_invalid' };
  let valid = false;
  try {
    valid = await hsm.verifyOnlineCryptogram(brand, Secret.pan(tokenPan), token.psn, token.cvn, bytes, Number(amount), currency);
  } catch {
    valid = false;
  }
  return valid ? { atc } : { reason: 'online_cryptogram_invalid' };
}
