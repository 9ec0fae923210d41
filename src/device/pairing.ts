/**
 * The Secure Enclave ↔ Secure Element pairing. At device set-up the two share an HMAC-SHA-256 key; the
 * Enclave, after a biometric or passcode check, hands the wallet an authorization MACed with it, which
 * the SE checks before it computes a cryptogram or accepts a provisioning step. The wallet app
 * carries the authorization but cannot forge one.
 */
import { concatBytes, utf8 } from '../protocol/bytes.js';

export type AuthorizationPurpose = 'contactless' | 'inapp' | 'provision';
export const AUTHORIZATION_PURPOSES: readonly AuthorizationPurpose[] = ['contactless', 'inapp', 'provision'];

/** A one-time user authorization, bound to a purpose and to the transaction's challenge. */
export interface Authorization {
  purpose: AuthorizationPurpose;
  /** The transaction's challenge, hex. */
  challenge: string;
  /** 16 random bytes, hex; the SE accepts each nonce once. */
  nonce: string;
  /** Milliseconds since the epoch, by the device clock. */
  issuedAt: number;
  /** HMAC-SHA-256 under the pairing key over authorizationMessage(...), hex. */
  mac: string;
}

/** Longest challenge an authorization binds (a terminal's unpredictable number is 4 bytes, a platform nonce 32). */
export const MAX_CHALLENGE_BYTES = 255;
export const NONCE_BYTES = 16;
/** How long an authorization stays usable. */
export const AUTHORIZATION_TTL_MS = 60_000;

/** A fresh pairing key: HMAC-SHA-256, non-extractable. */
export async function createPairingKey(): Promise<CryptoKey> {
  return globalThis.crypto.subtle.generateKey({ name: 'HMAC', hash: 'SHA-256', length: 256 }, false, ['sign', 'verify']);
}

/**
 * The MACed bytes: purpose ‖ challenge ‖ nonce ‖ issuedAt, each unambiguous (length-prefixed purpose
 * and challenge, fixed-size nonce, issuedAt as 8 bytes big-endian), so no two different
 * authorizations share an encoding.
 */
export function authorizationMessage(purpose: string, challenge: Uint8Array, nonce: Uint8Array, issuedAt: number): Uint8Array {
  const p = utf8.encode(purpose);
  const time = new Uint8Array(8);
  new DataView(time.buffer).setBigUint64(0, BigInt(issuedAt));
  return concatBytes(
    utf8.encode('tessera-authorization-v1'),
    Uint8Array.of(p.length),
    p,
    Uint8Array.of(challenge.length >> 8, challenge.length & 0xff),
    challenge,
    nonce,
    time,
  );
}
