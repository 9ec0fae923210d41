/**
 * The front door (/): what Tessera is, a link to every app, the five-minute walkthrough as a checklist
 * that ticks itself (the apps record each step in this origin's localStorage: ../shared/progress.ts),
 * and the sandbox's test cards, demo user and keys (GET /sandbox/v1, readable).
 */
import { useEffect, useState } from 'react';
import { NETWORK_NAMES } from '../shared/format';
import { sandboxOverview, type SandboxOverview } from '../shared/platform';
import { STEPS, useProgress } from '../shared/progress';
import './home.css';

const APPS = [
  { href: '/wallet', name: 'Wallet', what: 'This browser as an iPhone: sign up, add cards, pay with a double-click.' },
  { href: '/terminal', name: 'Terminal', what: 'A contactless reader at Corner Coffee: charge, then hold the phone near it.' },
  { href: '/store', name: 'Store', what: 'An online shop paying with Apple Pay on the web (your wallet is the sheet).' },
  { href: '/console', name: 'Console', what: 'The operator\u2019s view: counters, authorizations, each one\u2019s message flow.' },
  { href: '/docs', name: 'API reference', what: 'Every route of every party (OpenAPI), with its errors and examples.' },
  { href: '#sandbox', name: 'Test cards and keys', what: 'The sandbox: public test cards, the demo user, terminal keys.' },
] as const;

function Checklist() {
  const [progress, reset] = useProgress();
  const done = STEPS.filter((s) => progress[s.id]).length;
  return (
    <section className="panel" aria-labelledby="try-title">
      <div className="section-head">
        <h2 id="try-title">Try this first (five minutes)</h2>
        <p className="hint" aria-live="polite" id="try-count">
          {done} of {STEPS.length} done
        </p>
      </div>
      <p className="hint">Open the wallet and the terminal in two tabs of this browser, side by side: the phone and the reader talk across tabs. Each step ticks here by itself.</p>
      <ol className="checklist" aria-describedby="try-count">
        {STEPS.map((s) => {
          const at = progress[s.id];
          return (
            <li key={s.id} className={at ? 'done' : ''} aria-label={`${s.title}: ${at ? 'done' : 'not done yet'}`}>
              <span className="tick" aria-hidden="true">
                {at ? '\u2713' : ''}
              </span>
              <span>
                <strong>{s.title}</strong> <a href={s.href}>{s.app}</a>
                <span className="sub">{s.detail}</span>
              </span>
            </li>
          );
        })}
      </ol>
      {done > 0 && (
        <button type="button" className="link" onClick={reset}>
          Start the checklist again
        </button>
      )}
    </section>
  );
}

function Sandbox({ sandbox }: { sandbox: SandboxOverview | null | undefined }) {
  return (
    <section className="panel" id="sandbox" aria-labelledby="sandbox-title">
      <h2 id="sandbox-title">Sandbox: test cards and keys</h2>
      {sandbox === undefined ? (
        <p role="status">Loading…</p>
      ) : sandbox === null ? (
        <p>The sandbox is off on this server (TESSERA_SANDBOX=0): no test cards or demo keys.</p>
      ) : (
        <>
          <p className="hint">
            Public test numbers, never real cards (also as JSON: <a href="/sandbox/v1">GET /sandbox/v1</a>). Any future expiry works; the wallet&apos;s &quot;Use&quot; fills
            them in for you.
          </p>
          <div className="table-scroll">
            <table className="cards-table">
              <caption className="visually-hidden">Test cards</caption>
              <thead>
                <tr>
                  <th scope="col">Card</th>
                  <th scope="col">Network</th>
                  <th scope="col">Number</th>
                  <th scope="col">Expiry</th>
                  <th scope="col">CVV</th>
                  <th scope="col">Path</th>
                </tr>
              </thead>
              <tbody>
                {sandbox.testCards.map((c) => {
                  // "Visa green: Approved at once (green)." → the card's name, and what it is for beneath.
                  const [title, ...purpose] = c.label.split(': ');
                  return (
                    <tr key={c.number}>
                      <td className="card-name">
                        {title}
                        {purpose.length > 0 && <span className="sub">{purpose.join(': ')}</span>}
                      </td>
                      <td>{NETWORK_NAMES[c.network] ?? c.network}</td>
                      <td>
                        <code>{c.number}</code>
                      </td>
                      <td>{c.expiry}</td>
                      <td>{c.cvv}</td>
                      <td>
                        <span className={`path path-${c.path}`}>{c.path}</span>
                      </td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </div>
          <p className="hint">Green: added at once. Yellow: the issuer asks for a one-time code (it appears under the simulated messages). Red: refused.</p>
          <h3>Demo user</h3>
          <p>
            <code>{sandbox.demoUser.email}</code> / <code>{sandbox.demoUser.password}</code> (or &quot;Sign in as the demo user&quot; in the wallet)
          </p>
          <h3>Terminals</h3>
          <ul>
            {sandbox.terminals.map((t) => (
              <li key={t.terminalId}>
                <strong>{t.merchantName}</strong> ({t.city ? `${t.city}, ` : ''}
                {t.country}, MCC {t.mcc}, {t.currency}): terminal <code>{t.terminalId}</code>
                <details>
                  <summary>
                    API key (for <code>tessera tap</code> or your own terminal)
                  </summary>
                  <code className="wrap">{t.apiKey}</code>
                </details>
              </li>
            ))}
          </ul>
          {sandbox.store && (
            <>
              <h3>Online store</h3>
              <p>
                Merchant identifier <code className="wrap">{sandbox.store.merchantIdentifier}</code> at <a href={sandbox.store.path}>{sandbox.store.path}</a>
              </p>
            </>
          )}
          <p className="hint">
            The console&apos;s read-only ops key is at <a href="/sandbox/v1/ops-key">/sandbox/v1/ops-key</a> (the console fetches it by itself).
          </p>
        </>
      )}
    </section>
  );
}

export default function HomePage() {
  const [sandbox, setSandbox] = useState<SandboxOverview | null | undefined>(undefined);
  useEffect(() => {
    void sandboxOverview().then(setSandbox);
  }, []);
  return (
    <>
      <header className="topbar">
        <h1>Tessera</h1>
      </header>
      <main className="page home">
        <section className="hero">
          <p className="lead">A self-hosted, open-source mobile-wallet payment platform: wallet, token service, card networks, issuers and an acquirer in one process.</p>
          <p>Add a card to this browser as if it were a phone, pay at a contactless terminal or in an online store, and watch every EMV and ISO 8583 message on the way.</p>
        </section>
        <nav aria-label="Apps">
          <ul className="apps">
            {APPS.map((a) => (
              <li key={a.href}>
                <a href={a.href}>{a.name}</a>
                <span className="sub">{a.what}</span>
              </li>
            ))}
          </ul>
        </nav>
        <Checklist />
        <Sandbox sandbox={sandbox} />
      </main>
    </>
  );
}
