import { AppError } from '../errors.js';
import type { Cache } from '../cache/index.js';
import { principalKey, type Principal, type RateLimitRule } from './route.js';

/** Fixed-window limits through the cache (Redis when configured, this process otherwise). */
export async function enforceRateLimits(
  cache: Cache,
  operationId: string,
  rules: readonly RateLimitRule[],
  ctx: { ip: string; principal: Principal | null; body: unknown; params: unknown },
  factor = 1,
): Promise<void> {
  if (factor === 0) return;
  for (const rule of rules) {
    let subject: string | undefined;
    if (rule.by === 'ip') subject = ctx.ip;
    else if (rule.by === 'principal') subject = ctx.principal ? principalKey(ctx.principal) : ctx.ip;
    else subject = rule.by(ctx);
    if (subject === undefined) continue;
    const { count, ttlMs } = await cache.incr(`rl:${operationId}:${rule.name}:${subject}`, rule.windowSeconds);
    if (count > rule.max * factor) {
      throw new AppError('rate_limited', { headers: { 'Retry-After': String(Math.max(1, Math.ceil(ttlMs / 1000))) } });
    }
  }
}
