import type { Database } from '../../infra/db/database.js';
import { AppError } from '../../infra/errors.js';
import { x509 } from '../../infra/x509.js';
import { toHex } from '../../protocol/bytes.js';
import {
  ecdhSharedSecret,
  deriveEcV1Key,
  encryptData,
  merchantIdHashFromCertificate,
  parsePaymentPayload,
  PAYMENT_TOKEN_VERSIONS,
  publicKeyHash,
  sha256,
  signedContent,
  subjectPublicKeyInfoFromCertificate,
  toBase64,
  wrapRsaV1Key,
  type EcV1PaymentData,
  type PaymentData,
  type PaymentTokenVersion,
  type RsaV1PaymentData,
} from '../../protocol/paytoken/index.js';
import { Secret } from '../../protocol/secret.js';
import type { PaymentAuthorities } from './authority.js';
import { signDetachedCms } from './cms.js';
import './errors.js';
import { pkiRepo } from './repository.js';

export interface ProduceTokenInput {
  /** The decrypted payload's JSON: buildPayload's result (or its UTF-8 bytes / text, keys already in order). */
  payload: Secret | string | Uint8Array;
  /** The merchant's payment-processing certificate (PEM), issued by this platform and active. */
  merchantCertificatePem: string;
  /** The payment request's applicationData (decoded bytes); its SHA-256 goes in header.applicationData. */
  applicationData?: Uint8Array;
  /** Defaults to the certificate's key type: EC_v1 for EC P-256, RSA_v1 for RSA 2048. */
  version?: PaymentTokenVersion;
  /** The CMS signingTime; defaults to the clock. */
  now?: Date;
}

/**
 * Produces `paymentData` the way Apple's servers do: encrypted to the merchant's processing key,
 * signed by the platform's token-signing leaf.
 */
export class TokenProducer {
  constructor(
    private readonly db: Database,
    private readonly authorities: PaymentAuthorities,
    private readonly clock: () => Date,
  ) {}

  async produce(input: ProduceTokenInput): Promise<PaymentData> {
    const now = input.now ?? this.clock();
    const { der, keyType } = await this.#merchantCertificate(input.merchantCertificatePem, now);
    const version: PaymentTokenVersion = input.version ?? (keyType === 'ec_p256' ? 'EC_v1' : 'RSA_v1');
    if (!PAYMENT_TOKEN_VERSIONS.includes(version) || (version === 'EC_v1') !== (keyType === 'ec_p256')) {
      throw new AppError('parameter_invalid', { param: 'version', message: 'EC_v1 needs an EC P-256 processing certificate, RSA_v1 an RSA one.' });
    }
    const plaintext = payloadBytes(input.payload);
    const spki = subjectPublicKeyInfoFromCertificate(der);
    const transactionId = toHex(crypto.getRandomValues(new Uint8Array(32))).toLowerCase();
    const applicationData = input.applicationData ? toHex(await sha256(input.applicationData)).toLowerCase() : undefined;
    const common = {
      publicKeyHash: await publicKeyHash(spki),
      transactionId,
      ...(applicationData !== undefined ? { applicationData } : {}),
    };

    let unsigned: Omit<EcV1PaymentData, 'signature'> | Omit<RsaV1PaymentData, 'signature'>;
    let symmetricKey: Uint8Array | undefined;
    try {
      if (version === 'EC_v1') {
        // A fresh ephemeral key per token makes every symmetric key single-use, which is what makes
        // the format's fixed all-zero GCM IV safe.
        const ephemeral = (await crypto.subtle.generateKey({ name: 'ECDH', namedCurve: 'P-256' }, false, ['deriveBits'])) as CryptoKeyPair;
        const z = await ecdhSharedSecret(ephemeral.privateKey, spki);
        try {
          symmetricKey = await deriveEcV1Key(z, merchantIdHashFromCertificate(der));
        } finally {
          z.fill(0);
        }
        const ephemeralPublicKey = new Uint8Array(await crypto.subtle.exportKey('spki', ephemeral.publicKey));
        const data = await encryptData(symmetricKey, plaintext);
        unsigned = { version, data: toBase64(data), header: { ephemeralPublicKey: toBase64(ephemeralPublicKey), ...common } };
      } else {
        symmetricKey = crypto.getRandomValues(new Uint8Array(16));
        const merchantKey = await crypto.subtle.importKey('spki', new Uint8Array(spki), { name: 'RSA-OAEP', hash: 'SHA-256' }, false, ['encrypt']);
        const wrappedKey = await wrapRsaV1Key(merchantKey, symmetricKey);
        const data = await encryptData(symmetricKey, plaintext);
        unsigned = { version, data: toBase64(data), header: { wrappedKey: toBase64(wrappedKey), ...common } };
      }
    } finally {
      symmetricKey?.fill(0);
      plaintext.fill(0);
    }

    // Real tokens: EC_v1 is signed by an EC leaf with ecdsa-with-SHA256, RSA_v1 by an RSA leaf with
    // sha256WithRSAEncryption (the basistheory-rsa fixture's signer is "rsa-smp-broker-sign_UC4-PROD",
    // an RSA-2048 key under the same EC intermediate). So the reference's rule is followed as written.
    const leaf = await this.authorities.signingLeaf(version === 'EC_v1' ? 'ec' : 'rsa');
    const intermediate = await this.authorities.intermediate();
    const cms = await signDetachedCms(signedContent(unsigned), { certificateDer: leaf.der, privateKey: leaf.privateKey }, [intermediate.der], now);
    // Key order of real tokens: version, data, signature, header.
    return { version: unsigned.version, data: unsigned.data, signature: toBase64(cms), header: unsigned.header } as PaymentData;
  }

  /** Only our own, active, current processing certificates get tokens (Apple encrypts only to what it issued). */
  async #merchantCertificate(pem: string, now: Date): Promise<{ der: Uint8Array; keyType: 'ec_p256' | 'rsa_2048' }> {
    const invalid = () => new AppError('merchant_certificate_invalid', { param: 'merchant_certificate' });
    let cert: x509.X509Certificate;
    try {
      if (typeof pem !== 'string') throw invalid();
      cert = new x509.X509Certificate(pem);
    } catch {
      throw invalid();
    }
    const ca = await this.authorities.intermediate();
    let signedByUs = false;
    try {
      signedByUs = cert.issuer === ca.certificate.subject && (await cert.verify({ publicKey: ca.certificate.publicKey, signatureOnly: true }));
    } catch {
      signedByUs = false;
    }
    if (!signedByUs || now < cert.notBefore || now > cert.notAfter) throw invalid();
    const row = await pkiRepo.merchantCertificateBySerial(this.db, ca.id, cert.serialNumber.toLowerCase());
    if (!row || row.kind !== 'processing' || row.status !== 'active') throw invalid();
    return { der: new Uint8Array(cert.rawData), keyType: row.key_type };
  }
}

/** The payload's bytes, as given (its key order is the caller's), once the merchant SDK's parser would accept it. */
function payloadBytes(payload: Secret | string | Uint8Array): Uint8Array {
  const bytes = payload instanceof Uint8Array ? new Uint8Array(payload) : new TextEncoder().encode(payload instanceof Secret ? payload.reveal() : String(payload));
  try {
    parsePaymentPayload(bytes);
  } catch {
    bytes.fill(0);
    throw new AppError('parameter_invalid', { param: 'payload', message: 'payload must be the JSON of a payment payload (see buildPayload).' });
  }
  return bytes;
}
