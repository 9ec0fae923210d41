/**
 * Verification of a payment token's signature the way Apple tells merchants to do it: the marker
 * OIDs, the chain to a trusted root, the CMS signature over the token's content, the signing time
 * against a replay window, and the transactionId against a replay cache.
 */
import { X509Certificate, verify as verifySignature } from 'node:crypto';
import { bytesEqual } from '../../protocol/bytes.js';
import {
  OID,
  certificateExtensions,
  parsePaymentToken,
  pemBlocksToDer,
  sha256,
  signedContentOf,
  type ParsedPaymentToken,
} from '../../protocol/paytoken/index.js';
import { parseDetachedSignature } from './cms.js';
import { MerchantConfigError, PaymentTokenError } from './errors.js';
import { guard } from './guard.js';
import { MemoryReplayCache, type ReplayCache } from './replay-cache.js';

export const DEFAULT_REPLAY_WINDOW_SECONDS = 300;

export interface VerifyOptions {
  /**
   * Trusted roots, PEM (a string may hold several certificates). Default: none, so every token
   * fails with 'chain': pass Apple Root CA - G3 for real tokens, the platform's root for ours.
   */
  roots?: readonly string[];
  /** The verification time (certificate validity, signing-time window, replay expiry). Default: now. */
  now?: Date;
  /** How far signingTime may be from `now`, either way, in seconds. Default 300. */
  replayWindowSeconds?: number;
  /**
   * Where accepted transactionIds are remembered. Default: one MemoryReplayCache shared by the
   * whole process; pass a shared (database-backed) one when several processes accept tokens.
   */
  seenTransactionIds?: ReplayCache;
}

export interface VerifiedPaymentToken {
  token: ParsedPaymentToken;
  /** The CMS signingTime. */
  signingTime: Date;
  /** header.transactionId, lower case. */
  transactionId: string;
}

const processReplayCache = new MemoryReplayCache();

interface Settings {
  roots: X509Certificate[];
  now: Date;
  windowMs: number;
  cache: ReplayCache;
}

const rootCache = new WeakMap<readonly string[], { pems: string[]; roots: X509Certificate[] }>();

function loadRoots(pems: readonly string[]): X509Certificate[] {
  const cached = rootCache.get(pems);
  if (cached && cached.pems.length === pems.length && cached.pems.every((p, i) => p === pems[i])) return cached.roots;
  const roots: X509Certificate[] = [];
  pems.forEach((pem, i) => {
    if (typeof pem !== 'string') throw new MerchantConfigError(`roots[${i}] must be a PEM string`);
    let ders: Uint8Array[];
    try {
      ders = pemBlocksToDer(pem);
    } catch {
      ders = [];
    }
    if (ders.length === 0) throw new MerchantConfigError(`roots[${i}] holds no PEM certificate`);
    for (const der of ders) {
      try {
        roots.push(new X509Certificate(der));
      } catch {
        throw new MerchantConfigError(`roots[${i}] holds a certificate that does not parse`);
      }
    }
  });
  rootCache.set(pems, { pems: [...pems], roots });
  return roots;
}

export function settingsOf(options: VerifyOptions): Settings {
  const now = options.now ?? new Date();
  if (!(now instanceof Date) || Number.isNaN(now.getTime())) throw new MerchantConfigError('now must be a valid Date');
  const window = options.replayWindowSeconds ?? DEFAULT_REPLAY_WINDOW_SECONDS;
  if (typeof window !== 'number' || !Number.isFinite(window) || window < 0) throw new MerchantConfigError('replayWindowSeconds must be a finite number >= 0');
  return { roots: loadRoots(options.roots ?? []), now, windowMs: window * 1000, cache: options.seenTransactionIds ?? processReplayCache };
}

function hasExtension(der: Uint8Array, oid: string): boolean {
  return certificateExtensions(der).some((e) => e.oid === oid);
}

function validAt(cert: X509Certificate, now: Date): boolean {
  const from = Date.parse(cert.validFrom);
  const to = Date.parse(cert.validTo);
  if (Number.isNaN(from) || Number.isNaN(to)) return false;
  return now.getTime() >= from && now.getTime() <= to;
}

function issuedBy(child: X509Certificate, issuer: X509Certificate): boolean {
  try {
    return child.checkIssued(issuer) && child.verify(issuer.publicKey);
  } catch {
    return false;
  }
}

function parseCertificate(der: Uint8Array): X509Certificate {
  try {
    return new X509Certificate(der);
  } catch {
    throw new PaymentTokenError('malformed', 'a certificate in the signature does not parse');
  }
}

/** The certificate in the signature (other than the leaf) that issued and signed the leaf. */
function findIssuer(leaf: X509Certificate, certificates: Uint8Array[], leafIndex: number): { certificate: X509Certificate; der: Uint8Array } | undefined {
  for (const [i, der] of certificates.entries()) {
    if (i === leafIndex) continue;
    const certificate = parseCertificate(der);
    if (issuedBy(leaf, certificate)) return { certificate, der };
  }
  return undefined;
}

const SIGNATURE_ALGORITHMS: Record<ParsedPaymentToken['version'], readonly string[]> = {
  EC_v1: [OID.ecdsaWithSha256],
  RSA_v1: [OID.sha256WithRsaEncryption, OID.rsaEncryption],
};

/** Everything but the replay cache: the caller records the transactionId once all else passed. */
export async function verifyWithoutRecording(input: unknown, s: Settings): Promise<VerifiedPaymentToken> {
  return guard(async () => {
    const token = parsePaymentToken(input);
    const cms = parseDetachedSignature(token.bytes.signature);

    // 1. Apple's marker extensions on the leaf and the intermediate.
    const leafDer = cms.certificates[cms.signerIndex]!;
    if (!hasExtension(leafDer, OID.leafCertificate)) throw new PaymentTokenError('oid', 'the signing certificate lacks extension 1.2.840.113635.100.6.29');
    const leaf = parseCertificate(leafDer);
    const found = findIssuer(leaf, cms.certificates, cms.signerIndex);
    if (!found) throw new PaymentTokenError('chain', 'the signing certificate is not issued by an intermediate certificate in the signature');
    const { certificate: intermediate, der: intermediateDer } = found;
    if (!hasExtension(intermediateDer, OID.intermediateCertificate)) {
      throw new PaymentTokenError('oid', 'the intermediate certificate lacks extension 1.2.840.113635.100.6.2.14');
    }

    // 2. The chain: leaf → intermediate (a CA) → a trusted root; each valid now.
    if (!intermediate.ca) throw new PaymentTokenError('chain', 'the intermediate certificate is not a CA');
    const root = s.roots.find((r) => issuedBy(intermediate, r));
    if (!root) throw new PaymentTokenError('chain', s.roots.length === 0 ? 'no trusted root is configured' : 'the intermediate certificate is not issued by a trusted root');
    for (const [name, cert] of [['signing', leaf], ['intermediate', intermediate], ['root', root]] as const) {
      if (!validAt(cert, s.now)) throw new PaymentTokenError('expired', `the ${name} certificate is not valid at the verification time`);
    }

    // 3. The CMS signature: algorithms, signed attributes, the digest of the token's content.
    if (cms.digestAlgorithm !== OID.sha256) throw new PaymentTokenError('unsupported', 'the signature digest algorithm is not SHA-256');
    if (!SIGNATURE_ALGORITHMS[token.version].includes(cms.signatureAlgorithm)) {
      throw new PaymentTokenError('signature', `the signature algorithm does not match ${token.version}`);
    }
    const attrs = cms.attributes;
    if (attrs.contentType !== OID.data) throw new PaymentTokenError('signature', 'the signed contentType is not id-data');
    const protection = attrs.algorithmProtection;
    if (protection && (protection.digestAlgorithm !== cms.digestAlgorithm || (protection.signatureAlgorithm !== undefined && protection.signatureAlgorithm !== cms.signatureAlgorithm))) {
      throw new PaymentTokenError('signature', 'CMSAlgorithmProtection does not match the signer algorithms');
    }
    const digest = await sha256(signedContentOf(token.bytes));
    if (!bytesEqual(digest, attrs.messageDigest)) throw new PaymentTokenError('signature', "the signature does not cover this token's content (messageDigest mismatch)");
    let valid = false;
    try {
      valid = verifySignature('sha256', attrs.der, leaf.publicKey, cms.signature);
    } catch {
      valid = false;
    }
    if (!valid) throw new PaymentTokenError('signature', 'the signature does not verify with the signing certificate');

    // 4. The signing time within the window of now.
    const signingTime = attrs.signingTime;
    if (!signingTime) throw new PaymentTokenError('signing_time', 'the signature has no signingTime');
    if (Math.abs(s.now.getTime() - signingTime.getTime()) > s.windowMs) {
      throw new PaymentTokenError('signing_time', 'the signingTime is outside the replay window of the verification time');
    }
    return { token, signingTime, transactionId: token.transactionId };
  });
}

/** Step 5: the transactionId not seen before (recorded until signingTime + window). */
export async function recordTransaction(verified: VerifiedPaymentToken, s: Settings): Promise<void> {
  const expiresAt = new Date(verified.signingTime.getTime() + s.windowMs);
  const fresh = await s.cache.recordIfNew(verified.transactionId, expiresAt, s.now);
  if (!fresh) throw new PaymentTokenError('replay', 'this transactionId was already accepted');
}

/**
 * Verifies a payment token (full PKPaymentToken or bare paymentData; parsed JSON or JSON text)
 * and records its transactionId. Throws PaymentTokenError (reason: malformed, unsupported, oid,
 * chain, expired, signature, signing_time, replay) or MerchantConfigError for unusable options.
 */
export async function verifyPaymentToken(token: unknown, options: VerifyOptions = {}): Promise<VerifiedPaymentToken> {
  const s = settingsOf(options);
  const verified = await verifyWithoutRecording(token, s);
  await recordTransaction(verified, s);
  return verified;
}
