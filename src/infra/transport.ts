import type { FastifyInstance } from 'fastify';
import type { ErrorBody } from './errors.js';

/**
 * How one party calls another. In one process the call goes through Fastify's inject (the very routes,
 * auth and validation a remote caller meets, without a socket); apart, over HTTP with fetch. Party
 * clients are written against this interface only.
 */
export interface TransportRequest {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  path: string;
  body?: unknown;
  /** Raw bytes sent as application/octet-stream (ISO 8583). */
  raw?: Uint8Array;
  apiKey?: string;
  idempotencyKey?: string;
  headers?: Record<string, string>;
  timeoutMs?: number;
}

export interface TransportResponse<T = unknown> {
  status: number;
  body: T;
  raw?: Uint8Array;
  headers: Record<string, string>;
}

export interface Transport {
  request<T = unknown>(req: TransportRequest): Promise<TransportResponse<T>>;
}

/** One message between parties, for traces (`--trace FILE`, the console's trace viewer). */
export interface TraceEvent {
  ts: string;
  from: string;
  to: string;
  protocol: 'http' | 'apdu' | 'iso8583';
  hex?: string;
  json?: unknown;
}

export interface TraceSink {
  record(event: TraceEvent): void;
}

/** A non-2xx answer from another party, carrying its catalogue error. */
export class PartyError extends Error {
  override readonly name = 'PartyError';
  constructor(
    readonly status: number,
    readonly body: ErrorBody | undefined,
    readonly party: string,
    /** The call that was answered, e.g. `POST /issuer/iss_1/v1/cards` (method and path, no query or body): for error reports. */
    readonly route?: string,
  ) {
    super(body?.error?.message ?? `${party} answered ${status}`);
  }
  get code(): string | undefined {
    return this.body?.error?.code;
  }
  get declineCode(): string | undefined {
    return this.body?.error?.decline_code;
  }
}

/** A party that did not answer (timeout, connection refused). */
export class PartyUnavailable extends Error {
  override readonly name = 'PartyUnavailable';
  constructor(readonly party: string, reason: string) {
    super(`${party} unavailable: ${reason}`);
  }
}

function headerRecord(h: Record<string, unknown>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(h)) if (v !== undefined) out[k.toLowerCase()] = Array.isArray(v) ? v.join(', ') : String(v);
  return out;
}

function buildHeaders(req: TransportRequest): Record<string, string> {
  return {
    ...(req.headers ?? {}),
    ...(req.apiKey ? { authorization: `Bearer ${req.apiKey}` } : {}),
    ...(req.idempotencyKey ? { 'idempotency-key': req.idempotencyKey } : {}),
    ...(req.raw ? { 'content-type': 'application/octet-stream' } : req.body !== undefined ? { 'content-type': 'application/json' } : {}),
  };
}

export class InjectTransport implements Transport {
  /** `app` is a getter: parties are wired before the one Fastify instance exists. */
  constructor(private readonly app: () => FastifyInstance) {}

  async request<T>(req: TransportRequest): Promise<TransportResponse<T>> {
    const res = await this.app().inject({
      method: req.method,
      url: req.path,
      headers: buildHeaders(req),
      ...(req.raw ? { payload: Buffer.from(req.raw) } : req.body !== undefined ? { payload: JSON.stringify(req.body) } : {}),
    });
    const headers = headerRecord(res.headers);
    if ((headers['content-type'] ?? '').startsWith('application/octet-stream')) {
      return { status: res.statusCode, body: undefined as T, raw: new Uint8Array(res.rawPayload), headers };
    }
    return { status: res.statusCode, body: (res.body ? JSON.parse(res.body) : undefined) as T, headers };
  }
}

export class FetchTransport implements Transport {
  constructor(
    private readonly baseUrl: string,
    private readonly party = 'remote',
  ) {}

  async request<T>(req: TransportRequest): Promise<TransportResponse<T>> {
    let res: Response;
    try {
      res = await fetch(new URL(req.path, this.baseUrl), {
        method: req.method,
        headers: buildHeaders(req),
        ...(req.raw ? { body: new Blob([req.raw as Uint8Array<ArrayBuffer>]) } : req.body !== undefined ? { body: JSON.stringify(req.body) } : {}),
        signal: AbortSignal.timeout(req.timeoutMs ?? 10_000),
      });
    } catch (err) {
      throw new PartyUnavailable(this.party, (err as Error).name === 'TimeoutError' ? 'timeout' : 'connection failed');
    }
    const headers: Record<string, string> = {};
    res.headers.forEach((v, k) => (headers[k] = v));
    if ((headers['content-type'] ?? '').startsWith('application/octet-stream')) {
      return { status: res.status, body: undefined as T, raw: new Uint8Array(await res.arrayBuffer()), headers };
    }
    const text = await res.text();
    return { status: res.status, body: (text ? JSON.parse(text) : undefined) as T, headers };
  }
}

/** Wraps a transport so every exchange is written to a trace, with card data masked. */
export class TracingTransport implements Transport {
  constructor(
    private readonly inner: Transport,
    private readonly sink: TraceSink,
    /** The calling party; a function of the request where one transport serves several (network:<brand>). */
    private readonly from: string | ((req: TransportRequest) => string),
    /** The party called; a function of the path where one client reaches several (issuer:<id>). */
    private readonly to: string | ((path: string) => string),
    private readonly mask: (value: unknown) => unknown,
    /** Raw (ISO 8583) bodies are traced as hex through this, which must mask card numbers. */
    private readonly maskRaw?: (bytes: Uint8Array) => string,
  ) {}

  async request<T>(req: TransportRequest): Promise<TransportResponse<T>> {
    const now = () => new Date().toISOString();
    const to = typeof this.to === 'function' ? this.to(req.path) : this.to;
    const from = typeof this.from === 'function' ? this.from(req) : this.from;
    if (req.raw && this.maskRaw) this.sink.record({ ts: now(), from, to, protocol: 'iso8583', hex: this.maskRaw(req.raw), json: { method: req.method, path: req.path } });
    else this.sink.record({ ts: now(), from, to, protocol: 'http', json: this.mask({ method: req.method, path: req.path, body: req.body }) });
    const res = await this.inner.request<T>(req);
    if (res.raw && this.maskRaw) this.sink.record({ ts: now(), from: to, to: from, protocol: 'iso8583', hex: this.maskRaw(res.raw), json: { status: res.status } });
    else this.sink.record({ ts: now(), from: to, to: from, protocol: 'http', json: this.mask({ status: res.status, body: res.body }) });
    return res;
  }
}

/** Throws PartyError on a non-2xx answer; returns the body otherwise. */
export async function call<T>(transport: Transport, party: string, req: TransportRequest): Promise<T> {
  const res = await transport.request<T>(req);
  if (res.status >= 200 && res.status < 300) return res.body;
  throw new PartyError(res.status, res.body as ErrorBody | undefined, party, `${req.method} ${req.path.split('?')[0]}`);
}

/** How a client repeats a request answered `busy_retry`: at most `attempts` tries, backoff from `baseMs`, doubling, with jitter. */
export const BUSY_RETRY = { attempts: 4, baseMs: 25 } as const;

/**
 * `call`, repeating a request answered `busy_retry` (409: it met concurrent work and changed nothing, and
 * the API tells clients to retry) with the same body and Idempotency-Key, after a growing, jittered
 * pause; any other answer, or the last busy one, is the caller's.
 */
export async function callRetryingBusy<T>(
  transport: Transport,
  party: string,
  req: TransportRequest,
  policy: { attempts: number; baseMs: number } = BUSY_RETRY,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await call<T>(transport, party, req);
    } catch (err) {
      if (!(err instanceof PartyError && err.code === 'busy_retry') || attempt >= policy.attempts) throw err;
      const pause = policy.baseMs * 2 ** (attempt - 1) * (0.5 + Math.random());
      await new Promise((resolve) => setTimeout(resolve, pause));
    }
  }
}
