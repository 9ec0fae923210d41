import type { Readable } from 'node:stream';
import type { Static, TSchema } from 'typebox';
import type { Logger } from '../logger.js';
import type { Sql } from '../db/database.js';

/** 'ops': the operations console's read-only keys (src/ops). */
export type Role = 'admin' | 'platform' | 'merchant' | 'acquirer' | 'terminal' | 'issuer' | 'network' | 'ops';
export const ROLES: readonly Role[] = ['admin', 'platform', 'merchant', 'acquirer', 'terminal', 'issuer', 'network', 'ops'];

/** Who may call a route. Every route declares one; there is no default. */
export type AuthRequirement =
  | { kind: 'public' }
  | { kind: 'apiKey'; roles: readonly Role[] }
  | { kind: 'session'; device?: boolean };

export type Principal =
  | { kind: 'apiKey'; keyId: string; role: Role; ownerId: string }
  | { kind: 'user'; userId: string; sessionId: string; deviceId: string | null };

/** What idempotency records and rate limits are scoped to. */
export function principalKey(p: Principal): string {
  return p.kind === 'apiKey' ? `${p.role}:${p.ownerId}` : `user:${p.userId}`;
}

export interface RateLimitRule {
  name: string;
  /** 'ip', 'principal', or a key drawn from the validated request (e.g. the e-mail on sign-in). */
  by: 'ip' | 'principal' | ((ctx: { body: unknown; params: unknown; ip: string }) => string | undefined);
  max: number;
  windowSeconds: number;
}

export interface RouteResult {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
  /** Raw bytes answered as application/octet-stream (ISO 8583 on the acquirer's host interface). */
  raw?: Uint8Array;
  /**
   * A body written as it is produced (server-sent events): sent as is with the content type from
   * `headers`, ended when the client goes away (the stream is destroyed) or the server closes.
   */
  stream?: Readable;
}

export interface RouteContext<B, Q, P> {
  body: B;
  query: Q;
  params: P;
  principal: Principal | null;
  requestId: string;
  ip: string;
  log: Logger;
  headers: Record<string, string | string[] | undefined>;
  /** Idempotency 'atomic' routes: the transaction the effect and the stored response share. */
  tx: Sql;
  /**
   * Idempotency 'phased' routes: runs one phase as its own transaction and records its result as a
   * recovery point; a retry with the same key gets the recorded result back without running it again.
   */
  step<T>(name: string, fn: (tx: Sql) => Promise<T>): Promise<T>;
  /**
   * Idempotency 'phased' routes: a call to another party, outside any transaction (a transaction must
   * never wait on the network), whose answer is recorded as a recovery point once it returns. A retry
   * after a crash between the call and the record repeats the call, so the callee must be idempotent
   * too: pass it an idempotency key derived from this request's.
   */
  call<T>(name: string, fn: () => Promise<T>): Promise<T>;
}

export interface RouteSpec<B extends TSchema = TSchema, Q extends TSchema = TSchema, P extends TSchema = TSchema> {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  url: string;
  /** `v1_<resource>_<action>`, also the OpenAPI operationId. */
  operationId: string;
  summary: string;
  description?: string;
  tags: string[];
  auth: AuthRequirement;
  body?: B;
  querystring?: Q;
  params?: P;
  /** Success responses: status → schema (errors share one documented shape). */
  response: Record<number, TSchema>;
  /** 'atomic': the handler runs in one SERIALIZABLE transaction with the stored response. 'phased': recovery points. */
  idempotency?: 'atomic' | 'phased';
  rateLimits?: RateLimitRule[];
  /** Body media type; JSON unless the route takes raw bytes. */
  consumes?: 'application/json' | 'application/octet-stream';
  handler(ctx: RouteContext<Static<B>, Static<Q>, Static<P>>): Promise<RouteResult>;
}

/** Identity function that gives the handler its types from the schemas. */
export function defineRoute<B extends TSchema, Q extends TSchema, P extends TSchema>(spec: RouteSpec<B, Q, P>): RouteSpec {
  return spec as unknown as RouteSpec;
}
