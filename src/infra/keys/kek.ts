import { createCipheriv, createDecipheriv, createHash, createHmac, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The key-encryption keys: data keys (and HSM master keys) are stored only wrapped by one of these.
 * The current KEK wraps; every listed KEK can unwrap, so a rotation keeps old data readable until it is
 * re-wrapped. The KEK itself comes from configuration (TESSERA_KEK, previous ones in
 * TESSERA_KEK_PREVIOUS); the sandbox keeps one in its data folder when none is configured.
 */
export class KeyEncryptionKeys {
  readonly #keys = new Map<string, Buffer>();
  readonly currentId: string;

  constructor(current: Buffer, previous: Buffer[] = []) {
    if (current.length !== 32) throw new Error('a KEK is 32 bytes');
    this.currentId = KeyEncryptionKeys.idOf(current);
    this.#keys.set(this.currentId, Buffer.from(current));
    for (const k of previous) this.#keys.set(KeyEncryptionKeys.idOf(k), Buffer.from(k));
  }

  /** A public identifier of a KEK: the first bytes of a hash of it, never the key. */
  static idOf(key: Buffer): string {
    return `kek_${createHash('sha256').update('tessera-kek-id').update(key).digest('hex').slice(0, 16)}`;
  }

  static random(): KeyEncryptionKeys {
    return new KeyEncryptionKeys(randomBytes(32));
  }

  /** From configuration, or the data folder's own (created 0600 on first start) for the sandbox. */
  static load(options: { kek?: string | undefined; previous?: string[]; dataDir?: string; inMemory?: boolean }): KeyEncryptionKeys {
    const previous = (options.previous ?? []).map((k) => Buffer.from(k, 'base64'));
    if (options.kek) return new KeyEncryptionKeys(Buffer.from(options.kek, 'base64'), previous);
    if (options.inMemory || !options.dataDir) return new KeyEncryptionKeys(randomBytes(32), previous);
    const file = join(options.dataDir, 'kek.key');
    if (!existsSync(file)) {
      mkdirSync(options.dataDir, { recursive: true });
      writeFileSync(file, randomBytes(32).toString('base64'), { mode: 0o600, flag: 'wx' });
    }
    return new KeyEncryptionKeys(Buffer.from(readFileSync(file, 'utf8').trim(), 'base64'), previous);
  }

  has(id: string): boolean {
    return this.#keys.has(id);
  }

  /** AES-256-GCM; `context` is bound as additional data, so a wrapped key cannot be moved to another use. */
  wrap(plaintext: Uint8Array, context: string): { kekId: string; wrapped: Buffer } {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.#keys.get(this.currentId)!, iv);
    cipher.setAAD(Buffer.from(context));
    const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
    return { kekId: this.currentId, wrapped: Buffer.concat([iv, body, cipher.getAuthTag()]) };
  }

  unwrap(kekId: string, wrapped: Uint8Array, context: string): Buffer {
    const key = this.#keys.get(kekId);
    if (!key) throw new Error('the KEK that wrapped this key is not configured (TESSERA_KEK_PREVIOUS?)');
    const buf = Buffer.from(wrapped);
    const decipher = createDecipheriv('aes-256-gcm', key, buf.subarray(0, 12));
    decipher.setAAD(Buffer.from(context));
    decipher.setAuthTag(buf.subarray(buf.length - 16));
    return Buffer.concat([decipher.update(buf.subarray(12, buf.length - 16)), decipher.final()]);
  }

  /** A purpose-bound secret derived from the current KEK (e.g. the HMAC key for card fingerprints). */
  derive(purpose: string): Buffer {
    return createHmac('sha256', this.#keys.get(this.currentId)!).update(`tessera-derive:${purpose}`).digest();
  }
}
