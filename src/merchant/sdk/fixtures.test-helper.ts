/**
 * The real Apple Pay tokens in test/fixtures/apple-pay, with the values their README lists (origin,
 * licence, expected plaintext). Shared by the SDK, protocol and CLI tests.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** src/merchant/sdk → the repository's test/fixtures/apple-pay. */
export const FIXTURES_DIR = fileURLToPath(new URL('../../../test/fixtures/apple-pay/', import.meta.url));
export const APPLE_ROOT_PATH = `${FIXTURES_DIR}apple-root/AppleRootCA-G3.pem`;
export const APPLE_ROOT = readFileSync(APPLE_ROOT_PATH, 'utf8');

export interface Fixture {
  name: string;
  version: 'EC_v1' | 'RSA_v1';
  /** The token as it is in the file (full PKPaymentToken or bare paymentData). */
  json: Record<string, unknown>;
  tokenPath: string;
  signingTime: Date;
  /** Absent for the signature-only token. */
  certificatePath?: string;
  keyPath?: string;
  certificatePem?: string;
  privateKeyPem?: string;
  /** The decrypted payload, key order as real tokens. */
  expected?: Record<string, unknown>;
  /** Hex SHA-256(merchantIdentifier) in the processing certificate. */
  merchantIdHash?: string;
  merchantIdentifier?: string;
}

function payload(pan: string, expiry: string, dmi: string, cryptogram: string, eci?: string): Record<string, unknown> {
  return {
    applicationPrimaryAccountNumber: pan,
    applicationExpirationDate: expiry,
    currencyCode: '840',
    transactionAmount: 100,
    deviceManufacturerIdentifier: dmi,
    paymentDataType: '3DSecure',
    paymentData: eci === undefined ? { onlinePaymentCryptogram: cryptogram } : { onlinePaymentCryptogram: cryptogram, eciIndicator: eci },
  };
}

const BASIS_HASH = '774D916D4C83F5F32B528D0D23576B18D6795BE8250BAD7E5998B5F1414740A1';

function load(name: string, version: Fixture['version'], signingTime: string, extra: Partial<Fixture>, withKey = true): Fixture {
  const dir = `${FIXTURES_DIR}${name}/`;
  const f: Fixture = {
    name,
    version,
    json: JSON.parse(readFileSync(`${dir}token.json`, 'utf8')) as Record<string, unknown>,
    tokenPath: `${dir}token.json`,
    signingTime: new Date(signingTime),
    ...extra,
  };
  if (withKey) {
    f.certificatePath = `${dir}merchant-cert.pem`;
    f.keyPath = `${dir}merchant-key.pem`;
    f.certificatePem = readFileSync(f.certificatePath, 'utf8');
    f.privateKeyPem = readFileSync(f.keyPath, 'utf8');
  }
  return f;
}

export const FIXTURES: Fixture[] = [
  load('gala-mastercard', 'EC_v1', '2021-09-01T19:03:06Z', {
    expected: payload('5353756319181169', '240930', '050110030273', 'AMwBRjPWDnAgAA7Rls7mAoABFA=='),
    merchantIdHash: '358DA5890B9555C0A9EFB84B5CD6FF04BFDCD5AABF5DC14B9872D8DF51EAF439',
    merchantIdentifier: 'merchant.test.spreedly.123merchant',
  }),
  load('basistheory-ec-new', 'EC_v1', '2023-09-13T13:49:38Z', {
    expected: payload('4784000000380075', '290228', '040010030273', '/x2gvNsADhptD1JXWRhcMAACAAA=', '7'),
    merchantIdHash: BASIS_HASH,
    merchantIdentifier: 'merchant.basistheory.sales',
  }),
  load('basistheory-ec-old', 'EC_v1', '2023-03-20T20:46:55Z', {
    expected: payload('4784000000380075', '231231', '040010030273', '/4hD3+cAE5A3VxSlUf4yMAACAAA=', '7'),
    merchantIdHash: BASIS_HASH,
    merchantIdentifier: 'merchant.basistheory.sales',
  }),
  load('basistheory-rsa', 'RSA_v1', '2024-01-08T17:54:44Z', {
    expected: payload('4784000000380075', '290228', '040010030273', '/w87QS0AExt/z6EPXrU2MAACAAA=', '7'),
    merchantIdHash: BASIS_HASH,
    merchantIdentifier: 'merchant.basistheory.sales',
  }),
  load('processout-signature-only', 'EC_v1', '2017-02-01T18:45:06Z', {}, false),
];

export const DECRYPTABLE = FIXTURES.filter((f) => f.expected !== undefined);
export const fixture = (name: string): Fixture => FIXTURES.find((f) => f.name === name)!;

/** The published gala-mastercard intermediate values. */
export const GALA = {
  sharedSecretZ: 'yCUzDuNYTnUnANZEdxC7+DvPmqNslB2YWYn68SBsJHU=',
  symmetricKey: '3GTXJ4RuP/IhS23hsdOw2J2ecAZmC0RasbPIFdC3nQM=',
};

/** The paymentData object of a fixture (full token or bare). */
export function paymentDataOf(json: Record<string, unknown>): Record<string, unknown> & { header: Record<string, string> } {
  return (json.paymentData ?? json) as Record<string, unknown> & { header: Record<string, string> };
}

export function clone<T>(value: T): T {
  return structuredClone(value);
}

/** A copy of the fixture's token with one byte of a base64 field changed (index from the end if negative). */
export function flipBase64(json: Record<string, unknown>, field: 'data' | 'signature' | 'ephemeralPublicKey' | 'wrappedKey', index: number): Record<string, unknown> {
  const copy = clone(json);
  const pd = paymentDataOf(copy);
  const holder = (field === 'data' || field === 'signature' ? pd : pd.header) as Record<string, string>;
  const bytes = Buffer.from(holder[field]!, 'base64');
  const i = index < 0 ? bytes.length + index : index;
  bytes[i] = bytes[i]! ^ 0x01;
  holder[field] = bytes.toString('base64');
  return copy;
}

/** A copy with one byte of header.transactionId changed (and transactionIdentifier kept equal to it). */
export function flipTransactionId(json: Record<string, unknown>): Record<string, unknown> {
  const copy = clone(json);
  const pd = paymentDataOf(copy);
  const bytes = Buffer.from(pd.header.transactionId!, 'hex');
  bytes[5] = bytes[5]! ^ 0x80;
  pd.header.transactionId = bytes.toString('hex');
  if (typeof copy.transactionIdentifier === 'string') copy.transactionIdentifier = pd.header.transactionId;
  return copy;
}

/** Offset, in the decoded signature, of a byte inside the CMS signature value (ECDSA s / RSA signature). */
export function signatureValueOffset(signatureBase64: string): number {
  const der = Buffer.from(signatureBase64, 'base64');
  // The SignedData ends with the signerInfos SET (definite) then three end-of-contents (00 00): the
  // last bytes before them are the signature value's.
  const end = der.length - 6;
  if (!der.subarray(end).every((b) => b === 0)) throw new Error('expected three end-of-contents octets pairs at the end');
  return end - 8;
}
