/**
 * AES-CMAC (NIST SP 800-38B, RFC 4493) on WebCrypto's AES-CBC, so it runs unchanged in Node and
 * the browser. WebCrypto has no raw AES block operation and always pads CBC (PKCS#7), so:
 * - one AES block E(K, X) is the first ciphertext block of AES-CBC(K, IV = 0, X);
 * - CBC-MAC over n prepared blocks is ciphertext block n of AES-CBC(K, IV = 0, blocks), the
 *   (n+1)th block being WebCrypto's padding block, which is dropped. One WebCrypto call per MAC.
 *
 * `AesCmac.create(key)` imports the key and computes the subkeys once; reuse it for many MACs.
 * Key bytes never reach an error message.
 *
 * Where the runtime has a synchronous AES (Node's OpenSSL: see src/infra/node-aes.ts, installed by the server),
 * `useSyncAesCbc` puts it under the same functions: a WebCrypto call costs a key import and a trip to
 * the thread pool, about 20 times the cipher itself for the few blocks an EMV cryptogram needs.
 */
import { ProtocolError } from '../errors.js';

const BLOCK = 16;

function subtle(): SubtleCrypto {
  const s = globalThis.crypto?.subtle;
  if (!s) throw new ProtocolError('crypto_unavailable', 'WebCrypto (crypto.subtle) is not available');
  return s;
}

/** A copy on a fresh ArrayBuffer (what WebCrypto's BufferSource type wants). */
function own(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(new ArrayBuffer(bytes.length));
  out.set(bytes);
  return out;
}

function checkAesKey(key: Uint8Array): void {
  if (key.length !== 16 && key.length !== 24 && key.length !== 32) {
    throw new ProtocolError('aes_bad_key_length', 'AES key must be 16, 24 or 32 bytes');
  }
}

/** AES-CBC with a zero IV and no padding over whole blocks, on raw key bytes; synchronous. */
export type SyncAesCbc = (key: Uint8Array, data: Uint8Array) => Uint8Array;

let syncCbc: SyncAesCbc | null = null;

/** Puts a synchronous AES-CBC under this module (null: back to WebCrypto). Results are the same. */
export function useSyncAesCbc(fn: SyncAesCbc | null): void {
  syncCbc = fn;
}

/** Imports raw AES key bytes for AES-CBC encryption (non-extractable). */
export async function importAesKey(key: Uint8Array): Promise<CryptoKey> {
  checkAesKey(key);
  return subtle().importKey('raw', own(key), { name: 'AES-CBC' }, false, ['encrypt']);
}

async function cbcZeroIv(key: CryptoKey, data: Uint8Array<ArrayBuffer>): Promise<Uint8Array> {
  const out = await subtle().encrypt({ name: 'AES-CBC', iv: new Uint8Array(BLOCK) }, key, data);
  return new Uint8Array(out);
}

/** AES encryption of one 16-byte block (ECB), e.g. for a key check value. */
export async function aesEncryptBlock(key: Uint8Array | CryptoKey, block: Uint8Array): Promise<Uint8Array> {
  if (block.length !== BLOCK) throw new ProtocolError('aes_bad_block', 'AES block must be 16 bytes');
  if (syncCbc && key instanceof Uint8Array) {
    checkAesKey(key);
    return syncCbc(key, block);
  }
  const k = key instanceof Uint8Array ? await importAesKey(key) : key;
  return (await cbcZeroIv(k, own(block))).slice(0, BLOCK);
}

/** Doubling in GF(2^128) as SP 800-38B's subkey generation: shift left one bit, xor 0x87 on carry. */
function dbl(block: Uint8Array): Uint8Array {
  const out = new Uint8Array(BLOCK);
  for (let i = 0; i < BLOCK; i++) out[i] = ((block[i]! << 1) | (i + 1 < BLOCK ? block[i + 1]! >> 7 : 0)) & 0xff;
  if (block[0]! & 0x80) out[BLOCK - 1]! ^= 0x87;
  return out;
}

/** AES-CMAC under one key; build with `AesCmac.create(key)` and reuse. */
export class AesCmac {
  /** Raw bytes where a synchronous AES is installed, else a non-extractable WebCrypto key. */
  readonly #key: CryptoKey | Uint8Array;
  readonly #k1: Uint8Array;
  readonly #k2: Uint8Array;

  private constructor(key: CryptoKey | Uint8Array, k1: Uint8Array, k2: Uint8Array) {
    this.#key = key;
    this.#k1 = k1;
    this.#k2 = k2;
  }

  static async create(key: Uint8Array): Promise<AesCmac> {
    if (syncCbc) {
      checkAesKey(key);
      const raw = Uint8Array.from(key);
      const k1 = dbl(syncCbc(raw, new Uint8Array(BLOCK)));
      return new AesCmac(raw, k1, dbl(k1));
    }
    const k = await importAesKey(key);
    const l = await aesEncryptBlock(k, new Uint8Array(BLOCK));
    const k1 = dbl(l);
    return new AesCmac(k, k1, dbl(k1));
  }

  /** The full 16-byte tag over data (any length, including 0). */
  async mac(data: Uint8Array): Promise<Uint8Array> {
    const n = Math.max(1, Math.ceil(data.length / BLOCK));
    const complete = data.length > 0 && data.length % BLOCK === 0;
    const buf = new Uint8Array(new ArrayBuffer(n * BLOCK));
    buf.set(data);
    const last = (n - 1) * BLOCK;
    if (!complete) buf[data.length] = 0x80;
    const sub = complete ? this.#k1 : this.#k2;
    for (let i = 0; i < BLOCK; i++) buf[last + i]! ^= sub[i]!;
    const ct = this.#key instanceof Uint8Array ? syncCbc!(this.#key, buf) : await cbcZeroIv(this.#key, buf);
    return ct.slice(last, last + BLOCK);
  }
}

/** One-shot AES-CMAC: the 16-byte tag of data under key (16, 24 or 32 bytes). */
export async function aesCmac(key: Uint8Array, data: Uint8Array): Promise<Uint8Array> {
  return (await AesCmac.create(key)).mac(data);
}
