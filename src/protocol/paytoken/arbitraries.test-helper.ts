/**
 * fast-check generators of hostile payment tokens: arbitrary JSON, and real tokens with one or a
 * few mutations (a field deleted, replaced by arbitrary JSON, a string truncated / extended /
 * with one character or one decoded byte changed).
 */
import fc from 'fast-check';

type Json = unknown;
type Path = Array<string | number>;

function paths(value: Json, prefix: Path = []): Path[] {
  const out: Path[] = [prefix];
  if (Array.isArray(value)) value.forEach((v, i) => out.push(...paths(v, [...prefix, i])));
  else if (value && typeof value === 'object') for (const [k, v] of Object.entries(value)) out.push(...paths(v, [...prefix, k]));
  return out;
}

function getAt(value: Json, path: Path): Json {
  let v = value as Record<string | number, Json>;
  for (const p of path) v = v[p] as Record<string | number, Json>;
  return v;
}

function setAt(root: Json, path: Path, next: Json | typeof DELETE): Json {
  if (path.length === 0) return next === DELETE ? undefined : next;
  const copy = structuredClone(root) as Record<string | number, Json>;
  let parent = copy;
  for (const p of path.slice(0, -1)) parent = parent[p] as Record<string | number, Json>;
  const last = path[path.length - 1]!;
  if (next === DELETE) {
    if (Array.isArray(parent)) parent.splice(last as number, 1);
    else delete parent[last];
  } else parent[last] = next;
  return copy;
}

const DELETE = Symbol('delete');
const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

type StringMutation = (s: string) => string;

const stringMutation: fc.Arbitrary<StringMutation> = fc.oneof(
  fc.nat().map((n) => (s: string) => s.slice(0, s.length === 0 ? 0 : n % s.length)),
  fc.string({ maxLength: 8 }).map((extra) => (s: string) => s + extra),
  fc.tuple(fc.nat(), fc.constantFrom(...B64.split(''), '=', '!', ' ', 'é')).map(([n, c]) => (s: string) => {
    if (s.length === 0) return c;
    const i = n % s.length;
    return s.slice(0, i) + c + s.slice(i + 1);
  }),
  // One decoded byte flipped (base64 fields stay base64, so the cryptographic checks are reached).
  fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })).map(([n, x]) => (s: string) => {
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(s) || s.length % 4 !== 0) return s;
    const bytes = Uint8Array.from(atob(s), (c) => c.charCodeAt(0));
    if (bytes.length === 0) return s;
    bytes[n % bytes.length]! ^= x;
    return btoa(String.fromCharCode(...bytes));
  }),
  fc.constant((s: string) => s.toUpperCase()),
);

/** One mutation of `token` at a random place. */
export function mutationOf(token: Json): fc.Arbitrary<Json> {
  const all = paths(token);
  return fc.tuple(fc.constantFrom(...all), fc.oneof(
    { weight: 2, arbitrary: fc.constant<'delete'>('delete') },
    { weight: 3, arbitrary: fc.jsonValue({ maxDepth: 2 }).map((v) => ({ replace: v })) },
    { weight: 6, arbitrary: stringMutation.map((m) => ({ mutate: m })) },
  )).map(([path, action]) => {
    if (action === 'delete') return setAt(token, path, DELETE);
    if ('replace' in action) return setAt(token, path, action.replace);
    const current = getAt(token, path);
    return typeof current === 'string' ? setAt(token, path, action.mutate(current)) : setAt(token, path, null);
  });
}

/** Up to three mutations of one of the tokens. */
export function mutatedToken(tokens: Json[]): fc.Arbitrary<Json> {
  return fc.constantFrom(...tokens).chain((t) =>
    fc.integer({ min: 1, max: 3 }).chain((n) => {
      let arb: fc.Arbitrary<Json> = mutationOf(t);
      for (let i = 1; i < n; i++) arb = arb.chain((m) => (m && typeof m === 'object' ? mutationOf(m) : fc.constant(m)));
      return arb;
    }),
  );
}

/** Anything a caller might hand the parser: JSON values, strings, JSON text, mutated real tokens. */
export function hostileToken(tokens: Json[]): fc.Arbitrary<Json> {
  return fc.oneof(
    { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 4 }) },
    { weight: 1, arbitrary: fc.string({ maxLength: 40 }) },
    { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)) },
    { weight: 8, arbitrary: mutatedToken(tokens) },
    { weight: 1, arbitrary: mutatedToken(tokens).map((t) => JSON.stringify(t) ?? '') },
  );
}
