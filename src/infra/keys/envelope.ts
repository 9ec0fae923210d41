import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto';
import type { Database } from '../db/database.js';
import { newId } from '../ids.js';
import type { KeyEncryptionKeys } from './kek.js';

/**
 * Envelope encryption for data at rest (card numbers in vaults and issuers): AES-256-GCM under a data
 * key, the data key stored wrapped by the KEK in the party's own `<schema>.data_keys` table:
 *
 *   CREATE TABLE <schema>.data_keys (
 *     id text PRIMARY KEY CHECK (id LIKE 'dk\_%'),
 *     kek_id text NOT NULL,
 *     wrapped bytea NOT NULL,
 *     active boolean NOT NULL DEFAULT true,
 *     created_at timestamptz NOT NULL DEFAULT now()
 *   );
 *   CREATE UNIQUE INDEX data_keys_one_active ON <schema>.data_keys (active) WHERE active;
 *
 * A ciphertext names its data key, so rotation (a new active data key, or re-wrapping data keys under
 * a new KEK) never makes old data unreadable. `context` (e.g. "vault:pan:tok_…") is bound as AAD.
 */
export class EnvelopeCipher {
  readonly #cache = new Map<string, Buffer>();
  #activeId: string | undefined;
  #fingerprintKey: Buffer | undefined;

  constructor(
    private readonly db: Database,
    private readonly table: string,
    private readonly kek: KeyEncryptionKeys,
  ) {
    if (!/^[a-z_]+\.data_keys$/.test(table)) throw new Error('table must be <schema>.data_keys');
  }

  async #active(): Promise<{ id: string; key: Buffer }> {
    if (this.#activeId) return { id: this.#activeId, key: this.#cache.get(this.#activeId)! };
    const { rows } = await this.db.query<{ id: string; kek_id: string; wrapped: Buffer }>(`SELECT id, kek_id, wrapped FROM ${this.table} WHERE active`);
    if (rows[0]) {
      const key = this.kek.unwrap(rows[0].kek_id, rows[0].wrapped, `${this.table}:${rows[0].id}`);
      this.#cache.set(rows[0].id, key);
      this.#activeId = rows[0].id;
      return { id: rows[0].id, key };
    }
    return this.rotate();
  }

  /**
   * Reads every data key into this process's cache and makes sure an active one exists. A party whose
   * encryption happens inside its transactions calls it at start: on the embedded database (one
   * connection) a key read from within a transaction would wait for that transaction forever.
   */
  async preload(): Promise<void> {
    const { rows } = await this.db.query<{ id: string; kek_id: string; wrapped: Buffer }>(`SELECT id, kek_id, wrapped FROM ${this.table}`);
    for (const r of rows) if (!this.#cache.has(r.id)) this.#cache.set(r.id, this.kek.unwrap(r.kek_id, r.wrapped, `${this.table}:${r.id}`));
    await this.#active();
  }

  /** Makes a new data key the active one; old ones stay for decryption. */
  async rotate(): Promise<{ id: string; key: Buffer }> {
    const id = newId('dk');
    const key = randomBytes(32);
    const { kekId, wrapped } = this.kek.wrap(key, `${this.table}:${id}`);
    await this.db.tx(async (tx) => {
      await tx.query(`UPDATE ${this.table} SET active = false WHERE active`);
      await tx.query(`INSERT INTO ${this.table} (id, kek_id, wrapped, active) VALUES ($1, $2, $3, true)`, [id, kekId, wrapped]);
    });
    this.#cache.set(id, key);
    this.#activeId = id;
    return { id, key };
  }

  /** Re-wraps every data key under the current KEK (after a KEK rotation). */
  async rewrapAll(): Promise<number> {
    const { rows } = await this.db.query<{ id: string; kek_id: string; wrapped: Buffer }>(`SELECT id, kek_id, wrapped FROM ${this.table}`);
    let n = 0;
    for (const r of rows) {
      if (r.kek_id === this.kek.currentId) continue;
      const key = this.kek.unwrap(r.kek_id, r.wrapped, `${this.table}:${r.id}`);
      const { kekId, wrapped } = this.kek.wrap(key, `${this.table}:${r.id}`);
      await this.db.query(`UPDATE ${this.table} SET kek_id = $2, wrapped = $3 WHERE id = $1`, [r.id, kekId, wrapped]);
      n++;
    }
    return n;
  }

  async #key(id: string): Promise<Buffer> {
    const cached = this.#cache.get(id);
    if (cached) return cached;
    const { rows } = await this.db.query<{ kek_id: string; wrapped: Buffer }>(`SELECT kek_id, wrapped FROM ${this.table} WHERE id = $1`, [id]);
    if (!rows[0]) throw new Error('unknown data key');
    const key = this.kek.unwrap(rows[0].kek_id, rows[0].wrapped, `${this.table}:${id}`);
    this.#cache.set(id, key);
    return key;
  }

  /** Blob: 1 byte version ‖ 1 byte id length ‖ data key id ‖ 12-byte IV ‖ ciphertext ‖ 16-byte tag. */
  async encrypt(plaintext: Uint8Array | string, context: string): Promise<Buffer> {
    const { id, key } = await this.#active();
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', key, iv);
    cipher.setAAD(Buffer.from(context));
    const body = Buffer.concat([cipher.update(typeof plaintext === 'string' ? Buffer.from(plaintext) : plaintext), cipher.final()]);
    const idBytes = Buffer.from(id);
    return Buffer.concat([Buffer.from([1, idBytes.length]), idBytes, iv, body, cipher.getAuthTag()]);
  }

  async decrypt(blob: Uint8Array, context: string): Promise<Buffer> {
    const buf = Buffer.from(blob);
    if (buf[0] !== 1) throw new Error('unknown ciphertext version');
    const idLen = buf[1]!;
    const id = buf.subarray(2, 2 + idLen).toString();
    const key = await this.#key(id);
    const iv = buf.subarray(2 + idLen, 14 + idLen);
    const decipher = createDecipheriv('aes-256-gcm', key, iv);
    decipher.setAAD(Buffer.from(context));
    decipher.setAuthTag(buf.subarray(buf.length - 16));
    return Buffer.concat([decipher.update(buf.subarray(14 + idLen, buf.length - 16)), decipher.final()]);
  }

  /**
   * Keyed fingerprint for de-duplication (PCI DSS 3.5.1.1: a hash of a PAN must be keyed). The HMAC key
   * is a data key of its own (id `dk_fingerprint`, never active for encryption), so it survives KEK
   * rotation and fingerprints stay comparable.
   */
  async fingerprint(value: string): Promise<Buffer> {
    if (!this.#fingerprintKey) {
      const id = 'dk_fingerprint';
      let key: Buffer;
      try {
        key = await this.#key(id);
      } catch {
        key = randomBytes(32);
        const { kekId, wrapped } = this.kek.wrap(key, `${this.table}:${id}`);
        await this.db.query(`INSERT INTO ${this.table} (id, kek_id, wrapped, active) VALUES ($1, $2, $3, false) ON CONFLICT (id) DO NOTHING`, [id, kekId, wrapped]);
        this.#cache.delete(id);
        key = await this.#key(id);
      }
      this.#fingerprintKey = key;
    }
    return createHmac('sha256', this.#fingerprintKey).update(value).digest();
  }

  async decryptString(blob: Uint8Array, context: string): Promise<string> {
    return (await this.decrypt(blob, context)).toString('utf8');
  }
}

