import { AppError } from '../infra/errors.js';
import type { Cache } from '../infra/cache/index.js';
import type { Database } from '../infra/db/database.js';
import { isUniqueViolation } from '../infra/db/database.js';
import { newId, randomBase62 } from '../infra/ids.js';
import { sha256 } from '../infra/http/auth.js';
import type { Principal } from '../infra/http/route.js';
import { DUMMY_HASH, hashPassword, verifyPassword } from './passwords.js';
import { platformRepo as repo, type UserRow } from './repository.js';

const SESSION_TTL_SECONDS = 30 * 24 * 3600;
const SESSION_CACHE_SECONDS = 60;

export interface PublicUser {
  id: string;
  object: 'user';
  email: string;
  name: string;
  created_at: string;
}

export function publicUser(u: UserRow): PublicUser {
  return { id: u.id, object: 'user', email: u.email, name: u.name, created_at: new Date(u.created_at).toISOString() };
}

export class PlatformService {
  constructor(
    private readonly db: Database,
    private readonly cache: Cache,
  ) {}

  async signUp(input: { email: string; password: string; name: string }): Promise<{ user: PublicUser; session: { id: string; token: string; expires_at: string } }> {
    const passwordHash = await hashPassword(input.password);
    try {
      return await this.db.tx(async (tx) => {
        const user = await repo.insertUser(tx, { id: newId('usr'), email: input.email.toLowerCase(), name: input.name, passwordHash });
        const session = await this.createSession(tx, user.id, null);
        return { user: publicUser(user), session };
      });
    } catch (err) {
      if (isUniqueViolation(err, 'users_email_unique')) throw new AppError('email_taken', { param: 'email' });
      throw err;
    }
  }

  async signIn(input: { email: string; password: string; device_id?: string | undefined }): Promise<{ user: PublicUser; session: { id: string; token: string; expires_at: string; device_id: string | null } }> {
    const user = await repo.userByEmail(this.db, input.email.toLowerCase());
    const ok = await verifyPassword(input.password, user?.password_hash ?? DUMMY_HASH);
    if (!user || !ok) throw new AppError('sign_in_failed');
    let deviceId: string | null = null;
    if (input.device_id !== undefined) {
      const device = await repo.deviceOwnedBy(this.db, input.device_id, user.id);
      // Another user's device is "not found", never "not yours".
      if (!device) throw new AppError('resource_missing', { param: 'device_id' });
      if (device.status !== 'active') throw new AppError('resource_conflict', { param: 'device_id', message: 'This device is marked lost or erased; it cannot be signed in to.' });
      deviceId = device.id;
    }
    const session = await this.db.tx((tx) => this.createSession(tx, user.id, deviceId));
    return { user: publicUser(user), session: { ...session, device_id: deviceId } };
  }

  private async createSession(tx: Parameters<typeof repo.insertSession>[0], userId: string, deviceId: string | null) {
    const id = newId('ses');
    const token = `tss_${randomBase62(40)}`;
    const { expires_at } = await repo.insertSession(tx, { id, userId, deviceId, secretHash: sha256(token), ttlSeconds: SESSION_TTL_SECONDS });
    return { id, token, expires_at: new Date(expires_at).toISOString() };
  }

  /** The session resolver the HTTP layer calls for `tss_` bearer secrets. */
  readonly resolveSession = async (secret: string): Promise<Principal | null> => {
    if (!/^tss_[0-9A-Za-z]{40}$/.test(secret)) return null;
    const hash = sha256(secret);
    const cacheKey = `session:${hash.toString('hex')}`;
    const cached = await this.cache.get(cacheKey);
    if (cached) return JSON.parse(cached) as Principal;
    const row = await repo.sessionBySecretHash(this.db, hash);
    if (!row || row.revoked_at || new Date(row.expires_at).getTime() <= Date.now()) return null;
    // A session bound to a device that was reported lost stops working with it.
    if (row.device_id && row.device_status !== 'active') return null;
    const principal: Principal = { kind: 'user', userId: row.user_id, sessionId: row.id, deviceId: row.device_id };
    await this.cache.set(cacheKey, JSON.stringify(principal), SESSION_CACHE_SECONDS);
    return principal;
  };

  async signOut(sessionId: string, secret: string): Promise<void> {
    await repo.revokeSession(this.db, sessionId);
    await this.cache.del(`session:${sha256(secret).toString('hex')}`);
  }

  async me(userId: string): Promise<PublicUser> {
    const user = await repo.userById(this.db, userId);
    if (!user) throw new AppError('resource_missing');
    return publicUser(user);
  }
}
