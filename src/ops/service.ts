/**
 * The operations console's reads. Each party is read through its own API (as the operator, with the
 * deployment's internal admin key), never through its tables; only the outbox, which belongs to no
 * party, is read here directly.
 */
import type { Database } from '../infra/db/database.js';
import { call, type Transport } from '../infra/transport.js';
import { outboxByTopic, recentOutboxEvents } from './repository.js';
import type { Observer } from './observer.js';

interface List<T> {
  data: T[];
  has_more: boolean;
}

interface AcquirerAuthorization {
  id: string;
  merchant_id: string;
  terminal: string;
  terminal_id: string;
  stan: string;
  transmitted: string;
  rrn: string;
  brand: string | null;
  token_masked: string;
  amount: number;
  currency: string;
  status: string;
  response_code: string | null;
  auth_code: string | null;
  latency_ms: number | null;
  created_at: string;
}

interface NetworkAuthorization {
  id: string;
  rrn: string | null;
  stan: string;
  transmitted: string;
  terminal_id: string;
  token_ref: string | null;
  status: string;
  response_code: string | null;
  decline_reason: string | null;
  latency_ms: number | null;
  issuer_id: string | null;
  atc: number | null;
}

interface IssuerAuthorization {
  id: string;
  rrn: string | null;
  issuer_id: string;
  txn_key: string;
  response_code: string;
  reason: string;
  cdcvm: boolean | null;
  created_at: string;
}

/** The key an authorization is known by at every hop: DE 41, DE 11 and DE 7 of the terminal's 0100. */
export const transmissionKey = (terminalId: string, stan: string, transmitted: string) => `iso:${terminalId.trim()}:${stan}:${transmitted}`;

export interface OpsDeps {
  db: Database;
  /** Reaches every party's routes (in process: the same inject transport the parties use). */
  parties: Transport;
  /** The operator's key for those reads (the deployment's internal admin key, derived from the KEK). */
  adminKey: string;
  brands: readonly string[];
  issuerIds: readonly string[];
  observer: Observer;
}

export class OpsService {
  constructor(private readonly deps: OpsDeps) {}

  #get<T>(path: string): Promise<T> {
    return call<T>(this.deps.parties, 'ops', { method: 'GET', path, apiKey: this.deps.adminKey });
  }

  async overview() {
    const [networks, issuers, merchants] = await Promise.all([
      Promise.all(this.deps.brands.map((b) => this.#get<{ brand: string; tokens: Record<string, number> }>(`/network/${b}/v1/stats`))),
      this.#get<List<Record<string, unknown>>>('/issuer/v1/issuers'),
      this.#get<List<{ id: string } & Record<string, unknown>>>('/acquirer/v1/merchants?limit=100'),
    ]);
    const withTerminals = await Promise.all(
      merchants.data.map(async (m) => ({ ...m, terminals: (await this.#get<List<Record<string, unknown>>>(`/acquirer/v1/merchants/${encodeURIComponent(m.id)}/terminals?limit=100`)).data })),
    );
    return { object: 'ops_overview', networks: networks.map((n) => ({ brand: n.brand, tokens: n.tokens })), issuers: issuers.data, merchants: withTerminals };
  }

  /** The newest authorizations at the acquirer, each with what the network and the issuer made of it. */
  async authorizations(limit: number) {
    // The acquirer's list first: the network and the issuer record a transaction before the acquirer hears
    // their answer, so every answered authorization it lists is found in their lists read after it (read
    // together, an answer could land between the reads and show as if the network had never seen it).
    const acq = await this.#get<List<AcquirerAuthorization>>(`/acquirer/v1/authorizations?limit=${limit}`);
    const [nets, isss] = await Promise.all([
      Promise.all(this.deps.brands.map((b) => this.#get<List<NetworkAuthorization>>(`/network/${b}/v1/authorizations?limit=${Math.min(100, limit * 2)}`))),
      Promise.all(this.deps.issuerIds.map((i) => this.#get<List<IssuerAuthorization>>(`/issuer/${encodeURIComponent(i)}/v1/authorizations?limit=${Math.min(100, limit * 2)}`))),
    ]);
    // The acquirer sends the network its own DE 11; DE 37 (with the terminal and DE 7) names the transaction at every hop.
    const hopKey = (terminalId: string, rrn: string | null, transmitted: string) => `${terminalId.trim()}:${rrn ?? ''}:${transmitted}`;
    const network = new Map<string, NetworkAuthorization>();
    for (const n of nets.flatMap((l) => l.data)) network.set(hopKey(n.terminal_id, n.rrn, n.transmitted), n);
    const issuer = new Map<string, IssuerAuthorization>();
    for (const i of isss.flatMap((l) => l.data)) {
      const [, transmitted, terminal] = /^\d{11}:\d{6}:(\d{10}):(.{8})$/.exec(i.txn_key) ?? [];
      if (transmitted && terminal) issuer.set(hopKey(terminal, i.rrn, transmitted), i);
    }
    return {
      object: 'list' as const,
      has_more: acq.has_more,
      data: acq.data.map((a) => {
        // A tap's flow is found by its 0100's DE 41/11/7; a web payment's (the acquirer makes up its own
        // 0100, with its own DE 11) by the authorization's id, which its JSON answer carries.
        const isoKey = transmissionKey(a.terminal_id, a.stan, a.transmitted);
        const key = [isoKey, `id:${a.id}`].find((k) => this.deps.observer.traces.find(k) !== undefined) ?? isoKey;
        const n = network.get(hopKey(a.terminal_id, a.rrn, a.transmitted));
        const i = issuer.get(hopKey(a.terminal_id, a.rrn, a.transmitted));
        return {
          id: a.id,
          object: 'ops_authorization' as const,
          created_at: a.created_at,
          merchant_id: a.merchant_id,
          terminal_id: a.terminal_id,
          brand: a.brand,
          token_masked: a.token_masked,
          amount: a.amount,
          currency: a.currency,
          status: a.status,
          response_code: a.response_code,
          latency_ms: a.latency_ms,
          network: n ? { id: n.id, status: n.status, response_code: n.response_code, decline_reason: n.decline_reason, latency_ms: n.latency_ms, token_ref: n.token_ref, atc: n.atc } : null,
          issuer: i ? { id: i.id, issuer_id: i.issuer_id, response_code: i.response_code, reason: i.reason, cdcvm: i.cdcvm } : null,
          trace_key: key,
          trace_available: this.deps.observer.traces.find(key) !== undefined,
        };
      }),
    };
  }

  async tokens(q: { token_ref?: string | undefined; last4?: string | undefined }) {
    const qs = new URLSearchParams();
    if (q.token_ref) qs.set('token_ref', q.token_ref);
    if (q.last4) qs.set('last4', q.last4);
    const lists = await Promise.all(this.deps.brands.map((b) => this.#get<List<Record<string, unknown>>>(`/network/${b}/v1/token-search?${qs}`)));
    return { object: 'list' as const, has_more: false, data: lists.flatMap((l) => l.data) };
  }

  async outbox(undeliveredOnly: boolean, limit: number) {
    const [topics, events] = await Promise.all([outboxByTopic(this.deps.db), recentOutboxEvents(this.deps.db, { undeliveredOnly, limit })]);
    const iso = (d: Date | null) => (d ? new Date(d).toISOString() : null);
    return {
      object: 'ops_outbox' as const,
      topics: topics.map((t) => ({ ...t, oldest_pending_at: iso(t.oldest_pending_at) })),
      events: events.map((e) => ({ ...e, created_at: iso(e.created_at)!, delivered_at: iso(e.delivered_at), next_attempt_at: iso(e.next_attempt_at)! })),
    };
  }

  webhookDeliveries(limit: number) {
    return this.#get<List<Record<string, unknown>>>(`/acquirer/v1/webhook-deliveries?limit=${limit}`);
  }
}
