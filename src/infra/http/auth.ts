import { createHash } from 'node:crypto';
import { AppError } from '../errors.js';
import type { Cache } from '../cache/index.js';
import type { Database } from '../db/database.js';
import { newId, randomBase62 } from '../ids.js';
import type { AuthRequirement, Principal, Role } from './route.js';

/** Resolves a user session secret (`tss_...`) to its principal; provided by the wallet platform. */
export type SessionResolver = (secret: string) => Promise<Principal | null>;

export function sha256(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

export function bearer(header: string | string[] | undefined): string | null {
  if (typeof header !== 'string') return null;
  const m = /^Bearer ([\x21-\x7e]{1,512})$/.exec(header.trim());
  return m ? m[1]! : null;
}

/** Whether `ownerId` names a party of this deployment that keys of one role may speak for. */
export type OwnerCheck = (ownerId: string) => Promise<boolean>;
/** The owner check of each role; a role without one gets no keys and no key of it is accepted. */
export type OwnerChecks = Partial<Record<Role, OwnerCheck>>;

const API_KEY_TTL = 60;
/** How long this process reuses a key it has resolved without asking the shared cache again. */
const LOCAL_TTL_MS = 1_000;
const LOCAL_MAX = 10_000;

/**
 * API keys: `tsk_<role>_<40 base62>`. Only the SHA-256 of the secret is stored (the secret has
 * ~238 bits, so a fast hash is enough; passwords get scrypt). Lookups are cached briefly, in two
 * levels: the shared cache (60 s) and this process (1 s, so a party called a thousand times a second
 * asks Redis about its caller's key once a second, not a thousand times). Revocation deletes both
 * before it returns; another process may still accept the revoked key for up to LOCAL_TTL_MS.
 *
 * With `owners` (the composition root always passes them), a key is made only for an owner that
 * exists for its role (a network key for a brand the deployment runs, an issuer key for an existing
 * issuer, ...), and a key is accepted only while its owner still exists: checked when the key is
 * resolved (so again within API_KEY_TTL), failing closed for a role without a check or an owner gone.
 */
export class ApiKeys {
  readonly #local = new Map<string, { principal: Principal; until: number }>();

  constructor(
    private readonly db: Database,
    private readonly cache: Cache,
    private readonly owners?: OwnerChecks,
  ) {}

  /** True when keys of `role` may speak for `ownerId` (always, for a store made without owner checks). */
  async ownerExists(role: Role, ownerId: string): Promise<boolean> {
    if (!this.owners) return true;
    const check = this.owners[role];
    if (!check) return false;
    try {
      return await check(ownerId);
    } catch {
      return false;
    }
  }

  async create(role: Role, ownerId: string, name = ''): Promise<{ id: string; secret: string; role: Role; owner_id: string; name: string; prefix: string }> {
    if (!(await this.ownerExists(role, ownerId))) throw new AppError('parameter_invalid', { param: 'owner_id', message: `owner_id names no ${role} of this deployment.` });
    const secret = `tsk_${role}_${randomBase62(40)}`;
    return this.insert(role, ownerId, name, secret);
  }

  /** Registers a secret chosen by configuration (TESSERA_ADMIN_KEY), idempotently. */
  async ensure(role: Role, ownerId: string, name: string, secret: string): Promise<void> {
    const hash = sha256(secret);
    const { rows } = await this.db.query('SELECT 1 FROM infra.api_keys WHERE secret_hash = $1', [hash]);
    if (rows.length > 0) return;
    // Two processes starting at once may both get here: the unique hash lets exactly one insert it.
    const prefix = secret.slice(0, secret.indexOf('_', 4) + 5);
    await this.db.query(
      'INSERT INTO infra.api_keys (id, role, owner_id, name, secret_hash, secret_prefix) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (secret_hash) DO NOTHING',
      [newId('key'), role, ownerId, name, hash, prefix],
    );
  }

  private async insert(role: Role, ownerId: string, name: string, secret: string) {
    const id = newId('key');
    const prefix = secret.slice(0, secret.indexOf('_', 4) + 5);
    await this.db.query('INSERT INTO infra.api_keys (id, role, owner_id, name, secret_hash, secret_prefix) VALUES ($1, $2, $3, $4, $5, $6)', [id, role, ownerId, name, sha256(secret), prefix]);
    return { id, secret, role, owner_id: ownerId, name, prefix };
  }

  async count(role: Role): Promise<number> {
    const { rows } = await this.db.query<{ n: number }>('SELECT count(*)::int AS n FROM infra.api_keys WHERE role = $1 AND revoked_at IS NULL', [role]);
    return rows[0]?.n ?? 0;
  }

  async list(filter: { role?: Role; ownerId?: string }) {
    const { rows } = await this.db.query<{ id: string; role: Role; owner_id: string; name: string; secret_prefix: string; created_at: Date; revoked_at: Date | null }>(
      `SELECT id, role, owner_id, name, secret_prefix, created_at, revoked_at FROM infra.api_keys
       WHERE ($1::text IS NULL OR role = $1) AND ($2::text IS NULL OR owner_id = $2) ORDER BY id DESC LIMIT 500`,
      [filter.role ?? null, filter.ownerId ?? null],
    );
    return rows;
  }

  async revoke(id: string): Promise<boolean> {
    const { rows } = await this.db.query<{ secret_hash: Buffer }>('UPDATE infra.api_keys SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL RETURNING secret_hash', [id]);
    if (!rows[0]) return false;
    const hex = Buffer.from(rows[0].secret_hash).toString('hex');
    await this.cache.del(`apikey:${hex}`);
    // After the shared entry is gone: a resolve running meanwhile may have put it back here from Redis.
    this.#local.delete(hex);
    return true;
  }

  async resolve(secret: string): Promise<Principal | null> {
    if (!/^tsk_[a-z]+_[0-9A-Za-z]{32,}$/.test(secret)) return null;
    const hash = sha256(secret);
    const hex = hash.toString('hex');
    const now = Date.now();
    const local = this.#local.get(hex);
    if (local && local.until > now) return local.principal;
    const cacheKey = `apikey:${hex}`;
    const cached = await this.cache.get(cacheKey);
    if (cached) return this.#remember(hex, JSON.parse(cached) as Principal, now);
    const { rows } = await this.db.query<{ id: string; role: Role; owner_id: string }>('SELECT id, role, owner_id FROM infra.api_keys WHERE secret_hash = $1 AND revoked_at IS NULL', [hash]);
    const row = rows[0];
    if (!row) return null;
    // Fails closed: a key whose owner is gone (or never existed) speaks for no one.
    if (!(await this.ownerExists(row.role, row.owner_id))) return null;
    const principal: Principal = { kind: 'apiKey', keyId: row.id, role: row.role, ownerId: row.owner_id };
    await this.cache.set(cacheKey, JSON.stringify(principal), API_KEY_TTL);
    return this.#remember(hex, principal, now);
  }

  #remember(hex: string, principal: Principal, now: number): Principal {
    if (this.#local.size >= LOCAL_MAX) this.#local.clear();
    this.#local.set(hex, { principal, until: now + LOCAL_TTL_MS });
    return principal;
  }
}

export async function authenticate(
  requirement: AuthRequirement,
  authorization: string | string[] | undefined,
  apiKeys: ApiKeys,
  sessions: SessionResolver | undefined,
): Promise<Principal | null> {
  if (requirement.kind === 'public') return null;
  const secret = bearer(authorization);
  if (!secret) throw new AppError('authentication_required');
  let principal: Principal | null = null;
  if (secret.startsWith('tsk_')) principal = await apiKeys.resolve(secret);
  else if (secret.startsWith('tss_') && sessions) principal = await sessions(secret);
  if (!principal) throw new AppError('credentials_invalid');
  if (requirement.kind === 'apiKey') {
    if (principal.kind !== 'apiKey' || !requirement.roles.includes(principal.role)) throw new AppError('permission_denied');
  } else if (requirement.kind === 'session') {
    if (principal.kind !== 'user') throw new AppError('permission_denied');
    if (requirement.device && !principal.deviceId) throw new AppError('device_session_required');
  }
  return principal;
}
