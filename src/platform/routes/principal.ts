import { AppError } from '../../infra/errors.js';
import type { Principal } from '../../infra/http/route.js';

/** The user behind a session route (the route's auth already guarantees one). */
export function userOf(principal: Principal | null): { userId: string; deviceId: string | null } {
  if (principal?.kind !== 'user') throw new AppError('permission_denied');
  return { userId: principal.userId, deviceId: principal.deviceId };
}

export function deviceUserOf(principal: Principal | null): { userId: string; deviceId: string } {
  const u = userOf(principal);
  if (!u.deviceId) throw new AppError('device_session_required');
  return { userId: u.userId, deviceId: u.deviceId };
}
