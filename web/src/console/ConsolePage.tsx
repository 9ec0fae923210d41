/**
 * The operations console (/console): networks, issuers, merchants; recent authorizations across the
 * acquirer, the network and the issuer; live counters; token lookup; the outbox and webhook deliveries;
 * and a trace viewer that draws one transaction's message flow as a sequence diagram. Reads the ops
 * APIs (docs/console.md) with an ops key: in the sandbox it takes the read-only one from
 * /sandbox/v1/ops-key, otherwise the operator pastes one. Numbers arrive masked from the server and are
 * masked again here (never more than the first 6 and last 4 digits).
 */
import { Fragment, useCallback, useEffect, useId, useMemo, useState, type FormEvent, type KeyboardEvent } from 'react';
import { DE48 } from '../../../src/protocol/iso8583/spec.js';
import { parseSubelements } from '../../../src/protocol/iso8583/subelements.js';
import { markStep } from '../shared/progress';
import './console.css';

// ---- API ----

interface OpsAuthorization {
  id: string;
  created_at: string;
  terminal_id: string;
  brand: string | null;
  token_masked: string;
  amount: number;
  currency: string;
  status: string;
  response_code: string | null;
  latency_ms: number | null;
  network: { status: string; response_code: string | null; decline_reason: string | null; latency_ms: number | null; atc: number | null } | null;
  issuer: { issuer_id: string; response_code: string; reason: string; cdcvm: boolean | null } | null;
  trace_key: string;
  trace_available: boolean;
}
interface Counters {
  since: string;
  authorizations: { total: number; approved: number; declined: number; errors: number; reversals: number };
  declines_by_reason: Record<string, number>;
  latency_ms: { p50: number | null; p99: number | null; max: number | null; samples: number };
  rate_per_second: number;
}
interface Overview {
  networks: { brand: string; tokens: Record<string, number> }[];
  issuers: { id: string; name: string; country: string; cards: number; accounts: number; bins: { prefix: string; network: string }[] }[];
  merchants: { id: string; name: string; mcc: string; country: string; terminals: { id: string; terminal_id: string; kind: string; name?: string }[] }[];
}
interface DecodedTag {
  tag: string;
  name: string;
  value: string;
  children?: DecodedTag[];
}
interface TraceEventView {
  seq: number;
  ts: string;
  from: string;
  to: string;
  protocol: string;
  hex?: string;
  json?: unknown;
  decoded: { summary: string; fields: { id: string; name: string; value: string; tags?: DecodedTag[] }[] };
}
interface Trace {
  flow: { id: string; summary: string; started_at: string };
  events: TraceEventView[];
}
interface Outbox {
  topics: { topic: string; pending: number; retrying: number; delivered: number }[];
  events: { event_id: string; topic: string; attempts: number; last_error: string | null; delivered_at: string | null }[];
}
interface TokenRow {
  token_ref: string;
  brand: string;
  token_last4: string;
  card_last4: string;
  status: string;
  idv: string;
  device_id: string;
}
interface Delivery {
  id: string;
  url: string;
  event_id: string;
  status_code: number | null;
  succeeded: boolean;
  duration_ms: number;
}

const KEY_STORAGE = 'tessera.console.opsKey';

/** Never more than the first 6 and last 4 of a digit run long enough to be a card number. */
export function maskDigits(text: string): string {
  return text.replace(/\d{13,19}/g, (d) => `${d.slice(0, 6)}${'•'.repeat(d.length - 10)}${d.slice(-4)}`);
}

class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

async function api<T>(key: string, path: string): Promise<T> {
  const res = await fetch(path, { headers: { authorization: `Bearer ${key}` } });
  const body = (await res.json().catch(() => ({}))) as { error?: { message?: string } };
  if (!res.ok) throw new ApiError(res.status, body.error?.message ?? `HTTP ${res.status}`);
  return body as T;
}

// ---- Sequence diagram ----

const LANES = ['device', 'terminal', 'merchant', 'acquirer', 'network', 'issuer', 'platform'] as const;

/** The demo store is a merchant; a browser without credentials (the shopper's page) stands where the device does. */
const LANE_OF: Readonly<Record<string, string>> = { store: 'merchant', client: 'device' };

function laneOf(party: string): string {
  const name = party.split(':')[0]!;
  const base = LANE_OF[name] ?? name;
  return (LANES as readonly string[]).includes(base) ? base : 'platform';
}

function TagList({ tags }: { tags: DecodedTag[] }) {
  return (
    <ul className="tags">
      {tags.map((t, i) => (
        <li key={`${t.tag}-${i}`}>
          <code>{t.tag}</code> {t.name}: <code>{maskDigits(t.value)}</code>
          {t.children ? <TagList tags={t.children} /> : null}
        </li>
      ))}
    </ul>
  );
}

const DE48_NAMES: Record<string, string> = {
  [DE48.WALLET_ID]: 'Wallet identifier',
  [DE48.TOKEN_PAN]: 'Token number',
  [DE48.TOKEN_EXPIRY]: 'Token expiry',
  [DE48.TOKEN_REQUESTOR_ID]: 'Token requestor ID',
  [DE48.CRYPTOGRAM_RESULT]: 'Cryptogram validation result',
  [DE48.DEVICE_ID]: 'Device identifier',
  [DE48.ECI]: 'Electronic commerce indicator',
  [DE48.ECOM_CRYPTOGRAM]: 'E-commerce cryptogram',
  [DE48.DOMAIN_CHECK]: 'Domain restriction check',
};

/** DE 48 split into its subelements (one run of digits glued from several would read like a card number). */
function Subelements({ value }: { value: string }) {
  let parsed: Map<string, string>;
  try {
    parsed = parseSubelements(value);
  } catch {
    return <code>{maskDigits(value)}</code>;
  }
  return (
    <ul className="tags">
      {[...parsed].map(([id, v]) => (
        <li key={id}>
          <code>SE {id}</code> {DE48_NAMES[id] ?? 'Subelement'}: <code>{maskDigits(v)}</code>
        </li>
      ))}
    </ul>
  );
}

function MessageDetail({ event }: { event: TraceEventView }) {
  return (
    <div className="message-detail">
      {event.decoded.fields.length > 0 ? (
        <table>
          <caption className="sr-only">Decoded fields</caption>
          <thead>
            <tr>
              <th scope="col">Field</th>
              <th scope="col">Name</th>
              <th scope="col">Value</th>
            </tr>
          </thead>
          <tbody>
            {event.decoded.fields.map((f, i) => (
              <tr key={`${f.id}-${i}`}>
                <th scope="row">{f.id}</th>
                <td>{f.name}</td>
                <td>
                  {f.id === 'DE 48' ? (
                    <Subelements value={f.value} />
                  ) : f.tags ? (
                    <>
                      <TagList tags={f.tags} />
                      <details>
                        <summary>Raw value</summary>
                        <code>{maskDigits(f.value)}</code>
                      </details>
                    </>
                  ) : (
                    <code>{maskDigits(f.value)}</code>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
      {event.json !== undefined ? <pre className="json">{maskDigits(JSON.stringify(event.json, null, 2))}</pre> : null}
      {event.hex ? (
        <details>
          <summary>Hex (masked)</summary>
          <pre className="hex">{event.hex.replace(/(.{64})/g, '$1\n')}</pre>
        </details>
      ) : null}
    </div>
  );
}

/** One transaction's messages as a sequence diagram: a column per party, an arrow per message. */
export function SequenceDiagram({ trace }: { trace: Trace }) {
  const [open, setOpen] = useState<number | null>(null);
  const lanes = useMemo(() => {
    const used = new Set(trace.events.flatMap((e) => [laneOf(e.from), laneOf(e.to)]));
    return LANES.filter((l) => used.has(l));
  }, [trace]);
  const col = (party: string) => lanes.indexOf(laneOf(party) as (typeof LANES)[number]);
  const t0 = Date.parse(trace.events[0]?.ts ?? trace.flow.started_at);
  return (
    <figure className="sequence" aria-label={`Message flow of ${trace.flow.summary}`}>
      <div className="lanes" style={{ gridTemplateColumns: `repeat(${lanes.length}, 1fr)` }} role="presentation">
        {lanes.map((l) => (
          <div key={l} className="lane-head">
            {l}
          </div>
        ))}
      </div>
      <ol className="messages">
        {trace.events.map((e) => {
          const a = col(e.from);
          const b = col(e.to);
          const left = Math.min(a, b);
          const cols = Math.abs(b - a) + 1;
          const expanded = open === e.seq;
          return (
            <li key={e.seq} className="message">
              <div className="arrow-row" style={{ gridTemplateColumns: `repeat(${lanes.length}, 1fr)`, ['--lanes' as string]: lanes.length }}>
                <button
                  type="button"
                  className={`arrow ${b < a ? 'leftward' : 'rightward'} ${e.protocol}`}
                  // The line runs from the centre of one lane to the centre of the other.
                  style={{ gridColumn: `${left + 1} / span ${cols}`, ['--inset' as string]: `${50 / cols}%` }}
                  aria-expanded={expanded}
                  aria-controls={`msg-${e.seq}`}
                  onClick={() => setOpen(expanded ? null : e.seq)}
                >
                  <span className="arrow-label">
                    <span className="proto">{e.protocol.toUpperCase()}</span> {maskDigits(e.decoded.summary)}
                  </span>
                  <span className="sr-only">
                    {' '}
                    from {e.from} to {e.to}, {Math.max(0, Date.parse(e.ts) - t0)} ms after the start
                  </span>
                </button>
                <div className="message-meta" style={{ gridColumn: `${left + 1} / span ${cols}` }} aria-hidden="true">
                  <span>
                    {e.from} → {e.to} · +{Math.max(0, Date.parse(e.ts) - t0)} ms
                  </span>
                </div>
              </div>
              {expanded ? (
                <div id={`msg-${e.seq}`} className="message-panel">
                  <MessageDetail event={e} />
                </div>
              ) : null}
            </li>
          );
        })}
      </ol>
    </figure>
  );
}

// ---- Panels ----

/** A latency for people: whole milliseconds, a tenth under 10 ms. */
function formatMs(ms: number | null): string {
  if (ms === null) return '–';
  return ms < 10 ? ms.toFixed(1) : String(Math.round(ms));
}

function CountersPanel({ counters }: { counters: Counters | null }) {
  if (!counters) return <p>Loading counters…</p>;
  const a = counters.authorizations;
  return (
    <div>
      <dl className="counters" aria-live="polite">
        <div>
          <dt>Approved</dt>
          <dd>{a.approved}</dd>
        </div>
        <div>
          <dt>Declined</dt>
          <dd>{a.declined}</dd>
        </div>
        <div>
          <dt>Errors</dt>
          <dd>{a.errors}</dd>
        </div>
        <div>
          <dt>Reversals</dt>
          <dd>{a.reversals}</dd>
        </div>
        <div>
          <dt>p50</dt>
          <dd>{formatMs(counters.latency_ms.p50)} ms</dd>
        </div>
        <div>
          <dt>p99</dt>
          <dd>{formatMs(counters.latency_ms.p99)} ms</dd>
        </div>
        <div>
          <dt>Rate</dt>
          <dd>{counters.rate_per_second.toFixed(1)}/s</dd>
        </div>
      </dl>
      {Object.keys(counters.declines_by_reason).length > 0 ? (
        <>
          <h3>Declines by reason</h3>
          <ul className="reasons">
            {Object.entries(counters.declines_by_reason).map(([reason, n]) => (
              <li key={reason}>
                {reason}: {n}
              </li>
            ))}
          </ul>
        </>
      ) : null}
      <p className="hint">Since {new Date(counters.since).toLocaleString()} (this server process).</p>
    </div>
  );
}

function formatAmount(minor: number, currency: string): string {
  try {
    return new Intl.NumberFormat(undefined, { style: 'currency', currency }).format(minor / 100);
  } catch {
    return `${minor} ${currency}`;
  }
}

function AuthorizationsPanel({ rows, onOpen }: { rows: OpsAuthorization[]; onOpen: (key: string) => void }) {
  if (rows.length === 0) return <p>No authorizations yet: tap a card at the terminal (/terminal).</p>;
  return (
    <div className="table-scroll">
      <table className="auths stackable">
        <caption className="sr-only">Recent authorizations</caption>
        <thead>
          <tr>
            <th scope="col">Time</th>
            <th scope="col">Terminal</th>
            <th scope="col">Token</th>
            <th scope="col">Amount</th>
            <th scope="col">Acquirer</th>
            <th scope="col">Network</th>
            <th scope="col">Issuer</th>
            <th scope="col">Flow</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((r) => (
            <tr key={r.id} className={r.status}>
              <td data-label="Time">{new Date(r.created_at).toLocaleTimeString()}</td>
              <td data-label="Terminal">{r.terminal_id}</td>
              <td data-label="Token">
                <code>{maskDigits(r.token_masked)}</code> {r.brand ?? ''}
              </td>
              <td data-label="Amount">{formatAmount(r.amount, r.currency)}</td>
              <td data-label="Acquirer">
                {r.status} {r.response_code ?? ''} · {r.latency_ms ?? '–'} ms
              </td>
              <td data-label="Network">{r.network ? `${r.network.status} ${r.network.response_code ?? ''}${r.network.decline_reason ? ` (${r.network.decline_reason})` : ''} · ${r.network.latency_ms ?? '–'} ms` : '–'}</td>
              <td data-label="Issuer">{r.issuer ? `${r.issuer.response_code} ${r.issuer.reason}` : '–'}</td>
              <td data-label="Flow">
                {r.trace_available ? (
                  <button type="button" onClick={() => onOpen(r.trace_key)} aria-label={`Open the message flow of the ${formatAmount(r.amount, r.currency)} authorization at ${r.terminal_id}`}>
                    Sequence diagram
                  </button>
                ) : (
                  <span className="hint">not in trace</span>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function OverviewPanel({ overview }: { overview: Overview | null }) {
  if (!overview) return <p>Loading…</p>;
  return (
    <div className="overview">
      <section aria-labelledby="ov-networks">
        <h3 id="ov-networks">Networks</h3>
        <ul>
          {overview.networks.map((n) => (
            <li key={n.brand}>
              <strong>{n.brand}</strong>: {Object.entries(n.tokens).map(([s, c]) => `${c} ${s}`).join(', ')}
            </li>
          ))}
        </ul>
      </section>
      <section aria-labelledby="ov-issuers">
        <h3 id="ov-issuers">Issuers</h3>
        <ul>
          {overview.issuers.map((i) => (
            <li key={i.id}>
              <strong>{i.name}</strong> ({i.country}): {i.cards} cards, BINs {i.bins.map((b) => `${b.prefix} ${b.network}`).join(', ')}
            </li>
          ))}
        </ul>
      </section>
      <section aria-labelledby="ov-merchants">
        <h3 id="ov-merchants">Merchants and terminals</h3>
        <ul>
          {overview.merchants.map((m) => (
            <li key={m.id}>
              <strong>{m.name}</strong> (MCC {m.mcc}, {m.country}): {m.terminals.map((t) => `${t.terminal_id} ${t.kind}`).join(', ') || 'no terminals'}
            </li>
          ))}
        </ul>
      </section>
    </div>
  );
}

function TokenLookup({ opsKey }: { opsKey: string }) {
  const id = useId();
  const [query, setQuery] = useState('');
  const [rows, setRows] = useState<TokenRow[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError(null);
    const q = query.trim();
    const param = /^\d{4}$/.test(q) ? `last4=${q}` : /^[A-Za-z0-9_]+$/.test(q) ? `token_ref=${encodeURIComponent(q)}` : null;
    if (!param) {
      setError('Enter a token reference (tok_…) or the last four digits.');
      return;
    }
    try {
      setRows((await api<{ data: TokenRow[] }>(opsKey, `/ops/v1/tokens?${param}`)).data);
    } catch (err) {
      setError((err as Error).message);
    }
  };
  return (
    <div>
      <form onSubmit={(e) => void submit(e)} className="inline-form">
        <label htmlFor={id}>Token reference or last four digits</label>
        <input id={id} value={query} onChange={(e) => setQuery(e.target.value)} maxLength={64} autoComplete="off" />
        <button type="submit">Look up</button>
      </form>
      {error ? <p role="alert">{error}</p> : null}
      {rows ? (
        rows.length === 0 ? (
          <p>No token found.</p>
        ) : (
          <ul>
            {rows.map((r) => (
              <li key={r.token_ref}>
                <code>{r.token_ref}</code> {r.brand} token …{r.token_last4} for card …{r.card_last4}: {r.status} (ID&amp;V {r.idv}), device {r.device_id}
              </li>
            ))}
          </ul>
        )
      ) : null}
    </div>
  );
}

function OutboxPanel({ outbox, deliveries }: { outbox: Outbox | null; deliveries: Delivery[] }) {
  if (!outbox) return <p>Loading…</p>;
  return (
    <div>
      <div className="table-scroll">
      <table>
        <caption className="sr-only">Outbox by topic</caption>
        <thead>
          <tr>
            <th scope="col">Topic</th>
            <th scope="col">Pending</th>
            <th scope="col">Retrying</th>
            <th scope="col">Delivered</th>
          </tr>
        </thead>
        <tbody>
          {outbox.topics.map((t) => (
            <tr key={t.topic}>
              <th scope="row">
                {t.topic.split('.').map((part, i) => (
                  <Fragment key={i}>
                    {i > 0 ? (
                      <>
                        .<wbr />
                      </>
                    ) : null}
                    {part}
                  </Fragment>
                ))}
              </th>
              <td>{t.pending}</td>
              <td>{t.retrying}</td>
              <td>{t.delivered}</td>
            </tr>
          ))}
        </tbody>
      </table>
      </div>
      <h3>Webhook deliveries</h3>
      {deliveries.length === 0 ? (
        <p>None yet.</p>
      ) : (
        <ul>
          {deliveries.map((d) => (
            <li key={d.id}>
              {d.succeeded ? 'delivered' : 'failed'} {d.event_id} → {d.url} ({d.status_code ?? 'no answer'}, {d.duration_ms} ms)
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

// ---- Page ----

export default function ConsolePage() {
  const [opsKey, setOpsKey] = useState<string | null>(() => sessionStorage.getItem(KEY_STORAGE));
  const [keyInput, setKeyInput] = useState('');
  const [keyError, setKeyError] = useState<string | null>(null);
  const [counters, setCounters] = useState<Counters | null>(null);
  const [auths, setAuths] = useState<OpsAuthorization[]>([]);
  const [overview, setOverview] = useState<Overview | null>(null);
  const [outbox, setOutbox] = useState<Outbox | null>(null);
  const [deliveries, setDeliveries] = useState<Delivery[]>([]);
  const [trace, setTrace] = useState<Trace | null>(null);
  const [traceError, setTraceError] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const keyId = useId();

  // In the sandbox the read-only ops key is public; elsewhere the operator pastes one.
  useEffect(() => {
    if (opsKey) return;
    void fetch('/sandbox/v1/ops-key')
      .then(async (res) => (res.ok ? ((await res.json()) as { apiKey: string }).apiKey : null))
      .then((k) => {
        if (k) {
          sessionStorage.setItem(KEY_STORAGE, k);
          setOpsKey(k);
        }
      })
      .catch(() => undefined);
  }, [opsKey]);

  const refresh = useCallback(async () => {
    if (!opsKey) return;
    try {
      const [c, a, o, d] = await Promise.all([
        api<Counters>(opsKey, '/ops/v1/counters'),
        api<{ data: OpsAuthorization[] }>(opsKey, '/ops/v1/authorizations?limit=20'),
        api<Outbox>(opsKey, '/ops/v1/outbox?limit=10'),
        api<{ data: Delivery[] }>(opsKey, '/ops/v1/webhook-deliveries?limit=10'),
      ]);
      setCounters(c);
      setAuths(a.data);
      markStep('console_opened');
      setOutbox(o);
      setDeliveries(d.data);
      setError(null);
    } catch (err) {
      if (err instanceof ApiError && (err.status === 401 || err.status === 403)) {
        sessionStorage.removeItem(KEY_STORAGE);
        setOpsKey(null);
      }
      setError((err as Error).message);
    }
  }, [opsKey]);

  useEffect(() => {
    if (!opsKey) return;
    void api<Overview>(opsKey, '/ops/v1/overview').then(setOverview, (err: Error) => setError(err.message));
    void refresh();
    const timer = setInterval(() => void refresh(), 2000);
    return () => clearInterval(timer);
  }, [opsKey, refresh]);

  const openTrace = useCallback(
    async (key: string) => {
      if (!opsKey) return;
      setTraceError(null);
      try {
        setTrace(await api<Trace>(opsKey, `/ops/v1/traces/${encodeURIComponent(key)}`));
      } catch (err) {
        setTrace(null);
        setTraceError((err as Error).message);
      }
    },
    [opsKey],
  );

  const onKeyDown = (e: KeyboardEvent) => {
    if (e.key === 'Escape' && trace) setTrace(null);
  };

  if (!opsKey) {
    return (
      <main className="page narrow console">
        <h1>Operations console</h1>
        <form
          onSubmit={(e) => {
            e.preventDefault();
            if (!/^tsk_(ops|admin)_[0-9A-Za-z]{32,}$/.test(keyInput.trim())) {
              setKeyError('An ops key looks like tsk_ops_… (or the admin key tsk_admin_…).');
              return;
            }
            sessionStorage.setItem(KEY_STORAGE, keyInput.trim());
            setOpsKey(keyInput.trim());
          }}
        >
          <label htmlFor={keyId}>Ops key</label>
          <input id={keyId} type="password" value={keyInput} onChange={(e) => setKeyInput(e.target.value)} autoComplete="off" aria-describedby={`${keyId}-hint`} />
          <p id={`${keyId}-hint`} className="hint">
            Create one with the admin key: POST /ops/v1/api-keys with role ops. In the sandbox the console finds one itself.
          </p>
          {keyError ? <p role="alert">{keyError}</p> : null}
          {error ? <p role="alert">{error}</p> : null}
          <button type="submit">Open the console</button>
        </form>
      </main>
    );
  }

  return (
    <main className="page console" onKeyDown={onKeyDown}>
      <h1>Operations console</h1>
      {error ? <p role="alert">{error}</p> : null}
      <div className="console-grid">
        <section className="panel" aria-labelledby="p-counters">
          <h2 id="p-counters">Live counters</h2>
          <CountersPanel counters={counters} />
        </section>
        <section className="panel" aria-labelledby="p-overview">
          <h2 id="p-overview">Parties</h2>
          <OverviewPanel overview={overview} />
        </section>
      </div>
      <section className="panel" aria-labelledby="p-auths">
        <h2 id="p-auths">Recent authorizations</h2>
        <AuthorizationsPanel rows={auths} onOpen={(k) => void openTrace(k)} />
      </section>
      {trace || traceError ? (
        <section className="panel" aria-labelledby="p-trace">
          <div className="panel-head">
            <h2 id="p-trace">Message flow{trace ? `: ${maskDigits(trace.flow.summary)}` : ''}</h2>
            <button type="button" onClick={() => (setTrace(null), setTraceError(null))}>
              Close
            </button>
          </div>
          {traceError ? <p role="alert">{traceError}</p> : null}
          {trace ? <SequenceDiagram trace={trace} /> : null}
        </section>
      ) : null}
      <div className="console-grid">
        <section className="panel" aria-labelledby="p-tokens">
          <h2 id="p-tokens">Token lookup</h2>
          <TokenLookup opsKey={opsKey} />
        </section>
        <section className="panel" aria-labelledby="p-outbox">
          <h2 id="p-outbox">Outbox and webhooks</h2>
          <OutboxPanel outbox={outbox} deliveries={deliveries} />
        </section>
      </div>
    </main>
  );
}
