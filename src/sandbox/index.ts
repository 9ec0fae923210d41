/**
 * The sandbox seed and its public overview (issue #8, contract C5 in docs/sandbox.md).
 *
 * What the seed adds on top of the parties' own seeds (the issuers' test cards, src/issuer/seed.ts; the
 * acquirer's merchants and terminals, src/acquirer/seed.ts): a demo wallet user on the platform, and a
 * read-only operations key for the console. Every secret the sandbox shows (the demo password, the
 * terminals' API keys, the console's ops key) is DERIVED from the KEK, never stored: processes sharing
 * the KEK derive the same ones, the database holds only their hashes, and nothing is in clear at rest.
 * Only the sandbox test card numbers are shown in clear: they are public test numbers (src/issuer/sandbox-cards.ts).
 */
import { createHmac } from 'node:crypto';
import type { SeededTerminal } from '../acquirer/seed.js';
import { SANDBOX_ACQUIRER } from '../acquirer/seed.js';
import type { KeyEncryptionKeys } from '../infra/keys/kek.js';
import { AppError } from '../infra/errors.js';
import { SANDBOX_CARDS, SANDBOX_ISSUERS } from '../issuer/sandbox-cards.js';
import type { PartyModule } from '../server/party.js';
import { v1_sandbox_get } from './routes/v1_sandbox_get.js';
import { v1_sandbox_ops_key_get } from './routes/v1_sandbox_ops_key_get.js';

export const DEMO_USER_EMAIL = 'demo@example.com';
export const DEMO_USER_NAME = 'Demo User';

export type SandboxPath = 'green' | 'yellow' | 'red';

export interface SandboxOverview {
  demoUser: { email: string; password: string };
  testCards: {
    issuerId: string;
    issuerName: string;
    network: 'visa' | 'mastercard' | 'amex' | 'discover';
    number: string;
    expiry: string;
    cvv: string;
    cardholderName: string;
    path: SandboxPath;
    label: string;
  }[];
  terminals: {
    terminalId: string;
    merchantId: string;
    merchantName: string;
    mcc: string;
    country: string;
    currency: string;
    apiKey: string;
    /** Beyond C5 (additive): what a terminal needs to build a 0100 the acquirer accepts. */
    cardAcceptorId: string;
    city: string;
    kind: 'contactless' | 'ecommerce' | string;
  }[];
  store: { merchantIdentifier: string; path: string } | null;
}

/** The online store's part of the overview (H5's src/merchant/store), when that module provides it. */
export type StoreInfoSource = () => Promise<{ merchantIdentifier: string; path: string } | null>;

const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/** A sandbox secret derived from the KEK: the same in every process that shares the KEK, stored nowhere. */
export function sandboxSecret(kek: KeyEncryptionKeys, purpose: string, length = 24): string {
  const bytes = createHmac('sha256', kek.derive('sandbox-secrets')).update(purpose).digest();
  return Array.from(bytes.subarray(0, length), (b) => ALPHABET[b % 62]).join('');
}

const NETWORK_NAMES = { visa: 'Visa', mastercard: 'Mastercard', amex: 'American Express', discover: 'Discover' } as const;

/** The public test cards, one or more per network and ID&V path (expired cards have no path and are left out). */
export function sandboxTestCards(): SandboxOverview['testCards'] {
  return SANDBOX_CARDS.filter((c) => c.outcome !== 'card_expired').map((c) => {
    const issuer = SANDBOX_ISSUERS.find((i) => i.id === c.issuerId)!;
    const path = c.outcome as SandboxPath;
    const variant = c.key.slice(c.network.length + 1).replace(/_/g, ' ');
    return {
      issuerId: c.issuerId,
      issuerName: issuer.name,
      network: c.network,
      number: c.number,
      expiry: `${String(c.expMonth).padStart(2, '0')}/${String(c.expYear % 100).padStart(2, '0')}`,
      cvv: c.cvv,
      cardholderName: c.account.holderName,
      path,
      label: `${NETWORK_NAMES[c.network]} ${variant}: ${c.purpose}`,
    };
  });
}

export interface SandboxDeps {
  kek: KeyEncryptionKeys;
  /**
   * Signs the demo user up on the platform (the platform's own sign-up, so the password is hashed the same
   * way); throws AppError 'email_taken' when the user exists. Not through the public route: a seed must not
   * use up the sign-up rate limit of the address that the first real users come from.
   */
  signUp: (input: { email: string; password: string; name: string }) => Promise<unknown>;
  /** The acquirer's seeded terminals with their (KEK-derived) API keys; filled once the acquirer is seeded. */
  terminals: () => (SeededTerminal & { api_key: string })[];
  /** The console's read-only ops key (KEK-derived, registered by the composition root). */
  opsKey: string;
  store?: StoreInfoSource;
}

export interface Sandbox extends PartyModule {
  readonly demoPassword: string;
  /** Creates the demo user when it does not exist. Idempotent, also when two processes start at once. */
  seed(): Promise<{ created: boolean }>;
  overview(): Promise<SandboxOverview>;
}

export function createSandbox(deps: SandboxDeps): Sandbox {
  const demoPassword = `demo-${sandboxSecret(deps.kek, 'demo-user-password', 16)}`;
  const overview = async (): Promise<SandboxOverview> => {
    const terminals = deps.terminals().map((t) => {
      const spec = SANDBOX_ACQUIRER.find((s) => s.key === t.key)!;
      return {
        terminalId: t.terminal_id,
        merchantId: t.merchant_id,
        merchantName: t.merchant_name,
        mcc: spec.merchant.mcc,
        country: spec.merchant.country,
        currency: spec.merchant.currency,
        apiKey: t.api_key,
        cardAcceptorId: t.card_acceptor_id,
        city: spec.merchant.city ?? '',
        kind: t.kind,
      };
    });
    let store: SandboxOverview['store'] = null;
    if (deps.store) {
      try {
        store = await deps.store();
      } catch {
        store = null;
      }
    }
    return { demoUser: { email: DEMO_USER_EMAIL, password: demoPassword }, testCards: sandboxTestCards(), terminals, store };
  };
  return {
    name: 'sandbox',
    demoPassword,
    routes: [v1_sandbox_get(overview), v1_sandbox_ops_key_get(deps.opsKey)],
    overview,
    async seed() {
      try {
        await deps.signUp({ email: DEMO_USER_EMAIL, password: demoPassword, name: DEMO_USER_NAME });
        return { created: true };
      } catch (err) {
        // Created by an earlier start, or by another process starting at the same moment.
        if (err instanceof AppError && err.code === 'email_taken') return { created: false };
        throw err;
      }
    },
  };
}

/**
 * The online store's sandbox info, from src/merchant/store when that module exports `storeSandboxInfo`
 * (loaded by URL so this module does not depend on it being there).
 */
export function storeInfoFromModule(): StoreInfoSource {
  return async () => {
    const url = new URL('../merchant/store/index.js', import.meta.url).href;
    let mod: { storeSandboxInfo?: () => unknown };
    try {
      mod = (await import(url)) as typeof mod;
    } catch {
      return null;
    }
    if (typeof mod.storeSandboxInfo !== 'function') return null;
    const info = (await mod.storeSandboxInfo()) as { merchantIdentifier?: unknown; path?: unknown } | null | undefined;
    if (!info || typeof info.merchantIdentifier !== 'string') return null;
    return { merchantIdentifier: info.merchantIdentifier, path: typeof info.path === 'string' ? info.path : '/store' };
  };
}
