import { AppError } from '../errors.js';

/**
 * What every request's input must be before validation sees it (issue 16): JSON no deeper than a
 * payment API ever needs, no NUL character anywhere (PostgreSQL refuses 0x00 in text and jsonb), and
 * query strings parsed into numbers and booleans explicitly, by the route's own schema, strictly.
 * Bodies are never coerced: the validator runs with coerceTypes off.
 */

/** Deeper than any body of these APIs (an Apple Pay token is 4 levels), shallow enough for every recursive walk. */
export const MAX_JSON_DEPTH = 32;

/**
 * Whether JSON text nests arrays and objects deeper than `max`, by one pass over the text (brackets
 * inside strings do not count). Runs before JSON.parse, so nothing recursive ever sees such a body.
 */
export function jsonDeeperThan(text: string, max: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > max) return true;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return false;
}

/**
 * The dotted path of the first string (or object key) holding a NUL character in a parsed value
 * ("device.id", "items.0.name"), or undefined. Iterative: no depth can overflow it.
 */
export function nulPath(value: unknown): string | undefined {
  const stack: [unknown, string[]][] = [[value, []]];
  while (stack.length > 0) {
    const [v, path] = stack.pop()!;
    if (typeof v === 'string') {
      if (v.includes('\u0000')) return path.join('.');
    } else if (v !== null && typeof v === 'object' && !ArrayBuffer.isView(v)) {
      for (const [k, child] of Object.entries(v)) {
        if (k.includes('\u0000')) return [...path, k.replaceAll('\u0000', '\\u0000')].join('.');
        stack.push([child, [...path, k]]);
      }
    }
  }
  return undefined;
}

/** Refuses a NUL character in the body, the query string or the path: 400 naming the field. */
export function rejectNul(parts: { context: 'body' | 'querystring' | 'params'; value: unknown }[]): void {
  for (const { context, value } of parts) {
    const path = nulPath(value);
    if (path === undefined) continue;
    const param = path || undefined;
    throw new AppError('parameter_invalid', {
      message: `Invalid ${context}${param ? ` parameter '${param}'` : ''}: must not contain NUL characters.`,
      ...(param ? { param } : {}),
    });
  }
}

type PropertySchema = { type?: unknown; anyOf?: PropertySchema[] };

const INTEGER = /^-?(?:0|[1-9][0-9]{0,15})$/;
const NUMBER = /^-?(?:0|[1-9][0-9]{0,15})(?:\.[0-9]{1,15})?$/;

function typesOf(s: PropertySchema | undefined): Set<unknown> {
  const out = new Set<unknown>();
  if (!s) return out;
  if (Array.isArray(s.type)) for (const t of s.type) out.add(t);
  else if (s.type !== undefined) out.add(s.type);
  for (const u of s.anyOf ?? []) for (const t of typesOf(u)) out.add(t);
  return out;
}

/**
 * Parses, in place, the query parameters the route's querystring schema declares as integer, number
 * or boolean: decimal digits only ("10", "-3", "2.5"; never "0x10", " 5", "1e3", "Infinity"), and
 * "true"/"false". Anything else is left a string for the validator to refuse, naming the parameter.
 */
export function parseQueryTypes(schema: { properties?: Record<string, PropertySchema> } | undefined, query: unknown): void {
  if (!schema?.properties || query === null || typeof query !== 'object') return;
  const q = query as Record<string, unknown>;
  for (const [name, prop] of Object.entries(schema.properties)) {
    const raw = q[name];
    if (typeof raw !== 'string') continue;
    const types = typesOf(prop);
    if (types.has('string')) continue;
    if (types.has('integer') && INTEGER.test(raw) && Number.isSafeInteger(Number(raw))) q[name] = Number(raw);
    else if (types.has('number') && NUMBER.test(raw)) q[name] = Number(raw);
    else if (types.has('boolean') && (raw === 'true' || raw === 'false')) q[name] = raw === 'true';
  }
}
