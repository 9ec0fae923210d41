import { hexOption, parse, requireOption } from '../args.js';
import { CheckFailed, UsageError } from '../errors.js';
import { fromHex, toHex } from '../../protocol/bytes.js';
import { parseTlv, tlvToMap } from '../../protocol/tlv/tlv.js';
import {
  CVNS,
  AES_CVNS,
  aesKeyCheckValue,
  cryptogramInput,
  deriveAesIccMasterKey,
  deriveAesSessionKey,
  deriveIccMasterKeyA,
  generateAesArpc,
  generateAesArqc,
  generateArpc,
  generateArqc,
  isAesCvn,
  isCvn,
  keyCheckValue,
  sessionKey,
  verifyAesArqc,
  verifyArqc,
  type AesCvn,
  type CryptogramInput,
  type Cvn,
} from '../../protocol/emv/index.js';

const CVN_LIST = [...CVNS, ...AES_CVNS].join('|');

const OPTIONS = {
  imk: { type: 'string' },
  pan: { type: 'string' },
  psn: { type: 'string' },
  atc: { type: 'string' },
  un: { type: 'string' },
  cvn: { type: 'string' },
  icc: { type: 'string' },
  arqc: { type: 'string' },
  arc: { type: 'string' },
  csu: { type: 'string' },
  prop: { type: 'string' },
} as const;

type Values = Record<string, unknown>;
type AnyCvn = Cvn | AesCvn;

function cvnOption(values: Values): AnyCvn {
  const raw = requireOption(values, 'cvn').toUpperCase();
  if (isAesCvn(raw)) return raw;
  const n = /^\d{1,2}$/.test(raw) ? Number(raw) : NaN;
  if (isCvn(n)) return n;
  throw new UsageError(`--cvn must be one of ${CVN_LIST}`);
}

function card(values: Values): { imk: Uint8Array; pan: string; psn: string } {
  const imk = fromHex(hexOption(values, 'imk', [32]));
  const pan = requireOption(values, 'pan');
  if (!/^\d{1,19}$/.test(pan)) throw new UsageError('--pan must be 1 to 19 digits');
  const psn = requireOption(values, 'psn');
  if (!/^\d{2}$/.test(psn)) throw new UsageError('--psn must be 2 digits');
  return { imk, pan, psn };
}

async function masterKey(cvn: AnyCvn | undefined, values: Values): Promise<Uint8Array> {
  const { imk, pan, psn } = card(values);
  return cvn !== undefined && isAesCvn(cvn) ? deriveAesIccMasterKey(imk, pan, psn) : deriveIccMasterKeyA(imk, pan, psn);
}

function iccTags(values: Values): Map<string, Uint8Array> {
  const hex = requireOption(values, 'icc').replace(/\s+/g, '');
  return tlvToMap(parseTlv(fromHex(hex, '--icc')));
}

async function arqcOf(cvn: AnyCvn, mk: Uint8Array, input: CryptogramInput): Promise<Uint8Array> {
  return isAesCvn(cvn) ? generateAesArqc(cvn, mk, input) : generateArqc(cvn, mk, input);
}

async function keys(values: Values): Promise<string> {
  const hasAtc = values.atc !== undefined;
  const hasCvn = values.cvn !== undefined;
  if (hasAtc !== hasCvn) throw new UsageError('--atc and --cvn go together');
  const cvn = hasCvn ? cvnOption(values) : undefined;
  const mk = await masterKey(cvn, values);
  const aes = cvn !== undefined && isAesCvn(cvn);
  const kcv = (key: Uint8Array): Promise<Uint8Array> | Uint8Array => (aes ? aesKeyCheckValue(key) : keyCheckValue(key));
  const out: Record<string, string> = { mk: toHex(mk), mkKcv: toHex(await kcv(mk)) };
  if (cvn !== undefined) {
    const atc = fromHex(hexOption(values, 'atc', [4]));
    let sk: Uint8Array;
    if (isAesCvn(cvn)) sk = await deriveAesSessionKey(cvn, mk, atc);
    else {
      const needsUn = cvn === 16 || cvn === 17;
      if (!needsUn && values.un !== undefined) hexOption(values, 'un', [8]);
      const un = needsUn ? fromHex(hexOption(values, 'un', [8])) : new Uint8Array(4);
      sk = sessionKey(cvn, mk, { '9F36': atc, '9F37': un });
    }
    out.sk = toHex(sk);
    out.skKcv = toHex(await kcv(sk));
  }
  return JSON.stringify(out, null, 2);
}

async function arqc(values: Values): Promise<string> {
  const cvn = cvnOption(values);
  const mk = await masterKey(cvn, values);
  return toHex(await arqcOf(cvn, mk, cryptogramInput(iccTags(values))));
}

async function arpc(values: Values): Promise<string> {
  const cvn = cvnOption(values);
  const mk = await masterKey(cvn, values);
  const tags = iccTags(values);
  const input = cryptogramInput(tags);
  let arqcBytes: Uint8Array;
  if (values.arqc !== undefined) arqcBytes = fromHex(hexOption(values, 'arqc', [16]));
  else if (tags.get('9F26')?.length === 8) arqcBytes = tags.get('9F26')!;
  else throw new UsageError('--arqc is required');
  const csu = values.csu !== undefined ? fromHex(hexOption(values, 'csu', [8])) : new Uint8Array(4);
  const prop = values.prop !== undefined ? fromHex(hexOption(values, 'prop', [2, 4, 6, 8, 10, 12, 14, 16])) : undefined;
  if (isAesCvn(cvn)) return toHex(await generateAesArpc(cvn, mk, input, arqcBytes, csu, prop));
  const method1 = cvn !== 18 && cvn !== 22;
  const arc = method1 || values.arc !== undefined ? fromHex(hexOption(values, 'arc', [4])) : undefined;
  return toHex(generateArpc(cvn, mk, input, arqcBytes, { arc, csu, proprietary: prop }));
}

async function verify(values: Values): Promise<string> {
  const cvn = cvnOption(values);
  const mk = await masterKey(cvn, values);
  const tags = iccTags(values);
  const input = cryptogramInput(tags);
  const given = tags.get('9F26');
  if (given === undefined) throw new UsageError('--icc must carry the cryptogram (9F26)');
  const ok = isAesCvn(cvn) ? await verifyAesArqc(cvn, mk, input, given) : verifyArqc(cvn, mk, input, given);
  if (!ok) throw new CheckFailed('invalid', 1);
  return 'valid';
}

const SUBCOMMANDS: Record<string, (values: Values) => Promise<string>> = { keys, arqc, arpc, verify };

/** `tessera emv keys|arqc|arpc|verify`: EMV key derivation, cryptograms and their verification. */
export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, OPTIONS);
  const [sub, ...extra] = positionals;
  const handler = sub === undefined ? undefined : SUBCOMMANDS[sub];
  if (!handler || extra.length > 0) throw new UsageError('usage: tessera emv keys|arqc|arpc|verify [options] (see --help)');
  process.stdout.write(`${await handler(values)}\n`);
  return 0;
}
