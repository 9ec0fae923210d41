import { createECDH, createHash } from 'node:crypto';
import type { KeyEncryptionKeys } from '../../infra/keys/kek.js';

/** What devices encrypt in-app payments to (the nonce answer carries it). */
export interface PaymentEncryptionKey {
  kid: string;
  alg: 'ECDH-ES+A256KW';
  enc: 'A256GCM';
  jwk: { kty: 'EC'; crv: 'P-256'; x: string; y: string };
}

const b64url = (b: Buffer) => b.toString('base64url');

/**
 * The platform's P-256 key for in-app payments, derived from the KEK (like the internal API keys): every
 * process sharing the KEK has the same one and nothing is stored. The private half stays in this object.
 */
export class PlatformPaymentKeys {
  readonly #private: Promise<CryptoKey>;
  readonly publicKey: PaymentEncryptionKey;

  constructor(kek: KeyEncryptionKeys) {
    const ecdh = createECDH('prime256v1');
    // A scalar outside [1, n − 1] is refused by setPrivateKey: take the next derivation then (odds 2^-32).
    for (let i = 0; ; i++) {
      try {
        ecdh.setPrivateKey(kek.derive(`platform-payment-key:${i}`));
        break;
      } catch {
        if (i > 8) throw new Error('could not derive the platform payment key');
      }
    }
    const point = ecdh.getPublicKey();
    const x = point.subarray(1, 33);
    const y = point.subarray(33, 65);
    const d = ecdh.getPrivateKey();
    const kid = `pay_${createHash('sha256').update(point).digest('hex').slice(0, 16)}`;
    this.publicKey = { kid, alg: 'ECDH-ES+A256KW', enc: 'A256GCM', jwk: { kty: 'EC', crv: 'P-256', x: b64url(x), y: b64url(y) } };
    this.#private = globalThis.crypto.subtle.importKey('jwk', { kty: 'EC', crv: 'P-256', x: b64url(x), y: b64url(y), d: b64url(d) }, { name: 'ECDH', namedCurve: 'P-256' }, false, ['deriveBits']);
    d.fill(0);
  }

  privateKey(): Promise<CryptoKey> {
    return this.#private;
  }
}
