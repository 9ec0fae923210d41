import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Sql } from '../infra/db/database.js';
import type { KeyEncryptionKeys } from '../infra/keys/kek.js';
import { adjustOddParity } from '../protocol/crypto/des.js';
import type { Network } from '../protocol/cards/index.js';
import { Secret } from '../protocol/secret.js';
import { computeCvv, CVV2_SERVICE_CODE, expiryYymm } from './cvv.js';
import { issuerRepo as repo, type KeyPurpose } from './repository.js';

const PURPOSES: readonly KeyPurpose[] = ['cvk', 'sandbox_cvv', 'otp'];

export function cvvLength(network: Network): number {
  return network === 'amex' ? 4 : 3;
}

function sameBytes(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * Each issuer's HSM module: its keys are created here, stored only wrapped by the KEK, unwrapped only
 * here, and never handed out. The interface is narrow: compute a CVV (at issuing, for the card mailer),
 * verify one, MAC a sandbox CVV or a one-time code. Keys:
 *   cvk          the CVV key pair (double-length DES, odd parity) of the card verification values
 *   sandbox_cvv  HMAC key for the documented test cards' fixed CVV (123 / 1234), so even that is not kept in clear
 *   otp          HMAC key for one-time codes
 * Reads go through the caller's `Sql`, so they can join the caller's transaction.
 */
export class IssuerHsm {
  readonly #keys = new Map<string, Buffer>();

  constructor(private readonly kek: KeyEncryptionKeys) {}

  static #context(issuerId: string, purpose: KeyPurpose): string {
    return `issuer.issuer_keys:${issuerId}:${purpose}`;
  }

  /** Creates whatever keys the issuer lacks (idempotent; a concurrent start keeps the first). */
  async ensureKeys(sql: Sql, issuerId: string): Promise<void> {
    for (const purpose of PURPOSES) {
      if (await repo.key(sql, issuerId, purpose)) continue;
      const material = purpose === 'cvk' ? Buffer.from(adjustOddParity(randomBytes(16))) : randomBytes(32);
      const { kekId, wrapped } = this.kek.wrap(material, IssuerHsm.#context(issuerId, purpose));
      await repo.insertKeyIfMissing(sql, { issuerId, purpose, kekId, wrapped });
    }
  }

  async #key(sql: Sql, issuerId: string, purpose: KeyPurpose): Promise<Buffer> {
    const name = `${issuerId}:${purpose}`;
    const cached = this.#keys.get(name);
    if (cached) return cached;
    const row = await repo.key(sql, issuerId, purpose);
    if (!row) throw new Error(`issuer key missing: ${purpose}`);
    const key = this.kek.unwrap(row.kek_id, row.wrapped, IssuerHsm.#context(issuerId, purpose));
    this.#keys.set(name, key);
    return key;
  }

  /** The CVV2 of a card, computed when the card is issued (printed on it); never stored. */
  async cvv2(sql: Sql, issuerId: string, pan: Secret, network: Network, expMonth: number, expYear: number): Promise<Secret> {
    const cvk = await this.#key(sql, issuerId, 'cvk');
    return new Secret(computeCvv(cvk, pan.reveal(), expiryYymm(expMonth, expYear), CVV2_SERVICE_CODE, cvvLength(network)));
  }

  async verifyCvv2(sql: Sql, issuerId: string, pan: Secret, network: Network, expMonth: number, expYear: number, cvv: Secret): Promise<boolean> {
    const expected = await this.cvv2(sql, issuerId, pan, network, expMonth, expYear);
    return sameBytes(Buffer.from(expected.reveal()), Buffer.from(cvv.reveal()));
  }

  /** What a documented test card keeps instead of its published CVV: an HMAC bound to the card. */
  async sandboxCvvMac(sql: Sql, issuerId: string, cardId: string, cvv: Secret): Promise<Buffer> {
    const key = await this.#key(sql, issuerId, 'sandbox_cvv');
    return createHmac('sha256', key).update(`sandbox-cvv:${cardId}:${cvv.reveal()}`).digest();
  }

  async verifySandboxCvv(sql: Sql, issuerId: string, cardId: string, cvv: Secret, mac: Buffer): Promise<boolean> {
    return sameBytes(await this.sandboxCvvMac(sql, issuerId, cardId, cvv), mac);
  }

  /** A one-time code's HMAC, bound to its verification: a stored value is useless for any other. */
  async otpMac(sql: Sql, issuerId: string, verificationId: string, code: Secret): Promise<Buffer> {
    const key = await this.#key(sql, issuerId, 'otp');
    return createHmac('sha256', key).update(`otp:${verificationId}:${code.reveal()}`).digest();
  }

  async verifyOtp(sql: Sql, issuerId: string, verificationId: string, code: Secret, mac: Buffer): Promise<boolean> {
    return sameBytes(await this.otpMac(sql, issuerId, verificationId, code), mac);
  }
}
