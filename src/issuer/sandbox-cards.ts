/**
 * The sandbox's issuing banks and test cards, as data: the seed creates them, `GET /sandbox/cards` lists
 * them, docs, the CLI and the web wallet can print them. Only two kinds of numbers appear here: the
 * well-known public test numbers every payment sandbox documents (4111 1111 1111 1111 ...), and this
 * sandbox's own test numbers, which belong to no one. Every number is Luhn-valid and inside a card range
 * of its issuer (never in a token range of src/protocol/cards).
 *
 * Pure: imports only protocol code, so any module (including the browser build) may use it.
 */
import { detectNetwork, type Network } from '../protocol/cards/index.js';
import type { Secret } from '../protocol/secret.js';

export interface SandboxIssuer {
  id: string;
  name: string;
  country: string;
  /** Card BIN prefixes this issuer issues from. */
  bins: readonly { prefix: string; network: Network }[];
}

export const TESSERA_BANK = 'iss_tessera_bank';
export const SANDBOX_CREDIT_UNION = 'iss_sandbox_credit_union';

export const SANDBOX_ISSUERS: readonly SandboxIssuer[] = [
  {
    id: TESSERA_BANK,
    name: 'Tessera Bank',
    country: 'US',
    bins: [
      { prefix: '411111', network: 'visa' },
      { prefix: '555555', network: 'mastercard' },
    ],
  },
  {
    id: SANDBOX_CREDIT_UNION,
    name: 'Sandbox Credit Union',
    country: 'US',
    bins: [
      { prefix: '378282', network: 'amex' },
      { prefix: '601111', network: 'discover' },
    ],
  },
];

/**
 * Which issuer a card number belongs to, by the longest matching BIN prefix of the sandbox issuers.
 * The networks route issuer calls with it. In a real deployment this is the network's own BIN table
 * (issuers register their ranges with the network); the sandbox keeps one table both sides read.
 */
export function issuerIdForPan(pan: string | Secret): string | undefined {
  const digits = typeof pan === 'string' ? pan : pan.reveal();
  if (!/^\d{6,19}$/.test(digits)) return undefined;
  let best: { id: string; length: number } | undefined;
  for (const issuer of SANDBOX_ISSUERS) {
    for (const bin of issuer.bins) {
      if (digits.startsWith(bin.prefix) && bin.network === detectNetwork(digits) && (!best || bin.prefix.length > best.length)) {
        best = { id: issuer.id, length: bin.prefix.length };
      }
    }
  }
  return best?.id;
}

export type SandboxOutcome = 'green' | 'yellow' | 'red' | 'card_expired';

export interface SandboxCard {
  /** A stable name, e.g. `visa_yellow`. */
  key: string;
  network: Network;
  number: string;
  /** A public test number known from every network's and processor's documentation. */
  wellKnown: boolean;
  issuerId: string;
  product: 'credit' | 'debit';
  /** What the card is for, in one sentence. */
  purpose: string;
  /** What adding it to a wallet gives (with the right CVV and a valid expiry). */
  outcome: SandboxOutcome;
  /** The documented CVV: 123 (1234 for American Express). */
  cvv: string;
  /** The card's own expiry; cards with acceptAnyFutureExpiry take any month that has not passed. */
  expMonth: number;
  expYear: number;
  acceptAnyFutureExpiry: boolean;
  idvPolicy: 'green' | 'yellow' | 'red';
  status: 'active' | 'blocked' | 'expired';
  account: { holderName: string; currency: string; postedBalance: number; creditLimit: number };
  /** Sandbox destinations for the one-time codes (never real ones). */
  phone: string;
  email: string;
}

const CVV = { visa: '123', mastercard: '123', amex: '1234', discover: '123' } as const satisfies Record<Network, string>;

interface Variant {
  suffix: string;
  wellKnown: boolean;
  product: 'credit' | 'debit';
  purpose: string;
  outcome: SandboxOutcome;
  idvPolicy: 'green' | 'yellow' | 'red';
  status: 'active' | 'blocked' | 'expired';
  postedBalance: number;
  creditLimit: number;
  expYear: number;
  expMonth: number;
  anyExpiry: boolean;
}

const VARIANTS: Record<'green' | 'yellow' | 'red' | 'debit_low_balance' | 'expired' | 'blocked', Omit<Variant, 'suffix' | 'wellKnown'>> = {
  green: { product: 'credit', purpose: 'Approved at once (green).', outcome: 'green', idvPolicy: 'green', status: 'active', postedBalance: 0, creditLimit: 500_000, expMonth: 12, expYear: 2030, anyExpiry: true },
  yellow: { product: 'credit', purpose: 'Always asks for a one-time code (yellow), sent by SMS or e-mail.', outcome: 'yellow', idvPolicy: 'yellow', status: 'active', postedBalance: 0, creditLimit: 500_000, expMonth: 12, expYear: 2030, anyExpiry: true },
  red: { product: 'credit', purpose: 'Always declined by the issuer (red, reason risk).', outcome: 'red', idvPolicy: 'red', status: 'active', postedBalance: 0, creditLimit: 500_000, expMonth: 12, expYear: 2030, anyExpiry: true },
  debit_low_balance: { product: 'debit', purpose: 'Debit card with 5.00 USD available: added at once, then declined for larger payments (insufficient funds).', outcome: 'green', idvPolicy: 'green', status: 'active', postedBalance: 500, creditLimit: 0, expMonth: 12, expYear: 2030, anyExpiry: true },
  expired: { product: 'credit', purpose: 'Expired in 12/2020: always refused as expired.', outcome: 'card_expired', idvPolicy: 'green', status: 'expired', postedBalance: 0, creditLimit: 500_000, expMonth: 12, expYear: 2020, anyExpiry: false },
  blocked: { product: 'credit', purpose: 'Blocked by the issuer: declined (red, reason card_not_active).', outcome: 'red', idvPolicy: 'green', status: 'blocked', postedBalance: 0, creditLimit: 500_000, expMonth: 12, expYear: 2030, anyExpiry: true },
};

const HOLDERS: Record<Network, { name: string; phone: string; email: string }> = {
  visa: { name: 'ADA LOVELACE', phone: '+15555550101', email: 'ada@example.com' },
  mastercard: { name: 'ALAN TURING', phone: '+15555550102', email: 'alan@example.com' },
  amex: { name: 'GRACE HOPPER', phone: '+15555550103', email: 'grace@example.com' },
  discover: { name: 'KATHERINE JOHNSON', phone: '+15555550104', email: 'katherine@example.com' },
};

/** Per network: the well-known number, then this sandbox's own test numbers (Luhn check digits computed once, checked by the tests). */
const NUMBERS: Record<Network, { issuerId: string } & Record<keyof typeof VARIANTS, string>> = {
  visa: { issuerId: TESSERA_BANK, green: '4111111111111111', yellow: '4111110000000013', red: '4111110000000021', debit_low_balance: '4111110000000039', expired: '4111110000000047', blocked: '4111110000000054' },
  mastercard: { issuerId: TESSERA_BANK, green: '5555555555554444', yellow: '5555550000000010', red: '5555550000000028', debit_low_balance: '5555550000000036', expired: '5555550000000044', blocked: '5555550000000051' },
  amex: { issuerId: SANDBOX_CREDIT_UNION, green: '378282246310005', yellow: '378282000000016', red: '378282000000024', debit_low_balance: '378282000000032', expired: '378282000000040', blocked: '378282000000057' },
  discover: { issuerId: SANDBOX_CREDIT_UNION, green: '6011111111111117', yellow: '6011110000000019', red: '6011110000000027', debit_low_balance: '6011110000000035', expired: '6011110000000043', blocked: '6011110000000050' },
};

export const SANDBOX_CARDS: readonly SandboxCard[] = (Object.keys(NUMBERS) as Network[]).flatMap((network) =>
  (Object.keys(VARIANTS) as (keyof typeof VARIANTS)[]).map((variant): SandboxCard => {
    const v = VARIANTS[variant];
    const holder = HOLDERS[network];
    return {
      key: `${network}_${variant}`,
      network,
      number: NUMBERS[network][variant],
      wellKnown: variant === 'green',
      issuerId: NUMBERS[network].issuerId,
      product: v.product,
      purpose: v.purpose,
      outcome: v.outcome,
      cvv: CVV[network],
      expMonth: v.expMonth,
      expYear: v.expYear,
      acceptAnyFutureExpiry: v.anyExpiry,
      idvPolicy: v.idvPolicy,
      status: v.status,
      account: { holderName: holder.name, currency: 'USD', postedBalance: v.postedBalance, creditLimit: v.creditLimit },
      phone: holder.phone,
      email: holder.email,
    };
  }),
);

/** The sandbox card with this number, if it is one. */
export function sandboxCard(number: string): SandboxCard | undefined {
  return SANDBOX_CARDS.find((c) => c.number === number);
}
