import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { sha256 } from '../../protocol/paytoken/index.js';
import { OID } from './oids.js';

export interface CmsSigner {
  /** DER of the signer's certificate. */
  certificateDer: Uint8Array;
  /** ECDSA P-256 (→ ecdsa-with-SHA256) or RSASSA-PKCS1-v1_5 with SHA-256 (→ sha256WithRSAEncryption). */
  privateKey: CryptoKey;
}

/**
 * A detached CMS SignedData as Apple's payment tokens carry it:
 * - no eContent (the merchant rebuilds the signed bytes from the token);
 * - signed attributes contentType (id-data), signingTime (UTCTime), CMSAlgorithmProtection, messageDigest,
 *   in this order, which is also their DER SET OF order;
 * - digest algorithm sha256 without parameters; signature algorithm ecdsa-with-SHA256 (no parameters)
 *   or sha256WithRSAEncryption (NULL parameters), exactly as in real tokens;
 * - certificates: the signer's, then the chain above it except the root;
 * - BER with indefinite lengths on the outer structure, the encapsulated content info and the
 *   certificate set, like Apple's (parsers accept either; matching Apple keeps byte-level comparisons honest).
 */
export async function signDetachedCms(content: Uint8Array, signer: CmsSigner, chain: Uint8Array[], signingTime: Date): Promise<Uint8Array> {
  const signerCert = pkijs.Certificate.fromBER(new Uint8Array(signer.certificateDer));
  const isEc = signer.privateKey.algorithm.name === 'ECDSA';
  if (!isEc && signer.privateKey.algorithm.name !== 'RSASSA-PKCS1-v1_5') throw new Error('CMS signer must be ECDSA or RSASSA-PKCS1-v1_5');

  const digestAlgorithm = new pkijs.AlgorithmIdentifier({ algorithmId: OID.sha256 });
  const signatureAlgorithm = isEc
    ? new pkijs.AlgorithmIdentifier({ algorithmId: OID.ecdsaWithSha256 })
    : new pkijs.AlgorithmIdentifier({ algorithmId: OID.sha256WithRsaEncryption, algorithmParams: new asn1js.Null() });

  const messageDigest = new Uint8Array(await sha256(content));
  // RFC 6211: the algorithms, inside the signed attributes, so they cannot be swapped under the signature.
  const algorithmProtection = new asn1js.Sequence({
    value: [
      digestAlgorithm.toSchema(),
      new asn1js.Constructed({ idBlock: { tagClass: 3, tagNumber: 1 }, value: (signatureAlgorithm.toSchema() as asn1js.Sequence).valueBlock.value }),
    ],
  });
  const attributes = [
    new pkijs.Attribute({ type: OID.contentType, values: [new asn1js.ObjectIdentifier({ value: OID.data })] }),
    new pkijs.Attribute({ type: OID.signingTime, values: [new asn1js.UTCTime({ valueDate: signingTime })] }),
    new pkijs.Attribute({ type: OID.cmsAlgorithmProtection, values: [algorithmProtection] }),
    new pkijs.Attribute({ type: OID.messageDigest, values: [new asn1js.OctetString({ valueHex: messageDigest })] }),
  ];
  // DER SET OF: sorted by encoding. Verifiers re-encode the attributes in DER before checking, so the
  // order signed must be that order.
  const encoded = attributes.map((a) => ({ a, der: new Uint8Array(a.toSchema().toBER()) }));
  encoded.sort((x, y) => compareBytes(x.der, y.der));
  const signedAttrs = new pkijs.SignedAndUnsignedAttributes({ type: 0, attributes: encoded.map((e) => e.a) });

  const toSign = new Uint8Array(signedAttrs.toSchema().toBER());
  toSign[0] = 0x31; // signed as a SET OF (universal tag), stored as [0] IMPLICIT
  const raw = isEc
    ? pkijs.createCMSECDSASignature(await crypto.subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, signer.privateKey, toSign))
    : await crypto.subtle.sign({ name: 'RSASSA-PKCS1-v1_5' }, signer.privateKey, toSign);

  const signerInfo = new pkijs.SignerInfo({
    version: 1,
    sid: new pkijs.IssuerAndSerialNumber({ issuer: signerCert.issuer, serialNumber: signerCert.serialNumber }),
    digestAlgorithm,
    signedAttrs,
    signatureAlgorithm,
    signature: new asn1js.OctetString({ valueHex: raw }),
  });
  const signedData = new pkijs.SignedData({
    version: 1,
    digestAlgorithms: [digestAlgorithm],
    encapContentInfo: new pkijs.EncapsulatedContentInfo({ eContentType: OID.data }),
    certificates: [signerCert, ...chain.map((der) => pkijs.Certificate.fromBER(new Uint8Array(der)))],
    signerInfos: [signerInfo],
  });
  const contentInfo = new pkijs.ContentInfo({ contentType: OID.signedData, content: signedData.toSchema(true) });

  const schema = contentInfo.toSchema();
  markIndefinite(schema);
  return new Uint8Array(schema.toBER(false));
}

/**
 * pkijs encodes definite lengths. Apple's tokens use indefinite ones for ContentInfo, its [0], SignedData,
 * the EncapsulatedContentInfo and the certificates [0]; asn1js writes a constructed value with 0x80 and a
 * closing 00 00 when told so (and marks its parents indefinite too).
 */
function markIndefinite(contentInfo: asn1js.Sequence): void {
  const explicit = contentInfo.valueBlock.value[1] as asn1js.Constructed;
  const signedData = explicit.valueBlock.value[0] as asn1js.Sequence;
  for (const node of [contentInfo, explicit, signedData]) node.lenBlock.isIndefiniteForm = true;
  for (const child of signedData.valueBlock.value) {
    const isEncap = child instanceof asn1js.Sequence;
    const isCertificates = child.idBlock.tagClass === 3 && child.idBlock.tagNumber === 0;
    if (isEncap || isCertificates) (child as asn1js.Constructed).lenBlock.isIndefiniteForm = true;
  }
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}
