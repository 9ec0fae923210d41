import { parseResponse, swMeaning } from '../../../src/protocol/apdu/apdu.js';
import { toHex } from '../../../src/protocol/bytes.js';
import { maskTlv, tagName, TAGS } from '../../../src/protocol/tlv/tags.js';
import { parseTlv, type TlvNode } from '../../../src/protocol/tlv/tlv.js';

/**
 * APDUs as a reader's log shows them: command names, data objects by tag with their EMV names, and
 * every sensitive value masked by the protocol's own masker (a card or token number keeps at most its
 * first 6 and last 4 digits; track data, names and dates are blanked). Raw bytes of an answer are never
 * shown, since they carry the token number.
 */
export interface TagView {
  tag: string;
  name: string;
  /** Masked value: hex, or text for text formats; F-nibbles of a masked number shown as •. */
  value: string;
  children?: TagView[];
}

export interface ApduView {
  name: string;
  /** Header and parameters, e.g. "00 A4 04 00". */
  header: string;
  detail: string;
  /** The command's data objects, when it carries some. */
  data: TagView[];
}

export interface ResponseView {
  sw: string;
  meaning: string;
  data: TagView[];
  length: number;
}

const CARD_NUMBER_TAGS = new Set(['5A', '57', '9F6B']);

function text(value: Uint8Array): string {
  return Array.from(value, (b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '.')).join('');
}

export function viewTags(nodes: TlvNode[]): TagView[] {
  return render(maskTlv(nodes));
}

/** Renders data objects already masked (masking twice would blank the digits the first pass kept). */
function render(masked: TlvNode[]): TagView[] {
  return masked.map((n) => {
    const info = TAGS[n.tag];
    let value = toHex(n.value);
    if (CARD_NUMBER_TAGS.has(n.tag)) value = value.replace(/F/g, '•');
    else if (info?.sensitive) value = '•'.repeat(Math.min(n.value.length * 2, 24));
    else if (info?.format === 'an' || info?.format === 'ans') value = `"${text(n.value)}"`;
    return { tag: n.tag, name: tagName(n.tag), value: n.children ? '' : value, ...(n.children ? { children: render(n.children) } : {}) };
  });
}

function tryTlv(bytes: Uint8Array): TlvNode[] {
  try {
    return parseTlv(bytes);
  } catch {
    return [];
  }
}

export function viewCommand(bytes: Uint8Array): ApduView {
  const [cla = 0, ins = 0, p1 = 0, p2 = 0] = bytes;
  const header = toHex(bytes.subarray(0, 4)).replace(/(..)(?!$)/g, '$1 ');
  const lc = bytes.length > 5 ? bytes[4]! : 0;
  const data = bytes.subarray(5, 5 + lc);
  switch (`${cla.toString(16)}:${ins.toString(16)}`) {
    case '0:a4': {
      const name = text(data);
      const ppse = name === '2PAY.SYS.DDF01';
      return { name: ppse ? 'SELECT PPSE' : 'SELECT AID', header, detail: ppse ? name : toHex(data), data: [] };
    }
    case '80:a8':
      return { name: 'GET PROCESSING OPTIONS', header, detail: 'PDOL data: the terminal\'s amount, country, currency, date, unpredictable number…', data: viewTags(tryTlv(data)) };
    case '0:b2':
      return { name: 'READ RECORD', header, detail: `record ${p1}, SFI ${p2 >> 3}`, data: [] };
    case '80:ae':
      return { name: 'GENERATE AC', header, detail: p1 === 0x80 ? 'ARQC (go online)' : `P1 ${p1.toString(16)}`, data: [] };
    case '80:ca':
      return { name: 'GET DATA', header, detail: toHex(bytes.subarray(2, 4)), data: [] };
    default:
      return { name: 'COMMAND', header, detail: `${bytes.length} bytes`, data: [] };
  }
}

export function viewResponse(bytes: Uint8Array): ResponseView {
  try {
    const r = parseResponse(bytes);
    const sw = r.sw.toString(16).toUpperCase().padStart(4, '0');
    return { sw, meaning: swMeaning(r.sw), data: viewTags(tryTlv(r.data)), length: r.data.length };
  } catch {
    return { sw: '????', meaning: 'not a response APDU', data: [], length: bytes.length };
  }
}
