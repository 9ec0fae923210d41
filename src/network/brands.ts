import { AppError } from '../infra/errors.js';
import { NETWORKS, tokenBinFor, type Network } from '../protocol/cards/index.js';

/** The four card networks this module serves; each has its own keys, token range and requestors. */
export type Brand = Network;
export const BRANDS: readonly Brand[] = NETWORKS;

export type BrandCvn = 18 | 20 | 'A1' | 'D1';
export type KeyAlg = '3des' | 'aes';

export interface BrandProfile {
  brand: Brand;
  /** Display name. */
  name: string;
  /** 3-digit token service provider code: the first digits of this brand's token requestor ids. */
  tspCode: string;
  /** The payment application's AID on the device. */
  aid: string;
  /** Cryptogram version of the brand's tokens (Visa CVN 18, Mastercard CVN 20, Tessera AES 'A1'/'D1'). */
  cvn: BrandCvn;
  /** Algorithm of the issuer master key for the token range and of the per-token keys. */
  keyAlg: KeyAlg;
  /** The token BIN (one token range per brand in the sandbox). */
  tokenBin: string;
  /**
   * PAR BIN-controller id (the first 4 of the 29 characters). Sandbox values in the style of the real
   * ones; the real ids are assigned by EMVCo.
   */
  parPrefix: string;
  /** Application label (EMV tag 50, at most 16 characters) for a product. */
  label(product: 'credit' | 'debit' | 'prepaid' | null): string;
}

export const BRAND_PROFILES: Readonly<Record<Brand, BrandProfile>> = {
  visa: {
    brand: 'visa',
    name: 'Visa',
    tspCode: '401',
    aid: 'A0000000031010',
    cvn: 18,
    keyAlg: '3des',
    tokenBin: tokenBinFor('visa'),
    parPrefix: 'V001',
    label: (p) => `VISA ${(p ?? 'credit').toUpperCase()}`,
  },
  mastercard: {
    brand: 'mastercard',
    name: 'Mastercard',
    tspCode: '501',
    aid: 'A0000000041010',
    cvn: 20,
    keyAlg: '3des',
    tokenBin: tokenBinFor('mastercard'),
    parPrefix: '5001',
    label: (p) => (p === 'debit' ? 'DEBIT MASTERCARD' : 'MASTERCARD'),
  },
  amex: {
    brand: 'amex',
    name: 'American Express',
    tspCode: '301',
    aid: 'A00000002501',
    cvn: 'A1',
    keyAlg: 'aes',
    tokenBin: tokenBinFor('amex'),
    parPrefix: 'A001',
    label: () => 'AMERICAN EXPRESS',
  },
  discover: {
    brand: 'discover',
    name: 'Discover',
    tspCode: '601',
    aid: 'A0000001523010',
    cvn: 'D1',
    keyAlg: 'aes',
    tokenBin: tokenBinFor('discover'),
    parPrefix: 'D001',
    label: () => 'DISCOVER',
  },
};

export function isBrand(value: unknown): value is Brand {
  return typeof value === 'string' && (BRANDS as readonly string[]).includes(value);
}

/** The brand of a route's `:brand` parameter; an unknown one is "no such route" (404). */
export function brandParam(value: string): Brand {
  if (!isBrand(value)) throw new AppError('route_not_found');
  return value;
}

/** The CVN as stored (text) and as carried in the payload (number for the 3DES CVNs). */
export function cvnText(cvn: BrandCvn): string {
  return String(cvn);
}
