/**
 * The token's `signature`: a detached CMS SignedData (RFC 5652), BER with indefinite lengths,
 * holding the leaf and intermediate certificates and one SignerInfo with signed attributes.
 * Parsed with asn1js/pkijs; certificates are kept as their original bytes.
 */
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { OID } from '../../protocol/paytoken/index.js';
import { PaymentTokenError } from './errors.js';

export interface SignedAttributes {
  /** The DER of the signed attributes as a SET (tag 0x31): what the signature is over. */
  der: Uint8Array;
  contentType: string;
  messageDigest: Uint8Array;
  signingTime?: Date;
  /** CMSAlgorithmProtection (RFC 6211), when present. */
  algorithmProtection?: { digestAlgorithm: string; signatureAlgorithm?: string };
}

export interface DetachedSignature {
  /** The certificates the SignedData carries, as DER. */
  certificates: Uint8Array[];
  /** Index in `certificates` of the signer's certificate. */
  signerIndex: number;
  digestAlgorithm: string;
  signatureAlgorithm: string;
  signature: Uint8Array;
  attributes: SignedAttributes;
}

const malformed = (detail: string): never => {
  throw new PaymentTokenError('malformed', detail);
};
const bad = (detail: string): never => {
  throw new PaymentTokenError('signature', detail);
};

function oneValue(attrs: pkijs.Attribute[], type: string, name: string, required: boolean): unknown {
  const found = attrs.filter((a) => a.type === type);
  if (found.length === 0) return required ? bad(`the signed attributes lack ${name}`) : undefined;
  if (found.length > 1 || found[0]!.values.length !== 1) return bad(`the signed attribute ${name} must appear once with one value`);
  return found[0]!.values[0] as unknown;
}

function oidOf(node: unknown, name: string): string {
  if (!(node instanceof asn1js.ObjectIdentifier)) return bad(`${name} is not an object identifier`);
  return node.valueBlock.toString();
}

function algorithmProtection(value: unknown): SignedAttributes['algorithmProtection'] {
  // CMSAlgorithmProtection ::= SEQUENCE { digestAlgorithm, signatureAlgorithm [1] IMPLICIT OPTIONAL, macAlgorithm [2] IMPLICIT OPTIONAL }
  if (!(value instanceof asn1js.Sequence)) return bad('CMSAlgorithmProtection is not a SEQUENCE');
  const [digest, ...rest] = value.valueBlock.value;
  if (!(digest instanceof asn1js.Sequence)) return bad('CMSAlgorithmProtection lacks the digest algorithm');
  const digestAlgorithm = oidOf(digest.valueBlock.value[0], 'CMSAlgorithmProtection digest algorithm');
  const sig = rest.find((n) => n.idBlock.tagClass === 3 && n.idBlock.tagNumber === 1);
  if (!sig) return { digestAlgorithm };
  if (!(sig instanceof asn1js.Constructed)) return bad('CMSAlgorithmProtection signature algorithm is not an AlgorithmIdentifier');
  return { digestAlgorithm, signatureAlgorithm: oidOf(sig.valueBlock.value[0], 'CMSAlgorithmProtection signature algorithm') };
}

function attributesOf(signer: pkijs.SignerInfo): SignedAttributes {
  const signed = signer.signedAttrs;
  if (!signed || signed.attributes.length === 0) return bad('the signature has no signed attributes');
  const der = new Uint8Array(signed.encodedValue.slice(0));
  // Signed attributes are DER (definite lengths): the signature is over these exact bytes.
  if (der.length < 2 || der[1] === 0x80) return bad('the signed attributes are not DER');
  der[0] = 0x31;
  const attrs = signed.attributes;
  const contentType = oidOf(oneValue(attrs, OID.contentType, 'contentType', true), 'contentType');
  const digest = oneValue(attrs, OID.messageDigest, 'messageDigest', true);
  if (!(digest instanceof asn1js.OctetString)) return bad('messageDigest is not an OCTET STRING');
  const time = oneValue(attrs, OID.signingTime, 'signingTime', false);
  let signingTime: Date | undefined;
  if (time !== undefined) {
    if (!(time instanceof asn1js.UTCTime) && !(time instanceof asn1js.GeneralizedTime)) return bad('signingTime is not a time');
    signingTime = time.toDate();
    if (Number.isNaN(signingTime.getTime())) return bad('signingTime is not a valid time');
  }
  const protection = oneValue(attrs, OID.cmsAlgorithmProtection, 'CMSAlgorithmProtection', false);
  return {
    der,
    contentType,
    messageDigest: new Uint8Array(digest.valueBlock.valueHexView),
    ...(signingTime ? { signingTime } : {}),
    ...(protection !== undefined ? { algorithmProtection: algorithmProtection(protection) } : {}),
  };
}

function sameBytes(a: ArrayBuffer | Uint8Array, b: ArrayBuffer | Uint8Array): boolean {
  const x = a instanceof Uint8Array ? a : new Uint8Array(a);
  const y = b instanceof Uint8Array ? b : new Uint8Array(b);
  return x.length === y.length && x.every((v, i) => v === y[i]);
}

function signerIndexOf(signer: pkijs.SignerInfo, certificates: pkijs.Certificate[]): number {
  const sid = signer.sid as unknown;
  if (sid instanceof pkijs.IssuerAndSerialNumber) {
    return certificates.findIndex((c) => c.issuer.isEqual(sid.issuer) && c.serialNumber.isEqual(sid.serialNumber));
  }
  if (sid instanceof asn1js.Primitive || sid instanceof asn1js.Constructed) {
    // subjectKeyIdentifier [0] IMPLICIT OCTET STRING
    const ski = sid instanceof asn1js.Primitive ? sid.valueBlock.valueHexView : undefined;
    if (!ski) return -1;
    return certificates.findIndex((c) => {
      const ext = c.extensions?.find((e) => e.extnID === '2.5.29.14');
      const value = ext?.parsedValue as unknown;
      return value instanceof asn1js.OctetString && sameBytes(value.valueBlock.valueHexView, ski);
    });
  }
  return -1;
}

/**
 * Parses the detached SignedData. Throws PaymentTokenError 'malformed' when it is not a CMS
 * SignedData at all, 'signature' when it is one but not of the expected shape (attached content,
 * not exactly one signer, missing or repeated signed attributes, no signer certificate), and
 * nothing else: asn1js and pkijs throw their own errors (a bad time string, a missing block) on
 * structures they cannot read; those become 'malformed', without their message (it can quote input).
 */
export function parseDetachedSignature(bytes: Uint8Array): DetachedSignature {
  try {
    return parseSignedData(bytes);
  } catch (err) {
    if (err instanceof PaymentTokenError) throw err;
    return malformed('the signature is not a well-formed CMS SignedData');
  }
}

function parseSignedData(bytes: Uint8Array): DetachedSignature {
  const asn1 = asn1js.fromBER(bytes);
  if (asn1.offset === -1 || asn1.result.error !== '' || asn1.offset !== bytes.length) return malformed('the signature is not BER-encoded CMS');
  let contentInfo: pkijs.ContentInfo;
  let signedData: pkijs.SignedData;
  try {
    contentInfo = new pkijs.ContentInfo({ schema: asn1.result });
    if (contentInfo.contentType !== OID.signedData) return malformed('the signature is not a CMS SignedData');
    signedData = new pkijs.SignedData({ schema: contentInfo.content });
  } catch (err) {
    if (err instanceof PaymentTokenError) throw err;
    return malformed('the signature is not a CMS SignedData');
  }
  if (signedData.encapContentInfo.eContentType !== OID.data) return bad('the signed content type is not id-data');
  if (signedData.encapContentInfo.eContent !== undefined) return bad('the signature is not detached');
  if (signedData.signerInfos.length !== 1) return bad('the signature must have exactly one signer');

  // The certificates as their original bytes: [0] IMPLICIT CertificateSet inside the SignedData.
  const holder = (contentInfo.content as asn1js.Sequence).valueBlock.value.find((n) => n.idBlock.tagClass === 3 && n.idBlock.tagNumber === 0);
  const raw = holder instanceof asn1js.Constructed ? holder.valueBlock.value.map((n) => new Uint8Array(n.valueBeforeDecodeView)) : [];
  const parsed = (signedData.certificates ?? []).filter((c): c is pkijs.Certificate => c instanceof pkijs.Certificate);
  if (parsed.length !== raw.length || raw.length === 0) return bad('the signature does not carry its X.509 certificates');

  const signer = signedData.signerInfos[0]!;
  const signerIndex = signerIndexOf(signer, parsed);
  if (signerIndex < 0) return bad("the signer's certificate is not in the signature");
  return {
    certificates: raw,
    signerIndex,
    digestAlgorithm: signer.digestAlgorithm.algorithmId,
    signatureAlgorithm: signer.signatureAlgorithm.algorithmId,
    signature: new Uint8Array(signer.signature.valueBlock.valueHexView),
    attributes: attributesOf(signer),
  };
}
