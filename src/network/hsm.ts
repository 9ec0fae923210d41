import { randomBytes } from 'node:crypto';
import type { Database } from '../infra/db/database.js';
import type { KeyEncryptionKeys } from '../infra/keys/kek.js';
import { toHex } from '../protocol/bytes.js';
import {
  adjustOddParity,
  aesKeyCheckValue,
  deriveAesIccMasterKey,
  deriveIccMasterKeyA,
  generateAesArpc,
  generateArpc as generateArpc3des,
  keyCheckValue,
  TripleDes,
  verifyAesArqc,
  verifyArqc as verifyArqc3des,
  verifyOnlineCryptogram,
  type ArpcResponse,
  type CryptogramInput,
} from '../protocol/emv/index.js';
import type { Secret } from '../protocol/secret.js';
import { BRAND_PROFILES, type Brand, type BrandCvn, type KeyAlg } from './brands.js';

/** A per-token key as it goes into a provisioning payload (and nowhere else). */
export interface TokenKey {
  alg: KeyAlg;
  /** The 16-byte ICC master key of the token. The caller zeroes it once it is in the payload. */
  mk: Uint8Array;
  /** Key check value, 4 upper-case hex digits. */
  kcv: string;
}

interface MasterKey {
  alg: KeyAlg;
  /** 3DES: the prepared cipher (key schedule once); AES: the raw key for WebCrypto. */
  des?: TripleDes;
  aes?: Uint8Array;
  kcv: string;
}

interface HsmKeyRow {
  id: string;
  alg: KeyAlg;
  kek_id: string;
  wrapped: Buffer;
  kcv: string;
}

/**
 * The network's HSM module: the ONLY code that sees unwrapped issuer master keys (IMKs). They are
 * stored wrapped by the KEK in network.hsm_keys, one per brand and token range (3DES double-length for
 * Visa and Mastercard, AES-128 for American Express and Discover), and cached unwrapped here only.
 * Its interface is narrow: create a master key, derive a token's key (for the provisioning payload
 * only), verify an ARQC and generate an ARPC. Errors never carry key material.
 */
export class Hsm {
  readonly #keys = new Map<Brand, MasterKey>();

  constructor(
    private readonly db: Database,
    private readonly kek: KeyEncryptionKeys,
  ) {}

  static keyId(brand: Brand): string {
    return `imk_${brand}_${BRAND_PROFILES[brand].tokenBin}`;
  }

  static wrapContext(id: string): string {
    return `network.hsm_keys:${id}`;
  }

  /**
   * Creates and stores (wrapped) the brand's IMK for its token range if there is none, and loads it.
   * Safe with two processes starting at once: the unique (brand, token range) lets one key win and
   * both then use it. Returns only its key check value.
   */
  async generateMasterKey(brand: Brand): Promise<{ id: string; alg: KeyAlg; kcv: string }> {
    const profile = BRAND_PROFILES[brand];
    const id = Hsm.keyId(brand);
    let row = await this.#row(id);
    if (!row) {
      const key = profile.keyAlg === '3des' ? adjustOddParity(randomBytes(16)) : new Uint8Array(randomBytes(16));
      const kcv = await kcvOf(profile.keyAlg, key);
      const { kekId, wrapped } = this.kek.wrap(key, Hsm.wrapContext(id));
      key.fill(0);
      await this.db.query(
        `INSERT INTO network.hsm_keys (id, brand, token_bin, alg, kek_id, wrapped, kcv) VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT DO NOTHING`,
        [id, brand, profile.tokenBin, profile.keyAlg, kekId, wrapped, kcv],
      );
      row = await this.#row(id);
      if (!row) throw new Error('HSM master key could not be stored');
    }
    await this.#load(brand);
    return { id: row.id, alg: row.alg, kcv: row.kcv };
  }

  /** Re-wraps every master key under the current KEK (after a KEK rotation). */
  async rewrapAll(): Promise<number> {
    const { rows } = await this.db.query<HsmKeyRow>('SELECT id, alg, kek_id, wrapped, kcv FROM network.hsm_keys');
    let n = 0;
    for (const r of rows) {
      if (r.kek_id === this.kek.currentId) continue;
      const key = this.kek.unwrap(r.kek_id, r.wrapped, Hsm.wrapContext(r.id));
      const { kekId, wrapped } = this.kek.wrap(key, Hsm.wrapContext(r.id));
      key.fill(0);
      await this.db.query('UPDATE network.hsm_keys SET kek_id = $2, wrapped = $3 WHERE id = $1', [r.id, kekId, wrapped]);
      n++;
    }
    return n;
  }

  /** The key check value of the brand's master key (never the key). */
  async masterKeyCheckValue(brand: Brand): Promise<string> {
    return (await this.#load(brand)).kcv;
  }

  /**
   * The token's ICC master key, derived from the brand's IMK for the token's range: EMV option A for
   * the 3DES brands, Tessera's AES derivation for the others. Used only to build the provisioning payload.
   */
  async deriveTokenKey(brand: Brand, tokenPan: Secret, psn: string): Promise<TokenKey> {
    const mk = await this.#deriveMk(brand, tokenPan, psn);
    const alg = BRAND_PROFILES[brand].keyAlg;
    return { alg, mk, kcv: await kcvOf(alg, mk) };
  }

  /** True when `arqc` is the token's cryptogram for the transaction. The CVN must be the brand's. */
  async verifyArqc(brand: Brand, tokenPan: Secret, psn: string, cvn: BrandCvn, input: CryptogramInput, arqc: Uint8Array): Promise<boolean> {
    checkCvn(brand, cvn);
    const mk = await this.#deriveMk(brand, tokenPan, psn);
    try {
      if (cvn === 'A1' || cvn === 'D1') return await verifyAesArqc(cvn, mk, input, arqc);
      return verifyArqc3des(cvn, mk, input, arqc);
    } finally {
      mk.fill(0);
    }
  }

  /**
   * The ARPC answering `arqc`: method 2 for Visa CVN 18 (CSU, proprietary data), method 1 for Mastercard
   * CVN 20 (ARC), the AES scheme's CMAC for 'A1'/'D1' (CSU, proprietary data).
   */
  async generateArpc(
    brand: Brand,
    tokenPan: Secret,
    psn: string,
    cvn: BrandCvn,
    input: Pick<CryptogramInput, '9F36' | '9F37'>,
    arqc: Uint8Array,
    response: ArpcResponse,
  ): Promise<Uint8Array> {
    checkCvn(brand, cvn);
    const mk = await this.#deriveMk(brand, tokenPan, psn);
    try {
      if (cvn === 'A1' || cvn === 'D1') return await generateAesArpc(cvn, mk, input, arqc, response.csu, response.proprietary);
      return generateArpc3des(cvn, mk, input, arqc, response);
    } finally {
      mk.fill(0);
    }
  }

  /**
   * True when `cryptogram` is the token's 20-byte online (in-app / web) cryptogram for this amount (minor
   * units, DE 4) and currency (DE 49), under the token's own key (src/protocol/emv/online-cryptogram.ts,
   * docs/inapp.md). The CVN must be the brand's.
   */
  async verifyOnlineCryptogram(brand: Brand, tokenPan: Secret, psn: string, cvn: BrandCvn, cryptogram: Uint8Array, amount: number, currency: string): Promise<boolean> {
    checkCvn(brand, cvn);
    const mk = await this.#deriveMk(brand, tokenPan, psn);
    try {
      return await verifyOnlineCryptogram(cvn === 'A1' || cvn === 'D1' ? cvn : '3des', mk, cryptogram, amount, currency);
    } finally {
      mk.fill(0);
    }
  }

  async #deriveMk(brand: Brand, tokenPan: Secret, psn: string): Promise<Uint8Array> {
    const key = await this.#load(brand);
    const pan = tokenPan.reveal();
    if (!pan.startsWith(BRAND_PROFILES[brand].tokenBin)) throw new Error('the number is not in this brand\'s token range');
    if (key.alg === '3des') return deriveIccMasterKeyA(key.des!, pan, psn);
    return deriveAesIccMasterKey(key.aes!, pan, psn);
  }

  async #row(id: string): Promise<HsmKeyRow | undefined> {
    const { rows } = await this.db.query<HsmKeyRow>('SELECT id, alg, kek_id, wrapped, kcv FROM network.hsm_keys WHERE id = $1', [id]);
    return rows[0];
  }

  async #load(brand: Brand): Promise<MasterKey> {
    const cached = this.#keys.get(brand);
    if (cached) return cached;
    const row = await this.#row(Hsm.keyId(brand));
    if (!row) throw new Error(`no HSM master key for ${brand}: run init()`);
    const raw = this.kek.unwrap(row.kek_id, row.wrapped, Hsm.wrapContext(row.id));
    let key: MasterKey;
    if (row.alg === '3des') {
      key = { alg: '3des', des: new TripleDes(raw), kcv: row.kcv };
      raw.fill(0);
    } else {
      key = { alg: 'aes', aes: new Uint8Array(raw), kcv: row.kcv };
      raw.fill(0);
    }
    if ((await kcvOf(key.alg, key.des ?? key.aes!)) !== row.kcv) throw new Error(`HSM master key for ${brand} does not match its check value`);
    this.#keys.set(brand, key);
    return key;
  }
}

async function kcvOf(alg: KeyAlg, key: Uint8Array | TripleDes): Promise<string> {
  if (alg === '3des') return toHex(keyCheckValue(key));
  return toHex(await aesKeyCheckValue(key as Uint8Array));
}

function checkCvn(brand: Brand, cvn: BrandCvn): void {
  if (BRAND_PROFILES[brand].cvn !== cvn) throw new Error(`cryptogram version not used by ${brand} tokens`);
}
