import type { Database } from '../../infra/db/database.js';
import { newId } from '../../infra/ids.js';
import type { KeyEncryptionKeys } from '../../infra/keys/kek.js';
import { x509 } from '../../infra/x509.js';
import { DER_NULL, OID } from './oids.js';
import { pkiRepo, type AuthorityPurpose, type AuthorityRow } from './repository.js';

const DAY = 86_400_000;
const YEAR = 365 * DAY;
/** Certificates start a little in the past, so a verifier whose clock lags ours still accepts them. */
const BACKDATE_MS = 5 * 60_000;

export type SigningLeafKind = 'ec' | 'rsa';

/**
 * Apple's hierarchy, mirrored: a P-384 root that signs with ecdsa-with-SHA384 itself and its
 * intermediate with ecdsa-with-SHA256 (as Apple Root CA - G3 signs Apple Application Integration CA - G3),
 * a P-256 intermediate, and two token-signing leaves. The RSA leaf exists because real RSA_v1 tokens are
 * signed by an RSA key ("rsa-smp-broker-sign", sha256WithRSAEncryption) under the same EC intermediate.
 */
const SPEC = {
  payment_root: {
    subject: 'CN=Tessera Root CA, OU=Tessera Certification Authority, O=Tessera Wallet Platform',
    years: 20,
    generate: { name: 'ECDSA', namedCurve: 'P-384' },
    importAlg: { name: 'ECDSA', namedCurve: 'P-384' },
  },
  payment_intermediate: {
    subject: 'CN=Tessera Application Integration CA, OU=Tessera Certification Authority, O=Tessera Wallet Platform',
    years: 15,
    generate: { name: 'ECDSA', namedCurve: 'P-256' },
    importAlg: { name: 'ECDSA', namedCurve: 'P-256' },
  },
  payment_signing_ec: {
    subject: 'CN=Tessera Payment Token Signing, OU=Tessera Wallet Platform, O=Tessera Wallet Platform',
    years: 5,
    generate: { name: 'ECDSA', namedCurve: 'P-256' },
    importAlg: { name: 'ECDSA', namedCurve: 'P-256' },
  },
  payment_signing_rsa: {
    subject: 'CN=Tessera Payment Token Signing RSA, OU=Tessera Wallet Platform, O=Tessera Wallet Platform',
    years: 5,
    generate: { name: 'RSASSA-PKCS1-v1_5', modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' },
    importAlg: { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' },
  },
} as const satisfies Record<AuthorityPurpose, { subject: string; years: number; generate: EcKeyGenParams | RsaHashedKeyGenParams; importAlg: EcKeyImportParams | RsaHashedImportParams }>;

const LEAF_PURPOSE: Record<SigningLeafKind, 'payment_signing_ec' | 'payment_signing_rsa'> = { ec: 'payment_signing_ec', rsa: 'payment_signing_rsa' };

/** How long a process trusts its cached signing leaf before checking whether another process rotated it. */
const LEAF_RECHECK_MS = 60_000;
/** A signing leaf this close to its end is replaced before it signs another token. */
const LEAF_RENEW_BEFORE_MS = 30 * DAY;

export interface LoadedAuthority {
  id: string;
  purpose: AuthorityPurpose;
  certificate: x509.X509Certificate;
  pem: string;
  der: Uint8Array;
  privateKey: CryptoKey;
  notAfter: Date;
}

export interface SigningLeafInfo {
  id: string;
  kind: SigningLeafKind;
  certificatePem: string;
  serial: string;
  notAfter: Date;
  active: boolean;
}

/**
 * The platform's payment-token authorities. Their private keys are stored only wrapped by the KEK
 * (bound to the row id) and imported here as non-extractable keys. Created on first start; two
 * processes starting at once create one hierarchy (the one-active-per-purpose unique index decides,
 * step by step, and the loser re-reads the winner).
 */
export class PaymentAuthorities {
  readonly #cache = new Map<AuthorityPurpose, { loaded: LoadedAuthority; checkedAt: number }>();
  readonly #loading = new Map<AuthorityPurpose, Promise<LoadedAuthority>>();

  constructor(
    private readonly db: Database,
    private readonly kek: KeyEncryptionKeys,
    private readonly clock: () => Date,
  ) {}

  async init(): Promise<void> {
    await this.signingLeaf('ec');
    await this.signingLeaf('rsa');
  }

  async root(): Promise<LoadedAuthority> {
    return this.#get('payment_root');
  }

  async intermediate(): Promise<LoadedAuthority> {
    return this.#get('payment_intermediate');
  }

  /** The leaf that signs tokens now; renewed first when it is near its end. */
  async signingLeaf(kind: SigningLeafKind): Promise<LoadedAuthority> {
    const purpose = LEAF_PURPOSE[kind];
    const cached = this.#cache.get(purpose);
    if (cached && Date.now() - cached.checkedAt < LEAF_RECHECK_MS && cached.loaded.notAfter.getTime() - this.clock().getTime() > LEAF_RENEW_BEFORE_MS) {
      return cached.loaded;
    }
    if (cached) {
      // Another process may have rotated it: one indexed lookup, and the key is re-imported only if so.
      const activeId = await pkiRepo.activeAuthorityId(this.db, purpose);
      if (activeId === cached.loaded.id) cached.checkedAt = Date.now();
      else this.#cache.delete(purpose);
    }
    let leaf = await this.#get(purpose);
    const now = this.clock().getTime();
    // Renewed only when a new leaf would outlive it (a leaf never outlives the intermediate).
    if (leaf.notAfter.getTime() - now <= LEAF_RENEW_BEFORE_MS && (await this.intermediate()).notAfter.getTime() - now > LEAF_RENEW_BEFORE_MS) {
      await this.rotateSigningLeaf(kind);
      leaf = await this.#get(purpose);
    }
    return leaf;
  }

  /**
   * Replaces the signing leaf: the new one signs from now on; the old one is retired but its certificate
   * is not revoked, so tokens it signed keep verifying until it expires.
   */
  async rotateSigningLeaf(kind: SigningLeafKind): Promise<{ previous: SigningLeafInfo | undefined; current: SigningLeafInfo }> {
    const purpose = LEAF_PURPOSE[kind];
    const parent = await this.intermediate();
    const fresh = await this.#create(purpose, parent);
    const now = this.clock();
    // Serializable and retried: two rotations at once both succeed, one after the other.
    const previousId = await this.db.tx(async (tx) => {
      const retired = await pkiRepo.retireActive(tx, purpose, now);
      if (!(await pkiRepo.insertAuthorityIfNone(tx, fresh))) throw new Error(`rotation of ${purpose} lost to a concurrent one`);
      return retired;
    });
    this.#cache.delete(purpose);
    const rows = await pkiRepo.authoritiesOf(this.db, purpose);
    const previous = rows.find((r) => r.id === previousId);
    const current = rows.find((r) => r.id === fresh.id)!;
    return { previous: previous ? leafInfo(kind, previous) : undefined, current: leafInfo(kind, current) };
  }

  /** Every signing leaf ever made, active or retired (their certificates, never keys). */
  async signingLeaves(kind: SigningLeafKind): Promise<SigningLeafInfo[]> {
    return (await pkiRepo.authoritiesOf(this.db, LEAF_PURPOSE[kind])).map((r) => leafInfo(kind, r));
  }

  #get(purpose: AuthorityPurpose): Promise<LoadedAuthority> {
    const cached = this.#cache.get(purpose);
    if (cached) return Promise.resolve(cached.loaded);
    // Callers in this process wait for one load (and at most one key generation) per purpose.
    let pending = this.#loading.get(purpose);
    if (!pending) {
      pending = this.#load(purpose).finally(() => this.#loading.delete(purpose));
      this.#loading.set(purpose, pending);
    }
    return pending;
  }

  async #load(purpose: AuthorityPurpose): Promise<LoadedAuthority> {
    let row = await pkiRepo.activeAuthority(this.db, purpose);
    if (!row) {
      const parent = await this.#parentOf(purpose);
      await pkiRepo.insertAuthorityIfNone(this.db, await this.#create(purpose, parent));
      row = await pkiRepo.activeAuthority(this.db, purpose);
      if (!row) throw new Error(`no active ${purpose} after creating one`);
    }
    const loaded = await this.#import(row);
    this.#cache.set(purpose, { loaded, checkedAt: Date.now() });
    return loaded;
  }

  async #parentOf(purpose: AuthorityPurpose): Promise<LoadedAuthority | undefined> {
    if (purpose === 'payment_root') return undefined;
    return purpose === 'payment_intermediate' ? this.root() : this.intermediate();
  }

  async #import(row: AuthorityRow): Promise<LoadedAuthority> {
    const pkcs8 = this.kek.unwrap(row.kek_id, row.key_wrapped, `platform.authorities:${row.id}`);
    try {
      const privateKey = await crypto.subtle.importKey('pkcs8', new Uint8Array(pkcs8), SPEC[row.purpose].importAlg, false, ['sign']);
      const certificate = new x509.X509Certificate(row.certificate_pem);
      return { id: row.id, purpose: row.purpose, certificate, pem: row.certificate_pem, der: new Uint8Array(certificate.rawData), privateKey, notAfter: certificate.notAfter };
    } finally {
      pkcs8.fill(0);
    }
  }

  async #create(purpose: AuthorityPurpose, parent: LoadedAuthority | undefined) {
    const spec = SPEC[purpose];
    const id = newId('ca');
    const keys = (await crypto.subtle.generateKey(spec.generate, true, ['sign', 'verify'])) as CryptoKeyPair;
    const now = this.clock();
    const notBefore = new Date(now.getTime() - BACKDATE_MS);
    // A certificate never outlives its issuer's: a verifier would reject the tail anyway.
    const wanted = new Date(now.getTime() + spec.years * YEAR);
    const notAfter = parent && parent.notAfter < wanted ? parent.notAfter : wanted;
    const serialNumber = randomSerial();
    const ski = await x509.SubjectKeyIdentifierExtension.create(keys.publicKey);
    let cert: x509.X509Certificate;
    if (!parent) {
      cert = await x509.X509CertificateGenerator.createSelfSigned({
        serialNumber,
        name: spec.subject,
        notBefore,
        notAfter,
        signingAlgorithm: { name: 'ECDSA', hash: 'SHA-384' },
        keys,
        extensions: [
          new x509.BasicConstraintsExtension(true, undefined, true),
          new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
          ski,
        ],
      });
    } else {
      const extensions =
        purpose === 'payment_intermediate'
          ? [
              new x509.BasicConstraintsExtension(true, 0, true),
              new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
              new x509.Extension(OID.intermediateCertificate, false, DER_NULL),
            ]
          : [
              new x509.BasicConstraintsExtension(false, undefined, true),
              new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
              new x509.Extension(OID.leafCertificate, false, DER_NULL),
            ];
      cert = await x509.X509CertificateGenerator.create({
        serialNumber,
        subject: spec.subject,
        issuer: parent.certificate.subject,
        notBefore,
        notAfter,
        signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
        publicKey: keys.publicKey,
        signingKey: parent.privateKey,
        extensions: [...extensions, ski, await x509.AuthorityKeyIdentifierExtension.create(parent.certificate, false)],
      });
    }
    const pkcs8 = new Uint8Array(await crypto.subtle.exportKey('pkcs8', keys.privateKey));
    const { kekId, wrapped } = this.kek.wrap(pkcs8, `platform.authorities:${id}`);
    pkcs8.fill(0);
    return {
      id,
      purpose,
      parentId: parent?.id ?? null,
      serial: cert.serialNumber.toLowerCase(),
      certificatePem: `${cert.toString('pem')}\n`,
      keyWrapped: wrapped,
      kekId,
      notAfter: cert.notAfter,
    };
  }
}

function leafInfo(kind: SigningLeafKind, r: AuthorityRow): SigningLeafInfo {
  return { id: r.id, kind, certificatePem: r.certificate_pem, serial: r.serial, notAfter: r.not_after, active: r.active };
}

/** 16 random bytes, positive and without a leading zero byte, so the DER INTEGER is always 16 bytes. */
export function randomSerial(): string {
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[0] = (b[0]! & 0x7f) | 0x40;
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}
