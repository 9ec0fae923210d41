import { useEffect, useId, useRef, useState } from 'react';
import { currencyByAlpha, parseAmount } from '../../../src/protocol/currency.js';
import { describeMessage, unpackMessage } from '../../../src/protocol/iso8583/iso8583.js';
import { FIELDS } from '../../../src/protocol/iso8583/spec.js';
import { ContactlessKernel, type AuthorizationResult, type KernelOutcome } from '../../../src/merchant/terminal/kernel.js';
import { viewCommand, viewResponse, type ApduView, type ResponseView, type TagView } from '../shared/emv-view';
import { markStep } from '../shared/progress';
import { errorText, money } from '../shared/format';
import { ReaderField, newId } from '../shared/nfc-channel';
import { sandboxOverview, type SandboxOverview } from '../shared/platform';

type Terminal = SandboxOverview['terminals'][number];

/** ISO 3166 alpha-2 → numeric, for 9F1A (the sandbox's merchants' countries and a few more). */
const COUNTRY_NUMERIC: Readonly<Record<string, string>> = {
  US: '840', GB: '826', CA: '124', AU: '036', DE: '276', FR: '250', NL: '528', IE: '372', ES: '724', IT: '380', JP: '392', SG: '702', CH: '756', SE: '752',
};

interface Exchange {
  command: ApduView;
  response: ResponseView | null;
}

type Phase =
  | { kind: 'idle' }
  | { kind: 'waiting'; amount: number; currency: string }
  | { kind: 'reading'; phone: string }
  | { kind: 'online' }
  | { kind: 'result'; approved: boolean; title: string; reason: string; authCode: string | null };

interface IsoView {
  mti: string;
  fields: { n: string; name: string; value: string }[];
}

function isoView(bytes: Uint8Array): IsoView {
  const d = describeMessage(unpackMessage(bytes));
  return { mti: d.mti, fields: Object.entries(d.fields).map(([n, v]) => ({ n, name: FIELDS[Number(n)]?.name ?? '', value: v })) };
}

/** The STAN (DE 11) survives a reload: a terminal never reuses one soon after. */
function nextStan(): number {
  const key = 'tessera-terminal-stan';
  const n = (Number(localStorage.getItem(key)) % 999_999) + 1;
  localStorage.setItem(key, String(n));
  return n;
}

export default function TerminalPage() {
  const [sandbox, setSandbox] = useState<SandboxOverview | null | undefined>(undefined);
  const [terminalId, setTerminalId] = useState('');
  const [amountText, setAmountText] = useState('');
  const [phase, setPhase] = useState<Phase>({ kind: 'idle' });
  const [exchanges, setExchanges] = useState<Exchange[]>([]);
  const [request, setRequest] = useState<IsoView | null>(null);
  const [response, setResponse] = useState<IsoView | null>(null);
  const [error, setError] = useState<string | null>(null);
  const reader = useRef<ReaderField | null>(null);
  const abort = useRef<AbortController | null>(null);
  const ids = { terminal: useId(), amount: useId() };

  useEffect(() => {
    reader.current = new ReaderField();
    void sandboxOverview().then((s) => {
      setSandbox(s);
      const first = s?.terminals.find((t) => t.kind !== 'ecommerce');
      if (first) setTerminalId(first.terminalId);
    });
    return () => reader.current?.close();
  }, []);

  const terminals = (sandbox?.terminals ?? []).filter((t) => t.kind !== 'ecommerce');
  const terminal = terminals.find((t) => t.terminalId === terminalId);
  const currency = terminal ? currencyByAlpha(terminal.currency) : undefined;

  const charge = async (t: Terminal) => {
    setError(null);
    setExchanges([]);
    setRequest(null);
    setResponse(null);
    const cur = currencyByAlpha(t.currency);
    const amount = cur ? parseAmount(amountText.trim(), cur) : undefined;
    if (!cur || amount === undefined || amount < 1) {
      setError(`Enter an amount such as 4.50 (${t.currency}).`);
      return;
    }
    const country = COUNTRY_NUMERIC[t.country.toUpperCase()];
    if (!country) {
      setError(`This terminal's country (${t.country}) is not configured.`);
      return;
    }
    const tapId = newId();
    const controller = new AbortController();
    abort.current = controller;
    setPhase({ kind: 'waiting', amount, currency: cur.alpha });
    const phone = await reader.current!.waitForPhone({ tapId, merchant: t.merchantName, amount, currency: cur.alpha, terminalId: t.terminalId, mcc: t.mcc }, 60_000, controller.signal);
    if (!phone) {
      setPhase({ kind: 'idle' });
      if (!controller.signal.aborted) setError('No card or phone was presented.');
      return;
    }
    setPhase({ kind: 'reading', phone: phone.deviceName });
    const kernel = new ContactlessKernel({
      terminalId: t.terminalId,
      merchantId: (t.cardAcceptorId ?? t.merchantId).slice(0, 15).padEnd(15, ' '),
      merchantName: t.merchantName.slice(0, 25),
      merchantCity: (t.city ?? '').slice(0, 13),
      merchantCountry: t.country.toUpperCase(),
      mcc: t.mcc,
      countryCode: country,
      currencyCode: cur.numeric,
      currencyAlpha: cur.alpha,
      stan: nextStan,
    });
    // Every APDU shows as it happens.
    const link = {
      transceive: async (command: Uint8Array) => {
        const view = viewCommand(command);
        setExchanges((x) => [...x, { command: view, response: null }]);
        const answer = await phone.transceive(command);
        const rv = viewResponse(answer);
        setExchanges((x) => x.map((e, i) => (i === x.length - 1 ? { ...e, response: rv } : e)));
        return answer;
      },
    };
    let outcome: KernelOutcome;
    try {
      outcome = await kernel.transact(link, { amount });
    } catch (err) {
      // 6985 to SELECT PPSE: the phone offers no card because none is authorised for a payment (no
      // double-click and Face ID, or the card is suspended), not because it has no payment application.
      if ((err as { sw?: number }).sw === 0x6985) {
        const reason = 'the phone offered no card: it was not authorised for this payment. Double-click the side button and pass Face ID first (a suspended card is never offered).';
        setPhase({ kind: 'result', approved: false, title: 'Not authorised on the phone', reason, authCode: null });
        reader.current!.result(tapId, phone.phoneId, false, 'Not authorised: double-click the side button and pass Face ID first, then hold near the reader.');
        return;
      }
      const reason = `card read failed (${(err as { code?: string }).code ?? 'error'}): ${errorText(err)}`;
      setPhase({ kind: 'result', approved: false, title: 'Declined', reason, authCode: null });
      reader.current!.result(tapId, phone.phoneId, false, 'card read failed');
      return;
    }
    if (outcome.kind === 'declined_offline') {
      const reason = outcome.reason === 'cvm_required' ? 'see phone: authenticate on the phone and tap again' : 'declined by the card';
      setPhase({ kind: 'result', approved: false, title: outcome.reason === 'cvm_required' ? 'See phone' : 'Declined', reason, authCode: null });
      reader.current!.result(tapId, phone.phoneId, false, reason);
      return;
    }
    setRequest(isoView(outcome.packed));
    setPhase({ kind: 'online' });
    let result: AuthorizationResult;
    try {
      const res = await fetch('/acquirer/v1/authorizations', {
        method: 'POST',
        headers: { authorization: `Bearer ${t.apiKey}`, 'content-type': 'application/octet-stream' },
        body: new Blob([outcome.packed as Uint8Array<ArrayBuffer>]),
      });
      if (!res.ok) {
        const body = (await res.json().catch(() => null)) as { error?: { message?: string } } | null;
        throw new Error(body?.error?.message ?? `the acquirer answered ${res.status}`);
      }
      const bytes = new Uint8Array(await res.arrayBuffer());
      setResponse(isoView(bytes));
      result = kernel.interpretResponse(bytes, outcome.request);
    } catch (err) {
      const reason = `no answer from the acquirer: ${errorText(err)}`;
      setPhase({ kind: 'result', approved: false, title: 'Declined', reason, authCode: null });
      reader.current!.result(tapId, phone.phoneId, false, reason);
      return;
    }
    if (result.approved) markStep('paid_in_store');
    setPhase({ kind: 'result', approved: result.approved, title: result.approved ? 'Approved' : 'Declined', reason: `${result.responseCode} · ${result.reason}`, authCode: result.authCode });
    reader.current!.result(tapId, phone.phoneId, result.approved, result.reason);
  };

  const busy = phase.kind === 'waiting' || phase.kind === 'reading' || phase.kind === 'online';

  return (
    <div className="terminal-app">
      <header className="topbar">
        <h1>Tessera Terminal</h1>
        {terminal && (
          <p className="merchant">
            {terminal.merchantName} · {terminal.terminalId}
          </p>
        )}
      </header>
      <main className="page">
        {sandbox === null && (
          <p className="error" role="alert">
            The sandbox is off: no seeded terminal with an API key is available to this page.
          </p>
        )}
        <div className="terminal-grid">
          <section className="reader" aria-labelledby="reader-title">
            <h2 id="reader-title" className="visually-hidden">
              Reader
            </h2>
            <form
              onSubmit={(e) => {
                e.preventDefault();
                if (terminal && !busy) void charge(terminal);
              }}
            >
              <label htmlFor={ids.terminal}>Terminal</label>
              <select id={ids.terminal} value={terminalId} onChange={(e) => setTerminalId(e.target.value)} disabled={busy}>
                {terminals.map((t) => (
                  <option key={t.terminalId} value={t.terminalId}>
                    {t.merchantName} ({t.terminalId}, MCC {t.mcc})
                  </option>
                ))}
              </select>
              <label htmlFor={ids.amount}>Amount{currency ? ` (${currency.alpha})` : ''}</label>
              <input id={ids.amount} inputMode="decimal" placeholder="0.00" value={amountText} onChange={(e) => setAmountText(e.target.value)} disabled={busy} autoComplete="off" />
              <div className="button-row">
                <button type="submit" className="primary" disabled={busy || !terminal}>
                  Charge
                </button>
                {phase.kind === 'waiting' && (
                  <button type="button" onClick={() => abort.current?.abort()}>
                    Cancel
                  </button>
                )}
              </div>
            </form>
            <div className={`reader-screen reader-${phase.kind}${phase.kind === 'result' ? (phase.approved ? ' ok' : ' bad') : ''}`} role="status" aria-live="polite">
              {phase.kind === 'idle' && <p>Enter an amount and press Charge.</p>}
              {phase.kind === 'waiting' && (
                <>
                  <p className="amount">{money(phase.amount, phase.currency)}</p>
                  <p>Hold a phone near the reader (double-click to pay in the wallet tab).</p>
                </>
              )}
              {phase.kind === 'reading' && <p>Reading {phase.phone}… keep still.</p>}
              {phase.kind === 'online' && <p>Authorizing…</p>}
              {phase.kind === 'result' && (
                <>
                  <p className="result-title">{phase.title}</p>
                  <p className="result-reason">{phase.reason}</p>
                  {phase.authCode && <p>Authorization code {phase.authCode}</p>}
                </>
              )}
            </div>
            {error && (
              <p className="error" role="alert">
                {error}
              </p>
            )}
          </section>
          <section className="dialogue" aria-labelledby="apdu-title">
            <h2 id="apdu-title">Card dialogue (APDUs)</h2>
            {exchanges.length === 0 ? (
              <p className="hint">The commands the reader sends and the phone&apos;s answers appear here, decoded, with card numbers masked.</p>
            ) : (
              <ol className="apdus">
                {exchanges.map((x, i) => (
                  <li key={i} className="apdu">
                    <p className="apdu-cmd">
                      <span className="dir">→</span> <strong>{x.command.name}</strong> <code>{x.command.header}</code> {x.command.detail}
                    </p>
                    {x.command.data.length > 0 && <Tags tags={x.command.data} />}
                    {x.response ? (
                      <>
                        <p className="apdu-rsp">
                          <span className="dir">←</span> <code>{x.response.sw}</code> {x.response.meaning}
                          {x.response.length > 0 ? ` · ${x.response.length} bytes` : ''}
                        </p>
                        <Tags tags={x.response.data} />
                      </>
                    ) : (
                      <p className="apdu-rsp pending">…</p>
                    )}
                  </li>
                ))}
              </ol>
            )}
            <h2>ISO 8583</h2>
            {!request ? (
              <p className="hint">The authorization request (0100) to the acquirer and its answer (0110), masked.</p>
            ) : (
              <div className="iso-pair">
                <IsoTable title="Request" view={request} />
                {response && <IsoTable title="Response" view={response} />}
              </div>
            )}
          </section>
        </div>
      </main>
    </div>
  );
}

function Tags(props: { tags: TagView[] }) {
  return (
    <ul className="tags">
      {props.tags.map((t, i) => (
        <li key={i}>
          <code className="tag">{t.tag}</code> <span className="tag-name">{t.name}</span> {t.value && <code className="tag-value">{t.value}</code>}
          {t.children && <Tags tags={t.children} />}
        </li>
      ))}
    </ul>
  );
}

function IsoTable(props: { title: string; view: IsoView }) {
  return (
    <table className="iso">
      <caption>
        {props.title} · MTI {props.view.mti}
      </caption>
      <thead>
        <tr>
          <th scope="col">DE</th>
          <th scope="col">Field</th>
          <th scope="col">Value</th>
        </tr>
      </thead>
      <tbody>
        {props.view.fields.map((f) => (
          <tr key={f.n}>
            <th scope="row">{f.n}</th>
            <td>{f.name}</td>
            <td className="mono wrap">{f.value}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
