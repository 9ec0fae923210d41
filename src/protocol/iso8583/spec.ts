/**
 * ISO 8583 (1987 numbering) field table for Tessera's wire profile, as data.
 *
 * Wire profile (see docs/reference/iso8583.md):
 * - MTI: 4 ASCII digits;
 * - bitmaps: binary, 8 bytes; bit 1 announces the secondary bitmap, which is sent only when a field
 *   above 64 is present (a present but empty secondary bitmap is accepted when reading);
 * - `n`, `an`, `ans`, `z` fields: ASCII characters; fixed fields have exactly their length
 *   (wrong length is an error, never padded silently); LLVAR / LLLVAR fields carry a 2 / 3 ASCII digit
 *   prefix counting characters;
 * - `b` fields: raw bytes, the length (fixed, or the LLLVAR prefix) counting bytes;
 * - on a stream, each message is preceded by a 2-byte big-endian length (see `frameMessage`).
 *
 * Character sets: `n` digits; `an` letters, digits and space; `ans` printable ASCII (20-7E);
 * `z` track 2 characters (digits, `=` or `D` as separator, and `:;<>?`).
 *
 * Token context in private fields (our own design; real networks use Mastercard DE 48 subelement 33
 * and Visa fields 123/126 for the same purpose):
 *
 * DE 48 (additional data, ans...999) is a sequence of subelements, each `id(2 digits) length(2 digits)
 * value`, ids ascending, no id twice (`packSubelements` / `parseSubelements`):
 *
 * | SE | meaning | format | direction |
 * |----|---------|--------|-----------|
 * | 26 | wallet identifier (wallet provider's code, e.g. `TSW`) | ans..16 | acquirer → network → issuer |
 * | 33 | token PAN (DE 2 then carries the real card number) | n13..19 | network → issuer, and back in the response |
 * | 34 | token expiry YYMM (DE 14 carries the card's) | n4 | network → issuer |
 * | 35 | token requestor id | n11 | network → issuer |
 * | 36 | token cryptogram validation by the network: `V` valid, `F` failed, `N` not checked | a1 | network → issuer |
 * | 37 | device id (Secure Element / device binding) | ans..48 | network → issuer |
 * | 42 | electronic commerce indicator (ECI) for in-app / e-commerce | n2 | acquirer → network |
 * | 43 | in-app / e-commerce payment cryptogram (online cryptogram, base64) | ans..40 | acquirer → network |
 * | 71 | token domain restriction check: `V` passed, `F` failed | a1 | network → issuer |
 *
 * In store, the token's cryptogram travels in DE 55 (ICC data, BER-TLV) with DE 22 = 07x; in-app and
 * e-commerce send DE 22 = 81x with SE 42 and SE 43. `describeMessage` masks SE 33 like a PAN.
 */

export type FieldFormat = 'n' | 'an' | 'ans' | 'z' | 'b';
export type LengthType = 'fixed' | 'llvar' | 'lllvar';

export interface FieldSpec {
  name: string;
  format: FieldFormat;
  lengthType: LengthType;
  /** Exact length for fixed fields, maximum for variable ones (characters, or bytes for `b`). */
  length: number;
  /** How `describeMessage` shows it: `pan` first 6 / last 4, `full` all masked, `tlv` via the TLV masker. */
  mask?: 'pan' | 'full' | 'tlv';
}

const f = (name: string, format: FieldFormat, lengthType: LengthType, length: number, mask?: FieldSpec['mask']): FieldSpec =>
  mask ? { name, format, lengthType, length, mask } : { name, format, lengthType, length };

/** The data elements this profile knows; any other bit in a bitmap is an error. */
export const FIELDS: Readonly<Record<number, FieldSpec>> = {
  2: f('primary account number', 'n', 'llvar', 19, 'pan'),
  3: f('processing code', 'n', 'fixed', 6),
  4: f('amount, transaction', 'n', 'fixed', 12),
  7: f('transmission date and time', 'n', 'fixed', 10),
  11: f('system trace audit number', 'n', 'fixed', 6),
  12: f('local transaction time', 'n', 'fixed', 6),
  13: f('local transaction date', 'n', 'fixed', 4),
  14: f('expiration date', 'n', 'fixed', 4),
  18: f('merchant category code', 'n', 'fixed', 4),
  22: f('POS entry mode', 'n', 'fixed', 3),
  23: f('card sequence number', 'n', 'fixed', 3),
  25: f('POS condition code', 'n', 'fixed', 2),
  32: f('acquiring institution id', 'n', 'llvar', 11),
  35: f('track 2 data', 'z', 'llvar', 37, 'full'),
  37: f('retrieval reference number', 'an', 'fixed', 12),
  38: f('authorization code', 'an', 'fixed', 6),
  39: f('response code', 'an', 'fixed', 2),
  41: f('card acceptor terminal id', 'ans', 'fixed', 8),
  42: f('card acceptor id', 'ans', 'fixed', 15),
  43: f('card acceptor name/location', 'ans', 'fixed', 40),
  44: f('additional response data', 'ans', 'llvar', 25),
  48: f('additional data, private (token context)', 'ans', 'lllvar', 999),
  49: f('currency code, transaction', 'n', 'fixed', 3),
  52: f('PIN data', 'b', 'fixed', 8, 'full'),
  54: f('additional amounts', 'ans', 'lllvar', 120),
  55: f('ICC data', 'b', 'lllvar', 255, 'tlv'),
  60: f('reserved national', 'ans', 'lllvar', 999),
  61: f('reserved private', 'ans', 'lllvar', 999),
  62: f('reserved private', 'ans', 'lllvar', 999),
  63: f('reserved private', 'ans', 'lllvar', 999),
  64: f('message authentication code', 'b', 'fixed', 8),
  70: f('network management information code', 'n', 'fixed', 3),
  90: f('original data elements', 'n', 'fixed', 42),
  95: f('replacement amounts', 'an', 'fixed', 42),
  102: f('account identification 1', 'ans', 'llvar', 28),
  103: f('account identification 2', 'ans', 'llvar', 28),
  123: f('reserved private', 'ans', 'lllvar', 999),
  126: f('reserved private', 'ans', 'lllvar', 999),
  127: f('reserved private', 'ans', 'lllvar', 999),
  128: f('message authentication code', 'b', 'fixed', 8),
};

/** Message types this profile carries. */
export const SUPPORTED_MTIS: readonly string[] = [
  '0100', '0110', '0120', '0130', '0200', '0210', '0400', '0410', '0420', '0430', '0800', '0810',
];

/** Request MTI → response MTI. */
export const RESPONSE_MTI: Readonly<Record<string, string>> = {
  '0100': '0110',
  '0120': '0130',
  '0200': '0210',
  '0400': '0410',
  '0420': '0430',
  '0800': '0810',
};

/** DE 48 subelement ids of the token context (table above). */
export const DE48 = {
  WALLET_ID: '26',
  TOKEN_PAN: '33',
  TOKEN_EXPIRY: '34',
  TOKEN_REQUESTOR_ID: '35',
  CRYPTOGRAM_RESULT: '36',
  DEVICE_ID: '37',
  ECI: '42',
  ECOM_CRYPTOGRAM: '43',
  DOMAIN_CHECK: '71',
} as const;
