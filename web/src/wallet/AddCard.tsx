import { useEffect, useId, useState } from 'react';
import type { SandboxMessage, VerificationMethod } from '../../../src/device/platform-api.js';
import type { Wallet, AddCardResult } from '../../../src/device/wallet.js';
import { NETWORK_NAMES, errorText } from '../shared/format';
import type { SandboxOverview } from '../shared/platform';
import { markStep } from '../shared/progress';

type TestCard = SandboxOverview['testCards'][number];

type Step =
  | { kind: 'form' }
  | { kind: 'verify'; cardId: string; last4: string; methods: VerificationMethod[]; sent: boolean; messages: SandboxMessage[] }
  | { kind: 'done'; last4: string };

/** Add a card: card data → JWE to the network (on this device) → the issuer's ID&V (green / yellow / red). */
export function AddCard(props: { wallet: Wallet; testCards: TestCard[]; onDone: () => void; onCancel: () => void }) {
  const [step, setStep] = useState<Step>({ kind: 'form' });
  const [pan, setPan] = useState('');
  const [expiry, setExpiry] = useState('');
  const [cvv, setCvv] = useState('');
  const [name, setName] = useState('');
  const [score, setScore] = useState('');
  const [method, setMethod] = useState('');
  const [code, setCode] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const ids = { pan: useId(), exp: useId(), cvv: useId(), name: useId(), score: useId(), code: useId() };


  const settle = (r: AddCardResult) => {
    if (r.state === 'active') {
      markStep('card_added');
      setStep({ kind: 'done', last4: r.card.last4 });
    }
    else {
      setStep({ kind: 'verify', cardId: r.card.id, last4: r.card.last4, methods: r.methods, sent: false, messages: [] });
      setMethod(r.methods[0]?.id ?? '');
    }
  };

  const guard = async (fn: () => Promise<void>) => {
    setBusy(true);
    setError(null);
    try {
      await fn();
    } catch (err) {
      setError(errorText(err));
    } finally {
      setBusy(false);
    }
  };

  const submit = (card: { pan: string; expiry: string; cvv: string; name: string } = { pan, expiry, cvv, name }) =>
    guard(async () => {
      const m = /^\s*(\d{1,2})\s*\/\s*(\d{2}|\d{4})\s*$/.exec(card.expiry);
      if (!m) throw new Error('Expiry must be MM/YY.');
      const year = m[2]!.length === 2 ? 2000 + Number(m[2]) : Number(m[2]);
      const r = await props.wallet.addCard({ pan: card.pan, expMonth: Number(m[1]), expYear: year, cvv: card.cvv, name: card.name }, score ? { sandboxDeviceScore: Number(score) } : {});
      setPan('');
      setCvv('');
      settle(r);
    });

  /** "Use" on a test card: fills the form (so it can be seen) and adds the card at once, as "Continue" would. */
  const use = (c: TestCard) => {
    if (busy) return;
    setPan(c.number);
    setExpiry(c.expiry);
    setCvv(c.cvv);
    setName(c.cardholderName);
    void submit({ pan: c.number, expiry: c.expiry, cvv: c.cvv, name: c.cardholderName });
  };

  const current = step.kind === 'verify' ? step : null;

  // The simulated SMS arrives a moment after the issuer "sends" it: look for it a few times.
  useEffect(() => {
    if (!current?.sent || current.messages.length > 0) return;
    let stop = false;
    let tries = 0;
    const look = async () => {
      while (!stop && tries++ < 10) {
        try {
          const messages = await props.wallet.verificationMessages(current.cardId);
          if (messages.length > 0) {
            if (!stop) setStep((s) => (s.kind === 'verify' ? { ...s, messages } : s));
            return;
          }
        } catch {
          // keep looking
        }
        await new Promise((r) => setTimeout(r, 700));
      }
    };
    void look();
    return () => {
      stop = true;
    };
  }, [current?.sent, current?.cardId, current?.messages.length, props.wallet]);

  if (step.kind === 'done') {
    return (
      <section className="panel" aria-labelledby="add-done">
        <h2 id="add-done">Card added</h2>
        <p role="status">The card ending {step.last4} is ready to use with Tessera Pay.</p>
        <button type="button" className="primary" onClick={props.onDone}>
          Done
        </button>
      </section>
    );
  }

  if (step.kind === 'verify') {
    return (
      <section className="panel" aria-labelledby="verify-title">
        <h2 id="verify-title">Verify your card</h2>
        <p>Your bank needs to confirm it is you before the card ending {step.last4} can be used.</p>
        {!step.sent ? (
          <form
            onSubmit={(e) => {
              e.preventDefault();
              void guard(async () => {
                await props.wallet.sendCode(step.cardId, method);
                setStep({ ...step, sent: true });
              });
            }}
          >
            <fieldset>
              <legend>Send a one-time code by</legend>
              {step.methods.map((m) => (
                <label key={m.id} className="radio">
                  <input type="radio" name="method" value={m.id} checked={method === m.id} onChange={() => setMethod(m.id)} />
                  {m.type.toUpperCase()} to {m.destination}
                </label>
              ))}
            </fieldset>
            <button type="submit" className="primary" disabled={busy || !method}>
              Send code
            </button>
          </form>
        ) : (
          <>
            <div className="sms" aria-label="Simulated messages" role="region">
              <h3>Messages (sandbox: the SMS your bank sent)</h3>
              {step.messages.length === 0 ? (
                <p role="status">Waiting for the message…</p>
              ) : (
                <ul>
                  {step.messages.map((m, i) => (
                    <li key={i} className="sms-bubble">
                      <span className="sms-to">
                        {m.channel.toUpperCase()} to {m.destination}
                      </span>
                      <span className="sms-body">{m.body}</span>
                    </li>
                  ))}
                </ul>
              )}
            </div>
            <form
              onSubmit={(e) => {
                e.preventDefault();
                void guard(async () => settle(await props.wallet.confirmCode(step.cardId, code.trim())));
              }}
            >
              <label htmlFor={ids.code}>One-time code</label>
              <input id={ids.code} inputMode="numeric" autoComplete="one-time-code" maxLength={6} value={code} onChange={(e) => setCode(e.target.value)} />
              <button type="submit" className="primary" disabled={busy || code.trim().length !== 6}>
                Verify
              </button>
            </form>
          </>
        )}
        {error && (
          <p className="error" role="alert">
            {error}
          </p>
        )}
        <button type="button" className="link" onClick={props.onCancel}>
          Later
        </button>
      </section>
    );
  }

  return (
    <section className="panel" aria-labelledby="add-title">
      <h2 id="add-title">Add a card</h2>
      <form
        className="card-form"
        onSubmit={(e) => {
          e.preventDefault();
          void submit();
        }}
      >
        <label htmlFor={ids.pan}>Card number</label>
        <input id={ids.pan} inputMode="numeric" autoComplete="cc-number" value={pan} onChange={(e) => setPan(e.target.value)} required />
        <div className="row">
          <div>
            <label htmlFor={ids.exp}>Expiry (MM/YY)</label>
            <input id={ids.exp} autoComplete="cc-exp" placeholder="MM/YY" value={expiry} onChange={(e) => setExpiry(e.target.value)} required />
          </div>
          <div>
            <label htmlFor={ids.cvv}>Security code</label>
            <input id={ids.cvv} inputMode="numeric" autoComplete="cc-csc" type="password" maxLength={4} value={cvv} onChange={(e) => setCvv(e.target.value)} required />
          </div>
        </div>
        <label htmlFor={ids.name}>Name on card</label>
        <input id={ids.name} autoComplete="cc-name" value={name} onChange={(e) => setName(e.target.value)} required />
        <label htmlFor={ids.score}>Device score (sandbox: 1–2 asks for a one-time code)</label>
        <select id={ids.score} value={score} onChange={(e) => setScore(e.target.value)}>
          <option value="">Not set</option>
          {[1, 2, 3, 4, 5].map((n) => (
            <option key={n} value={String(n)}>
              {n}
            </option>
          ))}
        </select>
        <div className="button-row">
          <button type="submit" className="primary" disabled={busy}>
            {busy ? 'Adding…' : 'Continue'}
          </button>
          <button type="button" onClick={props.onCancel}>
            Cancel
          </button>
        </div>
        {error && (
          <p className="error" role="alert">
            {error}
          </p>
        )}
      </form>
      {props.testCards.length > 0 && (
        <div className="test-cards">
          <h3>Sandbox test cards</h3>
          <p className="hint">
            Public sandbox numbers (never real cards). &quot;Use&quot; fills in the form and adds the card at once (no need to press &quot;Continue&quot;): green is added
            straight away, yellow asks for a one-time code, red is declined.
          </p>
          <table>
            <thead>
              <tr>
                <th scope="col">Card</th>
                <th scope="col">Number</th>
                <th scope="col">Expiry / CVV</th>
                <th scope="col">Path</th>
                <th scope="col">
                  <span className="visually-hidden">Action</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {props.testCards.map((c) => (
                <tr key={`${c.issuerId}-${c.number}`}>
                  <td>
                    {c.label}
                    <span className="sub">
                      {NETWORK_NAMES[c.network]} · {c.issuerName}
                    </span>
                  </td>
                  <td className="mono">{c.number}</td>
                  <td className="mono">
                    {c.expiry} / {c.cvv}
                  </td>
                  <td>
                    <span className={`path path-${c.path}`}>{c.path}</span>
                  </td>
                  <td>
                    <button type="button" disabled={busy} onClick={() => use(c)} aria-label={`Use ${c.label} (${c.path})`} title="Fill in the form with this card and add it">
                      Use
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
