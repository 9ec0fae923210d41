import type { Database } from '../../infra/db/database.js';
import type { EnvelopeCipher } from '../../infra/keys/envelope.js';
import type { Logger } from '../../infra/logger.js';
import { PartyError, type Transport, type TransportRequest } from '../../infra/transport.js';
import type { StoreKeyVault } from './keys.js';
import { storeRepo as repo, type KeyKind } from './repository.js';

/** The store at the acquirer: a clothing shop (MCC 5651) with one e-commerce terminal. */
export const STORE_ACQUIRER = { mcc: '5651', country: 'US', city: 'San Francisco', currency: 'USD', cardAcceptorId: 'TESSERAOUTFIT01', terminalId: 'TOWEB001' } as const;

/** How the store authenticates while setting itself up (in one process: keys derived from the KEK). */
export interface StoreCredentials {
  /**
   * The operator's (admin) key that registers the store with the platform's merchant registry and signs
   * it up with the acquirer, as the sandbox operator does for every merchant. Afterwards the store
   * uses the merchant keys those answers gave it.
   */
  adminKey: string;
}

export interface OnboardingApi {
  /** Registers the merchant (or finds it, when registered before); returns the registry's id and a merchant API key. */
  registerMerchant(merchantIdentifier: string, displayName: string): Promise<{ merchantId: string; apiKey: string }>;
  /** Adds the domain (or finds it); returns what to serve at the association path. */
  addDomain(merchantKey: string, merchantId: string, domain: string): Promise<{ domainId: string; association: string; verified: boolean }>;
  verifyDomain(merchantKey: string, merchantId: string, domainId: string): Promise<void>;
  /** A certificate for the store's own key (PKCS#10 request). */
  issueCertificate(merchantKey: string, merchantId: string, kind: KeyKind, csrPem: string): Promise<{ certificatePem: string; chainPem: string }>;
  /** Signs the store up with the acquirer; returns its acquirer merchant API key (shown once). */
  acquirerApiKey(name: string): Promise<string>;
}

interface DomainState {
  domain: string;
  domainId: string;
  association: string;
  verified: boolean;
}

/**
 * The store's set-up as a merchant, one recorded step at a time: a restart (or a crash half-way)
 * repeats only what is missing. Steps: register → domain (association served, then verified) →
 * processing certificate → identity certificate → acquirer API key.
 */
export class StoreSetup {
  #merchantId: string | undefined;
  #domain: DomainState | undefined;
  #acquirerKey: string | undefined;
  #ready = false;

  constructor(
    private readonly db: Database,
    private readonly cipher: EnvelopeCipher,
    private readonly vault: StoreKeyVault,
    private readonly api: OnboardingApi,
    private readonly options: { merchantIdentifier: string; displayName: string; log: Logger },
  ) {}

  ready(): boolean {
    return this.#ready;
  }

  domain(): string | undefined {
    return this.#domain?.verified ? this.#domain.domain : undefined;
  }

  association(): string | undefined {
    return this.#domain?.association;
  }

  acquirerApiKey(): string | undefined {
    return this.#acquirerKey;
  }

  async run(domain: string): Promise<void> {
    const { log, merchantIdentifier, displayName } = this.options;
    const steps = new Map((await repo.setupSteps(this.db)).map((s) => [s.step, s]));

    const registered = steps.get('registered');
    let merchantKey: string;
    if (registered?.secret_enc) {
      this.#merchantId = String(registered.result.merchantId);
      merchantKey = await this.cipher.decryptString(registered.secret_enc, 'store:setup:platform');
    } else {
      const r = await this.api.registerMerchant(merchantIdentifier, displayName);
      this.#merchantId = r.merchantId;
      merchantKey = r.apiKey;
      await repo.recordSetupStep(this.db, 'registered', { merchantId: r.merchantId, merchantIdentifier }, await this.cipher.encrypt(r.apiKey, 'store:setup:platform'));
      log.info({ merchant_id: this.#merchantId }, 'store: registered with the merchant registry');
    }
    const merchantId = this.#merchantId;

    // The domain: the platform's origin this process answers on (a restart on another port adds that one).
    const known = steps.get('domain')?.result as DomainState | undefined;
    if (known && known.domain === domain) this.#domain = known;
    else {
      const added = await this.api.addDomain(merchantKey, merchantId, domain);
      this.#domain = { domain, ...added };
      await repo.recordSetupStep(this.db, 'domain', { ...this.#domain });
    }
    if (!this.#domain.verified) {
      // The association is served from now on (the route reads it from here); the platform fetches it.
      await this.api.verifyDomain(merchantKey, merchantId, this.#domain.domainId);
      this.#domain = { ...this.#domain, verified: true };
      await repo.recordSetupStep(this.db, 'domain', { ...this.#domain });
      log.info({ domain }, 'store: domain verified');
    }

    for (const kind of ['processing', 'identity'] as const) {
      if (await this.vault.hasCertified(kind)) continue;
      // A key made by an interrupted start is certified now rather than thrown away.
      const pending = (await this.vault.uncertified(kind))[0];
      const { id, csrPem } = pending ? { id: pending.id, csrPem: await this.#csrFor(pending.id, kind) } : await this.vault.generate(kind, 'ec_p256', merchantIdentifier);
      const issued = await this.api.issueCertificate(merchantKey, merchantId, kind, csrPem);
      await this.vault.attachCertificate(id, issued.certificatePem, issued.chainPem);
      log.info({ kind }, 'store: certificate issued for its own key');
    }

    const acquirer = steps.get('acquirer');
    if (acquirer?.secret_enc) this.#acquirerKey = await this.cipher.decryptString(acquirer.secret_enc, 'store:setup:acquirer');
    else {
      const key = await this.api.acquirerApiKey(displayName);
      await repo.recordSetupStep(this.db, 'acquirer', { at: new Date().toISOString() }, await this.cipher.encrypt(key, 'store:setup:acquirer'));
      this.#acquirerKey = key;
      log.info('store: signed up with the acquirer');
    }
    this.#ready = true;
  }

  #csrFor(keyId: string, kind: KeyKind): Promise<string> {
    return this.vault.requestFor(keyId, kind, this.options.merchantIdentifier);
  }
}

/** The OnboardingApi over the platform's and the acquirer's public routes. */
export class PlatformOnboarding implements OnboardingApi {
  constructor(
    private readonly transport: Transport,
    private readonly credentials: StoreCredentials,
  ) {}

  async #call<T>(req: TransportRequest, ok: number[] = [200, 201]): Promise<T> {
    const res = await this.transport.request<T>(req);
    if (!ok.includes(res.status)) throw new PartyError(res.status, res.body as never, req.path.split('/')[1] ?? 'platform');
    return res.body;
  }

  async registerMerchant(merchantIdentifier: string, displayName: string): Promise<{ merchantId: string; apiKey: string }> {
    const admin = this.credentials.adminKey;
    try {
      const r = await this.#call<{ merchant: { id: string }; api_key: { secret: string } }>({
        method: 'POST',
        path: '/platform/v1/merchants',
        apiKey: admin,
        body: { merchant_identifier: merchantIdentifier, display_name: displayName },
      });
      return { merchantId: r.merchant.id, apiKey: r.api_key.secret };
    } catch (err) {
      if (!(err instanceof PartyError) || err.code !== 'merchant_identifier_taken') throw err;
    }
    // Registered by an earlier start that stopped before recording it: find it and take a fresh key.
    const found = (await this.#findAll<{ id: string; merchant_identifier: string }>('/platform/v1/merchants')).find((m) => m.merchant_identifier === merchantIdentifier);
    if (!found) throw new Error('the merchant registry says the store is registered but does not list it');
    const key = await this.#call<{ secret: string }>({
      method: 'POST',
      path: '/ops/v1/api-keys',
      apiKey: admin,
      body: { role: 'merchant', owner_id: found.id, name: `${displayName}: store server` },
    });
    return { merchantId: found.id, apiKey: key.secret };
  }

  async addDomain(merchantKey: string, merchantId: string, domain: string): Promise<{ domainId: string; association: string; verified: boolean }> {
    const path = `/platform/v1/merchants/${encodeURIComponent(merchantId)}/domains`;
    type Domain = { id: string; domain: string; status: 'pending' | 'verified'; association_file: { content: string } };
    const view = (d: Domain) => ({ domainId: d.id, association: d.association_file.content, verified: d.status === 'verified' });
    try {
      return view(await this.#call<Domain>({ method: 'POST', path, apiKey: merchantKey, body: { domain } }));
    } catch (err) {
      if (!(err instanceof PartyError) || err.code !== 'merchant_domain_taken') throw err;
    }
    const list = await this.#call<{ data: Domain[] }>({ method: 'GET', path, apiKey: merchantKey });
    const found = list.data.find((d) => d.domain === domain.toLowerCase());
    if (!found) throw new Error('the merchant registry says the domain is registered but does not list it');
    return view(found);
  }

  async verifyDomain(merchantKey: string, merchantId: string, domainId: string): Promise<void> {
    await this.#call({ method: 'POST', path: `/platform/v1/merchants/${encodeURIComponent(merchantId)}/domains/${encodeURIComponent(domainId)}/verify`, apiKey: merchantKey });
  }

  async issueCertificate(merchantKey: string, merchantId: string, kind: KeyKind, csrPem: string): Promise<{ certificatePem: string; chainPem: string }> {
    const r = await this.#call<{ certificate_pem: string; chain_pem: string }>({
      method: 'POST',
      path: `/platform/v1/merchants/${encodeURIComponent(merchantId)}/certificates`,
      apiKey: merchantKey,
      body: { kind, csr: csrPem },
    });
    return { certificatePem: r.certificate_pem, chainPem: r.chain_pem };
  }

  /**
   * Signs the store up with the acquirer (a merchant with a fixed card acceptor id, and an e-commerce
   * terminal with a fixed terminal id, so a repeat finds them) and returns the terminal's API key.
   */
  async acquirerApiKey(name: string): Promise<string> {
    const admin = this.credentials.adminKey;
    let merchantId: string | undefined;
    try {
      const m = await this.#call<{ id: string }>({
        method: 'POST',
        path: '/acquirer/v1/merchants',
        apiKey: admin,
        idempotencyKey: `store-setup:${STORE_ACQUIRER.cardAcceptorId}`,
        body: { name, mcc: STORE_ACQUIRER.mcc, country: STORE_ACQUIRER.country, city: STORE_ACQUIRER.city, currency: STORE_ACQUIRER.currency, card_acceptor_id: STORE_ACQUIRER.cardAcceptorId },
      });
      merchantId = m.id;
    } catch (err) {
      if (!(err instanceof PartyError) || err.code !== 'card_acceptor_id_taken') throw err;
      merchantId = (await this.#findAll<{ id: string; card_acceptor_id: string }>('/acquirer/v1/merchants')).find((m) => m.card_acceptor_id === STORE_ACQUIRER.cardAcceptorId)?.id;
      if (!merchantId) throw new Error('the acquirer says the store is signed up but does not list it');
    }
    const terminalsPath = `/acquirer/v1/merchants/${encodeURIComponent(merchantId)}/terminals`;
    try {
      const t = await this.#call<{ api_key: { secret: string } }>({
        method: 'POST',
        path: terminalsPath,
        apiKey: admin,
        body: { kind: 'ecommerce', terminal_id: STORE_ACQUIRER.terminalId, name: `${name} web checkout` },
      });
      return t.api_key.secret;
    } catch (err) {
      if (!(err instanceof PartyError) || err.code !== 'terminal_id_taken') throw err;
    }
    const terminal = (await this.#findAll<{ id: string; terminal_id: string }>(terminalsPath)).find((t) => t.terminal_id === STORE_ACQUIRER.terminalId);
    if (!terminal) throw new Error('the acquirer says the store\'s terminal exists but does not list it');
    const key = await this.#call<{ secret: string }>({
      method: 'POST',
      path: '/ops/v1/api-keys',
      apiKey: admin,
      body: { role: 'terminal', owner_id: terminal.id, name: `${name}: store server` },
    });
    return key.secret;
  }

  /** Every item of a cursor-paged admin list. */
  async #findAll<T extends { id: string }>(path: string): Promise<T[]> {
    const out: T[] = [];
    let after: string | undefined;
    for (;;) {
      const page = await this.#call<{ data: T[]; has_more: boolean }>({
        method: 'GET',
        path: `${path}?limit=100${after ? `&starting_after=${encodeURIComponent(after)}` : ''}`,
        apiKey: this.credentials.adminKey,
      });
      out.push(...page.data);
      if (!page.has_more || page.data.length === 0) return out;
      after = page.data.at(-1)!.id;
    }
  }
}
