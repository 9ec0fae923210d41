import Fastify, { type FastifyBaseLogger, type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import { AppError, allErrors } from '../errors.js';
import type { Cache } from '../cache/index.js';
import type { Database, Sql } from '../db/database.js';
import { randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import { randomBase62 } from '../ids.js';
import type { Logger } from '../logger.js';
import type { ApiKeys} from './auth.js';
import { authenticate, type SessionResolver } from './auth.js';
import { acquire, finish, recordStep, release, requestHash, validateIdempotencyKey } from './idempotency.js';
import { enforceRateLimits } from './ratelimit.js';
import { jsonDeeperThan, MAX_JSON_DEPTH, parseQueryTypes, rejectNul } from './input.js';
import { principalKey, type Principal, type RouteContext, type RouteResult, type RouteSpec } from './route.js';
import { ErrorSchema } from './schemas.js';

export interface HttpDeps {
  db: Database;
  cache: Cache;
  logger: Logger;
  apiKeys: ApiKeys;
  sessions?: SessionResolver;
  /** Key for the idempotency request fingerprint (derived from the KEK); random per process if absent. */
  requestHashKey?: Uint8Array;
  /** Multiplies every rate limit; 0 turns them off. */
  rateLimitFactor?: number;
  /** This process's boot id (src/infra/lease.ts): the idempotency keys it holds carry it. */
  bootId?: string;
}

export interface HttpOptions {
  title: string;
  version: string;
  description?: string;
  bodyLimit?: number;
  /** Extra plugins (static files, TLS listener routes) registered after the API routes. */
  extend?: (app: FastifyInstance) => Promise<void>;
}

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | null;
  }
}

const ERROR_STATUSES = [400, 401, 403, 404, 409, 422, 429];

function errorReply(reply: FastifyReply, requestId: string, err: AppError): FastifyReply {
  if (err.headers) for (const [k, v] of Object.entries(err.headers)) reply.header(k, v);
  return reply.status(err.status).type('application/json').send(err.toBody(requestId));
}

/** Maps what Fastify itself rejects (bad JSON, validation, media type, size) onto the catalogue. */
function toAppError(err: FastifyError): AppError | null {
  if (err instanceof AppError) return err;
  if (err.validation) {
    const v = err.validation[0];
    const vp = v?.params as { missingProperty?: string; additionalProperty?: string } | undefined;
    const missing = vp?.missingProperty ?? vp?.additionalProperty;
    const path = (v?.instancePath ?? '').replace(/^\//, '').replace(/\//g, '.');
    const param = missing ? (path ? `${path}.${missing}` : missing) : path || undefined;
    // Ajv's message names the rule ("must be string"), never the rejected value.
    const message = `Invalid ${err.validationContext ?? 'request'}${param ? ` parameter '${param}'` : ''}: ${v?.message ?? 'invalid'}.`;
    return new AppError('parameter_invalid', { message, ...(param ? { param } : {}) });
  }
  switch (err.code) {
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new AppError('media_type_unsupported');
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new AppError('body_too_large');
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new AppError('body_invalid');
  }
  if (err instanceof SyntaxError || (err.statusCode === 400 && err.code?.startsWith('FST_ERR_CTP'))) return new AppError('body_invalid');
  if (err.statusCode !== undefined && err.statusCode >= 400 && err.statusCode < 500) return new AppError('parameter_invalid', { message: 'The request could not be processed.' });
  return null;
}

/** Keeps driver details (a unique violation's "Key (x)=(value)", the SQL and its parameters) out of logs. */
export function safeErr(err: unknown): Record<string, unknown> {
  if (!(err instanceof Error)) return { message: 'non-error thrown' };
  return { type: err.name, message: err.message, code: (err as { code?: unknown }).code, stack: err.stack };
}

export async function buildHttpApp(deps: HttpDeps, routes: RouteSpec[], options: HttpOptions): Promise<FastifyInstance> {
  deps = { ...deps, requestHashKey: deps.requestHashKey ?? randomBytes(32) };
  const app = Fastify({
    loggerInstance: deps.logger as unknown as FastifyBaseLogger,
    genReqId: () => `req_${randomBase62(20)}`,
    requestIdHeader: false,
    bodyLimit: options.bodyLimit ?? 256 * 1024,
    trustProxy: false,
    return503OnClosing: true,
    // A field has one JSON type: nothing is coerced ("0x10", true or [2] for an amount is a 400, never 16, 1 or 2).
    // Query strings are parsed by parseQueryTypes, explicitly, from each route's schema.
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, useDefaults: true, allErrors: false } },
  });
  app.decorateRequest('principal', null);
  // Fastify's JSON parser (prototype poisoning refused), behind a depth bound checked on the text before parsing:
  // a 10,000-deep body would otherwise overflow any recursive walk (validation, traces, request hashes).
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (req, body, done) => {
    if (jsonDeeperThan(body as string, MAX_JSON_DEPTH)) return done(new AppError('body_invalid', { message: `The request body nests deeper than ${MAX_JSON_DEPTH} levels.` }), undefined);
    parseJson(req, body as string, done);
  });
  app.addContentTypeParser('application/octet-stream', { parseAs: 'buffer', bodyLimit: 64 * 1024 }, (_req, body, done) => done(null, body));
  app.addHook('onRequest', async (req, reply) => {
    reply.header('Request-Id', req.id);
  });

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: { title: options.title, version: options.version, description: options.description ?? '' },
      components: {
        securitySchemes: {
          apiKey: { type: 'http', scheme: 'bearer', description: 'A party API key: tsk_<role>_...' },
          session: { type: 'http', scheme: 'bearer', description: 'A wallet user session: tss_...' },
        },
      },
    },
    refResolver: { buildLocalReference: (json, _base, _fragment, i) => (typeof json.$id === 'string' ? json.$id : `def-${i}`) },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
  app.addSchema(ErrorSchema);

  app.setErrorHandler(async (err: FastifyError, req, reply) => {
    const known = toAppError(err);
    if (known) return errorReply(reply, req.id, known);
    req.log.error({ err: safeErr(err) }, 'unhandled error');
    return errorReply(reply, req.id, new AppError('internal_error'));
  });
  app.setNotFoundHandler(async (req, reply) => errorReply(reply, req.id, new AppError('route_not_found')));

  // Open streams (server-sent events) would keep close() waiting for clients that never hang up.
  const streams = new Set<Readable>();
  app.addHook('preClose', async () => {
    for (const s of streams) s.destroy();
  });
  for (const spec of routes) registerRoute(app, deps, spec, streams);

  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  app.get('/v1/errors', { schema: { hide: true } }, async () => ({ object: 'list', data: Object.entries(allErrors()).map(([code, e]) => ({ code, ...e })), has_more: false }));
  if (options.extend) await options.extend(app);
  await app.ready();
  return app;
}

function registerRoute(app: FastifyInstance, deps: HttpDeps, spec: RouteSpec, streams: Set<Readable>): void {
  const security = spec.auth.kind === 'public' ? [] : spec.auth.kind === 'apiKey' ? [{ apiKey: [] }] : [{ session: [] }];
  const response: Record<number, unknown> = { ...spec.response };
  for (const s of ERROR_STATUSES) response[s] ??= { $ref: 'Error#' };
  const needsAuth = spec.auth.kind !== 'public';
  const schema: Record<string, unknown> = {
    operationId: spec.operationId,
    summary: spec.summary,
    description: spec.description ?? (spec.auth.kind === 'apiKey' ? `Callers: ${spec.auth.roles.join(', ')} API keys.` : undefined),
    tags: spec.tags,
    security,
    response,
    ...(spec.body ? { body: spec.body } : {}),
    ...(spec.querystring ? { querystring: spec.querystring } : {}),
    ...(spec.params ? { params: spec.params } : {}),
    ...(spec.consumes ? { consumes: [spec.consumes] } : {}),
    ...(spec.idempotency
      ? { headers: { type: 'object', properties: { 'idempotency-key': { type: 'string', description: '1 to 255 printable characters. Makes retries safe: the first response is stored and replayed for 24 hours.' } } } }
      : {}),
  };

  app.route({
    method: spec.method,
    url: spec.url,
    schema,
    // Authentication runs before the body is parsed or validated: an anonymous caller learns nothing.
    onRequest: async (req) => {
      req.principal = await authenticate(spec.auth, req.headers.authorization, deps.apiKeys, deps.sessions);
    },
    // Before validation, so requests that fail validation count against the limit too.
    // Then the input rules no schema says: no NUL anywhere (PostgreSQL refuses 0x00), query numbers parsed strictly.
    preValidation: async (req) => {
      if (spec.rateLimits) await enforceRateLimits(deps.cache, spec.operationId, spec.rateLimits, { ip: req.ip, principal: req.principal, body: req.body, params: req.params }, deps.rateLimitFactor ?? 1);
      rejectNul([{ context: 'params', value: req.params }, { context: 'querystring', value: req.query }, ...(Buffer.isBuffer(req.body) ? [] : [{ context: 'body' as const, value: req.body }])]);
      parseQueryTypes(spec.querystring, req.query);
    },
    handler: async (req, reply) => {
      if (needsAuth && !req.principal) throw new AppError('authentication_required');
      const result = await execute(deps, spec, req);
      if (result.stream) {
        const stream = result.stream;
        streams.add(stream);
        stream.once('close', () => streams.delete(stream));
        // The client going away ends the stream (and whatever feeds it).
        reply.raw.once('close', () => stream.destroy());
      }
      return sendResult(reply, result);
    },
  });
}

function sendResult(reply: FastifyReply, result: RouteResult): FastifyReply {
  if (result.headers) for (const [k, v] of Object.entries(result.headers)) reply.header(k, v);
  reply.status(result.status);
  if (result.raw) return reply.type('application/octet-stream').send(Buffer.from(result.raw));
  if (result.stream) return reply.send(result.stream);
  return reply.send(result.body);
}

function baseContext(deps: HttpDeps, req: FastifyRequest): Omit<RouteContext<unknown, unknown, unknown>, 'tx' | 'step' | 'call'> {
  return {
    body: req.body,
    query: req.query,
    params: req.params,
    principal: req.principal,
    requestId: req.id,
    ip: req.ip,
    log: req.log as Logger,
    headers: req.headers,
  };
}

const direct = <T>(_name: string, fn: () => Promise<T>): Promise<T> => fn();

const noTx: Sql = {
  query: () => Promise.reject(new Error('this route has no transaction: declare idempotency: "atomic"')),
  exec: () => Promise.reject(new Error('this route has no transaction: declare idempotency: "atomic"')),
};

async function execute(deps: HttpDeps, spec: RouteSpec, req: FastifyRequest): Promise<RouteResult> {
  const base = baseContext(deps, req);
  const key = spec.idempotency ? validateIdempotencyKey(req.headers['idempotency-key']) : null;

  if (!spec.idempotency) {
    return spec.handler({ ...base, tx: noTx, step: (_n, fn) => deps.db.tx(fn), call: direct });
  }
  if (key === null) {
    // No key: the same code path, minus the stored response.
    if (spec.idempotency === 'atomic') return deps.db.tx((tx) => spec.handler({ ...base, tx, step: (_n, fn) => fn(tx), call: direct }));
    return spec.handler({ ...base, tx: noTx, step: (_n, fn) => deps.db.tx(fn), call: direct });
  }

  // Anonymous callers of a public route (a shop's customers) share one scope: their keys are random
  // (UUIDs), and a replay needs the key and the same request as well.
  const scope = req.principal ? principalKey(req.principal) : 'public';
  const hash = requestHash(deps.requestHashKey!, spec.method, spec.url, req.params, spec.consumes === 'application/octet-stream' ? Buffer.from(req.body as Buffer).toString('base64') : req.body);
  const claim = await acquire(deps.db, scope, key, spec.method, spec.url, hash, deps.bootId ?? null);
  if (claim.kind === 'replay') return claim.result;
  const id = claim.id;

  try {
    if (spec.idempotency === 'atomic') {
      return await deps.db.tx(async (tx) => {
        const result = await spec.handler({ ...base, tx, step: (_n, fn) => fn(tx), call: direct });
        await finish(tx, id, result);
        return result;
      });
    }
    const recovery = claim.recovery;
    const step = async <T>(name: string, fn: (tx: Sql) => Promise<T>): Promise<T> => {
      if (Object.prototype.hasOwnProperty.call(recovery, name)) return recovery[name] as T;
      const value = await deps.db.tx(async (tx) => {
        const v = await fn(tx);
        await recordStep(tx, id, name, v);
        return v;
      });
      recovery[name] = value;
      return value;
    };
    const call = async <T>(name: string, fn: () => Promise<T>): Promise<T> => {
      if (Object.prototype.hasOwnProperty.call(recovery, name)) return recovery[name] as T;
      const value = await fn();
      await recordStep(deps.db, id, name, value);
      recovery[name] = value;
      return value;
    };
    const result = await spec.handler({ ...base, tx: noTx, step, call });
    await finish(deps.db, id, result);
    return result;
  } catch (err) {
    if (err instanceof AppError && err.status < 500) {
      // Execution began and ended in a definite answer: that answer is what a retry gets.
      await finish(deps.db, id, { status: err.status, body: err.toBody(req.id), ...(err.headers ? { headers: err.headers } : {}) });
    } else {
      await release(deps.db, id).catch(() => {});
    }
    throw err;
  }
}
