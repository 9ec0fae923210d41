/**
 * Records encrypted at rest under a module's own non-extractable AES-256-GCM key. The storage slot
 * name is the additional authenticated data, so a record copied into another slot (one card's record
 * over another's, an old counter state over a new one's slot) does not open.
 *
 * IVs always come from the platform's CSPRNG, never from an injected test random source: a repeated
 * IV under one GCM key would give the key stream away.
 */
import { utf8 } from '../protocol/bytes.js';

export interface SealedRecord {
  v: 1;
  iv: Uint8Array;
  ct: Uint8Array;
}

const subtle = (): SubtleCrypto => globalThis.crypto.subtle;

export async function createSealingKey(): Promise<CryptoKey> {
  return subtle().generateKey({ name: 'AES-GCM', length: 256 }, false, ['encrypt', 'decrypt']);
}

export async function seal(key: CryptoKey, slot: string, value: unknown): Promise<SealedRecord> {
  const iv = globalThis.crypto.getRandomValues(new Uint8Array(12));
  const plain = utf8.encode(JSON.stringify(value));
  try {
    const ct = await subtle().encrypt({ name: 'AES-GCM', iv: bs(iv), additionalData: bs(utf8.encode(slot)) }, key, bs(plain));
    return { v: 1, iv, ct: new Uint8Array(ct) };
  } finally {
    plain.fill(0);
  }
}

/** The value sealed in `slot`, or undefined when the slot is empty; throws when the record does not open. */
export async function unseal(key: CryptoKey, slot: string, record: unknown): Promise<unknown> {
  if (record === undefined) return undefined;
  if (!isSealedRecord(record)) throw new Error('not a sealed record');
  const plain = new Uint8Array(
    await subtle().decrypt({ name: 'AES-GCM', iv: bs(record.iv), additionalData: bs(utf8.encode(slot)) }, key, bs(record.ct)),
  );
  try {
    return JSON.parse(utf8.decode(plain)) as unknown;
  } finally {
    plain.fill(0);
  }
}

function isSealedRecord(value: unknown): value is SealedRecord {
  if (typeof value !== 'object' || value === null) return false;
  const r = value as Partial<SealedRecord>;
  return r.v === 1 && r.iv instanceof Uint8Array && r.iv.length === 12 && r.ct instanceof Uint8Array && r.ct.length >= 16;
}

/** A Uint8Array typed as backed by an ArrayBuffer, as TypeScript's WebCrypto signatures want. */
export function bs(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  return bytes as Uint8Array<ArrayBuffer>;
}

/** True for a CryptoKey of the given type and algorithm (works across realms, unlike instanceof). */
export function isCryptoKey(value: unknown, type: KeyType, algorithm: string): value is CryptoKey {
  if (typeof value !== 'object' || value === null) return false;
  const k = value as Partial<CryptoKey>;
  return k.type === type && typeof k.algorithm === 'object' && k.algorithm?.name === algorithm && Array.isArray(k.usages);
}

/**
 * Runs commands one at a time, as a secure element processes one APDU at a time: read-modify-write
 * of stored state (a nonce list, a failure counter) must not interleave across awaits.
 */
export class SerialQueue {
  #tail: Promise<unknown> = Promise.resolve();

  run<T>(task: () => Promise<T>): Promise<T> {
    const next = this.#tail.then(task);
    this.#tail = next.catch(() => undefined);
    return next;
  }
}
