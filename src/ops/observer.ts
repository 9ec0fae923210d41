/**
 * What the operations console watches in this process: every message between parties (a bounded
 * in-memory ring buffer, grouped by correlation: one external request and everything it caused), and
 * live authorization counters. Per process: with several API processes each has its own; the durable
 * record stays each party's own tables (read through their APIs, see ./service.ts).
 *
 * Correlation: an external request entering the HTTP app starts a correlation (AsyncLocalStorage);
 * the calls parties make to each other in-process run inside it, so their traced messages join it.
 * Outbox events remember the correlation that wrote them, and their delivery runs inside it again.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { randomBytes } from 'node:crypto';
import { PassThrough, type Readable } from 'node:stream';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { observeEnqueue } from '../infra/outbox.js';
import { maskForTrace, maskIsoHex } from '../infra/trace.js';
import type { TraceEvent, TraceSink } from '../infra/transport.js';
import { RESPONSE_CODES } from '../merchant/terminal/kernel.js';
import { unpackMessage } from '../protocol/iso8583/iso8583.js';
import { decodeApdu, decodeHttp, decodeIso, parseTracedIso, type Decoded } from './decode.js';

interface Context {
  owner: Observer;
  id: string;
  /** process.hrtime.bigint() when the external request arrived. */
  start: bigint;
}

const als = new AsyncLocalStorage<Context>();

/** `external`: this request came from outside (not a party calling another in process); `startedAt`: its own arrival. */
type TracedRequest = FastifyRequest & { external?: boolean; rootEvent?: TraceEvent; startedAt?: bigint };

export interface TraceRecord extends TraceEvent {
  seq: number;
  correlation: string;
}

export interface TraceSummary {
  id: string;
  started_at: string;
  messages: number;
  parties: string[];
  /** What the correlation is (first ISO MTI and amount, or the first HTTP request). */
  summary: string;
  /** Keys it can be found by besides its id: `iso:<DE41>:<DE11>:<DE7>`, `rrn:<DE37>`, `id:<object id>`. */
  keys: string[];
  response_code: string | null;
}

const newCorrelation = () => `cor_${randomBytes(10).toString('hex')}`;
const ID_PATTERN = /^(?:auth|nauth|iauth|txn|tok|evt|ptxn|card|ver|prov|pay|order)_[0-9A-Za-z]{8,}$/;

/** The keys a message can be looked up by (see TraceSummary.keys). */
export function keysOf(event: TraceEvent): string[] {
  const keys: string[] = [];
  if (event.protocol === 'iso8583' && event.hex) {
    const msg = parseTracedIso(event.hex);
    if (msg) {
      const [t, s, d, r] = [msg.fields[41], msg.fields[11], msg.fields[7], msg.fields[37]];
      if (typeof t === 'string' && typeof s === 'string' && typeof d === 'string') keys.push(`iso:${t.trim()}:${s}:${d}`);
      if (typeof r === 'string' && r.trim()) keys.push(`rrn:${r.trim()}`);
    }
  } else if (event.json !== undefined) {
    const walk = (v: unknown, depth: number): void => {
      if (depth > 4 || keys.length > 20) return;
      if (typeof v === 'string') {
        if (ID_PATTERN.test(v)) keys.push(`id:${v}`);
      } else if (Array.isArray(v)) v.slice(0, 20).forEach((x) => walk(x, depth + 1));
      else if (v && typeof v === 'object') for (const x of Object.values(v)) walk(x, depth + 1);
    };
    walk(event.json, 0);
  }
  return keys;
}

/** The bounded ring buffer of traced messages, grouped by correlation. */
export class TraceStore {
  #seq = 0;
  readonly #ring: (TraceRecord | undefined)[];
  #head = 0;
  readonly #byCorrelation = new Map<string, TraceRecord[]>();
  readonly #keysOf = new Map<string, Set<string>>();
  readonly #index = new Map<string, string>();

  constructor(readonly capacity: number) {
    this.#ring = new Array<TraceRecord | undefined>(capacity);
  }

  /** The correlation a message without context belongs to, by its keys; undefined when none. */
  find(key: string): string | undefined {
    return this.#byCorrelation.has(key) ? key : this.#index.get(key);
  }

  add(correlation: string, event: TraceEvent, options: { first?: boolean } = {}): TraceRecord | undefined {
    if (this.capacity === 0) return undefined;
    const record: TraceRecord = { ...event, seq: ++this.#seq, correlation };
    const evicted = this.#ring[this.#head];
    if (evicted) this.#evict(evicted);
    this.#ring[this.#head] = record;
    this.#head = (this.#head + 1) % this.capacity;
    let list = this.#byCorrelation.get(correlation);
    if (!list) this.#byCorrelation.set(correlation, (list = []));
    if (options.first) list.unshift(record);
    else list.push(record);
    let keys = this.#keysOf.get(correlation);
    if (!keys) this.#keysOf.set(correlation, (keys = new Set()));
    for (const k of keysOf(event)) {
      if (!this.#index.has(k)) this.#index.set(k, correlation);
      keys.add(k);
    }
    return record;
  }

  #evict(record: TraceRecord): void {
    const list = this.#byCorrelation.get(record.correlation);
    if (!list) return;
    const i = list.indexOf(record);
    if (i >= 0) list.splice(i, 1);
    if (list.length === 0) {
      this.#byCorrelation.delete(record.correlation);
      for (const k of this.#keysOf.get(record.correlation) ?? []) if (this.#index.get(k) === record.correlation) this.#index.delete(k);
      this.#keysOf.delete(record.correlation);
    }
  }

  /** A correlation's messages in order, by its id or any of its keys. */
  get(key: string): { id: string; events: TraceRecord[] } | undefined {
    const id = this.find(key);
    const events = id ? this.#byCorrelation.get(id) : undefined;
    return id && events ? { id, events: [...events] } : undefined;
  }

  summary(id: string): TraceSummary | undefined {
    const events = this.#byCorrelation.get(id);
    if (!events?.length) return undefined;
    const parties = [...new Set(events.flatMap((e) => [e.from, e.to]))];
    let summary = '';
    let responseCode: string | null = null;
    for (const e of events) {
      if (e.protocol !== 'iso8583' || !e.hex) continue;
      const msg = parseTracedIso(e.hex);
      if (!msg) continue;
      if (!summary) summary = decodeIso(e.hex).summary;
      if (typeof msg.fields[39] === 'string') responseCode = msg.fields[39];
    }
    if (!summary) summary = describe(events[0]!).summary;
    return { id, started_at: events[0]!.ts, messages: events.length, parties, summary, keys: [...(this.#keysOf.get(id) ?? [])], response_code: responseCode };
  }

  /** The newest correlations first. */
  recent(limit: number): TraceSummary[] {
    const ids = [...this.#byCorrelation.keys()].reverse().slice(0, limit);
    return ids.map((id) => this.summary(id)!).filter(Boolean);
  }

  get size(): number {
    return this.#byCorrelation.size;
  }
}

/** A traced message decoded for the console. */
export function describe(event: TraceEvent): Decoded {
  if (event.protocol === 'iso8583' && event.hex) return decodeIso(event.hex);
  if (event.protocol === 'apdu' && event.hex) return decodeApdu(event.hex, event.from);
  return decodeHttp(event.json);
}

const LATENCY_WINDOW = 10_000;

export interface CountersSnapshot {
  object: 'counters';
  since: string;
  at: string;
  authorizations: { total: number; approved: number; declined: number; errors: number; reversals: number };
  declines_by_reason: Record<string, number>;
  latency_ms: { p50: number | null; p99: number | null; max: number | null; samples: number };
  /** Authorizations answered in the last 10 seconds, per second. */
  rate_per_second: number;
}

/** Live authorization counters, fed by the acquirer's answers to terminals and merchants. */
export class Counters {
  readonly since = new Date();
  approved = 0;
  declined = 0;
  errors = 0;
  reversals = 0;
  readonly declines = new Map<string, number>();
  readonly #latencies = new Float64Array(LATENCY_WINDOW);
  #latencyCount = 0;
  readonly #recent: number[] = [];

  answered(approved: boolean, reason: string, latencyMs: number): void {
    if (approved) this.approved++;
    else {
      this.declined++;
      this.declines.set(reason, (this.declines.get(reason) ?? 0) + 1);
    }
    this.#latencies[this.#latencyCount % LATENCY_WINDOW] = latencyMs;
    this.#latencyCount++;
    const now = Date.now();
    this.#recent.push(now);
    while (this.#recent.length && this.#recent[0]! < now - 10_000) this.#recent.shift();
  }

  snapshot(): CountersSnapshot {
    const n = Math.min(this.#latencyCount, LATENCY_WINDOW);
    const sorted = Array.from(this.#latencies.subarray(0, n)).sort((a, b) => a - b);
    const pct = (p: number) => (n ? Math.round(sorted[Math.min(n - 1, Math.ceil((p / 100) * n) - 1)]! * 100) / 100 : null);
    const now = Date.now();
    const recent = this.#recent.filter((t) => t >= now - 10_000).length;
    return {
      object: 'counters',
      since: this.since.toISOString(),
      at: new Date(now).toISOString(),
      authorizations: { total: this.approved + this.declined, approved: this.approved, declined: this.declined, errors: this.errors, reversals: this.reversals },
      declines_by_reason: Object.fromEntries([...this.declines.entries()].sort((a, b) => b[1] - a[1])),
      latency_ms: { p50: pct(50), p99: pct(99), max: n ? Math.round(sorted[n - 1]! * 100) / 100 : null, samples: n },
      rate_per_second: recent / 10,
    };
  }
}

/** Paths whose external requests are recorded even when they reach no other party. */
const ALWAYS_RECORDED = /^\/acquirer\/v1\/(?:ecommerce\/)?authorizations$/;
/** Reads, the pages and the console's own traffic are never recorded as a flow (the store's API is: a web payment starts there). */
const NEVER_RECORDED = /^\/(?:ops|sandbox|health|docs|openapi|v1\/errors|console|wallet|terminal|store(?!\/api\/)|assets)(?:[/?]|$)/;

function partyOfPath(path: string): string {
  const m = /^\/(acquirer|platform|ops|sandbox|store)\b/.exec(path);
  if (m) return m[1]!;
  const n = /^\/(network|issuer)\/([^/?]+)/.exec(path);
  return n ? `${n[1]}:${n[2]}` : 'platform';
}

function callerOf(req: FastifyRequest): string {
  const p = req.principal;
  if (!p) return 'client';
  if (p.kind === 'user') return 'device';
  switch (p.role) {
    case 'terminal':
      return 'terminal';
    case 'merchant':
      return 'merchant';
    case 'admin':
    case 'ops':
      return 'operator';
    default:
      return p.role;
  }
}

export class Observer {
  readonly counters = new Counters();
  readonly traces: TraceStore;
  /** Outbox event id → the correlation that enqueued it (bounded). */
  readonly #events = new Map<string, string>();
  readonly #unobserve: () => void;

  /** The sink parties' TracingTransports write to. */
  readonly sink: TraceSink = { record: (event) => this.record(event) };

  constructor(options: { traceCapacity: number }) {
    this.traces = new TraceStore(options.traceCapacity);
    this.#unobserve = observeEnqueue((eventId) => {
      const ctx = als.getStore();
      if (ctx?.owner !== this || this.traces.capacity === 0) return;
      this.#events.set(eventId, ctx.id);
      if (this.#events.size > 20_000) this.#events.delete(this.#events.keys().next().value!);
    });
  }

  get tracing(): boolean {
    return this.traces.capacity > 0;
  }

  record(event: TraceEvent): void {
    if (!this.tracing) return;
    const ctx = als.getStore();
    let id = ctx?.owner === this ? ctx.id : undefined;
    if (!id) for (const k of keysOf(event)) if ((id = this.traces.find(k))) break;
    this.traces.add(id ?? newCorrelation(), event);
  }

  /** Adds messages a client saw (a terminal's APDU exchange with the device) to the flow they belong to. */
  recordClient(key: string, events: TraceEvent[]): string {
    const id = this.traces.find(key) ?? newCorrelation();
    // The device's part happened before the terminal went online: before everything else of the flow.
    for (const e of [...events].reverse()) this.traces.add(id, e, { first: true });
    return id;
  }

  /** Runs an outbox delivery inside the correlation that enqueued the event (a fresh one when unknown). */
  runForEvent<T>(eventId: string, fn: () => Promise<T>): Promise<T> {
    return als.run({ owner: this, id: this.#events.get(eventId) ?? newCorrelation(), start: process.hrtime.bigint() }, fn);
  }

  /** Hooks into the HTTP app: correlation per external request, its own exchange in the trace, counters. */
  install(app: FastifyInstance): void {
    app.addHook('onRequest', (req, _reply, done) => {
      const ctx = als.getStore();
      (req as TracedRequest).startedAt = process.hrtime.bigint();
      if (ctx?.owner === this) return done();
      (req as TracedRequest).external = true;
      als.run({ owner: this, id: newCorrelation(), start: process.hrtime.bigint() }, done);
    });
    app.addHook('preHandler', async (req) => {
      const ctx = als.getStore();
      if (!this.tracing || ctx?.owner !== this || !(req as TracedRequest).external) return;
      const path = req.url.split('?')[0]!;
      if (req.method === 'GET' || NEVER_RECORDED.test(path)) return;
      const from = callerOf(req);
      const to = partyOfPath(path);
      const ts = new Date().toISOString();
      // Kept aside until the answer: a request that reached no other party is recorded only on the paths that always are.
      (req as TracedRequest).rootEvent = Buffer.isBuffer(req.body)
        ? { ts, from, to, protocol: 'iso8583', hex: maskIsoHex(new Uint8Array(req.body)), json: { method: req.method, path } }
        : { ts, from, to, protocol: 'http', json: maskForTrace({ method: req.method, path, body: req.body }) };
    });
    app.addHook('onSend', async (req, reply, payload) => {
      const ctx = als.getStore();
      if (ctx?.owner !== this) return payload;
      const path = req.url.split('?')[0]!;
      // Every answer of the acquirer's authorization routes counts, also to a party of this process (the
      // demo store's web payments reach the acquirer in process): the console's counters and its list of
      // the acquirer's authorizations must agree. A replayed answer (same Idempotency-Key) is no new one.
      if (req.method === 'POST' && ALWAYS_RECORDED.test(path) && reply.getHeader('idempotent-replayed') !== 'true') {
        this.#count(reply.statusCode, payload, Number(process.hrtime.bigint() - ((req as TracedRequest).startedAt ?? ctx.start)) / 1e6);
      }
      if (!(req as TracedRequest).external) return payload;
      const rootEvent = (req as TracedRequest).rootEvent;
      if (rootEvent && (ALWAYS_RECORDED.test(path) || this.traces.get(ctx.id))) {
        this.traces.add(ctx.id, rootEvent, { first: true });
        const from = partyOfPath(path);
        const to = callerOf(req);
        const ts = new Date().toISOString();
        if (Buffer.isBuffer(payload)) this.traces.add(ctx.id, { ts, from, to, protocol: 'iso8583', hex: maskIsoHex(new Uint8Array(payload)), json: { status: reply.statusCode } });
        else if (typeof payload === 'string') {
          let body: unknown;
          try {
            body = JSON.parse(payload);
          } catch {
            body = undefined;
          }
          this.traces.add(ctx.id, { ts, from, to, protocol: 'http', json: maskForTrace({ status: reply.statusCode, body }) });
        }
      }
      return payload;
    });
  }

  #count(status: number, payload: unknown, ms: number): void {
    if (status >= 400) {
      this.counters.errors++;
      return;
    }
    if (Buffer.isBuffer(payload)) {
      try {
        const msg = unpackMessage(new Uint8Array(payload));
        if (msg.mti === '0410' || msg.mti === '0430') {
          this.counters.reversals++;
          return;
        }
        const rc = msg.fields[39];
        if (msg.mti !== '0110' || typeof rc !== 'string') return;
        this.counters.answered(rc === '00', `${rc} ${RESPONSE_CODES[rc] ?? 'other'}`, ms);
      } catch {
        this.counters.errors++;
      }
      return;
    }
    if (typeof payload === 'string') {
      try {
        const body = JSON.parse(payload) as { status?: string; responseCode?: string; declineReason?: string };
        if (body.status !== 'approved' && body.status !== 'declined') return;
        const rc = body.responseCode ?? '';
        this.counters.answered(body.status === 'approved', body.declineReason ? `${rc} ${body.declineReason}`.trim() : `${rc} ${RESPONSE_CODES[rc] ?? 'other'}`, ms);
      } catch {
        // not JSON: nothing to count
      }
    }
  }

  /** Server-sent events: the counters every `intervalMs` until the client goes away. */
  counterStream(intervalMs = 1000): Readable {
    const out = new PassThrough();
    const send = () => out.write(`event: counters\ndata: ${JSON.stringify(this.counters.snapshot())}\n\n`);
    send();
    const timer = setInterval(send, intervalMs);
    timer.unref();
    out.once('close', () => clearInterval(timer));
    return out;
  }

  close(): void {
    this.#unobserve();
  }
}
