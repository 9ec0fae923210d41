/**
 * DE 48 subelements: `id(2 digits) length(2 digits) value`, repeated (layout and ids in spec.ts).
 */
import { ProtocolError, MAX_INPUT_BYTES } from '../errors.js';

const PRINTABLE = /^[\x20-\x7E]*$/;

/** Encodes subelements, ids ascending. Values: printable ASCII, at most 99 characters. */
export function packSubelements(subelements: Map<string, string> | Record<string, string>): string {
  const entries = subelements instanceof Map ? [...subelements.entries()] : Object.entries(subelements);
  for (const [id, value] of entries) {
    if (!/^\d{2}$/.test(id)) throw new ProtocolError('iso8583_bad_subelement', 'subelement id must be 2 digits', 'DE 48');
    if (typeof value !== 'string' || !PRINTABLE.test(value)) {
      throw new ProtocolError('iso8583_bad_subelement', `subelement ${id} must be printable ASCII`, `DE 48.${id}`);
    }
    if (value.length > 99) {
      throw new ProtocolError('iso8583_bad_subelement', `subelement ${id} is longer than 99 characters`, `DE 48.${id}`);
    }
  }
  entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  let out = '';
  let previous = '';
  for (const [id, value] of entries) {
    if (id === previous) throw new ProtocolError('iso8583_bad_subelement', `subelement ${id} given twice`, `DE 48.${id}`);
    previous = id;
    out += id + String(value.length).padStart(2, '0') + value;
  }
  return out;
}

/** Decodes subelements; an id given twice, a bad length or a truncated value is an error. */
export function parseSubelements(text: string): Map<string, string> {
  if (text.length > MAX_INPUT_BYTES) throw new ProtocolError('input_too_large', `DE 48 exceeds ${MAX_INPUT_BYTES} characters`);
  const map = new Map<string, string>();
  let i = 0;
  while (i < text.length) {
    if (i + 4 > text.length) throw new ProtocolError('iso8583_truncated', `subelement header truncated at offset ${i}`, 'DE 48');
    const id = text.slice(i, i + 2);
    const len = text.slice(i + 2, i + 4);
    if (!/^\d{2}$/.test(id)) throw new ProtocolError('iso8583_bad_subelement', `subelement id at offset ${i} is not 2 digits`, 'DE 48');
    if (!/^\d{2}$/.test(len)) throw new ProtocolError('iso8583_bad_subelement', `subelement ${id} length is not 2 digits`, `DE 48.${id}`);
    const n = Number(len);
    if (i + 4 + n > text.length) throw new ProtocolError('iso8583_truncated', `subelement ${id} truncated`, `DE 48.${id}`);
    if (map.has(id)) throw new ProtocolError('iso8583_bad_subelement', `subelement ${id} given twice`, `DE 48.${id}`);
    map.set(id, text.slice(i + 4, i + 4 + n));
    i += 4 + n;
  }
  return map;
}
