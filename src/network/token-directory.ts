import type { Cache } from '../infra/cache/index.js';
import type { Database } from '../infra/db/database.js';
import type { EnvelopeCipher } from '../infra/keys/envelope.js';
import type { Logger } from '../infra/logger.js';
import { isBrand, type Brand } from './brands.js';
import { switchRepo, type TokenStatus } from './repository.js';

/**
 * What the switch needs of a token to authorize with it. No number in clear: the card number stays
 * encrypted (base64 of the vault's ciphertext, opened only to build the issuer's message).
 */
export interface SwitchToken {
  token_ref: string;
  brand: Brand;
  status: TokenStatus;
  domains: string[];
  cvn: string;
  psn: string;
  /** YYMM */
  token_exp: string;
  issuer_id: string;
  /** The vault ciphertext of the card number, base64. */
  pan_encrypted: string;
  /** YYMM */
  card_exp: string;
  token_requestor_id: string;
  device_id: string;
}

/** How long an active token stays cached (every status change also deletes it at once). */
export const TOKEN_CACHE_TTL_SECONDS = 300;

const yymm = (year: number, month: number) => `${String(year % 100).padStart(2, '0')}${String(month).padStart(2, '0')}`;

/**
 * The switch's token lookup: DE 2 → keyed fingerprint (the vault's HMAC key) → token, cache-aside.
 * Only active tokens are cached, under their fingerprint, for TOKEN_CACHE_TTL_SECONDS; `invalidate`
 * deletes the entry and must follow every status change. The cache is never the truth: the switch's
 * ATC advance re-checks the status in the database, and a cache that fails is a miss.
 */
export class TokenDirectory {
  constructor(
    private readonly db: Database,
    private readonly cache: Cache,
    private readonly vault: EnvelopeCipher,
    private readonly log?: Logger,
  ) {}

  static cacheKey(fingerprint: Buffer): string {
    return `network:token:${fingerprint.toString('hex')}`;
  }

  /** The token whose number is `tokenPan`, or undefined. */
  async byTokenPan(tokenPan: string): Promise<SwitchToken | undefined> {
    const fingerprint = await this.vault.fingerprint(tokenPan);
    const key = TokenDirectory.cacheKey(fingerprint);
    const cached = await this.#get(key);
    if (cached) return cached;
    const row = await switchRepo.tokenByFingerprint(this.db, fingerprint);
    if (!row) return undefined;
    const token: SwitchToken = {
      token_ref: row.token_ref,
      brand: row.brand,
      status: row.status,
      domains: [...row.domains],
      cvn: row.cvn,
      psn: row.psn,
      token_exp: yymm(row.token_exp_year, row.token_exp_month),
      issuer_id: row.issuer_id,
      pan_encrypted: Buffer.from(row.pan_encrypted).toString('base64'),
      card_exp: yymm(row.card_exp_year, row.card_exp_month),
      token_requestor_id: row.token_requestor_id,
      device_id: row.device_id,
    };
    if (token.status === 'active') await this.#set(key, token);
    return token;
  }

  /** Removes the token's cached entry (after any status change: activate, suspend, resume, delete). */
  /** Drops the entry of a token number the token no longer has (a key refresh gave it a new one). */
  async invalidateFingerprint(fingerprint: Buffer): Promise<void> {
    try {
      await this.cache.del(TokenDirectory.cacheKey(fingerprint));
    } catch (err) {
      this.log?.warn({ err: { message: (err as Error).message } }, 'token cache invalidation failed');
    }
  }

  async invalidate(tokenRef: string): Promise<void> {
    const fingerprint = await switchRepo.tokenFingerprintOf(this.db, tokenRef);
    if (!fingerprint) return;
    try {
      await this.cache.del(TokenDirectory.cacheKey(fingerprint));
    } catch (err) {
      this.log?.warn({ token_ref: tokenRef, err: { message: (err as Error).message } }, 'token cache invalidation failed');
    }
  }

  async #get(key: string): Promise<SwitchToken | undefined> {
    try {
      const text = await this.cache.get(key);
      if (!text) return undefined;
      const value = JSON.parse(text) as SwitchToken;
      if (typeof value?.token_ref !== 'string' || !isBrand(value.brand) || value.status !== 'active' || !Array.isArray(value.domains)) return undefined;
      return value;
    } catch {
      // A cache that fails, or an entry that does not read back, is a miss.
      return undefined;
    }
  }

  async #set(key: string, token: SwitchToken): Promise<void> {
    try {
      await this.cache.set(key, JSON.stringify(token), TOKEN_CACHE_TTL_SECONDS);
    } catch {
      // Never fails an authorization.
    }
  }
}
