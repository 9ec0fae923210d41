/**
 * A minimal DER reader: just enough to walk an X.509 certificate to its public key and extensions.
 * Definite lengths only (certificates are DER); every read is bounds-checked and failures are
 * ProtocolErrors that do not echo bytes.
 */
import { ProtocolError } from '../errors.js';

export interface DerNode {
  /** The identifier octet (single-byte tags only: enough for X.509). */
  tag: number;
  /** Offset of the identifier octet. */
  start: number;
  /** Offset of the first content octet. */
  valueStart: number;
  /** Offset just past the content. */
  end: number;
}

const fail = (what: string): never => {
  throw new ProtocolError('der_malformed', `${what} is not valid DER`);
};

export function readNode(bytes: Uint8Array, offset: number, limit: number, what: string): DerNode {
  if (offset + 2 > limit) fail(what);
  const tag = bytes[offset]!;
  if ((tag & 0x1f) === 0x1f) fail(what);
  let len = bytes[offset + 1]!;
  let p = offset + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4 || p + n > limit) fail(what);
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + bytes[p++]!;
  }
  if (p + len > limit) fail(what);
  return { tag, start: offset, valueStart: p, end: p + len };
}

/** The children of a constructed node. */
export function children(bytes: Uint8Array, node: DerNode, what: string): DerNode[] {
  const out: DerNode[] = [];
  let p = node.valueStart;
  while (p < node.end) {
    const child = readNode(bytes, p, node.end, what);
    out.push(child);
    p = child.end;
  }
  return out;
}

/** Dotted-decimal form of an OBJECT IDENTIFIER's content octets. */
export function decodeOid(content: Uint8Array): string {
  if (content.length === 0) fail('object identifier');
  const arcs: number[] = [];
  let v = 0;
  for (let i = 0; i < content.length; i++) {
    const b = content[i]!;
    if (v > 0x1ffffffffffff) fail('object identifier');
    v = v * 128 + (b & 0x7f);
    if ((b & 0x80) === 0) {
      arcs.push(v);
      v = 0;
    } else if (i === content.length - 1) fail('object identifier');
  }
  const first = arcs[0]!;
  const head = first < 40 ? [0, first] : first < 80 ? [1, first - 40] : [2, first - 80];
  return [...head, ...arcs.slice(1)].join('.');
}

export const TAG = {
  BOOLEAN: 0x01,
  INTEGER: 0x02,
  BIT_STRING: 0x03,
  OCTET_STRING: 0x04,
  NULL: 0x05,
  OID: 0x06,
  UTF8_STRING: 0x0c,
  PRINTABLE_STRING: 0x13,
  IA5_STRING: 0x16,
  SEQUENCE: 0x30,
  SET: 0x31,
} as const;
