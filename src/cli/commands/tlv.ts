import { parse } from '../args.js';
import { UsageError } from '../errors.js';
import { fromHex, toHex } from '../../protocol/bytes.js';
import { parseTlv, type TlvNode } from '../../protocol/tlv/tlv.js';
import { tagName } from '../../protocol/tlv/tags.js';

const USAGE = 'usage: tessera tlv decode <hex> (see --help)';

interface TlvJson {
  tag: string;
  name: string;
  length: number;
  value: string;
  children?: TlvJson[];
}

function toJson(node: TlvNode): TlvJson {
  const out: TlvJson = { tag: node.tag, name: tagName(node.tag), length: node.length, value: toHex(node.value) };
  if (node.children) out.children = node.children.map(toJson);
  return out;
}

/** `tessera tlv decode <hex>`: the data objects as pretty-printed JSON (values as upper-case hex). */
export async function run(argv: string[]): Promise<number> {
  const { positionals } = parse(argv, {});
  const [sub, hex, ...extra] = positionals;
  if (sub !== 'decode' || hex === undefined || extra.length > 0) throw new UsageError(USAGE);
  const nodes = parseTlv(fromHex(hex.replace(/\s+/g, ''), 'TLV input'));
  process.stdout.write(`${JSON.stringify(nodes.map(toJson), null, 2)}\n`);
  return 0;
}
