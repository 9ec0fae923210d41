import { createHash, createPublicKey, generateKeyPair as generateKeyPairCb, type KeyObject } from 'node:crypto';
import { promisify } from 'node:util';
import type { Database } from '../../infra/db/database.js';
import { isUniqueViolation } from '../../infra/db/database.js';
import { AppError } from '../../infra/errors.js';
import { newId } from '../../infra/ids.js';
import { x509 } from '../../infra/x509.js';
import { merchantIdentifierHash, merchantIdHashExtensionValue, publicKeyHash } from '../../protocol/paytoken/index.js';
import { Secret } from '../../protocol/secret.js';
import { randomSerial, type PaymentAuthorities } from './authority.js';
import './errors.js';
import { OID } from './oids.js';
import { pkiRepo, type CertificateKind, type MerchantCertificateRow, type MerchantKeyType } from './repository.js';

const generateKeyPair = promisify(generateKeyPairCb);

/** Apple's merchant certificates run 25 months; ours too. */
const MERCHANT_CERT_DAYS = 760;
const BACKDATE_MS = 5 * 60_000;

/** Apple's merchant identifiers: reverse-DNS under "merchant."; also what keeps the subject DN unambiguous. */
export const MERCHANT_IDENTIFIER_RE = /^merchant\.[A-Za-z0-9][A-Za-z0-9._-]{0,118}$/;
const TEAM_ID_RE = /^[A-Z0-9]{10}$/;

export interface IssueCertificateInput {
  merchantIdentifier: string;
  /** The Apple-style team id (10 upper-case letters and digits) that goes in OU; derived from the merchant identifier when absent. */
  teamId?: string;
  /** A PEM PKCS#10 request: its self-signature is verified and only its public key is used. */
  csrPem?: string;
  /** Or: the platform generates the key pair and returns the private key once, without storing it. */
  generate?: 'ec' | 'rsa';
}

export interface MerchantCertificate {
  id: string;
  merchantIdentifier: string;
  teamId: string;
  kind: CertificateKind;
  keyType: MerchantKeyType;
  /** base64(SHA-256(DER SPKI)): header.publicKeyHash of the tokens encrypted to this key. */
  publicKeyHash: string;
  serial: string;
  certificatePem: string;
  notBefore: Date;
  notAfter: Date;
  status: 'active' | 'revoked';
  revokedAt: Date | null;
  createdAt: Date;
}

export interface IssuedCertificate {
  certificate: MerchantCertificate;
  certificatePem: string;
  /** The certificate followed by the intermediate (not the root), as a TLS client presents it. */
  chainPem: string;
  /** PKCS#8 PEM, only when the platform generated the key: shown this once, never stored. */
  privateKeyPem?: Secret;
}

export function toMerchantCertificate(r: MerchantCertificateRow): MerchantCertificate {
  return {
    id: r.id,
    merchantIdentifier: r.merchant_identifier,
    teamId: r.team_id,
    kind: r.kind,
    keyType: r.key_type,
    publicKeyHash: r.public_key_hash,
    serial: r.serial,
    certificatePem: r.certificate_pem,
    notBefore: r.not_before,
    notAfter: r.not_after,
    status: r.status,
    revokedAt: r.revoked_at,
    createdAt: r.created_at,
  };
}

/** A stable Apple-style team id (10 upper-case hex characters) for merchants that do not give one. */
export function defaultTeamId(merchantIdentifier: string): string {
  return createHash('sha256').update(`tessera-team:${merchantIdentifier}`, 'utf8').digest('hex').slice(0, 10).toUpperCase();
}

/** Merchant payment-processing and identity certificates, issued by the intermediate. */
export class MerchantCertificates {
  constructor(
    private readonly db: Database,
    private readonly authorities: PaymentAuthorities,
    private readonly clock: () => Date,
  ) {}

  issue(kind: CertificateKind, input: IssueCertificateInput): Promise<IssuedCertificate> {
    return this.#issue(kind, input);
  }

  async list(merchantIdentifier: string): Promise<MerchantCertificate[]> {
    if (!MERCHANT_IDENTIFIER_RE.test(merchantIdentifier)) return [];
    return (await pkiRepo.merchantCertificates(this.db, merchantIdentifier)).map(toMerchantCertificate);
  }

  async revoke(merchantIdentifier: string, certificateId: string): Promise<MerchantCertificate> {
    const row = await pkiRepo.revokeMerchantCertificate(this.db, merchantIdentifier, certificateId, this.clock());
    if (!row) throw new AppError('resource_missing', { param: 'certificate_id' });
    return toMerchantCertificate(row);
  }

  async #issue(kind: CertificateKind, input: IssueCertificateInput): Promise<IssuedCertificate> {
    const merchantIdentifier = input.merchantIdentifier;
    if (typeof merchantIdentifier !== 'string' || !MERCHANT_IDENTIFIER_RE.test(merchantIdentifier)) {
      throw new AppError('parameter_invalid', { param: 'merchant_identifier', message: 'merchant_identifier must look like merchant.com.example (letters, digits, ".", "-", "_"; at most 128 characters).' });
    }
    const teamId = input.teamId ?? defaultTeamId(merchantIdentifier);
    if (!TEAM_ID_RE.test(teamId)) throw new AppError('parameter_invalid', { param: 'team_id', message: 'team_id must be 10 upper-case letters or digits.' });
    if ((input.csrPem === undefined) === (input.generate === undefined)) {
      throw new AppError('parameter_invalid', { param: 'csr', message: 'Give either a certificate signing request or generate: "ec" | "rsa", not both.' });
    }

    let spki: Uint8Array<ArrayBuffer>;
    let privateKeyPem: Secret | undefined;
    if (input.csrPem !== undefined) {
      spki = await publicKeyOfCsr(input.csrPem);
    } else if (input.generate === 'ec' || input.generate === 'rsa') {
      const pair = input.generate === 'ec' ? await generateKeyPair('ec', { namedCurve: 'P-256' }) : await generateKeyPair('rsa', { modulusLength: 2048, publicExponent: 0x10001 });
      spki = new Uint8Array(pair.publicKey.export({ type: 'spki', format: 'der' }));
      privateKeyPem = new Secret(pair.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString());
    } else {
      throw new AppError('parameter_invalid', { param: 'generate', message: 'generate must be "ec" or "rsa".' });
    }
    const keyType = keyTypeOf(createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' }));
    if (!keyType) throw new AppError('csr_invalid', { param: 'csr' });

    const ca = await this.authorities.intermediate();
    const now = this.clock();
    const wanted = new Date(now.getTime() + MERCHANT_CERT_DAYS * 86_400_000);
    const notAfter = ca.notAfter < wanted ? ca.notAfter : wanted;
    const subject = new x509.Name(
      [
        { UID: [merchantIdentifier] },
        { CN: [kind === 'processing' ? `Apple Pay Payment Processing:${merchantIdentifier}` : `Merchant ID: ${merchantIdentifier}`] },
        { OU: [teamId] },
      ],
      { UID: OID.userId },
    );
    const usage =
      kind === 'identity'
        ? x509.KeyUsageFlags.digitalSignature
        : keyType === 'ec_p256'
          ? x509.KeyUsageFlags.keyAgreement
          : x509.KeyUsageFlags.keyEncipherment;
    const extensions: x509.Extension[] = [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(usage, true),
      await x509.SubjectKeyIdentifierExtension.create(spki),
      await x509.AuthorityKeyIdentifierExtension.create(ca.certificate, false),
    ];
    if (kind === 'processing') {
      // DER UTF8String (0C 40) of the 64 upper-case hex characters of SHA-256(merchantIdentifier): some
      // libraries read it by dropping the first two bytes, so it is encoded exactly so.
      extensions.push(new x509.Extension(OID.merchantIdentifierHash, false, new Uint8Array(merchantIdHashExtensionValue(await merchantIdentifierHash(merchantIdentifier)))));
    }
    else extensions.push(new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth], false));

    const cert = await x509.X509CertificateGenerator.create({
      serialNumber: randomSerial(),
      subject,
      issuer: ca.certificate.subject,
      notBefore: new Date(now.getTime() - BACKDATE_MS),
      notAfter,
      signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
      publicKey: spki,
      signingKey: ca.privateKey,
      extensions,
    });
    const certificatePem = `${cert.toString('pem')}\n`;
    let row: MerchantCertificateRow;
    try {
      row = await pkiRepo.insertMerchantCertificate(this.db, {
        id: newId('mcert'),
        merchant_identifier: merchantIdentifier,
        team_id: teamId,
        kind,
        key_type: keyType,
        public_key_hash: await publicKeyHash(spki),
        issuer_id: ca.id,
        serial: cert.serialNumber.toLowerCase(),
        certificate_pem: certificatePem,
        not_before: cert.notBefore,
        not_after: cert.notAfter,
      });
    } catch (err) {
      if (isUniqueViolation(err, 'merchant_certificates_key_unique')) throw new AppError('merchant_key_in_use', { param: 'csr' });
      throw err;
    }
    return {
      certificate: toMerchantCertificate(row),
      certificatePem,
      chainPem: certificatePem + ca.pem,
      ...(privateKeyPem ? { privateKeyPem } : {}),
    };
  }
}

/** Verifies a PKCS#10 request's self-signature (proof that the requester holds the key) and returns its SPKI. */
async function publicKeyOfCsr(csrPem: string): Promise<Uint8Array<ArrayBuffer>> {
  let csr: x509.Pkcs10CertificateRequest;
  try {
    if (typeof csrPem !== 'string' || !csrPem.includes('-----BEGIN CERTIFICATE REQUEST-----')) throw new Error('not PEM');
    csr = new x509.Pkcs10CertificateRequest(csrPem);
  } catch {
    throw new AppError('csr_invalid', { param: 'csr' });
  }
  let ok = false;
  try {
    ok = await csr.verify();
  } catch {
    ok = false;
  }
  if (!ok) throw new AppError('csr_invalid', { param: 'csr' });
  return new Uint8Array(csr.publicKey.rawData);
}

function keyTypeOf(key: KeyObject): MerchantKeyType | undefined {
  const details = key.asymmetricKeyDetails;
  if (key.asymmetricKeyType === 'ec' && details?.namedCurve === 'prime256v1') return 'ec_p256';
  if (key.asymmetricKeyType === 'rsa' && details?.modulusLength === 2048) return 'rsa_2048';
  return undefined;
}
