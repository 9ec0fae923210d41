import { randomInt } from 'node:crypto';
import type { Database, Sql } from '../infra/db/database.js';
import { isUniqueViolation } from '../infra/db/database.js';
import { AppError } from '../infra/errors.js';
import type { ApiKeys } from '../infra/http/auth.js';
import type { Page, PageParams } from '../infra/http/pagination.js';
import { newId } from '../infra/ids.js';
import type { Network } from '../protocol/cards/index.js';
import type { AuthorizationSwitch } from './authorizations.js';
import { CURRENCIES, currencyAlpha } from './currencies.js';
import './errors.js';
import { acquirerRepo as repo, type AuthorizationListRow, type EntityStatus, type MerchantRow, type TerminalKind, type TerminalRow } from './repository.js';
import type { ReversalWorker } from './reversals.js';

export interface MerchantInput {
  name: string;
  mcc: string;
  country: string;
  city: string;
  currency: string;
  /** DE 42; generated when absent. */
  card_acceptor_id?: string | undefined;
  /** DE 43; built from name, city and country when absent. */
  name_location?: string | undefined;
}

export interface TerminalInput {
  kind: TerminalKind;
  /** DE 41; generated when absent. Give it to make a retried creation safe: a repeat is a 409. */
  terminal_id?: string | undefined;
  name?: string | undefined;
}

export interface MerchantView {
  id: string;
  object: 'merchant';
  name: string;
  mcc: string;
  country: string;
  city: string;
  currency: string;
  card_acceptor_id: string;
  name_location: string;
  status: EntityStatus;
  created_at: string;
}

export interface TerminalView {
  id: string;
  object: 'terminal';
  merchant_id: string;
  terminal_id: string;
  kind: TerminalKind;
  name: string;
  status: EntityStatus;
  created_at: string;
}

export interface AuthorizationView {
  id: string;
  object: 'authorization';
  merchant_id: string;
  terminal: string;
  terminal_id: string;
  stan: string;
  transmitted: string;
  rrn: string;
  brand: Network | null;
  token_masked: string;
  amount: number;
  currency: string;
  status: AuthorizationListRow['status'];
  response_code: string | null;
  auth_code: string | null;
  latency_ms: number | null;
  reversal: { status: string; reason: string; attempts: number } | null;
  created_at: string;
}

export interface Clearing {
  object: 'settlement';
  date: string;
  acquirer_id: string;
  totals: { currency: string; count: number; amount: number }[];
  merchants: {
    merchant_id: string;
    name: string;
    card_acceptor_id: string;
    totals: { currency: string; count: number; amount: number }[];
    authorizations: { id: string; rrn: string; stan: string; terminal_id: string; brand: Network; token_masked: string; amount: number; currency: string; auth_code: string | null; created_at: string }[];
  }[];
}

const iso = (d: Date | string) => new Date(d).toISOString();

export function merchantView(m: MerchantRow): MerchantView {
  return { id: m.id, object: 'merchant', name: m.name, mcc: m.mcc, country: m.country, city: m.city, currency: m.currency, card_acceptor_id: m.card_acceptor_id, name_location: m.name_location, status: m.status, created_at: iso(m.created_at) };
}

export function terminalView(t: TerminalRow): TerminalView {
  return { id: t.id, object: 'terminal', merchant_id: t.merchant_id, terminal_id: t.terminal_id, kind: t.kind, name: t.name, status: t.status, created_at: iso(t.created_at) };
}

function authorizationView(a: AuthorizationListRow): AuthorizationView {
  return {
    id: a.id,
    object: 'authorization',
    merchant_id: a.merchant_id,
    terminal: a.terminal_id,
    terminal_id: a.terminal_code,
    stan: a.stan,
    transmitted: a.transmitted,
    rrn: a.rrn,
    brand: a.brand,
    token_masked: a.token_masked,
    amount: Number(a.amount),
    currency: currencyAlpha(a.currency),
    status: a.status,
    response_code: a.response_code,
    auth_code: a.auth_code,
    latency_ms: a.latency_ms,
    reversal: a.reversal_status ? { status: a.reversal_status, reason: a.reversal_reason!, attempts: Number(a.reversal_attempts) } : null,
    created_at: iso(a.created_at),
  };
}

/** DE 43: name (25) ‖ city (13) ‖ country (2), padded with spaces, printable ASCII only. */
export function nameLocation(name: string, city: string, country: string): string {
  const clean = (s: string, n: number) => s.replace(/[^\x20-\x7e]/g, '?').slice(0, n).padEnd(n, ' ');
  return `${clean(name, 25)}${clean(city, 13)}${clean(country, 2)}`;
}

const digits = (n: number) => Array.from({ length: n }, () => String(randomInt(10))).join('');

/**
 * The acquirer's registry (merchants, terminals and their API keys), its authorization switch and
 * reversal worker, and clearing.
 */
export class AcquirerService {
  constructor(
    private readonly db: Database,
    private readonly apiKeys: ApiKeys,
    private readonly switcher: AuthorizationSwitch,
    private readonly worker: ReversalWorker,
    private readonly acquirerId: string,
    private readonly clock: () => Date,
  ) {}

  // ---- Authorizations ----

  /** A packed 0100 or 0400 from the terminal whose API key owner is `terminalRef`: the packed 0110 or 0410. */
  handleMessage(terminalRef: string, raw: Uint8Array): Promise<Uint8Array> {
    return this.switcher.handle(terminalRef, raw);
  }

  /** One pass of the reversal worker: the number of reversals acknowledged. */
  runPendingReversals(): Promise<number> {
    return this.worker.run();
  }

  async authorizations(filter: { merchantId?: string | undefined; terminalId?: string | undefined }, page: PageParams): Promise<Page<AuthorizationView>> {
    const p = await repo.listAuthorizations(this.db, filter, page);
    return { ...p, data: p.data.map(authorizationView) };
  }

  // ---- Registry ----

  async createMerchant(sql: Sql | undefined, input: MerchantInput): Promise<MerchantView> {
    if (!(input.currency in CURRENCIES)) throw new AppError('parameter_invalid', { message: 'currency is not one the acquirer settles in.', param: 'currency' });
    const nl = input.name_location ?? nameLocation(input.name, input.city, input.country);
    for (let attempt = 0; ; attempt++) {
      const cardAcceptorId = input.card_acceptor_id ?? `TSS${digits(12)}`;
      try {
        const run = (tx: Sql) =>
          repo.insertMerchant(tx, { id: newId('mer', this.clock().getTime()), name: input.name, mcc: input.mcc, country: input.country, city: input.city, currency: input.currency, card_acceptor_id: cardAcceptorId, name_location: nl });
        const row = sql ? await run(sql) : await this.db.tx(run);
        return merchantView(row!);
      } catch (err) {
        if (!isUniqueViolation(err, 'merchants_card_acceptor_id_unique')) throw err;
        if (input.card_acceptor_id !== undefined || attempt >= 3 || sql) throw new AppError('card_acceptor_id_taken', { param: 'card_acceptor_id' });
      }
    }
  }

  async merchant(id: string): Promise<MerchantView> {
    const m = await repo.merchantById(this.db, id);
    if (!m) throw new AppError('resource_missing', { param: 'merchant_id' });
    return merchantView(m);
  }

  async merchants(page: PageParams): Promise<Page<MerchantView>> {
    const p = await repo.listMerchants(this.db, page);
    return { ...p, data: p.data.map(merchantView) };
  }

  /**
   * A terminal and its API key (role terminal, owner = the terminal's id). The secret is in this
   * answer only: it is stored as a hash, and this route takes no Idempotency-Key so that no stored
   * response ever holds it (a retry with the same DE 41 is a 409 instead).
   */
  async createTerminal(merchantId: string, input: TerminalInput): Promise<{ terminal: TerminalView; api_key: { id: string; secret: string; prefix: string } }> {
    const merchant = await repo.merchantById(this.db, merchantId);
    if (!merchant) throw new AppError('resource_missing', { param: 'merchant_id' });
    let row: TerminalRow | undefined;
    for (let attempt = 0; !row; attempt++) {
      const terminalId = input.terminal_id ?? `T${digits(7)}`;
      try {
        row = await this.db.tx((tx) => repo.insertTerminal(tx, { id: newId('term', this.clock().getTime()), merchant_id: merchantId, terminal_id: terminalId, kind: input.kind, name: input.name ?? '' }));
      } catch (err) {
        if (!isUniqueViolation(err, 'terminals_terminal_id_unique')) throw err;
        if (input.terminal_id !== undefined || attempt >= 3) throw new AppError('terminal_id_taken', { param: 'terminal_id' });
      }
    }
    const key = await this.apiKeys.create('terminal', row.id, `terminal ${row.terminal_id} of ${merchant.name}`.slice(0, 200));
    return { terminal: terminalView(row), api_key: { id: key.id, secret: key.secret, prefix: key.prefix } };
  }

  async terminals(merchantId: string, page: PageParams): Promise<Page<TerminalView>> {
    if (!(await repo.merchantById(this.db, merchantId))) throw new AppError('resource_missing', { param: 'merchant_id' });
    const p = await repo.listTerminals(this.db, merchantId, page);
    return { ...p, data: p.data.map(terminalView) };
  }

  /** Creates the merchant unless one with its DE 42 exists (then returns that one). For seeding. */
  async ensureMerchant(input: MerchantInput & { card_acceptor_id: string }): Promise<MerchantView> {
    const nl = input.name_location ?? nameLocation(input.name, input.city, input.country);
    const row = await this.db.tx(async (tx) => {
      const inserted = await repo.insertMerchant(tx, { id: newId('mer', this.clock().getTime()), name: input.name, mcc: input.mcc, country: input.country, city: input.city, currency: input.currency, card_acceptor_id: input.card_acceptor_id, name_location: nl }, true);
      return inserted ?? (await repo.merchantByCardAcceptorId(tx, input.card_acceptor_id));
    });
    return merchantView(row!);
  }

  /** Creates the terminal unless one with its DE 41 exists; `created` says which. For seeding. */
  async ensureTerminal(merchantId: string, input: TerminalInput & { terminal_id: string }): Promise<{ terminal: TerminalView; created: boolean }> {
    return this.db.tx(async (tx) => {
      const inserted = await repo.insertTerminal(tx, { id: newId('term', this.clock().getTime()), merchant_id: merchantId, terminal_id: input.terminal_id, kind: input.kind, name: input.name ?? '' }, true);
      if (inserted) return { terminal: terminalView(inserted), created: true };
      const existing = (await repo.terminalByCode(tx, input.terminal_id))!;
      if (existing.merchant_id !== merchantId) throw new Error(`terminal id ${input.terminal_id} belongs to another merchant`);
      return { terminal: terminalView(existing), created: false };
    });
  }

  get keys(): ApiKeys {
    return this.apiKeys;
  }

  // ---- Clearing ----

  /**
   * The clearing file of one UTC day: approved authorizations with no reversal, per merchant, with
   * totals per currency. A reversal still being delivered already keeps an authorization out.
   */
  async settlement(date: string): Promise<Clearing> {
    const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(date);
    const from = m ? new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]))) : null;
    if (!from || Number.isNaN(from.getTime()) || from.toISOString().slice(0, 10) !== date) {
      throw new AppError('parameter_invalid', { message: 'date must be a calendar date, YYYY-MM-DD.', param: 'date' });
    }
    const to = new Date(from.getTime() + 86_400_000);
    const rows = await repo.clearing(this.db, from, to);
    const merchants = new Map<string, Clearing['merchants'][number]>();
    const add = (totals: Clearing['totals'], currency: string, amount: number) => {
      const t = totals.find((x) => x.currency === currency);
      if (t) {
        t.count++;
        t.amount += amount;
      } else totals.push({ currency, count: 1, amount });
    };
    const totals: Clearing['totals'] = [];
    for (const r of rows) {
      let entry = merchants.get(r.merchant_id);
      if (!entry) {
        entry = { merchant_id: r.merchant_id, name: r.merchant_name, card_acceptor_id: r.card_acceptor_id, totals: [], authorizations: [] };
        merchants.set(r.merchant_id, entry);
      }
      const amount = Number(r.amount);
      const currency = currencyAlpha(r.currency);
      entry.authorizations.push({ id: r.id, rrn: r.rrn, stan: r.stan, terminal_id: r.terminal_code, brand: r.brand, token_masked: r.token_masked, amount, currency, auth_code: r.auth_code, created_at: iso(r.created_at) });
      add(entry.totals, currency, amount);
      add(totals, currency, amount);
    }
    return { object: 'settlement', date, acquirer_id: this.acquirerId, totals, merchants: [...merchants.values()] };
  }
}
