import { OID as PAYTOKEN_OID } from '../../protocol/paytoken/index.js';

/**
 * The token format's object identifiers (Apple's arc 1.2.840.113635, kept so merchant code runs
 * unchanged), shared with the token module, plus what only certificate issuance needs.
 */
export const OID = {
  ...PAYTOKEN_OID,
  /** X.500 userId (UID), which carries the merchant identifier in a merchant certificate's subject. */
  userId: '0.9.2342.19200300.100.1.1',
} as const;

/** DER NULL: the value of the intermediate's and the signing leaf's marker extensions (only presence matters). */
export const DER_NULL = new Uint8Array([0x05, 0x00]);
