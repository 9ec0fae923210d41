import { randomUUID } from 'node:crypto';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import type { Role, RouteSpec } from '../../src/infra/http/route.js';
import { seededRandom } from './random.js';

/**
 * The shared bad-input generator (issue 16): for every route of the running app that takes a body,
 * taken from the OpenAPI document the app builds (so a new route is covered without anyone
 * remembering), it builds a valid-looking body from the route's schema and then sends, with valid
 * credentials for the route's role, each class of bad input in one field (or the whole body):
 * type confusion, coercion bait, out-of-range numbers, NUL, deep nesting, oversized and odd-unicode
 * strings, garbage bodies. It checks that nothing answers 5xx and that no value of a JSON type the
 * field does not admit is accepted (a 2xx for "0x10" in an integer field is a coercion).
 */

export type BadInputCredentials = Partial<Record<Role | 'user' | 'deviceUser', string>>;

export interface BadInputReport {
  routes: number;
  total: number;
  byClass: Record<string, { run: number; failures: number }>;
  failures: string[];
  /** Routes whose generated valid-looking body passed validation (so field baits are judged against a body that is otherwise valid). */
  baselineValid: number;
  /** Routes with a body in the OpenAPI document that no RouteSpec describes (so the generator could not pick credentials). */
  uncovered: string[];
}

export interface BadInputOptions {
  /** Most field cases per route (a seeded sample; every class is tried at least once per route when it fits). */
  perRoute?: number;
  /** Values for path parameters by name (an issuer id that exists, a brand, …). */
  params?: Record<string, string>;
  seed?: number;
  /** A fresh credential of that kind, when a route has ended the one in use (DELETE /sessions/current signs the caller out). */
  renew?: (kind: keyof BadInputCredentials) => Promise<string>;
}

type Schema = {
  type?: string | string[];
  properties?: Record<string, Schema>;
  required?: string[];
  items?: Schema;
  anyOf?: Schema[];
  oneOf?: Schema[];
  const?: unknown;
  enum?: unknown[];
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  pattern?: string;
  format?: string;
  default?: unknown;
};

/** What a bad value is: a JSON value, or raw JSON text where JSON.stringify cannot say it (-0, 1e400, lone surrogates, depth). */
type Bait = { cls: string; value?: unknown; raw?: string; expect?: number };

const DEPTH = 10_000;
const deepArray = `${'['.repeat(DEPTH)}${']'.repeat(DEPTH)}`;

/** Values for one field, by class. */
export const FIELD_BAITS: readonly Bait[] = [
  { cls: 'type:string', value: '5' },
  { cls: 'type:number', value: 5 },
  { cls: 'type:boolean', value: true },
  { cls: 'type:array', value: [2] },
  { cls: 'type:object', value: { a: 1 } },
  { cls: 'type:null', value: null },
  { cls: 'coerce:hex', value: '0x10' },
  { cls: 'coerce:space', value: ' 5' },
  { cls: 'coerce:exponent', value: '1e3' },
  { cls: 'coerce:infinity', value: 'Infinity' },
  { cls: 'coerce:nan', value: 'NaN' },
  { cls: 'coerce:bool-string', value: 'true' },
  { cls: 'coerce:empty', value: '' },
  { cls: 'number:-0', raw: '-0' },
  { cls: 'number:huge', raw: '18446744073709551616' },
  { cls: 'number:unsafe', raw: '9007199254740993' },
  { cls: 'number:1e400', raw: '1e400' },
  { cls: 'number:negative', value: -1 },
  { cls: 'number:float', value: 1.5 },
  { cls: 'nul', value: 'a\u0000b', expect: 400 },
  { cls: 'depth', raw: deepArray, expect: 400 },
  { cls: 'string:long', value: 'x'.repeat(70_000) },
  { cls: 'string:oversized', value: 'x'.repeat(300_000), expect: 413 },
  { cls: 'unicode:lone-surrogate', raw: '"a\\ud800b"' },
  { cls: 'unicode:rtl', value: '\u202etxt.exe' },
  { cls: 'unicode:emoji', value: '💳👩‍👩‍👧' },
  { cls: 'unicode:zero-width', value: '\u200b\ufeff' },
];

/** Whole bodies: garbage, the wrong shapes, the wrong media type. */
const BODY_BAITS: readonly (Bait & { contentType?: string; text?: string | Buffer })[] = [
  { cls: 'body:not-json', text: '{"a":' },
  { cls: 'body:empty', text: '' },
  { cls: 'body:garbage', text: Buffer.from([0xff, 0xfe, 0x00, 0x7b, 0x80, 0x22]) },
  { cls: 'body:array', text: '[]' },
  { cls: 'body:string', text: '"x"' },
  { cls: 'body:number', text: '1' },
  { cls: 'body:null', text: 'null' },
  { cls: 'body:deep', text: deepArray, expect: 400 },
  { cls: 'body:deep-object', text: `${'{"a":'.repeat(DEPTH)}1${'}'.repeat(DEPTH)}`, expect: 400 },
  { cls: 'body:oversized', text: JSON.stringify({ a: 'x'.repeat(300_000) }), expect: 413 },
  { cls: 'body:proto', text: '{"__proto__":{"admin":true},"constructor":{"prototype":{"admin":true}}}' },
  { cls: 'body:nul-key', text: '{"a\\u0000":1}', expect: 400 },
  { cls: 'body:text-plain', text: 'amount=5', contentType: 'text/plain' },
  { cls: 'body:form', text: 'amount=5', contentType: 'application/x-www-form-urlencoded' },
];


const STRING_CANDIDATES = ['x', 'abc', 'evt_abc', 'tok_abc', '1234', '000', '0000', '50110030273', '5555555555554444', '12345678901', '840', 'USD', 'US', '5411', '00', 'A'.repeat(29), 'abcdef'];

/** A value the schema admits, as far as a small generator can tell (patterns: from a list of candidates). */
export function sampleValid(s: Schema | undefined, depth = 0): unknown {
  if (!s || depth > 8) return null;
  if (s.const !== undefined) return s.const;
  if (s.enum) return s.enum[0];
  const union = s.anyOf ?? s.oneOf;
  if (union) return sampleValid(union.find((u) => u.type !== 'null') ?? union[0], depth + 1);
  const type = Array.isArray(s.type) ? s.type.find((x) => x !== 'null') : s.type;
  switch (type) {
    case 'object': {
      const out: Record<string, unknown> = {};
      for (const k of s.required ?? []) out[k] = sampleValid(s.properties?.[k], depth + 1);
      return out;
    }
    case 'array':
      return Array.from({ length: s.minItems ?? 1 }, () => sampleValid(s.items, depth + 1));
    case 'integer':
    case 'number':
      return s.minimum ?? (s.exclusiveMinimum !== undefined ? s.exclusiveMinimum + 1 : 1);
    case 'boolean':
      return false;
    case 'null':
      return null;
    case 'string':
      return sampleString(s);
    default:
      return {};
  }
}

function sampleString(s: Schema): string {
  if (s.format === 'date-time') return new Date().toISOString();
  if (s.format === 'email') return 'bad.input@example.com';
  if (s.format === 'uri') return 'https://example.com/x';
  const min = s.minLength ?? 0;
  const max = s.maxLength ?? Infinity;
  const fits = (c: string) => c.length >= min && c.length <= max && (!s.pattern || new RegExp(s.pattern, 'u').test(c));
  const found = STRING_CANDIDATES.find(fits);
  if (found) return found;
  const padded = 'x'.repeat(Math.max(min, 1));
  return padded;
}

/** The JSON types a schema admits (integers as 'integer'); undefined when it admits anything. */
function admittedTypes(s: Schema | undefined): Set<string> | undefined {
  if (!s) return undefined;
  if (s.const !== undefined) return new Set([jsonType(s.const)]);
  if (s.enum) return new Set(s.enum.map(jsonType));
  const union = s.anyOf ?? s.oneOf;
  if (union) {
    const out = new Set<string>();
    for (const u of union) {
      const t = admittedTypes(u);
      if (!t) return undefined;
      for (const x of t) out.add(x);
    }
    return out;
  }
  if (s.type === undefined) return undefined;
  return new Set(Array.isArray(s.type) ? s.type : [s.type]);
}

function jsonType(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}

/** Would a validator that never coerces admit this value's JSON type (integers: safe integers only)? */
function typeAdmitted(s: Schema | undefined, bait: Bait): boolean {
  const types = admittedTypes(s);
  if (!types) return true;
  let value: unknown;
  if (bait.raw !== undefined) {
    try {
      value = JSON.parse(bait.raw);
    } catch {
      return false;
    }
  } else value = bait.value;
  const t = jsonType(value);
  if (t === 'integer') return types.has('number') || (types.has('integer') && Number.isSafeInteger(value));
  if (t === 'number') return types.has('number') && Number.isFinite(value);
  return types.has(t);
}

interface Field {
  path: string[];
  schema: Schema;
}

/** Every property of the body, nested objects and the first item of arrays included. */
function fieldsOf(s: Schema | undefined, prefix: string[] = [], depth = 0): Field[] {
  if (!s || depth > 6) return [];
  const out: Field[] = [];
  const objectSchema = s.properties ? s : (s.anyOf ?? s.oneOf)?.find((u) => u.properties);
  for (const [k, v] of Object.entries(objectSchema?.properties ?? {})) {
    const path = [...prefix, k];
    out.push({ path, schema: v });
    out.push(...fieldsOf(v, path, depth + 1));
    const items = v.items ?? (v.anyOf ?? v.oneOf)?.find((u) => u.items)?.items;
    if (items) out.push(...fieldsOf(items, [...path, '0'], depth + 1));
  }
  return out;
}

const PLACEHOLDER = '@@bad-input-placeholder@@';

/** The body text with the field at `path` replaced by the bait (written raw when it has no JSON.stringify form). */
function bodyWith(base: unknown, field: Field, bait: Bait): string {
  const body = structuredClone(base) as Record<string, unknown>;
  let node: Record<string, unknown> = body;
  for (const key of field.path.slice(0, -1)) {
    if (node[key] === null || typeof node[key] !== 'object') node[key] = /^\d+$/.test(field.path[field.path.indexOf(key) + 1] ?? '') ? [] : {};
    node = node[key] as Record<string, unknown>;
  }
  node[field.path[field.path.length - 1]!] = PLACEHOLDER;
  return JSON.stringify(body).replace(`"${PLACEHOLDER}"`, bait.raw ?? JSON.stringify(bait.value));
}

function credentialFor(route: RouteSpec, creds: BadInputCredentials): keyof BadInputCredentials | undefined {
  if (route.auth.kind === 'public') return undefined;
  if (route.auth.kind === 'session') return route.auth.device || !creds.user ? 'deviceUser' : 'user';
  return route.auth.roles.find((role) => creds[role]);
}

function urlOf(route: RouteSpec, params: Record<string, string>): string {
  const schema = route.params as Schema | undefined;
  return route.url.replace(/:([A-Za-z_]+)/g, (_m, name: string) => {
    const given = params[name];
    if (given) return encodeURIComponent(given);
    const s = schema?.properties?.[name];
    const v = s && (s.enum || s.anyOf || s.const) ? sampleValid(s) : `${name.replace(/_id$/, '')}_0000000000000000000000`;
    return encodeURIComponent(String(v));
  });
}

const BODY_METHODS = new Set(['post', 'put', 'patch', 'delete']);

export async function runBadInputs(app: FastifyInstance, routes: RouteSpec[], given: BadInputCredentials, options: BadInputOptions = {}): Promise<BadInputReport> {
  const creds = { ...given };
  const random = seededRandom(options.seed ?? Number(process.env.BAD_INPUT_SEED ?? 16));
  const perRoute = options.perRoute ?? 40;
  const report: BadInputReport = { routes: 0, total: 0, byClass: {}, failures: [], uncovered: [], baselineValid: 0 };
  const count = (cls: string, failed: string | undefined) => {
    const c = (report.byClass[cls] ??= { run: 0, failures: 0 });
    c.run++;
    report.total++;
    if (failed) {
      c.failures++;
      report.failures.push(failed);
    }
  };

  // The route table as the running app publishes it: every operation that can carry a body.
  const doc = app.swagger() as { paths: Record<string, Record<string, unknown>> };
  const specs = new Map(routes.map((r) => [`${r.method} ${r.url}`, r]));
  const targets: RouteSpec[] = [];
  for (const [path, ops] of Object.entries(doc.paths)) {
    for (const method of Object.keys(ops)) {
      if (!BODY_METHODS.has(method)) continue;
      const key = `${method.toUpperCase()} ${path.replace(/\{([A-Za-z_]+)\}/g, ':$1')}`;
      const spec = specs.get(key);
      if (spec) targets.push(spec);
      else report.uncovered.push(key);
    }
  }

  for (const route of targets) {
    report.routes++;
    const url = urlOf(route, options.params ?? {});
    const kind = credentialFor(route, creds);
    const name = `${route.method} ${route.url}`;
    const send = async (payload: string | Buffer, contentType: string): Promise<LightMyRequestResponse> => {
      const res = await inject(payload, contentType);
      if (res.statusCode !== 401 || !kind || !options.renew) return res;
      creds[kind] = await options.renew(kind);
      return inject(payload, contentType);
    };
    const inject = (payload: string | Buffer, contentType: string): Promise<LightMyRequestResponse> => {
      const auth = kind ? creds[kind] : undefined;
      return app.inject({
        method: route.method,
        url,
        payload,
        headers: {
          'content-type': contentType,
          ...(auth ? { authorization: `Bearer ${auth}` } : {}),
          // A fresh key each time: the request must reach validation and the handler, never a stored answer.
          ...(route.idempotency ? { 'idempotency-key': `bad-input-${randomUUID()}` } : {}),
        },
      });
    };
    const judge = (cls: string, res: LightMyRequestResponse, what: string, opts: { expect?: number; typeAdmitted?: boolean }) => {
      let failed: string | undefined;
      if (res.statusCode >= 500) failed = `${name} ${what}: ${res.statusCode} ${res.body.slice(0, 200)}`;
      else if (opts.expect !== undefined && res.statusCode !== opts.expect) failed = `${name} ${what}: ${res.statusCode}, expected ${opts.expect}`;
      else if (opts.typeAdmitted === false && res.statusCode < 300) failed = `${name} ${what}: coerced, answered ${res.statusCode}`;
      count(cls, failed);
    };

    const octet = route.consumes === 'application/octet-stream';
    for (const bait of BODY_BAITS) {
      if (octet && bait.contentType) continue;
      const res = await send(bait.text ?? '', bait.contentType ?? (octet ? 'application/octet-stream' : 'application/json'));
      // Raw-byte routes read their body as bytes: depth and NUL mean nothing there, only size does.
      const expect = octet ? (bait.expect === 413 ? 413 : undefined) : bait.expect;
      judge(bait.cls, res, bait.cls, expect !== undefined ? { expect } : {});
    }
    if (octet || !route.body) continue;

    const schema = route.body as Schema;
    const base = sampleValid(schema);
    const baseline = await send(JSON.stringify(base), 'application/json');
    count('body:baseline', baseline.statusCode >= 500 ? `${name} baseline body: 5xx` : undefined);
    if (!(baseline.statusCode === 400 && baseline.json<{ error?: { code?: string } }>().error?.code === 'parameter_invalid')) report.baselineValid++;
    const fields = fieldsOf(schema);
    if (fields.length === 0) continue;
    // Every class once on a field drawn at random, then more (class, field) pairs up to the budget.
    const cases: [Bait, Field][] = FIELD_BAITS.map((b) => [b, fields[Math.floor(random() * fields.length)]!]);
    while (cases.length < perRoute && cases.length < FIELD_BAITS.length * fields.length) {
      cases.push([FIELD_BAITS[Math.floor(random() * FIELD_BAITS.length)]!, fields[Math.floor(random() * fields.length)]!]);
    }
    for (const [bait, field] of cases) {
      const res = await send(bodyWith(base, field, bait), 'application/json');
      judge(bait.cls, res, `${field.path.join('.')}=${bait.cls}`, { ...(bait.expect !== undefined ? { expect: bait.expect } : {}), typeAdmitted: typeAdmitted(field.schema, bait) });
    }
  }
  return report;
}
