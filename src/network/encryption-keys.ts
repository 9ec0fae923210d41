import { createPrivateKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { compactDecrypt, decodeProtectedHeader } from 'jose';
import type { Database, Sql } from '../infra/db/database.js';
import { AppError } from '../infra/errors.js';
import { randomBase62 } from '../infra/ids.js';
import type { KeyEncryptionKeys } from '../infra/keys/kek.js';
import type { Brand } from './brands.js';
import './errors.js';

export const CARD_JWE_ALG = 'ECDH-ES+A256KW';
export const CARD_JWE_ENC = 'A256GCM';

/** What GET /encryption-key answers: the brand's public card-data encryption key. */
export interface PublicEncryptionKey {
  kid: string;
  alg: typeof CARD_JWE_ALG;
  enc: typeof CARD_JWE_ENC;
  jwk: { kty: 'EC'; crv: 'P-256'; x: string; y: string; kid: string; use: 'enc'; alg: typeof CARD_JWE_ALG };
}

interface KeyRow {
  kid: string;
  brand: Brand;
  public_jwk: PublicEncryptionKey['jwk'];
  kek_id: string;
  private_wrapped: Buffer;
  active: boolean;
}

const wrapContext = (kid: string) => `network.encryption_keys:${kid}`;

/**
 * Each brand's P-256 card-data encryption key: the device encrypts card data to its public half
 * (compact JWE, ECDH-ES+A256KW / A256GCM); the private half is stored wrapped by the KEK and kept
 * unwrapped only in this object's memory. Old keys stay usable for decryption after a rotation (the
 * JWE's kid names the key).
 */
export class EncryptionKeys {
  readonly #private = new Map<string, { brand: Brand; key: KeyObject }>();
  readonly #public = new Map<Brand, PublicEncryptionKey>();

  constructor(
    private readonly db: Database,
    private readonly kek: KeyEncryptionKeys,
  ) {}

  /** Creates the brand's key at first start (two processes racing: one wins, both use it). */
  async ensure(brand: Brand): Promise<PublicEncryptionKey> {
    let row = await this.#active(brand);
    if (!row) {
      await this.#insert(brand, true);
      row = await this.#active(brand);
      if (!row) throw new Error('encryption key could not be stored');
    }
    return this.#remember(row);
  }

  /** A new active key for the brand; the previous ones still decrypt what was encrypted to them. */
  async rotate(brand: Brand): Promise<PublicEncryptionKey> {
    const kid = await this.db.tx(async (tx) => {
      await tx.query('UPDATE network.encryption_keys SET active = false WHERE brand = $1 AND active', [brand]);
      return this.#insert(brand, true, tx);
    });
    this.#public.delete(brand);
    const row = await this.#byKid(kid);
    return this.#remember(row!);
  }

  async publicKey(brand: Brand): Promise<PublicEncryptionKey> {
    return this.#public.get(brand) ?? this.ensure(brand);
  }

  /**
   * Decrypts a compact JWE made to one of the brand's keys. Anything wrong (not a JWE, another
   * algorithm, an unknown or other brand's kid, a bad tag, a content type other than card+json) is
   * `encrypted_card_invalid`, whose message never says what was inside.
   */
  async decrypt(brand: Brand, jwe: string): Promise<Uint8Array> {
    let kid: string | undefined;
    try {
      const header = decodeProtectedHeader(jwe);
      if (header.alg !== CARD_JWE_ALG || header.enc !== CARD_JWE_ENC) throw new Error('algorithm');
      if (header.cty !== undefined && header.cty !== 'card+json') throw new Error('content type');
      kid = header.kid;
    } catch {
      throw new AppError('encrypted_card_invalid', { param: 'encrypted_card' });
    }
    const key = await this.#privateKey(brand, kid);
    if (!key) throw new AppError('encrypted_card_invalid', { param: 'encrypted_card' });
    try {
      const { plaintext } = await compactDecrypt(jwe, key, { keyManagementAlgorithms: [CARD_JWE_ALG], contentEncryptionAlgorithms: [CARD_JWE_ENC] });
      return plaintext;
    } catch {
      throw new AppError('encrypted_card_invalid', { param: 'encrypted_card' });
    }
  }

  async #privateKey(brand: Brand, kid: string | undefined): Promise<KeyObject | undefined> {
    // Without a kid, the brand's active key.
    const id = kid ?? (await this.publicKey(brand)).kid;
    const cached = this.#private.get(id);
    if (cached) return cached.brand === brand ? cached.key : undefined;
    if (!/^[a-z]+-enc-[0-9A-Za-z]{8,64}$/.test(id)) return undefined;
    const row = await this.#byKid(id);
    if (!row || row.brand !== brand) return undefined;
    this.#remember(row);
    return this.#private.get(id)?.key;
  }

  #remember(row: KeyRow): PublicEncryptionKey {
    if (!this.#private.has(row.kid)) {
      const pkcs8 = this.kek.unwrap(row.kek_id, row.private_wrapped, wrapContext(row.kid));
      this.#private.set(row.kid, { brand: row.brand, key: createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' }) });
      pkcs8.fill(0);
    }
    const pub: PublicEncryptionKey = { kid: row.kid, alg: CARD_JWE_ALG, enc: CARD_JWE_ENC, jwk: { ...row.public_jwk } };
    if (row.active) this.#public.set(row.brand, pub);
    return pub;
  }

  async #insert(brand: Brand, active: boolean, sql: Sql = this.db): Promise<string> {
    const kid = `${brand}-enc-${randomBase62(16)}`;
    const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const jwk = publicKey.export({ format: 'jwk' }) as { x: string; y: string };
    const publicJwk: PublicEncryptionKey['jwk'] = { kty: 'EC', crv: 'P-256', x: jwk.x, y: jwk.y, kid, use: 'enc', alg: CARD_JWE_ALG };
    const pkcs8 = privateKey.export({ format: 'der', type: 'pkcs8' });
    const { kekId, wrapped } = this.kek.wrap(pkcs8, wrapContext(kid));
    pkcs8.fill(0);
    // The partial unique index (one active key per brand) decides a race between two processes.
    await sql.query(
      `INSERT INTO network.encryption_keys (kid, brand, public_jwk, kek_id, private_wrapped, active) VALUES ($1, $2, $3::jsonb, $4, $5, $6)
       ON CONFLICT DO NOTHING`,
      [kid, brand, JSON.stringify(publicJwk), kekId, wrapped, active],
    );
    return kid;
  }

  async #active(brand: Brand): Promise<KeyRow | undefined> {
    const { rows } = await this.db.query<KeyRow>(
      'SELECT kid, brand, public_jwk, kek_id, private_wrapped, active FROM network.encryption_keys WHERE brand = $1 AND active',
      [brand],
    );
    return rows[0];
  }

  async #byKid(kid: string): Promise<KeyRow | undefined> {
    const { rows } = await this.db.query<KeyRow>('SELECT kid, brand, public_jwk, kek_id, private_wrapped, active FROM network.encryption_keys WHERE kid = $1', [kid]);
    return rows[0];
  }
}
