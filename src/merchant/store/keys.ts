import { createHash, createPrivateKey, createPublicKey, generateKeyPair as generateKeyPairCb } from 'node:crypto';
import { promisify } from 'node:util';
import type { Database } from '../../infra/db/database.js';
import { newId } from '../../infra/ids.js';
import type { EnvelopeCipher } from '../../infra/keys/envelope.js';
import { x509 } from '../../infra/x509.js';
import type { MerchantKeyPair } from '../sdk/index.js';
import { storeRepo as repo, type KeyKind, type KeyRow, type KeyType } from './repository.js';

const generateKeyPair = promisify(generateKeyPairCb);

export interface IdentityCredentials {
  /** The identity certificate followed by the intermediate, as the TLS client presents it. */
  chainPem: string;
  /** PKCS#8 PEM: lives in memory only, for the TLS client. */
  keyPem: string;
}

/**
 * The store's own private keys: generated here, stored only envelope-encrypted (a data key wrapped by
 * the KEK, context bound to the key id); only a certificate request (public key + self-signature)
 * leaves the store. Processing keys decrypt payment tokens; the identity key authenticates the store
 * to the platform over mutual TLS.
 */
export class StoreKeyVault {
  #processing: MerchantKeyPair[] | undefined;
  #identity: IdentityCredentials | undefined;

  constructor(
    private readonly db: Database,
    private readonly cipher: EnvelopeCipher,
  ) {}

  static context(id: string): string {
    return `store:key:${id}`;
  }

  /** A new key pair of that kind; returns its id and a PKCS#10 request for the platform to certify. */
  async generate(kind: KeyKind, keyType: KeyType, merchantIdentifier: string): Promise<{ id: string; csrPem: string }> {
    const pair =
      keyType === 'ec_p256'
        ? await generateKeyPair('ec', { namedCurve: 'prime256v1' })
        : await generateKeyPair('rsa', { modulusLength: 2048, publicExponent: 0x10001 });
    const pkcs8 = pair.privateKey.export({ type: 'pkcs8', format: 'der' });
    const spki = pair.publicKey.export({ type: 'spki', format: 'der' });
    const id = newId('skey');
    try {
      const csrPem = await buildCsr(pkcs8, spki, keyType, kind, merchantIdentifier);
      const privateKeyEnc = await this.cipher.encrypt(pkcs8, StoreKeyVault.context(id));
      await repo.insertKey(this.db, { id, kind, keyType, privateKeyEnc, publicKeyHash: createHash('sha256').update(spki).digest('base64') });
      return { id, csrPem };
    } finally {
      pkcs8.fill(0);
    }
  }

  /** A certificate request again for a stored key (its certificate was never received). */
  async requestFor(id: string, kind: KeyKind, merchantIdentifier: string): Promise<string> {
    const row = (await repo.keys(this.db, kind)).find((k) => k.id === id);
    if (!row) throw new Error('no such store key');
    const pkcs8 = await this.cipher.decrypt(row.private_key_enc, StoreKeyVault.context(id));
    try {
      const spki = createPublicKey(createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' })).export({ type: 'spki', format: 'der' });
      return await buildCsr(pkcs8, spki, row.key_type, kind, merchantIdentifier);
    } finally {
      pkcs8.fill(0);
    }
  }

  /** Records the certificate the platform issued for key `id`. */
  async attachCertificate(id: string, certificatePem: string, chainPem: string): Promise<void> {
    const cert = new x509.X509Certificate(certificatePem);
    await repo.setKeyCertificate(this.db, id, certificatePem, chainPem, cert.notAfter);
    this.#processing = undefined;
    this.#identity = undefined;
  }

  /** Keys of that kind still waiting for a certificate (a set-up interrupted after generating). */
  async uncertified(kind: KeyKind): Promise<KeyRow[]> {
    return (await repo.keys(this.db, kind)).filter((k) => k.certificate_pem === null);
  }

  async hasCertified(kind: KeyKind): Promise<boolean> {
    return (await repo.keys(this.db, kind)).some((k) => k.certificate_pem !== null);
  }

  /**
   * Every certified processing key (several side by side during a rotation; the SDK picks by
   * publicKeyHash). The same array is returned while nothing changes, so the SDK's cache of loaded
   * keys holds.
   */
  async processingKeys(): Promise<MerchantKeyPair[]> {
    if (this.#processing) return this.#processing;
    const rows = (await repo.keys(this.db, 'processing')).filter((k) => k.certificate_pem !== null);
    const pairs: MerchantKeyPair[] = [];
    for (const r of rows) pairs.push({ certificatePem: r.certificate_pem!, privateKeyPem: await this.#privatePem(r) });
    this.#processing = pairs;
    return pairs;
  }

  /** The newest certified identity key and its chain, for the mutual-TLS client. */
  async identity(): Promise<IdentityCredentials | undefined> {
    if (this.#identity) return this.#identity;
    const row = (await repo.keys(this.db, 'identity')).find((k) => k.certificate_pem !== null);
    if (!row) return undefined;
    this.#identity = { chainPem: row.chain_pem!, keyPem: await this.#privatePem(row) };
    return this.#identity;
  }

  async #privatePem(row: KeyRow): Promise<string> {
    const der = await this.cipher.decrypt(row.private_key_enc, StoreKeyVault.context(row.id));
    try {
      return createPrivateKey({ key: der, format: 'der', type: 'pkcs8' }).export({ type: 'pkcs8', format: 'pem' }).toString();
    } finally {
      der.fill(0);
    }
  }
}

async function buildCsr(pkcs8: Buffer, spki: Buffer, keyType: KeyType, kind: KeyKind, merchantIdentifier: string): Promise<string> {
  const algorithm =
    keyType === 'ec_p256'
      ? { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' }
      : { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256', publicExponent: new Uint8Array([1, 0, 1]), modulusLength: 2048 };
  const privateKey = await crypto.subtle.importKey('pkcs8', new Uint8Array(pkcs8), algorithm, false, ['sign']);
  const publicKey = await crypto.subtle.importKey('spki', new Uint8Array(spki), algorithm, true, ['verify']);
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    name: `CN=${kind === 'processing' ? 'Apple Pay Payment Processing' : 'Merchant ID'}:${merchantIdentifier}`,
    keys: { privateKey, publicKey },
    signingAlgorithm: algorithm,
  });
  return csr.toString('pem');
}
