import { useEffect, useMemo, useRef, useState } from 'react';
import type { InAppCard } from '../../../src/device/inapp.js';
import type { InAppPaymentRequest, PaymentMethodInfo } from '../../../src/device/platform-api.js';
import type { EnclaveState } from '../../../src/device/secure-enclave.js';
import { errorText } from '../shared/format';
import { ContactForm } from './ContactForm';
import { contactFor, contactLabel, loadContacts, missingFields, redactedContact, saveContact, type WalletContact } from './contacts';
import { loadDevice, walletFor, type BrowserDevice } from './device';
import { FaceIdPrompt } from './FaceIdPrompt';
import { sheetAmount } from './sheet-format';
import { WalletProbe } from './WalletProbe';

/**
 * /wallet/pay: the payment sheet a merchant page opens (in an iframe) through the ApplePaySession
 * script, speaking the C2 postMessage protocol. The first `show` from the parent window fixes the
 * merchant's origin: from then on only that origin is listened to and written to, and every message
 * carries the sheet's `sid`. The user cannot authorize before the page has passed its validated merchant
 * session (`merchantValidated`), nor while the page owes an answer to a selection (card, shipping
 * contact, shipping method, coupon code). Contacts come from the wallet; the merchant gets only the
 * fields it asked for, and before authorization only the redacted shipping address. Paying runs on
 * this browser's phone (its SE and Secure Enclave).
 */
const PROTOCOL = 'applepay/1';

interface Item {
  label: string;
  amount: string;
  type?: 'final' | 'pending';
}
interface Method extends Item {
  identifier: string;
  detail: string;
}
interface SheetError {
  code: string;
  contactField?: string;
  message: string;
}
interface Update {
  status?: number;
  newTotal?: Item;
  newLineItems?: Item[];
  newShippingMethods?: Method[];
  errors?: SheetError[];
}

interface Show {
  version: number;
  request: InAppPaymentRequest & {
    total: Item;
    lineItems?: Item[];
    shippingMethods?: Method[];
    requiredShippingContactFields?: string[];
    requiredBillingContactFields?: string[];
    shippingType?: string;
    supportsCouponCode?: boolean;
    couponCode?: string;
  };
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

const UPDATE_TYPES = new Set(['paymentMethodUpdate', 'shippingContactUpdate', 'shippingMethodUpdate', 'couponCodeUpdate']);
/** Errors that keep the user from paying until they pick or correct a contact. */
const CONTACT_ERRORS = new Set(['shippingContactInvalid', 'billingContactInvalid', 'addressUnserviceable']);

/** What the sheet says for an ApplePayError the page gave without a message. */
const ERROR_TEXT: Record<string, string> = {
  shippingContactInvalid: 'The merchant cannot use this shipping contact.',
  billingContactInvalid: 'The merchant cannot use this billing contact.',
  addressUnserviceable: 'The merchant does not deliver to this address.',
  couponCodeInvalid: 'This coupon code is not valid.',
  couponCodeExpired: 'This coupon code has expired.',
  unknown: 'The merchant reported a problem.',
};

const SHIPPING_WORDS: Record<string, string> = { shipping: 'Shipping', delivery: 'Delivery', storePickup: 'Pickup', servicePickup: 'Pickup' };

/** The sheet, or the hidden availability probe (canMakePaymentsWithActiveCard) when opened with probe=1. */
export default function PaySheetPage() {
  const params = useMemo(() => new URLSearchParams(window.location.search), []);
  return params.get('probe') === '1' ? <WalletProbe sid={params.get('sid') ?? ''} /> : <PaySheet />;
}

/** A choice among the wallet's contacts (shipping or billing); disabled while there is none. */
function ContactSelect(props: { id: string; contacts: WalletContact[]; value: string; disabled: boolean; onChange: (id: string) => void }) {
  const { id, contacts, value, disabled, onChange } = props;
  return (
    <select id={id} value={value} disabled={disabled || contacts.length === 0} onChange={(e) => onChange(e.target.value)}>
      {contacts.length === 0 && <option value="">No contact yet</option>}
      {contacts.map((c) => (
        <option key={c.id} value={c.id}>
          {contactLabel(c)}
        </option>
      ))}
    </select>
  );
}

function PaySheet() {
  const sid = useMemo(() => new URLSearchParams(window.location.search).get('sid') ?? '', []);
  const [show, setShow] = useState<Show | null>(null);
  const [session, setSession] = useState<unknown>(undefined);
  const [device, setDevice] = useState<BrowserDevice | null>(null);
  const [cards, setCards] = useState<InAppCard[] | null>(null);
  const [cardId, setCardId] = useState('');
  const [total, setTotal] = useState<Item | null>(null);
  const [lineItems, setLineItems] = useState<Item[]>([]);
  const [methods, setMethods] = useState<Method[]>([]);
  const [methodId, setMethodId] = useState('');
  const [contacts, setContacts] = useState<WalletContact[]>([]);
  const [shipId, setShipId] = useState('');
  const [billId, setBillId] = useState('');
  const [adding, setAdding] = useState<'shipping' | 'billing' | null>(null);
  const [coupon, setCoupon] = useState('');
  const [errors, setErrors] = useState<SheetError[]>([]);
  const [awaiting, setAwaiting] = useState(false);
  const [stage, setStage] = useState<Stage>({ kind: 'waiting' });
  const [enclave, setEnclave] = useState<(EnclaveState & { biometric: 'face' | 'finger' | null }) | null>(null);
  const origin = useRef<string | null>(null);
  const pending = useRef<{ resolve: (r: { status: number; errors: SheetError[] }) => void } | null>(null);
  const methodsRef = useRef<Method[]>([]);

  const post = (type: string, extra: Record<string, unknown> = {}) => {
    if (window.parent === window) return;
    // `ready` goes out before the merchant's origin is known and carries nothing but the sid.
    window.parent.postMessage({ tessera: PROTOCOL, sid, type, ...extra }, type === 'ready' ? '*' : origin.current!);
  };

  /** A selection the page must answer (complete…): paying waits for the answer. */
  const select = (type: string, extra: Record<string, unknown>) => {
    setAwaiting(true);
    post(type, extra);
  };

  const applyUpdate = (u: Update | undefined) => {
    if (!u || typeof u !== 'object') return;
    if (u.newTotal && typeof u.newTotal.amount === 'string') setTotal(u.newTotal);
    if (Array.isArray(u.newLineItems)) setLineItems(u.newLineItems);
    if (Array.isArray(u.newShippingMethods)) {
      methodsRef.current = u.newShippingMethods;
      setMethods(u.newShippingMethods);
      setMethodId((current) => (u.newShippingMethods!.some((m) => m.identifier === current) ? current : (u.newShippingMethods![0]?.identifier ?? '')));
    }
    const errs = Array.isArray(u.errors) ? u.errors : [];
    // The legacy forms answer a status: anything but success is an invalid shipping address or contact.
    if (typeof u.status === 'number' && u.status !== 0 && errs.length === 0) errs.push({ code: 'shippingContactInvalid', message: 'The merchant cannot use this address.' });
    setErrors(errs);
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
        setLineItems(s.request.lineItems ?? []);
        methodsRef.current = s.request.shippingMethods ?? [];
        setMethods(methodsRef.current);
        setMethodId(methodsRef.current[0]?.identifier ?? '');
        setCoupon(typeof s.request.couponCode === 'string' ? s.request.couponCode : '');
        return;
      }
      if (e.origin !== origin.current) return;
      if (UPDATE_TYPES.has(m.type)) {
        applyUpdate(m.update as Update | undefined);
        setAwaiting(false);
        return;
      }
      switch (m.type) {
        case 'merchantValidated':
          setSession(m.merchantSession);
          break;
        case 'completePayment':
          pending.current?.resolve({ status: Number(m.status), errors: Array.isArray(m.errors) ? (m.errors as SheetError[]) : [] });
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

  const shippingFields = show?.request.requiredShippingContactFields ?? [];
  const billingFields = show?.request.requiredBillingContactFields ?? [];

  // This browser's phone: its cards that may pay this request, and the wallet's contacts.
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
        const kept = loadContacts(d.deviceId);
        setContacts(kept);
        setShipId(kept[0]?.id ?? '');
        setBillId(kept[0]?.id ?? '');
        if (kept[0] && shippingFields.length > 0) select('shippingContactSelected', { shippingContact: redactedContact(kept[0]) });
        const state = await d.chips.enclave.state();
        setEnclave(state);
        setStage(list.length === 0 ? { kind: 'no-wallet', reason: 'No card in your wallet can pay this merchant.' } : { kind: 'sheet' });
      } catch (err) {
        setStage({ kind: 'no-wallet', reason: errorText(err) });
      }
    })();
  }, [show]);

  const chosen = cards?.find((c) => c.cardId === cardId) ?? null;
  const shipContact = contacts.find((c) => c.id === shipId) ?? null;
  const billContact = contacts.find((c) => c.id === billId) ?? null;

  const choose = (id: string) => {
    setCardId(id);
    const card = cards?.find((c) => c.cardId === id);
    if (card) select('paymentMethodSelected', { paymentMethod: card.paymentMethod satisfies PaymentMethodInfo });
  };

  const chooseShipping = (id: string) => {
    setShipId(id);
    setErrors([]);
    const c = contacts.find((x) => x.id === id);
    if (c) select('shippingContactSelected', { shippingContact: redactedContact(c) });
  };

  const chooseMethod = (id: string) => {
    setMethodId(id);
    const m = methodsRef.current.find((x) => x.identifier === id);
    if (m) select('shippingMethodSelected', { shippingMethod: m });
  };

  const addContact = (c: Omit<WalletContact, 'id'>) => {
    if (!device?.deviceId) return;
    const { contacts: list, saved } = saveContact(device.deviceId, c);
    setContacts(list);
    if (adding === 'billing') setBillId(saved.id);
    else {
      setShipId(saved.id);
      if (!billId) setBillId(saved.id);
      if (shippingFields.length > 0) {
        setErrors([]);
        select('shippingContactSelected', { shippingContact: redactedContact(saved) });
      }
    }
    setAdding(null);
  };

  const cancel = () => {
    post('cancel');
    setStage({ kind: 'aborted' });
  };

  const waitForCompletion = () => new Promise<{ status: number; errors: SheetError[] }>((resolve) => (pending.current = { resolve }));

  if (!show) {
    return (
      <div className="sheet-page">
        <p role="status">Opening Tessera Pay…</p>
      </div>
    );
  }

  const currency = show.request.currencyCode;
  const money = (amount: string) => sheetAmount(amount, currency);
  const needsShipping = shippingFields.length > 0;
  const needsBilling = billingFields.length > 0;
  const missing = [
    ...(needsShipping ? (shipContact ? missingFields(shipContact, shippingFields).map((f) => `shipping ${f}`) : ['a shipping contact']) : []),
    ...(needsBilling ? (billContact ? missingFields(billContact, billingFields).map((f) => `billing ${f}`) : ['a billing contact']) : []),
  ];
  const blocking = errors.some((e) => CONTACT_ERRORS.has(e.code));
  const waitReason =
    session === undefined
      ? 'Waiting for the merchant…'
      : awaiting
        ? 'Updating…'
        : missing.length > 0
          ? `Add ${missing.join(', ')} to pay.`
          : blocking
            ? 'Choose another contact to pay.'
            : null;
  const word = SHIPPING_WORDS[show.request.shippingType ?? 'shipping'] ?? 'Shipping';
  const editable = stage.kind === 'sheet' || stage.kind === 'failed';

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
          {lineItems.map((item, i) => (
            <div key={`${i}-${item.label}`} style={{ display: 'contents' }}>
              <dt>{item.label}</dt>
              <dd>{item.type === 'pending' ? 'Amount pending' : money(item.amount)}</dd>
            </div>
          ))}
          <dt>Total</dt>
          <dd className="total" data-testid="paysheet-total">
            {total ? (total.type === 'pending' ? 'Amount pending' : money(total.amount)) : ''}
          </dd>
        </dl>
        {stage.kind === 'waiting' && <p role="status">Loading your wallet…</p>}
        {stage.kind === 'no-wallet' && (
          <p className="error" role="alert">
            {stage.reason}
          </p>
        )}
        {editable && cards && device && enclave && (
          <>
            <label htmlFor="paysheet-card">Card</label>
            <select id="paysheet-card" value={cardId} disabled={awaiting} onChange={(e) => choose(e.target.value)}>
              {cards.map((c) => (
                <option key={c.cardId} value={c.cardId}>
                  {c.paymentMethod.displayName}
                  {c.isDefault ? ' (default)' : ''}
                </option>
              ))}
            </select>
            {needsShipping && (
              <>
                <label htmlFor="paysheet-ship">{word} contact</label>
                <ContactSelect id="paysheet-ship" contacts={contacts} value={shipId} disabled={awaiting} onChange={chooseShipping} />
              </>
            )}
            {needsShipping && methods.length > 0 && (
              <>
                <label htmlFor="paysheet-method">{word} method</label>
                <select id="paysheet-method" value={methodId} disabled={awaiting} onChange={(e) => chooseMethod(e.target.value)}>
                  {methods.map((m) => (
                    <option key={m.identifier} value={m.identifier}>
                      {m.label} — {m.detail} — {money(m.amount)}
                    </option>
                  ))}
                </select>
              </>
            )}
            {needsBilling && (
              <>
                <label htmlFor="paysheet-bill">Billing contact</label>
                <ContactSelect id="paysheet-bill" contacts={contacts} value={billId} disabled={false} onChange={setBillId} />
              </>
            )}
            {(needsShipping || needsBilling) &&
              (adding ? (
                <ContactForm onSave={addContact} onCancel={() => setAdding(null)} />
              ) : (
                <div className="button-row">
                  <button type="button" onClick={() => setAdding(needsShipping ? 'shipping' : 'billing')}>
                    Add contact
                  </button>
                </div>
              ))}
            {show.request.supportsCouponCode === true && (
              <form
                className="button-row"
                onSubmit={(e) => {
                  e.preventDefault();
                  select('couponCodeChanged', { couponCode: coupon.trim() });
                }}
              >
                <label>
                  Coupon code <input value={coupon} onChange={(e) => setCoupon(e.target.value)} />
                </label>
                <button type="submit" disabled={awaiting}>
                  Apply
                </button>
              </form>
            )}
            {errors.length > 0 && (
              <ul className="error" role="alert">
                {errors.map((e, i) => (
                  <li key={i}>{e.message || ERROR_TEXT[e.code] || ERROR_TEXT.unknown}</li>
                ))}
              </ul>
            )}
            {stage.kind === 'failed' && (
              <p className="error" role="alert">
                {stage.text}
              </p>
            )}
            {waitReason !== null ? (
              <p role="status">{waitReason}</p>
            ) : (
              <FaceIdPrompt
                key={stage.kind}
                biometric={enclave.biometric}
                initial={enclave}
                busyText="Paying…"
                attempt={async (method) => {
                  const { wallet } = walletFor(device, device.session!.token);
                  const r = await wallet.payInApp({ merchantSession: session, request: { ...show.request, total: total ?? show.request.total }, cardId: chosen?.cardId }, method);
                  if (!r.ok) return r.verification;
                  setStage({ kind: 'processing' });
                  const payment: Record<string, unknown> = { token: r.token };
                  if (needsShipping && shipContact) payment.shippingContact = contactFor(shipContact, shippingFields);
                  if (needsBilling && billContact) payment.billingContact = contactFor(billContact, billingFields);
                  post('authorized', { payment });
                  const result = await waitForCompletion();
                  setErrors(result.errors);
                  setStage(result.status === 0 ? { kind: 'done' } : { kind: 'failed', text: 'The merchant could not complete the payment. Try again or cancel.' });
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
      </div>
    </div>
  );
}
