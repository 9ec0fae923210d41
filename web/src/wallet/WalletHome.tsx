import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import type { Wallet, WalletCard, TransactionEntry } from '../../../src/device/wallet.js';
import type { DeviceInfo } from '../../../src/platform/client.js';
import { NETWORK_NAMES, errorStatus, errorText, money, randomKey, shortTime } from '../shared/format';
import { PhoneAntenna, type FieldInfo } from '../shared/nfc-channel';
import { PlatformAccount, openEventStream, platformTransport, type SandboxOverview } from '../shared/platform';
import { AddCard } from './AddCard';
import { walletFor, type BrowserDevice } from './device';
import { FaceIdPrompt } from './FaceIdPrompt';

const DOUBLE_CLICK_MS = 500;
const SLOT_CARDS_SEEN = 'app:cards-seen';

/** The cards as last seen from the platform, with what this device's SE says now (offline view). */
async function offlineCards(wallet: Wallet, se: NonNullable<BrowserDevice['chips']>['se'], device: BrowserDevice): Promise<WalletCard[]> {
  const seen = ((await device.storage.get(SLOT_CARDS_SEEN).catch(() => undefined)) as WalletCard[] | undefined) ?? [];
  const inSe = new Map((await se.listCards()).map((c) => [c.tokenRef, c]));
  const def = await wallet.defaultCard();
  return seen.map((c) => {
    const local = inSe.get(c.token_ref);
    const status: WalletCard['wallet_status'] = !local ? 'not_on_device' : local.status === 'suspended' ? 'suspended' : c.wallet_status === 'not_on_device' ? 'active' : c.wallet_status;
    return { ...c, on_device: local !== undefined, wallet_status: status, is_default: def?.cardId === c.id };
  });
}
const ARMED_MS = 60_000;

type PayState =
  | { kind: 'closed' }
  | { kind: 'verify'; card: WalletCard }
  | { kind: 'armed'; card: WalletCard; until: number; cdcvm: boolean }
  | { kind: 'paying'; card: WalletCard }
  | { kind: 'done'; card: WalletCard; approved: boolean; text: string }
  | { kind: 'error'; text: string };

export function WalletHome(props: {
  device: BrowserDevice;
  sandbox: SandboxOverview | null;
  onSessionEnded: () => void;
  onSignedOut: () => void;
  onErased: () => void;
}) {
  const { device } = props;
  const session = device.session!;
  const { wallet } = useMemo(() => walletFor(device, session.token), [device, session.token]);
  const account = useMemo(() => new PlatformAccount(platformTransport(), () => session.token), [session.token]);
  const se = device.chips!.se;
  const enclave = device.chips!.enclave;

  const [cards, setCards] = useState<WalletCard[] | null>(null);
  const [transactions, setTransactions] = useState<TransactionEntry[]>([]);
  const [devices, setDevices] = useState<DeviceInfo[]>([]);
  const [transit, setTransit] = useState<string | null>(null);
  const [view, setView] = useState<{ kind: 'home' } | { kind: 'add' } | { kind: 'card'; id: string }>({ kind: 'home' });
  const [pay, setPay] = useState<PayState>({ kind: 'closed' });
  const [field, setField] = useState<FieldInfo | null>(null);
  const [stream, setStream] = useState<'open' | 'reconnecting' | 'ended' | 'connecting'>('connecting');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  // The platform refused the session: the wallet stays open (its SE still answers readers) until the user signs in again.
  const [ended, setEnded] = useState(false);
  const payRef = useRef(pay);
  payRef.current = pay;
  const transitRef = useRef(transit);
  transitRef.current = transit;
  const fieldTimer = useRef<ReturnType<typeof setTimeout> | null>(null);

  const fail = useCallback(
    (err: unknown) => {
      if (errorStatus(err) === 401) setEnded(true);
      else setError(errorText(err));
    },
    [],
  );

  const refresh = useCallback(async () => {
    try {
      const [t, tr] = await Promise.all([wallet.transactions(), se.transitCard()]);
      setTransactions(t);
      setTransit(tr);
      const [c, d] = await Promise.all([wallet.cards(), account.devices()]);
      setCards(c);
      setDevices(d.data);
      // The last list seen, for when the platform cannot be reached (or no longer accepts this device).
      await device.storage.put(SLOT_CARDS_SEEN, c);
    } catch (err) {
      fail(err);
      setCards(await offlineCards(wallet, se, device));
    }
  }, [wallet, account, se, fail, device]);

  // Catch up on what happened while this page was closed, then follow the push channel live.
  useEffect(() => {
    let stop: (() => void) | null = null;
    let live = true;
    const start = async () => {
      try {
        await wallet.sync.syncEvents();
        await wallet.sync.reconcileTransactions();
      } catch (err) {
        if (errorStatus(err) === 401) {
          setEnded(true);
          await refresh();
          return;
        }
      }
      await refresh();
      if (!live) return;
      stop = openEventStream({
        session: () => session.token,
        lastEventId: () => wallet.sync.cursor(),
        onState: setStream,
        onAuthLost: () => setEnded(true),
        onEvent: (e) => {
          const data = e.data as { created_at?: string };
          void wallet.sync
            .applyEvent({ id: e.id, type: e.type, data: e.data, created_at: data.created_at ?? new Date().toISOString() })
            .catch(() => undefined)
            .then(refresh);
        },
      });
    };
    void start();
    return () => {
      live = false;
      stop?.();
    };
  }, [wallet]);

  // The NFC antenna: answers a reader's APDUs with this device's SE.
  const antenna = useMemo(
    () =>
      new PhoneAntenna({
        deviceName: () => device.deviceName ?? device.kind,
        processApdu: (command) => se.processApdu(command),
        onField: (info) => {
          const p = payRef.current;
          if (fieldTimer.current) clearTimeout(fieldTimer.current);
          fieldTimer.current = setTimeout(() => setField(null), 2500);
          // Armed by double-click (or an express transit card): held near the reader, it answers at once.
          if ((p.kind === 'armed' && p.until > Date.now()) || (transitRef.current !== null && p.kind === 'closed' && se.transitPolicy().mccs.includes(info.mcc))) {
            antenna.present(info.tapId);
            return;
          }
          setField(info);
        },
        onFieldOff: () => setField(null),
        onSelected: () => {
          setField(null);
          setPay((p) => (p.kind === 'armed' ? { kind: 'paying', card: p.card } : p));
        },
        onResult: (_tapId, approved, text) => {
          setPay((p) => (p.kind === 'paying' || p.kind === 'armed' ? { kind: 'done', card: p.card, approved, text } : p.kind === 'closed' ? { kind: 'done', card: defaultCardRef.current!, approved, text } : p));
          void se.cancelContactless();
          void refresh();
        },
      }),
    [se, device],
  );
  useEffect(() => () => antenna.close(), [antenna]);

  const defaultCard = cards?.find((c) => c.is_default && c.on_device) ?? null;
  const defaultCardRef = useRef(defaultCard);
  defaultCardRef.current = defaultCard;

  // Double-click the side button: two presses within half a second (mouse, keyboard or touch).
  const lastPress = useRef(0);
  const sideButton = () => {
    const now = Date.now();
    if (now - lastPress.current < DOUBLE_CLICK_MS) {
      lastPress.current = 0;
      openPay();
    } else lastPress.current = now;
  };

  const openPay = () => {
    setError(null);
    if (!defaultCard) {
      setPay({ kind: 'error', text: cards && cards.length > 0 ? 'No card on this device can pay: choose a default card.' : 'Add a card to pay.' });
      return;
    }
    if (defaultCard.wallet_status !== 'active') {
      setPay({ kind: 'error', text: `The card ending ${defaultCard.last4} is ${defaultCard.wallet_status === 'suspended' ? 'suspended' : 'not available'}: it cannot pay.` });
      return;
    }
    setPay({ kind: 'verify', card: defaultCard });
  };

  const closePay = () => {
    void se.cancelContactless();
    setPay({ kind: 'closed' });
  };

  // The armed state ends after 60 s, as the SE's authorization does.
  useEffect(() => {
    if (pay.kind !== 'armed') return;
    const t = setTimeout(() => {
      void se.cancelContactless();
      setPay((p) => (p.kind === 'armed' ? { kind: 'closed' } : p));
    }, Math.max(0, pay.until - Date.now()));
    return () => clearTimeout(t);
  }, [pay, se]);

  const cardAction = async (card: WalletCard, action: 'suspend' | 'resume' | 'delete') => {
    setBusy(true);
    setError(null);
    try {
      await account.cardAction(card.id, action, randomKey());
      // The push channel brings the change to the SE; pull it now rather than wait for the stream.
      await wallet.sync.syncEvents().catch(() => undefined);
      if (action === 'delete' && card.on_device) await wallet.removeLocal(card.token_ref).catch(() => undefined);
      if (action === 'delete') setView({ kind: 'home' });
      await refresh();
    } catch (err) {
      fail(err);
    } finally {
      setBusy(false);
    }
  };

  const deviceAction = async (d: DeviceInfo, action: 'lost' | 'found' | 'erase') => {
    setBusy(true);
    setError(null);
    try {
      await account.deviceAction(d.id, action);
      await refresh();
    } catch (err) {
      fail(err);
    } finally {
      setBusy(false);
    }
  };

  const me = devices.find((d) => d.id === device.deviceId);
  const others = devices.filter((d) => d.id !== device.deviceId);
  const selected = view.kind === 'card' ? cards?.find((c) => c.id === view.id) : undefined;

  return (
    <div className="wallet-home">
      <div className="device-bar">
        <p>
          <strong>{device.deviceName}</strong> · {session.email}{' '}
          <span className={`stream stream-${stream}`} title="Live updates from the platform">
            {stream === 'open' ? 'live' : stream === 'ended' ? 'offline' : 'connecting'}
          </span>
        </p>
        <button
          type="button"
          className="link"
          onClick={() => {
            void account.signOut().catch(() => undefined).then(props.onSignedOut);
          }}
        >
          Sign out
        </button>
      </div>
      {ended && (
        <div className="notice danger" role="alert">
          <p>Your session ended: it expired, was signed out, or this {device.kind} was reported lost. Cards already on it stay in its Secure Element; the platform decides whether they pay.</p>
          <button type="button" onClick={props.onSessionEnded}>
            Sign in again
          </button>
        </div>
      )}
      {me && me.status !== 'active' && (
        <p className="notice danger" role="alert">
          This {device.kind} is marked {me.status} on your account: its cards are suspended.
        </p>
      )}

      <button type="button" className="side-button" onClick={sideButton} aria-describedby="side-hint">
        Side button
      </button>
      <p id="side-hint" className="hint">
        Double-click the side button to pay with your default card.
      </p>

      {field && pay.kind !== 'armed' && pay.kind !== 'paying' && (
        <div className="reader-banner" role="alert">
          <p>
            A reader at <strong>{field.merchant}</strong> asks for {money(field.amount, field.currency)}. Double-click the side button to pay.
          </p>
          <button type="button" onClick={() => antenna.present(field.tapId)}>
            Hold near reader without double-click
          </button>
        </div>
      )}

      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}

      {view.kind === 'add' ? (
        <AddCard
          wallet={wallet}
          testCards={props.sandbox?.testCards ?? []}
          onCancel={() => {
            setView({ kind: 'home' });
            void refresh();
          }}
          onDone={() => {
            setView({ kind: 'home' });
            void refresh();
          }}
        />
      ) : selected ? (
        <CardDetails
          card={selected}
          wallet={wallet}
          transactions={transactions.filter((t) => t.cardId === selected.id)}
          transit={transit === selected.token_ref}
          busy={busy}
          onBack={() => setView({ kind: 'home' })}
          onAction={(a) => void cardAction(selected, a)}
          onDefault={() => {
            void wallet.setDefaultCard(selected.id).then(refresh, fail);
          }}
          onTransit={(on) => {
            void se.setTransitCard(on ? selected.token_ref : null).then(refresh, fail);
          }}
        />
      ) : (
        <>
          <section aria-labelledby="cards-title">
            <div className="section-head">
              <h2 id="cards-title">Cards</h2>
              <button type="button" className="primary" onClick={() => setView({ kind: 'add' })}>
                Add card
              </button>
            </div>
            {cards === null ? (
              <p role="status">Loading cards…</p>
            ) : cards.length === 0 ? (
              <p>No cards yet. Add a card to pay with this {device.kind}.</p>
            ) : (
              <ul className="card-stack">
                {cards
                  .filter((c) => c.wallet_status !== 'deleted')
                  .map((c) => (
                    <li key={c.id}>
                      <button type="button" className="card-tile" onClick={() => setView({ kind: 'card', id: c.id })} aria-label={`${NETWORK_NAMES[c.network]} card ending ${c.last4}, ${statusText(c)}${c.is_default ? ', default' : ''}`}>
                        <img src={c.art_url} alt="" className="card-art" />
                        <span className="card-meta">
                          <span>
                            {c.issuer_name} · {NETWORK_NAMES[c.network]} •••• {c.last4}
                          </span>
                          <span className={`badge badge-${c.wallet_status}`}>{statusText(c)}</span>
                          {c.is_default && <span className="badge badge-default">Default</span>}
                          {transit === c.token_ref && <span className="badge">Express Transit</span>}
                        </span>
                      </button>
                    </li>
                  ))}
              </ul>
            )}
          </section>
          <Transactions transactions={transactions} cards={cards ?? []} />
          <section aria-labelledby="devices-title">
            <h2 id="devices-title">Your devices</h2>
            <ul className="devices">
              {me && (
                <li>
                  <span>
                    {me.name} ({me.kind}) — this device{me.status !== 'active' ? `, ${me.status}` : ''}
                  </span>
                </li>
              )}
              {others.map((d) => (
                <li key={d.id}>
                  <span>
                    {d.name} ({d.kind}) — <span className={`badge badge-${d.status}`}>{d.status}</span>
                  </span>
                  <span className="button-row">
                    {d.status === 'active' && (
                      <button type="button" disabled={busy} onClick={() => void deviceAction(d, 'lost')} aria-label={`Mark ${d.name} as lost`}>
                        Mark as lost
                      </button>
                    )}
                    {d.status === 'lost' && (
                      <button type="button" disabled={busy} onClick={() => void deviceAction(d, 'found')} aria-label={`Mark ${d.name} as found`}>
                        Mark as found
                      </button>
                    )}
                    {d.status !== 'erased' && (
                      <button
                        type="button"
                        className="danger"
                        disabled={busy}
                        onClick={() => {
                          if (window.confirm(`Erase ${d.name}? Its cards are removed for good.`)) void deviceAction(d, 'erase');
                        }}
                        aria-label={`Erase ${d.name}`}
                      >
                        Erase
                      </button>
                    )}
                  </span>
                </li>
              ))}
            </ul>
            <button
              type="button"
              className="link danger"
              onClick={() => {
                if (window.confirm('Remove this wallet from this browser? Its Secure Element keys and cards are deleted.')) props.onErased();
              }}
            >
              Remove this wallet from this browser
            </button>
          </section>
        </>
      )}

      {pay.kind !== 'closed' && (
        <div
          className="sheet-backdrop"
          onKeyDown={(e) => {
            if (e.key === 'Escape') closePay();
          }}
        >
          <div className="sheet" role="dialog" aria-modal="true" aria-labelledby="pay-title">
            <h2 id="pay-title">Tessera Pay</h2>
            {'card' in pay && (
              <div className="sheet-card">
                <img src={pay.card.art_url} alt="" className="card-art small" />
                <span>
                  {NETWORK_NAMES[pay.card.network]} •••• {pay.card.last4}
                </span>
              </div>
            )}
            {pay.kind === 'verify' && (
              <VerifyForTap
                wallet={wallet}
                enclaveState={() => enclave.state()}
                onArmed={(cdcvm) => setPay({ kind: 'armed', card: pay.card, until: Date.now() + ARMED_MS, cdcvm })}
                onError={(text) => setPay({ kind: 'error', text })}
              />
            )}
            {pay.kind === 'armed' && <Armed until={pay.until} />}
            {pay.kind === 'paying' && (
              <p className="big-status" role="status">
                Paying… hold still.
              </p>
            )}
            {pay.kind === 'done' && (
              <p className={`big-status ${pay.approved ? 'ok' : 'bad'}`} role="status">
                {pay.approved ? '✓ Done' : `Declined: ${pay.text}`}
              </p>
            )}
            {pay.kind === 'error' && (
              <p className="big-status bad" role="alert">
                {pay.text}
              </p>
            )}
            <button type="button" onClick={closePay} autoFocus={pay.kind !== 'verify'}>
              {pay.kind === 'done' || pay.kind === 'error' ? 'Close' : 'Cancel'}
            </button>
          </div>
        </div>
      )}
    </div>
  );
}

function statusText(c: WalletCard): string {
  switch (c.wallet_status) {
    case 'active':
      return 'Ready';
    case 'inactive':
      return 'Verification needed';
    case 'suspended':
      return 'Suspended';
    case 'deleted':
      return 'Removed';
    case 'not_on_device':
      return 'Not on this device';
    default:
      return c.wallet_status;
  }
}

function VerifyForTap(props: { wallet: Wallet; enclaveState: () => Promise<{ biometric: 'face' | 'finger' | null; passcodeOffered: boolean; passcodeRequired: boolean; locked: boolean }>; onArmed: (cdcvm: boolean) => void; onError: (text: string) => void }) {
  const [state, setState] = useState<Awaited<ReturnType<typeof props.enclaveState>> | null>(null);
  useEffect(() => {
    void props.enclaveState().then(setState);
  }, []);
  if (!state) return <p role="status">…</p>;
  return (
    <FaceIdPrompt
      biometric={state.biometric}
      initial={state}
      attempt={async (method) => {
        try {
          const r = await props.wallet.preparePayment(method);
          if (r.ok) {
            props.onArmed(r.cdcvm);
            return null;
          }
          return r.verification;
        } catch (err) {
          props.onError(errorText(err));
          return null;
        }
      }}
    />
  );
}

function Armed(props: { until: number }) {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(t);
  }, []);
  const left = Math.max(0, Math.ceil((props.until - now) / 1000));
  return (
    <div className="armed" role="status">
      <div className="nfc-waves" aria-hidden="true" />
      <p className="big-status">Hold near reader</p>
      <p className="hint">Ready for {left} s</p>
    </div>
  );
}

function CardDetails(props: {
  card: WalletCard;
  wallet: Wallet;
  transactions: TransactionEntry[];
  transit: boolean;
  busy: boolean;
  onBack: () => void;
  onAction: (a: 'suspend' | 'resume' | 'delete') => void;
  onDefault: () => void;
  onTransit: (on: boolean) => void;
}) {
  const c = props.card;
  return (
    <section className="panel" aria-labelledby="card-title">
      <button type="button" className="link" onClick={props.onBack}>
        ← Cards
      </button>
      <h2 id="card-title">
        {NETWORK_NAMES[c.network]} •••• {c.last4}
      </h2>
      <img src={c.art_url} alt={`${c.issuer_name} ${NETWORK_NAMES[c.network]} card art`} className="card-art large" />
      <dl className="facts">
        <dt>Status</dt>
        <dd>
          <span className={`badge badge-${c.wallet_status}`}>{statusText(c)}</span>
        </dd>
        <dt>Issuer</dt>
        <dd>{c.issuer_name}</dd>
        <dt>Card number</dt>
        <dd>•••• {c.last4}</dd>
        <dt>Device account number</dt>
        <dd>•••• {c.token_last4}</dd>
        <dt>Expires</dt>
        <dd>
          {String(c.exp_month).padStart(2, '0')}/{String(c.exp_year).slice(-2)}
        </dd>
        <dt>Type</dt>
        <dd>{c.card_type}</dd>
      </dl>
      <div className="button-row wrap">
        {!c.is_default && c.on_device && c.wallet_status === 'active' && (
          <button type="button" onClick={props.onDefault}>
            Make default
          </button>
        )}
        {c.on_device && c.wallet_status === 'active' && (
          <label className="check">
            <input type="checkbox" checked={props.transit} onChange={(e) => props.onTransit(e.target.checked)} /> Express Transit
          </label>
        )}
        {c.status === 'active' && (
          <button type="button" disabled={props.busy} onClick={() => props.onAction('suspend')}>
            Suspend card
          </button>
        )}
        {c.status === 'suspended' && (
          <button type="button" disabled={props.busy} onClick={() => props.onAction('resume')}>
            Resume card
          </button>
        )}
        {c.status !== 'deleted' && (
          <button
            type="button"
            className="danger"
            disabled={props.busy}
            onClick={() => {
              if (window.confirm(`Remove the card ending ${c.last4}?`)) props.onAction('delete');
            }}
          >
            Remove card
          </button>
        )}
      </div>
      <Transactions transactions={props.transactions} cards={[c]} title="Transactions with this card" />
    </section>
  );
}

function Transactions(props: { transactions: TransactionEntry[]; cards: WalletCard[]; title?: string }) {
  const byId = new Map(props.cards.map((c) => [c.id, c]));
  return (
    <section aria-labelledby="tx-title" className="transactions">
      <h2 id="tx-title">{props.title ?? 'Latest transactions'}</h2>
      {props.transactions.length === 0 ? (
        <p>No transactions yet.</p>
      ) : (
        <ul aria-live="polite">
          {props.transactions.slice(0, 50).map((t) => {
            const card = byId.get(t.cardId);
            return (
              <li key={t.id} className={`tx tx-${t.status}`}>
                <span className="tx-merchant">
                  {t.merchant || 'Payment'}
                  <span className="sub">
                    {shortTime(t.at)}
                    {card ? ` · ${NETWORK_NAMES[card.network]} •••• ${card.last4}` : ''}
                    {t.type ? ` · ${t.type}` : ''}
                  </span>
                </span>
                <span className="tx-amount">
                  {money(t.amount, t.currency)}
                  <span className={`badge badge-${t.status}`}>{t.status}</span>
                </span>
              </li>
            );
          })}
        </ul>
      )}
    </section>
  );
}
