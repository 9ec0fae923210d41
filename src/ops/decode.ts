/**
 * Decoding traced messages for the operations console: ISO 8583 field by field and EMV TLV tag by tag,
 * APDUs by command and status word, always masked (card numbers first 6 / last 4, track 2 and PIN data
 * fully, sensitive EMV tags per src/protocol/tlv/tags.ts). Works on what the trace holds, which is
 * already masked; masking again here keeps the console safe even for messages a client uploaded.
 */
import { fromHex, toHex } from '../protocol/bytes.js';
import { parseCommand, parseResponse, swMeaning } from '../protocol/apdu/apdu.js';
import { describeMessage, unpackMessage, type IsoMessage } from '../protocol/iso8583/iso8583.js';
import { FIELDS } from '../protocol/iso8583/spec.js';
import { maskTlv, tagName } from '../protocol/tlv/tags.js';
import { parseTlv, type TlvNode } from '../protocol/tlv/tlv.js';
import { RESPONSE_CODES } from '../merchant/terminal/kernel.js';

export interface DecodedTag {
  tag: string;
  name: string;
  value: string;
  children?: DecodedTag[];
}

export interface DecodedField {
  /** `DE 2`, `MTI`, `CLA`, `SW`, ... */
  id: string;
  name: string;
  value: string;
  tags?: DecodedTag[];
}

export interface Decoded {
  /** One line: `0100 authorization request 12.50`, `GENERATE AC`, `9000 success`, `POST /acquirer/v1/…`. */
  summary: string;
  fields: DecodedField[];
}

function tagsOf(nodes: TlvNode[]): DecodedTag[] {
  return nodes.map((n) => ({ tag: n.tag, name: tagName(n.tag), value: toHex(n.value), ...(n.children ? { children: tagsOf(n.children) } : {}) }));
}

/** TLV masked and decoded; undefined when the bytes are not TLV. */
export function decodeTlv(bytes: Uint8Array): DecodedTag[] | undefined {
  try {
    return tagsOf(maskTlv(parseTlv(bytes)));
  } catch {
    return undefined;
  }
}

const MTI_NAMES: Record<string, string> = {
  '0100': 'authorization request',
  '0110': 'authorization response',
  '0400': 'reversal request',
  '0410': 'reversal response',
  '0420': 'reversal advice',
  '0430': 'reversal advice response',
  '0800': 'network management request',
  '0810': 'network management response',
};

/**
 * Parses a traced ISO 8583 message. The trace masks card numbers in place with '*' (so the hex still
 * lines up field by field); those are read as zeros, and the number is shown first 6 / last 4 anyway.
 */
export function parseTracedIso(hex: string): IsoMessage | undefined {
  let bytes: Uint8Array;
  try {
    bytes = fromHex(hex);
  } catch {
    return undefined;
  }
  try {
    return unpackMessage(bytes);
  } catch {
    try {
      return unpackMessage(bytes.map((b) => (b === 0x2a ? 0x30 : b)));
    } catch {
      return undefined;
    }
  }
}

export function decodeIso(hex: string): Decoded {
  const msg = parseTracedIso(hex);
  if (!msg) return { summary: 'ISO 8583 (not decodable)', fields: [] };
  const described = describeMessage(msg);
  const fields: DecodedField[] = [{ id: 'MTI', name: MTI_NAMES[msg.mti] ?? 'message type', value: msg.mti }];
  for (const [n, value] of Object.entries(described.fields)) {
    const field: DecodedField = { id: `DE ${n}`, name: FIELDS[Number(n)]?.name ?? 'field', value };
    if (n === '55' && msg.fields[55] instanceof Uint8Array) {
      const tags = decodeTlv(msg.fields[55]);
      if (tags) field.tags = tags;
    }
    fields.push(field);
  }
  const parts = [msg.mti, MTI_NAMES[msg.mti] ?? ''];
  const amount = msg.fields[4];
  if (typeof amount === 'string') parts.push(`amount ${Number(amount)}`);
  const rc = msg.fields[39];
  if (typeof rc === 'string') parts.push(`DE39 ${rc} ${RESPONSE_CODES[rc] ?? ''}`.trim());
  return { summary: parts.filter(Boolean).join(' · '), fields };
}

const INS_NAMES: Record<number, string> = {
  0xa4: 'SELECT',
  0xa8: 'GET PROCESSING OPTIONS',
  0xb2: 'READ RECORD',
  0xae: 'GENERATE AC',
  0xca: 'GET DATA',
  0x88: 'INTERNAL AUTHENTICATE',
  0x2a: 'COMPUTE CRYPTOGRAPHIC CHECKSUM',
};

/** A command APDU from the terminal, or a response from the device (`from`). */
export function decodeApdu(hex: string, from: string): Decoded {
  let bytes: Uint8Array;
  try {
    bytes = fromHex(hex);
  } catch {
    return { summary: 'APDU (not decodable)', fields: [] };
  }
  if (from === 'terminal') {
    try {
      const cmd = parseCommand(bytes);
      const name = INS_NAMES[cmd.ins] ?? `INS ${cmd.ins.toString(16).toUpperCase().padStart(2, '0')}`;
      const fields: DecodedField[] = [
        { id: 'CLA', name: 'class', value: cmd.cla.toString(16).toUpperCase().padStart(2, '0') },
        { id: 'INS', name, value: cmd.ins.toString(16).toUpperCase().padStart(2, '0') },
        { id: 'P1P2', name: 'parameters', value: `${cmd.p1.toString(16).toUpperCase().padStart(2, '0')}${cmd.p2.toString(16).toUpperCase().padStart(2, '0')}` },
      ];
      if (cmd.data?.length) {
        // SELECT carries a name (PPSE or an AID), others DOL data: neither is a card number.
        const text = cmd.ins === 0xa4 && /^[\x20-\x7E]+$/.test(String.fromCharCode(...cmd.data)) ? ` (${String.fromCharCode(...cmd.data)})` : '';
        fields.push({ id: 'DATA', name: `command data${text}`, value: toHex(cmd.data) });
      }
      return { summary: name, fields };
    } catch {
      return { summary: 'command APDU (not decodable)', fields: [] };
    }
  }
  try {
    const res = parseResponse(bytes);
    const sw = res.sw.toString(16).toUpperCase().padStart(4, '0');
    const fields: DecodedField[] = [{ id: 'SW', name: swMeaning(res.sw), value: sw }];
    if (res.data.length) {
      const tags = decodeTlv(res.data);
      fields.push(tags ? { id: 'DATA', name: 'response data', value: `${res.data.length} bytes`, tags } : { id: 'DATA', name: 'response data (not TLV, masked)', value: `${res.data.length} bytes` });
    }
    return { summary: `${sw} ${swMeaning(res.sw)}`, fields };
  } catch {
    return { summary: 'response APDU (not decodable)', fields: [] };
  }
}

/** An APDU as it may be kept in a trace (one masker for traces, logs and the console: src/infra/trace.ts). */
export { maskApduHex } from '../infra/trace.js';

export function decodeHttp(json: unknown): Decoded {
  const j = (json ?? {}) as { method?: string; path?: string; status?: number };
  if (j.method && j.path) return { summary: `${j.method} ${j.path}`, fields: [] };
  if (typeof j.status === 'number') return { summary: `HTTP ${j.status}`, fields: [] };
  return { summary: 'HTTP', fields: [] };
}
