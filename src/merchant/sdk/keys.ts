/**
 * The merchant's payment-processing keys: certificate + private key pairs, loaded once per keys
 * array. Old and new keys may sit side by side (certificate rotation); a token picks its key by
 * header.publicKeyHash.
 */
import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import {
  merchantIdHashFromCertificate,
  pemToDer,
  sha256,
  subjectPublicKeyInfoFromCertificate,
} from '../../protocol/paytoken/index.js';
import { MerchantConfigError } from './errors.js';

export interface MerchantKeyPair {
  /** The payment-processing certificate (PEM) Apple (or the platform) issued for this key. */
  certificatePem: string;
  /** Its private key, PEM: PKCS#8, SEC 1 ("EC PRIVATE KEY", EC PARAMETERS block allowed) or PKCS#1. */
  privateKeyPem: string;
}

export interface LoadedMerchantKey {
  /** Position in the keys array given. */
  index: number;
  kind: 'ec' | 'rsa';
  /** SHA-256 of the certificate's SubjectPublicKeyInfo: compared with header.publicKeyHash. */
  publicKeyHash: Uint8Array;
  /** From certificate extension 1.2.840.113635.100.6.32. */
  merchantIdHash: Uint8Array;
  /** WebCrypto: ECDH P-256 (deriveBits) or RSA-OAEP SHA-256 (decrypt); not extractable. */
  privateKey: CryptoKey;
}

interface CacheEntry {
  pems: string[];
  keys: Promise<LoadedMerchantKey[]>;
}

const cache = new WeakMap<readonly MerchantKeyPair[], CacheEntry>();

function spkiOf(key: KeyObject): Buffer {
  return key.export({ type: 'spki', format: 'der' });
}

async function loadOne(pair: MerchantKeyPair, index: number): Promise<LoadedMerchantKey> {
  const where = `keys[${index}]`;
  if (typeof pair?.certificatePem !== 'string' || typeof pair.privateKeyPem !== 'string') {
    throw new MerchantConfigError(`${where} must have certificatePem and privateKeyPem strings`);
  }
  let certDer: Uint8Array;
  let spki: Uint8Array;
  try {
    certDer = pemToDer(pair.certificatePem);
    spki = subjectPublicKeyInfoFromCertificate(certDer);
  } catch {
    throw new MerchantConfigError(`${where}.certificatePem is not a PEM X.509 certificate`);
  }
  let merchantIdHash: Uint8Array;
  try {
    merchantIdHash = merchantIdHashFromCertificate(certDer);
  } catch {
    throw new MerchantConfigError(`${where}.certificatePem has no merchant identifier extension (1.2.840.113635.100.6.32)`);
  }
  let privateKey: KeyObject;
  let certificateKey: KeyObject;
  try {
    privateKey = createPrivateKey(pair.privateKeyPem);
  } catch {
    throw new MerchantConfigError(`${where}.privateKeyPem is not a PEM private key`);
  }
  try {
    certificateKey = createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' });
  } catch {
    throw new MerchantConfigError(`${where}.certificatePem holds a public key this SDK cannot use`);
  }
  if (!spkiOf(createPublicKey(privateKey)).equals(spkiOf(certificateKey))) {
    throw new MerchantConfigError(`${where}.privateKeyPem does not belong to its certificate`);
  }
  const type = privateKey.asymmetricKeyType;
  let kind: 'ec' | 'rsa';
  let cryptoKey: CryptoKey;
  const pkcs8 = privateKey.export({ type: 'pkcs8', format: 'der' });
  try {
    if (type === 'ec' && privateKey.asymmetricKeyDetails?.namedCurve === 'prime256v1') {
      kind = 'ec';
      cryptoKey = await crypto.subtle.importKey('pkcs8', pkcs8, { name: 'ECDH', namedCurve: 'P-256' }, false, ['deriveBits']);
    } else if (type === 'rsa') {
      kind = 'rsa';
      cryptoKey = await crypto.subtle.importKey('pkcs8', pkcs8, { name: 'RSA-OAEP', hash: 'SHA-256' }, false, ['decrypt']);
    } else {
      throw new MerchantConfigError(`${where} must be a P-256 (EC_v1) or RSA (RSA_v1) key`);
    }
  } catch (err) {
    if (err instanceof MerchantConfigError) throw err;
    throw new MerchantConfigError(`${where}.privateKeyPem cannot be used for decryption`);
  } finally {
    pkcs8.fill(0);
  }
  return { index, kind, publicKeyHash: await sha256(spki), merchantIdHash, privateKey: cryptoKey };
}

/**
 * Loads and checks the merchant's key pairs (each private key must belong to its certificate, and
 * the certificate must carry the merchant identifier hash). Cached per array (while its PEMs are
 * unchanged). Throws MerchantConfigError naming the entry, never key material.
 */
export function loadMerchantKeys(keys: readonly MerchantKeyPair[]): Promise<LoadedMerchantKey[]> {
  if (!Array.isArray(keys) || keys.length === 0) return Promise.reject(new MerchantConfigError('keys must list at least one certificate and private key'));
  const pems = keys.flatMap((k) => [k?.certificatePem, k?.privateKeyPem].map(String));
  const hit = cache.get(keys);
  if (hit && hit.pems.length === pems.length && hit.pems.every((p, i) => p === pems[i])) return hit.keys;
  const loaded = Promise.all(keys.map((pair, i) => loadOne(pair, i)));
  cache.set(keys, { pems, keys: loaded });
  loaded.catch(() => cache.delete(keys));
  return loaded;
}
