/**
 * What the payment-token code reads from X.509 certificates, in plain DER code (no ASN.1 library,
 * runs in the browser): the SubjectPublicKeyInfo bytes (for publicKeyHash), the extensions, and
 * the merchant identifier hash of a payment-processing certificate.
 */
import { fromHex, isHex, toHex } from '../bytes.js';
import { ProtocolError } from '../errors.js';
import { children, decodeOid, readNode, TAG, type DerNode } from './der.js';
import { OID, type Bytes } from './types.js';

export interface CertificateExtension {
  oid: string;
  critical: boolean;
  /** The content of extnValue (the DER of the extension's value). */
  value: Bytes;
}

function certificateMalformed(): never {
  throw new ProtocolError('paytoken_certificate_malformed', 'certificate is not a DER X.509 certificate');
}

function tbsFields(der: Uint8Array): { kids: DerNode[]; first: number } {
  try {
    const cert = readNode(der, 0, der.length, 'certificate');
    if (cert.tag !== TAG.SEQUENCE || cert.end !== der.length) certificateMalformed();
    const [tbs] = children(der, cert, 'certificate');
    if (!tbs || tbs.tag !== TAG.SEQUENCE) certificateMalformed();
    const kids = children(der, tbs, 'tbsCertificate');
    const first = kids[0]?.tag === 0xa0 ? 1 : 0;
    if (kids.length < first + 6 || kids[first + 5]!.tag !== TAG.SEQUENCE) certificateMalformed();
    return { kids, first };
  } catch (err) {
    if (err instanceof ProtocolError && err.code === 'paytoken_certificate_malformed') throw err;
    return certificateMalformed();
  }
}

/** The DER SubjectPublicKeyInfo exactly as the certificate carries it (what publicKeyHash hashes). */
export function subjectPublicKeyInfoFromCertificate(der: Uint8Array): Bytes {
  const { kids, first } = tbsFields(der);
  const spki = kids[first + 5]!;
  return der.slice(spki.start, spki.end);
}

/** The certificate's extensions, in order (empty when it has none). */
export function certificateExtensions(der: Uint8Array): CertificateExtension[] {
  const { kids, first } = tbsFields(der);
  const wrapper = kids.slice(first + 6).find((k) => k.tag === 0xa3);
  if (!wrapper) return [];
  try {
    const [list] = children(der, wrapper, 'extensions');
    if (!list || list.tag !== TAG.SEQUENCE) return certificateMalformed();
    return children(der, list, 'extensions').map((ext) => {
      const parts = children(der, ext, 'extension');
      const oid = parts[0];
      const critical = parts.length === 3 ? parts[1] : undefined;
      const value = parts[parts.length - 1];
      if (ext.tag !== TAG.SEQUENCE || parts.length < 2 || parts.length > 3 || !oid || oid.tag !== TAG.OID || !value || value.tag !== TAG.OCTET_STRING) {
        return certificateMalformed();
      }
      if (critical && (critical.tag !== TAG.BOOLEAN || critical.end - critical.valueStart !== 1)) return certificateMalformed();
      return {
        oid: decodeOid(der.subarray(oid.valueStart, oid.end)),
        critical: critical ? der[critical.valueStart] !== 0 : false,
        value: der.slice(value.valueStart, value.end),
      };
    });
  } catch (err) {
    if (err instanceof ProtocolError && err.code === 'paytoken_certificate_malformed') throw err;
    return certificateMalformed();
  }
}

const ASCII = (bytes: Uint8Array): string => String.fromCharCode(...bytes);

/**
 * The 32-byte SHA-256(merchantIdentifier) from a payment-processing certificate's extension
 * 1.2.840.113635.100.6.32. The value is a DER UTF8String (`0C 40`) of 64 hex characters; the view
 * of libraries that drop the first two bytes is accepted too (so a PrintableString/IA5String
 * wrapper of the same 64 characters, or the 64 characters bare). Throws ProtocolError
 * `paytoken_no_merchant_id` when the extension is missing or holds anything else.
 */
export function merchantIdHashFromCertificate(der: Uint8Array): Bytes {
  const ext = certificateExtensions(der).find((e) => e.oid === OID.merchantIdentifierHash);
  if (!ext) throw new ProtocolError('paytoken_no_merchant_id', 'certificate has no merchant identifier extension (1.2.840.113635.100.6.32)');
  const v = ext.value;
  let hex: string | undefined;
  if (v.length === 66 && v[1] === 0x40 && (v[0] === TAG.UTF8_STRING || v[0] === TAG.PRINTABLE_STRING || v[0] === TAG.IA5_STRING)) hex = ASCII(v.subarray(2));
  else if (v.length === 64) hex = ASCII(v);
  if (hex === undefined || !isHex(hex)) {
    throw new ProtocolError('paytoken_no_merchant_id', 'merchant identifier extension is not 64 hex characters');
  }
  const out = new Uint8Array(32);
  out.set(fromHex(hex));
  return out;
}

/**
 * The extnValue content to put in a payment-processing certificate for extension
 * 1.2.840.113635.100.6.32: DER UTF8String `0C 40` + the 64 upper-case hex characters of the hash.
 */
export function merchantIdHashExtensionValue(merchantIdHash: Uint8Array): Bytes {
  if (merchantIdHash.length !== 32) throw new ProtocolError('paytoken_bad_key', 'merchant identifier hash must be 32 bytes');
  const hex = toHex(merchantIdHash);
  const out = new Uint8Array(66);
  out[0] = TAG.UTF8_STRING;
  out[1] = 0x40;
  for (let i = 0; i < 64; i++) out[2 + i] = hex.charCodeAt(i);
  return out;
}
