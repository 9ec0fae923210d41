import { useEffect, useMemo, useRef, useState } from 'react';
import type { InAppCard } from '../../../src/device/inapp.js';
import type { InAppPaymentRequest, PaymentMethodInfo } from '../../../src/device/platform-api.js';
import type { EnclaveState } from '../../../src/device/secure-enclave.js';
import { errorText } from '../shared/format';
import { loadDevice, walletFor, type BrowserDevice } from './device';
import { FaceIdPrompt } from './FaceIdPrompt';

/**
 * /wallet/pay: the payment sheet a merchant page opens (in an iframe) through the ApplePaySession
 * script, speaking the C2 postMessage protocol. The first `show` from the parent window fixes the
 * merchant's origin: from then on only that origin is listened to and written to, and every message
 * carries the sheet's `sid`. The user cannot authorize before the page has passed its validated merchant
 * session (`merchantValidated`). Paying runs on this browser's phone (its SE and Secure Enclave).
 */
const PROTOCOL = 'applepay/1';

interface Show {
  version: number;
  request: InAppPaymentRequest & { total: { label: string; amount: string; type?: string } };
  merchantOrigin: string;
}

type Stage =
  | { kind: 'waiting' }
  | { kind: 'no-wallet'; reason: string }
  | { kind: 'sheet' }
  | { kind: 'processing' }
  | { kind: 'done' }
  | { kind: 'failed'; text: string }
  | { kind: 'aborted' };

export default function PaySheet() {
  const sid = useMemo(() => new URLSearchParams(window.location.search).get('sid') ?? '', []);
  const [show, setShow] = useState<Show | null>(null);
  const [session, setSession] = useState<unknown>(undefined);
  const [device, setDevice] = useState<BrowserDevice | null>(null);
  const [cards, setCards] = useState<InAppCard[] | null>(null);
  const [cardId, setCardId] = useState('');
  const [total, setTotal] = useState<Show['request']['total'] | null>(null);
  const [stage, setStage] = useState<Stage>({ kind: 'waiting' });
  const [enclave, setEnclave] = useState<(EnclaveState & { biometric: 'face' | 'finger' | null }) | null>(null);
  const [error, setError] = useState<string | null>(null);
  const origin = useRef<string | null>(null);
  const pending = useRef<{ resolve: (status: number) => void } | null>(null);

  const post = (type: string, extra: Record<string, unknown> = {}) => {
    if (window.parent === window) return;
    // `ready` goes out before the merchant's origin is known and carries nothing but the sid.
    window.parent.postMessage({ tessera: PROTOCOL, sid, type, ...extra }, type === 'ready' ? '*' : origin.current!);
  };

  useEffect(() => {
    const onMessage = (e: MessageEvent) => {
      const m = e.data as { tessera?: unknown; sid?: unknown; type?: unknown } & Record<string, unknown>;
      if (e.source !== window.parent || !m || m.tessera !== PROTOCOL || m.sid !== sid || typeof m.type !== 'string') return;
      if (origin.current === null) {
        if (m.type !== 'show') return;
        const s = m as unknown as Show;
        if (typeof s.merchantOrigin !== 'string' || s.merchantOrigin !== e.origin || typeof s.request?.total?.amount !== 'string') return;
        origin.current = e.origin;
        setShow(s);
        setTotal(s.request.total);
        return;
      }
      if (e.origin !== origin.current) return;
      switch (m.type) {
        case 'merchantValidated':
          setSession(m.merchantSession);
          break;
        case 'paymentMethodUpdate': {
          const update = m.update as { newTotal?: Show['request']['total'] } | undefined;
          if (update?.newTotal && typeof update.newTotal.amount === 'string') setTotal(update.newTotal);
          break;
        }
        case 'completePayment':
          pending.current?.resolve(Number(m.status));
          pending.current = null;
          break;
        case 'abort':
          pending.current = null;
          setStage({ kind: 'aborted' });
          break;
        default:
          break;
      }
    };
    window.addEventListener('message', onMessage);
    post('ready');
    return () => window.removeEventListener('message', onMessage);
    // The listener is installed once; sid is fixed for the page's life.
  }, [sid]);

  // This browser's phone: its cards that may pay this request.
  useEffect(() => {
    if (!show) return;
    void (async () => {
      try {
        const d = await loadDevice('phone');
        if (!d.chips || !d.deviceId || !d.session?.deviceBound) {
          setStage({ kind: 'no-wallet', reason: 'Set up Tessera Wallet on this browser first (open /wallet), then pay again.' });
          return;
        }
        setDevice(d);
        const { wallet } = walletFor(d, d.session.token);
        const list = await wallet.inAppCards(show.request);
        setCards(list);
        setCardId(list[0]?.cardId ?? '');
        const state = await d.chips.enclave.state();
        setEnclave(state);
        setStage(list.length === 0 ? { kind: 'no-wallet', reason: 'No card in your wallet can pay this merchant.' } : { kind: 'sheet' });
      } catch (err) {
        setStage({ kind: 'no-wallet', reason: errorText(err) });
      }
    })();
  }, [show]);

  const chosen = cards?.find((c) => c.cardId === cardId) ?? null;

  const choose = (id: string) => {
    setCardId(id);
    const card = cards?.find((c) => c.cardId === id);
    if (card) post('paymentMethodSelected', { paymentMethod: card.paymentMethod satisfies PaymentMethodInfo });
  };

  const cancel = () => {
    post('cancel');
    setStage({ kind: 'aborted' });
  };

  const waitForCompletion = () => new Promise<number>((resolve) => (pending.current = { resolve }));

  if (!show) {
    return (
      <div className="sheet-page">
        <p role="status">Opening Tessera Pay…</p>
      </div>
    );
  }

  const amount = total ? `${total.amount} ${show.request.currencyCode}` : '';
  return (
    <div className="sheet-page">
      <div className="sheet pay-sheet" role="dialog" aria-modal="true" aria-labelledby="paysheet-title">
        <div className="sheet-head">
          <h1 id="paysheet-title">Tessera Pay</h1>
          <button type="button" className="link" onClick={cancel} disabled={stage.kind === 'done' || stage.kind === 'aborted'}>
            Cancel
          </button>
        </div>
        <dl className="facts">
          <dt>Merchant</dt>
          <dd>
            {total?.label ?? ''} <span className="sub">{show.merchantOrigin}</span>
          </dd>
          <dt>Total</dt>
          <dd className="total">{amount}</dd>
        </dl>
        {stage.kind === 'waiting' && <p role="status">Loading your wallet…</p>}
        {stage.kind === 'no-wallet' && (
          <p className="error" role="alert">
            {stage.reason}
          </p>
        )}
        {(stage.kind === 'sheet' || stage.kind === 'failed') && cards && device && enclave && (
          <>
            <label htmlFor="paysheet-card">Card</label>
            <select id="paysheet-card" value={cardId} onChange={(e) => choose(e.target.value)}>
              {cards.map((c) => (
                <option key={c.cardId} value={c.cardId}>
                  {c.paymentMethod.displayName}
                  {c.isDefault ? ' (default)' : ''}
                </option>
              ))}
            </select>
            {stage.kind === 'failed' && (
              <p className="error" role="alert">
                {stage.text}
              </p>
            )}
            {session === undefined ? (
              <p role="status">Waiting for the merchant…</p>
            ) : (
              <FaceIdPrompt
                key={stage.kind}
                biometric={enclave.biometric}
                initial={enclave}
                busyText="Paying…"
                attempt={async (method) => {
                  setError(null);
                  const { wallet } = walletFor(device, device.session!.token);
                  const r = await wallet.payInApp({ merchantSession: session, request: { ...show.request, total: total ?? show.request.total }, cardId: chosen?.cardId }, method);
                  if (!r.ok) return r.verification;
                  setStage({ kind: 'processing' });
                  post('authorized', { payment: { token: r.token } });
                  const status = await waitForCompletion();
                  setStage(status === 0 ? { kind: 'done' } : { kind: 'failed', text: 'The merchant could not complete the payment. Try again or cancel.' });
                  return null;
                }}
              />
            )}
          </>
        )}
        {stage.kind === 'processing' && <p role="status">Processing…</p>}
        {stage.kind === 'done' && (
          <p className="big-status ok" role="status">
            ✓ Done
          </p>
        )}
        {stage.kind === 'aborted' && <p role="status">Payment cancelled.</p>}
        {error && (
          <p className="error" role="alert">
            {error}
          </p>
        )}
      </div>
    </div>
  );
}
