import { createHash, randomBytes, X509Certificate } from 'node:crypto';
import type { Database, Sql } from '../../infra/db/database.js';
import { isUniqueViolation } from '../../infra/db/database.js';
import { AppError } from '../../infra/errors.js';
import type { ApiKeys } from '../../infra/http/auth.js';
import type { Page, PageParams } from '../../infra/http/pagination.js';
import { newId } from '../../infra/ids.js';
import { MERCHANT_IDENTIFIER_RE, defaultTeamId } from '../pki/certificates.js';
import type { IssuedCertificate, MerchantCertificate, PaymentPki } from '../pki/index.js';
import { ASSOCIATION_PATH, checkAssociation, newAssociation, normalizeDomain, type DomainPolicy } from './domains.js';
import './errors.js';
import { merchantRepo, type DomainRow, type MerchantRow, type SessionRow } from './repository.js';
import { MERCHANT_SESSION_TTL_MS, signSession, verifySession, type MerchantSessionObject } from './session-object.js';

export interface MerchantSessionClaims {
  merchantIdentifier: string;
  merchantSessionIdentifier: string;
  domainName: string;
  displayName: string;
  initiative: 'web' | 'in_app';
  initiativeContext: string;
  nonce: string;
}

/** Contract C1: what the in-app payment flow asks of the merchant registry. */
export interface MerchantDirectory {
  /**
   * Verifies the opaque merchant session object (the one the page passed to completeMerchantValidation):
   * platform signature, expiry (5 min), and marks it used (single use, atomically). Throws AppError
   * 'merchant_session_invalid' | 'merchant_session_expired' | 'merchant_session_used'.
   */
  redeemSession(session: unknown, now?: Date): Promise<MerchantSessionClaims>;
  /**
   * The PEM of the merchant's newest active payment-processing certificate (of that key type if given);
   * throws AppError 'merchant_not_found' / 'merchant_certificate_missing'.
   */
  processingCertificatePem(merchantIdentifier: string, keyType?: 'ec_p256' | 'rsa_2048'): Promise<string>;
}

export interface MerchantView {
  id: string;
  object: 'merchant';
  merchant_identifier: string;
  team_id: string;
  display_name: string;
  status: string;
  created_at: string;
}

export interface DomainView {
  id: string;
  object: 'merchant_domain';
  merchant_id: string;
  domain: string;
  status: 'pending' | 'verified';
  association_file: { path: string; content: string };
  verified_at: string | null;
  last_checked_at: string | null;
  last_failure: string | null;
  created_at: string;
}

export interface CertificateView {
  id: string;
  object: 'merchant_certificate';
  merchant_identifier: string;
  kind: 'processing' | 'identity';
  key_type: 'ec_p256' | 'rsa_2048';
  public_key_hash: string;
  serial: string;
  certificate_pem: string;
  not_before: string;
  not_after: string;
  status: 'active' | 'revoked';
  revoked_at: string | null;
  created_at: string;
}

export interface IssuedCertificateView {
  certificate: CertificateView;
  certificate_pem: string;
  chain_pem: string;
  private_key_pem?: string;
}

export interface StartSessionRequest {
  merchantIdentifier: string;
  displayName: string;
  initiative: 'web' | 'in_app';
  initiativeContext: string;
}

const iso = (d: Date | string | null): string | null => (d === null ? null : new Date(d).toISOString());

export function merchantView(m: MerchantRow): MerchantView {
  return { id: m.id, object: 'merchant', merchant_identifier: m.merchant_identifier, team_id: m.team_id, display_name: m.display_name, status: m.status, created_at: iso(m.created_at)! };
}

export function domainView(d: DomainRow): DomainView {
  return {
    id: d.id,
    object: 'merchant_domain',
    merchant_id: d.merchant_id,
    domain: d.domain,
    status: d.status,
    association_file: { path: ASSOCIATION_PATH, content: d.association },
    verified_at: iso(d.verified_at),
    last_checked_at: iso(d.last_checked_at),
    last_failure: d.last_failure,
    created_at: iso(d.created_at)!,
  };
}

export function certificateView(c: MerchantCertificate): CertificateView {
  return {
    id: c.id,
    object: 'merchant_certificate',
    merchant_identifier: c.merchantIdentifier,
    kind: c.kind,
    key_type: c.keyType,
    public_key_hash: c.publicKeyHash,
    serial: c.serial,
    certificate_pem: c.certificatePem,
    not_before: iso(c.notBefore)!,
    not_after: iso(c.notAfter)!,
    status: c.status,
    revoked_at: iso(c.revokedAt),
    created_at: iso(c.createdAt)!,
  };
}

export function issuedView(i: IssuedCertificate): IssuedCertificateView {
  return {
    certificate: certificateView(i.certificate),
    certificate_pem: i.certificatePem,
    chain_pem: i.chainPem,
    ...(i.privateKeyPem ? { private_key_pem: i.privateKeyPem.reveal() } : {}),
  };
}

export interface MerchantServiceDeps {
  db: Database;
  apiKeys: ApiKeys;
  pki: PaymentPki;
  /** The HMAC key of merchant session signatures (derived from the KEK: every process of a deployment shares it). */
  sessionKey: Uint8Array;
  clock?: () => Date;
  domains?: Partial<DomainPolicy>;
}

/**
 * The merchant registry (merchants, their domains and certificates) and merchant validation (the
 * sessions answered over mutual TLS and redeemed once by the in-app payment flow).
 */
export class MerchantService implements MerchantDirectory {
  readonly #db: Database;
  readonly #apiKeys: ApiKeys;
  readonly #pki: PaymentPki;
  readonly #key: Uint8Array;
  readonly #clock: () => Date;
  readonly #policy: DomainPolicy;
  /** The running merchant-validation listener's URL (set when it starts), which the ApplePaySession script names. */
  validationUrl: string | undefined;

  constructor(deps: MerchantServiceDeps) {
    this.#db = deps.db;
    this.#apiKeys = deps.apiKeys;
    this.#pki = deps.pki;
    this.#key = deps.sessionKey;
    this.#clock = deps.clock ?? (() => new Date());
    this.#policy = { allowLoopback: true, timeoutMs: 5000, ...deps.domains };
  }

  // ---- merchants ----

  /** Registers a merchant and makes its first merchant API key (the secret is returned this once). */
  async createMerchant(input: { merchantIdentifier: string; displayName: string; teamId?: string | undefined }): Promise<{ merchant: MerchantView; apiKey: { id: string; secret: string; prefix: string } }> {
    if (!MERCHANT_IDENTIFIER_RE.test(input.merchantIdentifier)) {
      throw new AppError('parameter_invalid', { param: 'merchant_identifier', message: 'merchant_identifier must look like merchant.com.example (letters, digits, ".", "-", "_"; at most 128 characters).' });
    }
    const teamId = input.teamId ?? defaultTeamId(input.merchantIdentifier);
    let row: MerchantRow;
    try {
      row = await merchantRepo.insertMerchant(this.#db, {
        id: newId('mch', this.#clock().getTime()),
        merchant_identifier: input.merchantIdentifier,
        team_id: teamId,
        display_name: input.displayName,
      });
    } catch (err) {
      if (isUniqueViolation(err, 'merchants_identifier_unique')) throw new AppError('merchant_identifier_taken', { param: 'merchant_identifier' });
      throw err;
    }
    const key = await this.#apiKeys.create('merchant', row.id, `merchant ${row.merchant_identifier}`.slice(0, 200));
    return { merchant: merchantView(row), apiKey: { id: key.id, secret: key.secret, prefix: key.prefix } };
  }

  async merchant(id: string): Promise<MerchantView> {
    return merchantView(await this.#merchantRow(this.#db, id));
  }

  async merchantByIdentifier(merchantIdentifier: string): Promise<MerchantView> {
    const row = await merchantRepo.merchantByIdentifier(this.#db, merchantIdentifier);
    if (!row) throw new AppError('merchant_not_found', { param: 'merchant_identifier' });
    return merchantView(row);
  }

  async merchants(page: PageParams): Promise<Page<MerchantView>> {
    const p = await merchantRepo.listMerchants(this.#db, page);
    return { ...p, data: p.data.map(merchantView) };
  }

  async #merchantRow(sql: Sql, id: string): Promise<MerchantRow> {
    const row = await merchantRepo.merchantById(sql, id);
    if (!row) throw new AppError('merchant_not_found', { param: 'merchant_id' });
    return row;
  }

  // ---- domains ----

  /** Registers a domain (pending until verified) and returns the association file content to serve. */
  async addDomain(merchantId: string, domainInput: string, sql: Sql = this.#db): Promise<DomainView> {
    const merchant = await this.#merchantRow(sql, merchantId);
    const domain = normalizeDomain(domainInput, this.#policy);
    try {
      const row = await merchantRepo.insertDomain(sql, {
        id: newId('mdom', this.#clock().getTime()),
        merchant_id: merchant.id,
        domain,
        association: newAssociation(merchant.merchant_identifier, domain, this.#clock()),
      });
      return domainView(row);
    } catch (err) {
      if (isUniqueViolation(err, 'merchant_domains_unique')) throw new AppError('merchant_domain_taken', { param: 'domain' });
      throw err;
    }
  }

  async domains(merchantId: string): Promise<DomainView[]> {
    await this.#merchantRow(this.#db, merchantId);
    return (await merchantRepo.domains(this.#db, merchantId)).map(domainView);
  }

  async domain(merchantId: string, domainId: string): Promise<DomainView> {
    const row = await merchantRepo.domain(this.#db, merchantId, domainId);
    if (!row) throw new AppError('resource_missing', { param: 'domain_id' });
    return domainView(row);
  }

  /**
   * Fetches the domain's association file and compares it with the one the platform gave. Success
   * verifies the domain; failure is recorded (with a fixed reason) and answered domain_verification_failed.
   */
  async verifyDomain(merchantId: string, domainId: string): Promise<DomainView> {
    const row = await merchantRepo.domain(this.#db, merchantId, domainId);
    if (!row) throw new AppError('resource_missing', { param: 'domain_id' });
    // The fetch runs outside any transaction (it waits on another machine).
    const failure = await checkAssociation(row.domain, row.association, this.#policy);
    const updated = await merchantRepo.recordCheck(this.#db, row.id, this.#clock(), failure ?? null);
    if (!updated) throw new AppError('resource_missing', { param: 'domain_id' });
    if (failure) throw new AppError('domain_verification_failed', { param: 'domain_id', message: `The domain could not be verified: ${failure}.` });
    return domainView(updated);
  }

  async removeDomain(merchantId: string, domainId: string): Promise<void> {
    if (!(await merchantRepo.deleteDomain(this.#db, merchantId, domainId))) throw new AppError('resource_missing', { param: 'domain_id' });
  }

  // ---- certificates ----

  /**
   * Issues a payment-processing or identity certificate: from the merchant's CSR, or for a key pair the
   * platform generates (EC P-256 unless RSA 2048 is asked for) whose private key is returned once.
   */
  async issueCertificate(merchantId: string, input: { kind: 'processing' | 'identity'; csr?: string | undefined; keyType?: 'ec_p256' | 'rsa_2048' | undefined }): Promise<IssuedCertificate> {
    const merchant = await this.#merchantRow(this.#db, merchantId);
    if (input.csr !== undefined && input.keyType !== undefined) {
      throw new AppError('parameter_invalid', { param: 'key_type', message: 'key_type is for keys the platform generates; a CSR names its own key.' });
    }
    const base = { merchantIdentifier: merchant.merchant_identifier, teamId: merchant.team_id };
    const req = input.csr !== undefined ? { ...base, csrPem: input.csr } : { ...base, generate: input.keyType === 'rsa_2048' ? ('rsa' as const) : ('ec' as const) };
    return input.kind === 'processing' ? this.#pki.issueProcessingCertificate(req) : this.#pki.issueIdentityCertificate(req);
  }

  async certificates(merchantId: string, kind?: 'processing' | 'identity'): Promise<MerchantCertificate[]> {
    const merchant = await this.#merchantRow(this.#db, merchantId);
    const all = await this.#pki.certificatesOf(merchant.merchant_identifier);
    return kind ? all.filter((c) => c.kind === kind) : all;
  }

  /** Revokes one certificate; revoking a revoked one answers it as it is. */
  async revokeCertificate(merchantId: string, certificateId: string): Promise<MerchantCertificate> {
    const merchant = await this.#merchantRow(this.#db, merchantId);
    const current = (await this.#pki.certificatesOf(merchant.merchant_identifier)).find((c) => c.id === certificateId);
    if (!current) throw new AppError('resource_missing', { param: 'certificate_id' });
    if (current.status === 'revoked') return current;
    try {
      return await this.#pki.revokeCertificate(merchant.merchant_identifier, certificateId);
    } catch (err) {
      // Revoked concurrently: answer the state it is in now.
      if (err instanceof AppError && err.code === 'resource_missing') {
        const again = (await this.#pki.certificatesOf(merchant.merchant_identifier)).find((c) => c.id === certificateId);
        if (again) return again;
      }
      throw err;
    }
  }

  // ---- merchant validation ----

  /**
   * The identity certificate a TLS client presented (DER): must be one this platform issued (same
   * bytes as on record), an identity certificate, active and within its validity. The TLS layer has
   * already checked the chain.
   */
  async identityOf(certificateDer: Uint8Array | undefined): Promise<{ certificateId: string; merchantIdentifier: string }> {
    if (!certificateDer || certificateDer.length === 0) throw new AppError('merchant_identity_required');
    let serial: string;
    try {
      serial = new X509Certificate(Buffer.from(certificateDer)).serialNumber.toLowerCase().replace(/^(00)+/, '');
    } catch {
      throw new AppError('merchant_identity_required');
    }
    const now = this.#clock();
    for (const row of await merchantRepo.certificateBySerial(this.#db, serial)) {
      let der: Buffer;
      try {
        der = new X509Certificate(row.certificate_pem).raw;
      } catch {
        continue;
      }
      if (!der.equals(Buffer.from(certificateDer))) continue;
      if (row.kind !== 'identity' || row.status !== 'active' || new Date(row.not_before) > now || new Date(row.not_after) <= now) break;
      return { certificateId: row.id, merchantIdentifier: row.merchant_identifier };
    }
    throw new AppError('merchant_identity_required');
  }

  /** POST /paymentservices/startSession: checks the request against the presented identity and answers a signed, single-use session. */
  async startSession(certificateDer: Uint8Array | undefined, body: unknown): Promise<MerchantSessionObject> {
    const identity = await this.identityOf(certificateDer);
    const req = parseStartSession(body);
    if (req.merchantIdentifier !== identity.merchantIdentifier) throw new AppError('merchant_identity_mismatch', { param: 'merchantIdentifier' });
    const merchant = await merchantRepo.merchantByIdentifier(this.#db, req.merchantIdentifier);
    if (!merchant || merchant.status !== 'active') throw new AppError('merchant_not_found', { param: 'merchantIdentifier' });
    let domainName = req.initiativeContext;
    if (req.initiative === 'web') {
      let domain: string;
      try {
        domain = normalizeDomain(req.initiativeContext, this.#policy);
      } catch {
        throw new AppError('merchant_domain_unverified', { param: domainParam(body) });
      }
      if (!(await merchantRepo.verifiedDomain(this.#db, merchant.id, domain))) throw new AppError('merchant_domain_unverified', { param: domainParam(body) });
      domainName = domain;
    }
    const now = this.#clock();
    const id = randomBytes(32).toString('hex').toUpperCase();
    const nonce = randomBytes(4).toString('hex');
    const hash = createHash('sha256').update(merchant.merchant_identifier, 'utf8').digest('hex').toUpperCase();
    const expiresAt = new Date(now.getTime() + MERCHANT_SESSION_TTL_MS);
    await merchantRepo.insertSession(this.#db, {
      id,
      merchant_id: merchant.id,
      identity_certificate_id: identity.certificateId,
      initiative: req.initiative,
      initiative_context: req.initiativeContext,
      domain_name: domainName,
      display_name: req.displayName,
      nonce,
      issued_at: now,
      expires_at: expiresAt,
    });
    // Now and then, forget sessions long expired (their signed expiry refuses them before any lookup).
    if (randomBytes(1)[0]! < 4) await merchantRepo.purgeSessions(this.#db, new Date(now.getTime() - 86_400_000)).catch(() => {});
    return signSession(this.#key, {
      epochTimestamp: now.getTime(),
      expiresAt: expiresAt.getTime(),
      merchantSessionIdentifier: id,
      nonce,
      merchantIdentifier: hash,
      domainName,
      displayName: req.displayName,
      operationalAnalyticsIdentifier: `${req.displayName}:${hash}`,
      retries: 0,
      pspId: hash,
    });
  }

  async redeemSession(session: unknown, now?: Date, sql: Sql = this.#db): Promise<MerchantSessionClaims> {
    const s = verifySession(this.#key, session);
    const at = now ?? this.#clock();
    if (at.getTime() >= s.expiresAt) throw new AppError('merchant_session_expired');
    if (!/^[0-9A-F]{64}$/.test(s.merchantSessionIdentifier)) throw new AppError('merchant_session_invalid');
    const row = await merchantRepo.redeemSession(sql, s.merchantSessionIdentifier, at);
    if (row) return claimsOf(row);
    const existing = await merchantRepo.session(sql, s.merchantSessionIdentifier);
    if (!existing) throw new AppError('merchant_session_invalid');
    if (existing.used_at) throw new AppError('merchant_session_used');
    if (new Date(existing.expires_at) <= at) throw new AppError('merchant_session_expired');
    throw new AppError('merchant_session_invalid');
  }

  async processingCertificatePem(merchantIdentifier: string, keyType?: 'ec_p256' | 'rsa_2048'): Promise<string> {
    const merchant = typeof merchantIdentifier === 'string' && MERCHANT_IDENTIFIER_RE.test(merchantIdentifier) ? await merchantRepo.merchantByIdentifier(this.#db, merchantIdentifier) : undefined;
    if (!merchant) throw new AppError('merchant_not_found', { param: 'merchant_identifier' });
    const pem = await merchantRepo.newestProcessingCertificate(this.#db, merchantIdentifier, keyType ?? null, this.#clock());
    if (!pem) throw new AppError('merchant_certificate_missing', { param: 'merchant_identifier' });
    return pem;
  }
}

/** The field that named the domain: initiativeContext, or domainName in the original shape. */
function domainParam(body: unknown): string {
  const b = body as Record<string, unknown>;
  return b.initiativeContext === undefined && b.domainName !== undefined ? 'domainName' : 'initiativeContext';
}

function hasControl(v: string): boolean {
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) return true;
  }
  return false;
}

function claimsOf(row: SessionRow): MerchantSessionClaims {
  return {
    merchantIdentifier: row.merchant_identifier,
    merchantSessionIdentifier: row.id,
    domainName: row.domain_name,
    displayName: row.display_name,
    initiative: row.initiative,
    initiativeContext: row.initiative_context,
    nonce: row.nonce,
  };
}

/**
 * The startSession body in both shapes merchants send: Apple's current one `{ merchantIdentifier,
 * displayName, initiative, initiativeContext }` and the original Apple Pay JS one `{ merchantIdentifier,
 * domainName, displayName }` (a web session for that domain; Apple's 2016 sample and many payment
 * providers' session APIs still send it). When both name a domain, initiativeContext is the one used.
 * Anything else is parameter_invalid naming the field.
 */
export function parseStartSession(body: unknown): StartSessionRequest {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new AppError('body_invalid');
  const b = body as Record<string, unknown>;
  const str = (name: string, max: number): string => {
    const v = b[name];
    if (typeof v !== 'string' || v.length < 1 || v.length > max || hasControl(v)) {
      throw new AppError('parameter_invalid', { param: name, message: `${name} must be a string of 1 to ${max} printable characters.` });
    }
    return v;
  };
  const merchantIdentifier = str('merchantIdentifier', 128);
  if (!MERCHANT_IDENTIFIER_RE.test(merchantIdentifier)) throw new AppError('parameter_invalid', { param: 'merchantIdentifier', message: 'merchantIdentifier must look like merchant.com.example.' });
  const displayName = str('displayName', 64);
  if (b.initiative === undefined) {
    // The original shape: a web session for domainName.
    if (b.domainName === undefined && b.initiativeContext === undefined) {
      throw new AppError('parameter_invalid', { param: 'initiative', message: 'Name the domain: initiative "web" with initiativeContext, or domainName.' });
    }
    return { merchantIdentifier, displayName, initiative: 'web', initiativeContext: b.initiativeContext !== undefined ? str('initiativeContext', 255) : str('domainName', 255) };
  }
  const initiative = b.initiative;
  if (initiative !== 'web' && initiative !== 'in_app') throw new AppError('parameter_invalid', { param: 'initiative', message: 'initiative must be "web" or "in_app".' });
  if (initiative === 'web' && b.initiativeContext === undefined && b.domainName !== undefined) return { merchantIdentifier, displayName, initiative, initiativeContext: str('domainName', 255) };
  const initiativeContext = str('initiativeContext', 255);
  return { merchantIdentifier, displayName, initiative, initiativeContext };
}
