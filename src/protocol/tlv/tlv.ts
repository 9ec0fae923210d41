/**
 * BER-TLV as EMV uses it (EMV Book 3, annex B; ISO/IEC 8825-1 subset):
 * - tags of 1 to 3 bytes: a first byte whose low five bits are all 1 announces more bytes, each
 *   further byte with bit 8 set announces another; longer tags are rejected;
 * - lengths in short form (00-7F) or long form 81 xx, 82 xx xx, 83 xx xx xx; the indefinite form
 *   (80) and longer forms are rejected;
 * - 00 and FF bytes between data objects are padding and skipped;
 * - a constructed tag (bit 6 of its first byte) gets `children` when its value parses as TLV,
 *   and keeps `value` either way; unknown tags are kept as they are.
 *
 * Errors are `ProtocolError`s that name the problem and the offset, never a value.
 */
import { ProtocolError, assertInputSize } from '../errors.js';
import { concatBytes, toHex } from '../bytes.js';

export interface TlvNode {
  /** Upper-case hex, e.g. `9F26`. */
  tag: string;
  /** Length of `value` in bytes. */
  length: number;
  value: Uint8Array;
  /** Present for constructed tags whose value parses as TLV. */
  children?: TlvNode[];
}

/** Deepest nesting of constructed data objects the parser follows. */
export const MAX_TLV_DEPTH = 16;
/** Largest value length the encoder writes (83 form). */
const MAX_VALUE_LENGTH = 0xffffff;

/** Reads a 1- to 3-byte tag at `offset`. Exported for the DOL parser. */
export function readTag(bytes: Uint8Array, offset: number, base = 0): { tag: string; next: number } {
  let i = offset;
  const at = base + offset;
  if (i >= bytes.length) throw new ProtocolError('tlv_truncated', `tag missing at offset ${at}`, at);
  const first = bytes[i++]!;
  if ((first & 0x1f) === 0x1f) {
    for (let n = 1; ; n++) {
      if (i >= bytes.length) throw new ProtocolError('tlv_truncated', `tag truncated at offset ${at}`, at);
      const b = bytes[i++]!;
      if ((b & 0x80) === 0) break;
      if (n >= 2) throw new ProtocolError('tlv_bad_tag', `tag longer than 3 bytes at offset ${at}`, at);
    }
  }
  return { tag: toHex(bytes.subarray(offset, i)), next: i };
}

function readLength(bytes: Uint8Array, offset: number, base: number): { length: number; next: number } {
  const at = base + offset;
  if (offset >= bytes.length) throw new ProtocolError('tlv_truncated', `length missing at offset ${at}`, at);
  const first = bytes[offset]!;
  if (first < 0x80) return { length: first, next: offset + 1 };
  const count = first & 0x7f;
  if (count === 0) throw new ProtocolError('tlv_bad_length', `indefinite length at offset ${at}`, at);
  if (count > 3) throw new ProtocolError('tlv_bad_length', `length field longer than 3 bytes at offset ${at}`, at);
  if (offset + 1 + count > bytes.length) {
    throw new ProtocolError('tlv_truncated', `length truncated at offset ${at}`, at);
  }
  let length = 0;
  for (let k = 1; k <= count; k++) length = length * 256 + bytes[offset + k]!;
  return { length, next: offset + 1 + count };
}

/** True when the tag's first byte marks a constructed data object. */
export function isConstructed(tag: string): boolean {
  const first = parseInt(tag.slice(0, 2), 16);
  return (first & 0x20) !== 0;
}

function parseLevel(bytes: Uint8Array, base: number, depth: number): TlvNode[] {
  if (depth > MAX_TLV_DEPTH) {
    throw new ProtocolError('tlv_too_deep', `nesting deeper than ${MAX_TLV_DEPTH} levels at offset ${base}`, base);
  }
  const nodes: TlvNode[] = [];
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i]!;
    if (b === 0x00 || b === 0xff) {
      i++;
      continue;
    }
    const tagRead = readTag(bytes, i, base);
    const lenRead = readLength(bytes, tagRead.next, base);
    const start = lenRead.next;
    const end = start + lenRead.length;
    if (end > bytes.length) {
      throw new ProtocolError('tlv_truncated', `value of tag ${tagRead.tag} truncated at offset ${base + i}`, base + i);
    }
    const value = bytes.slice(start, end);
    const node: TlvNode = { tag: tagRead.tag, length: lenRead.length, value };
    if (isConstructed(tagRead.tag)) {
      try {
        node.children = parseLevel(value, base + start, depth + 1);
      } catch (err) {
        // A constructed tag whose value is not TLV keeps its raw value; nesting too deep is an error.
        if (!(err instanceof ProtocolError) || err.code === 'tlv_too_deep') throw err;
      }
    }
    nodes.push(node);
    i = end;
  }
  return nodes;
}

/** Parses a sequence of BER-TLV data objects (with EMV's 00/FF padding between them). */
export function parseTlv(bytes: Uint8Array): TlvNode[] {
  assertInputSize(bytes, 'TLV input');
  return parseLevel(bytes, 0, 1);
}

function encodeTag(tag: string): Uint8Array {
  const t = tag.toUpperCase();
  if (!/^(?:[0-9A-F]{2}){1,3}$/.test(t)) throw new ProtocolError('tlv_bad_tag', 'tag must be 1 to 3 bytes of hex');
  const bytes = new Uint8Array(t.length / 2);
  for (let k = 0; k < bytes.length; k++) bytes[k] = parseInt(t.slice(k * 2, k * 2 + 2), 16);
  // The tag must read back as exactly these bytes.
  let read: { next: number };
  try {
    read = readTag(bytes, 0);
  } catch {
    throw new ProtocolError('tlv_bad_tag', `tag ${t} is not a valid BER tag`);
  }
  if (read.next !== bytes.length || bytes[0] === 0x00 || bytes[0] === 0xff) {
    throw new ProtocolError('tlv_bad_tag', `tag ${t} is not a valid BER tag`);
  }
  return bytes;
}

/** Minimal BER length encoding. */
export function encodeLength(length: number): Uint8Array {
  if (!Number.isInteger(length) || length < 0 || length > MAX_VALUE_LENGTH) {
    throw new ProtocolError('tlv_bad_length', 'value too long to encode');
  }
  if (length < 0x80) return Uint8Array.of(length);
  if (length <= 0xff) return Uint8Array.of(0x81, length);
  if (length <= 0xffff) return Uint8Array.of(0x82, length >> 8, length & 0xff);
  return Uint8Array.of(0x83, length >> 16, (length >> 8) & 0xff, length & 0xff);
}

function encodeNode(node: TlvNode, depth: number): Uint8Array {
  if (depth > MAX_TLV_DEPTH) throw new ProtocolError('tlv_too_deep', `nesting deeper than ${MAX_TLV_DEPTH} levels`);
  const tag = encodeTag(node.tag);
  const value = node.children ? concatBytes(...node.children.map((c) => encodeNode(c, depth + 1))) : node.value;
  return concatBytes(tag, encodeLength(value.length), value);
}

/**
 * Encodes data objects with minimal lengths. Constructed nodes that have `children` are re-encoded
 * from them (their `value` and every `length` field are ignored: lengths come from the bytes).
 */
export function buildTlv(nodes: TlvNode[]): Uint8Array {
  return concatBytes(...nodes.map((n) => encodeNode(n, 1)));
}

/** Convenience constructor: a primitive node from bytes, or a constructed one from children. */
export function tlv(tag: string, value: Uint8Array | TlvNode[]): TlvNode {
  const t = tag.toUpperCase();
  encodeTag(t);
  if (value instanceof Uint8Array) return { tag: t, length: value.length, value };
  const bytes = buildTlv(value);
  return { tag: t, length: bytes.length, value: bytes, children: value };
}

/** First node with this tag, depth-first (a node before its children, children before later siblings). */
export function findTag(nodes: TlvNode[], tag: string): TlvNode | undefined {
  const t = tag.toUpperCase();
  for (const node of nodes) {
    if (node.tag === t) return node;
    if (node.children) {
      const found = findTag(node.children, t);
      if (found) return found;
    }
  }
  return undefined;
}

/** Every node without children (primitives), flattened depth-first; the first occurrence of a tag wins. */
export function tlvToMap(nodes: TlvNode[]): Map<string, Uint8Array> {
  const map = new Map<string, Uint8Array>();
  const walk = (list: TlvNode[]): void => {
    for (const node of list) {
      if (node.children) walk(node.children);
      else if (!map.has(node.tag)) map.set(node.tag, node.value);
    }
  };
  walk(nodes);
  return map;
}
