import { randomBytes } from 'node:crypto';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Database } from '../../infra/db/database.js';
import type { KeyEncryptionKeys } from '../../infra/keys/kek.js';
import type { PaymentData } from '../../protocol/paytoken/index.js';
import { PaymentAuthorities, type SigningLeafInfo, type SigningLeafKind } from './authority.js';
import { MerchantCertificates, type IssueCertificateInput, type IssuedCertificate, type MerchantCertificate } from './certificates.js';
import './errors.js';
import { TokenProducer, type ProduceTokenInput } from './token.js';
import { issueTlsServerCertificate, type TlsServerCertificate } from './tls-server.js';

export { buildPayload, type PaymentPayloadFields } from './payload.js';
export { PKI_ERRORS } from './errors.js';
export { OID as PKI_OID } from './oids.js';
export type { IssueCertificateInput, IssuedCertificate, MerchantCertificate } from './certificates.js';
export type { ProduceTokenInput } from './token.js';
export type { TlsServerCertificate } from './tls-server.js';
export type { SigningLeafInfo, SigningLeafKind } from './authority.js';
export type { CertificateKind, MerchantKeyType } from './repository.js';

export interface PaymentPkiDeps {
  db: Database;
  kek: KeyEncryptionKeys;
  clock?: () => Date;
}

export interface PaymentPki {
  /** Creates the root, the intermediate and the signing leaves on first start (race-safe), and loads them. */
  init(): Promise<void>;
  /** The root certificate (PEM): what merchants configure as their trusted root instead of Apple Root CA - G3. */
  rootPem(): Promise<string>;
  /** The intermediate (PEM), which tokens carry and which issues merchant certificates. */
  intermediatePem(): Promise<string>;
  /** Writes `<dataDir>/pki/root-ca.pem` (the public certificate only) and returns its path. */
  writeRootPem(dataDir: string): Promise<string>;
  issueProcessingCertificate(input: IssueCertificateInput): Promise<IssuedCertificate>;
  issueIdentityCertificate(input: IssueCertificateInput): Promise<IssuedCertificate>;
  /** The merchant's certificates, newest first, active and revoked. */
  certificatesOf(merchantIdentifier: string): Promise<MerchantCertificate[]>;
  /** Revokes one of the merchant's certificates: no more tokens are made for it. */
  revokeCertificate(merchantIdentifier: string, certificateId: string): Promise<MerchantCertificate>;
  produceToken(input: ProduceTokenInput): Promise<PaymentData>;
  /**
   * A new signing leaf (both kinds unless one is named); the old ones are retired, not revoked, so tokens
   * they signed keep verifying until they expire.
   */
  rotateSigningLeaf(kind?: SigningLeafKind): Promise<Array<{ previous: SigningLeafInfo | undefined; current: SigningLeafInfo }>>;
  /** Every signing leaf made so far (certificates only), for audit and tests. */
  signingLeaves(kind: SigningLeafKind): Promise<SigningLeafInfo[]>;
  /** A TLS server certificate (key made in memory, never stored) for the merchant-validation listener. */
  issueTlsServerCertificate(hostnames: string[]): Promise<TlsServerCertificate>;
}

/** The platform's payment-token PKI (flow 3): its authorities, merchant certificates and token production. */
export function createPaymentPki(deps: PaymentPkiDeps): PaymentPki {
  const clock = deps.clock ?? (() => new Date());
  const authorities = new PaymentAuthorities(deps.db, deps.kek, clock);
  const certificates = new MerchantCertificates(deps.db, authorities, clock);
  const tokens = new TokenProducer(deps.db, authorities, clock);
  return {
    init: () => authorities.init(),
    rootPem: async () => (await authorities.root()).pem,
    intermediatePem: async () => (await authorities.intermediate()).pem,
    async writeRootPem(dataDir) {
      const pem = (await authorities.root()).pem;
      const dir = join(dataDir, 'pki');
      await mkdir(dir, { recursive: true });
      const path = join(dir, 'root-ca.pem');
      // Written whole or not at all: another process may be reading it.
      const tmp = `${path}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
      await writeFile(tmp, pem, { mode: 0o644 });
      await rename(tmp, path);
      return path;
    },
    issueProcessingCertificate: (input) => certificates.issue('processing', input),
    issueIdentityCertificate: (input) => certificates.issue('identity', input),
    certificatesOf: (merchantIdentifier) => certificates.list(merchantIdentifier),
    revokeCertificate: (merchantIdentifier, certificateId) => certificates.revoke(merchantIdentifier, certificateId),
    produceToken: (input) => tokens.produce(input),
    async rotateSigningLeaf(kind) {
      const kinds: SigningLeafKind[] = kind ? [kind] : ['ec', 'rsa'];
      const out = [];
      for (const k of kinds) out.push(await authorities.rotateSigningLeaf(k));
      return out;
    },
    signingLeaves: (kind) => authorities.signingLeaves(kind),
    issueTlsServerCertificate: (hostnames) => issueTlsServerCertificate(authorities, clock, hostnames),
  };
}
