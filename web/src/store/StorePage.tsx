/// <reference types="applepayjs" />
import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { markStep } from '../shared/progress';

// /store: "Tessera Outfitters", a merchant page written as for real Apple Pay on the web. It loads the
// platform's ApplePaySession script and uses the global ApplePaySession exactly as Apple documents it;
// its server (/store/api) validates the merchant and verifies, decrypts and authorizes the token.

interface Product {
  id: string;
  name: string;
  description: string;
  price: number;
  priceDecimal: string;
  currency: string;
  image: string;
}

interface PaymentSummary {
  deviceToken: string;
  applicationExpirationDate: string;
  paymentDataType: string;
  onlinePaymentCryptogram: string | null;
  eciIndicator: string | null;
  transactionAmount: number;
  currencyCode: string;
  transactionId: string;
  paymentMethod: { displayName: string; network: string; type: string };
}

interface Order {
  id: string;
  status: 'pending' | 'authorizing' | 'paid' | 'declined';
  items: { productId: string; name: string; quantity: number; unitPrice: number }[];
  total: number;
  totalDecimal: string;
  currency: string;
  applicationData: string;
  attempts: number;
  payment: {
    id: string;
    attempt: number;
    status: 'authorizing' | 'approved' | 'declined';
    transactionId: string;
    acquirerAuthorizationId: string | null;
    responseCode: string | null;
    authCode: string | null;
    declineReason: string | null;
    decrypted: PaymentSummary;
  } | null;
}

interface ApiError {
  status: number;
  code: string;
  message: string;
}

const API = '/store/api';
const SCRIPT_SRC = '/applepay/v1/apple-pay.js';
const APPLE_PAY_VERSION = 3;
const STORE_LABEL = 'Tessera Outfitters';

async function call<T>(method: 'GET' | 'POST', path: string, body?: unknown, idempotencyKey?: string): Promise<T> {
  const res = await fetch(`${API}${path}`, {
    method,
    headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...(idempotencyKey ? { 'idempotency-key': idempotencyKey } : {}) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const json = (await res.json().catch(() => ({}))) as { error?: { code?: string; message?: string } };
  if (!res.ok) throw { status: res.status, code: json.error?.code ?? 'unknown', message: json.error?.message ?? `HTTP ${res.status}` } satisfies ApiError;
  return json as T;
}

function isApiError(err: unknown): err is ApiError {
  return typeof err === 'object' && err !== null && 'code' in err && 'status' in err;
}

function errorText(err: unknown): string {
  if (isApiError(err)) return `${err.message} (${err.code})`;
  return err instanceof Error ? err.message : String(err);
}

function money(minor: number, currency: string): string {
  return new Intl.NumberFormat('en-US', { style: 'currency', currency }).format(minor / 100);
}

/** Loads the platform's ApplePaySession script once; resolves when `ApplePaySession` exists. */
function useApplePayScript(): 'loading' | 'ready' | 'failed' {
  const [state, setState] = useState<'loading' | 'ready' | 'failed'>(() => ('ApplePaySession' in window ? 'ready' : 'loading'));
  useEffect(() => {
    if ('ApplePaySession' in window) return;
    let script = document.querySelector<HTMLScriptElement>(`script[src="${SCRIPT_SRC}"]`);
    if (!script) {
      script = document.createElement('script');
      script.src = SCRIPT_SRC;
      script.async = true;
      document.head.appendChild(script);
    }
    const ok = () => setState('ApplePaySession' in window ? 'ready' : 'failed');
    const fail = () => setState('failed');
    script.addEventListener('load', ok);
    script.addEventListener('error', fail);
    return () => {
      script.removeEventListener('load', ok);
      script.removeEventListener('error', fail);
    };
  }, []);
  return state;
}

/** A payment submission, retried when no answer came or a concurrent one is still being authorized (the store pays an order once). */
async function submitPayment(orderId: string, token: ApplePayJS.ApplePayPaymentToken, onRetry: (n: number) => void): Promise<Order> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await call<Order>('POST', `/orders/${orderId}/payments`, { token });
    } catch (err) {
      const transient = !isApiError(err) || err.status >= 500 || err.code === 'payment_in_progress' || err.code === 'downstream_failed';
      if (!transient || attempt >= 4) throw err;
      onRetry(attempt);
      await new Promise((r) => setTimeout(r, 400 * attempt));
    }
  }
}

export default function StorePage() {
  const script = useApplePayScript();
  const [products, setProducts] = useState<Product[] | null>(null);
  const [cart, setCart] = useState<Record<string, number>>({});
  const [order, setOrder] = useState<Order | null>(null);
  const [token, setToken] = useState<ApplePayJS.ApplePayPaymentToken | null>(null);
  const [log, setLog] = useState<string[]>([]);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const sessionRef = useRef<ApplePaySession | null>(null);

  const note = useCallback((line: string) => setLog((l) => [...l, line]), []);

  useEffect(() => {
    call<{ data: Product[] }>('GET', '/products').then(
      (r) => setProducts(r.data),
      (err) => setError(`The catalogue did not load: ${errorText(err)}`),
    );
  }, []);

  const lines = useMemo(() => (products ?? []).filter((p) => (cart[p.id] ?? 0) > 0).map((p) => ({ product: p, quantity: cart[p.id]! })), [products, cart]);
  const cartTotal = lines.reduce((s, l) => s + l.product.price * l.quantity, 0);
  const currency = products?.[0]?.currency ?? 'USD';

  const setQuantity = (id: string, q: number) => {
    setOrder(null);
    setToken(null);
    setCart((c) => ({ ...c, [id]: Math.max(0, Math.min(20, q)) }));
  };

  const canPay = script === 'ready' && typeof ApplePaySession !== 'undefined' && ApplePaySession.supportsVersion(APPLE_PAY_VERSION) && ApplePaySession.canMakePayments();

  const checkout = async () => {
    setError(null);
    setBusy(true);
    try {
      // One key per press of "Check out": a retried request (a lost answer) gets the same order back.
      const created = await call<Order>('POST', '/orders', { items: lines.map((l) => ({ productId: l.product.id, quantity: l.quantity })) }, crypto.randomUUID());
      setOrder(created);
      setToken(null);
      setLog([`Order ${created.id} created: ${money(created.total, created.currency)}, pending.`]);
    } catch (err) {
      setError(errorText(err));
    } finally {
      setBusy(false);
    }
  };

  // The click handler creates the session synchronously, as Apple Pay requires (a user gesture).
  const payWithApplePay = () => {
    if (!order) return;
    setError(null);
    const request: ApplePayJS.ApplePayPaymentRequest = {
      countryCode: 'US',
      currencyCode: order.currency,
      supportedNetworks: ['visa', 'masterCard', 'amex', 'discover'],
      merchantCapabilities: ['supports3DS'],
      lineItems: order.items.map((i) => ({ label: `${i.name} × ${i.quantity}`, amount: ((i.unitPrice * i.quantity) / 100).toFixed(2) })),
      total: { label: STORE_LABEL, amount: order.totalDecimal, type: 'final' },
      applicationData: order.applicationData,
    };
    const session = new ApplePaySession(APPLE_PAY_VERSION, request);
    sessionRef.current = session;

    session.onvalidatemerchant = (event: ApplePayJS.ApplePayValidateMerchantEvent) => {
      note('onvalidatemerchant: asking the store server for a merchant session.');
      call<unknown>('POST', `/orders/${order.id}/merchant-session`, { validationURL: event.validationURL }).then(
        (merchantSession) => {
          note('Merchant session received (the store validated itself over mutual TLS).');
          session.completeMerchantValidation(merchantSession);
        },
        (err) => {
          setError(`Merchant validation failed: ${errorText(err)}`);
          session.abort();
        },
      );
    };

    session.onpaymentmethodselected = (event: ApplePayJS.ApplePayPaymentMethodSelectedEvent) => {
      note(`Card chosen: ${event.paymentMethod.displayName ?? event.paymentMethod.network ?? 'card'}.`);
      session.completePaymentMethodSelection({ newTotal: request.total, newLineItems: request.lineItems ?? [] });
    };

    session.onpaymentauthorized = (event: ApplePayJS.ApplePayPaymentAuthorizedEvent) => {
      const t = event.payment.token;
      setToken(t);
      note(`onpaymentauthorized: token ${t.paymentData?.version ?? ''} received; the store verifies, decrypts and authorizes it.`);
      submitPayment(order.id, t, (n) => note(`No final answer yet; submitting the payment again (${n}).`)).then(
        (o) => {
          setOrder(o);
          const ok = o.status === 'paid';
          if (ok) {
            // The order holds what was bought: the cart starts again empty (the paid order stays shown).
            setCart({});
            markStep('paid_on_web');
          }
          note(ok ? `Paid: authorization ${o.payment?.authCode ?? ''} approved.` : `Declined (${o.payment?.responseCode ?? '?'} ${o.payment?.declineReason ?? ''}).`);
          session.completePayment({ status: ok ? ApplePaySession.STATUS_SUCCESS : ApplePaySession.STATUS_FAILURE });
        },
        (err) => {
          setError(`Payment failed: ${errorText(err)}`);
          session.completePayment({ status: ApplePaySession.STATUS_FAILURE });
        },
      );
    };

    session.oncancel = () => {
      note('The payment sheet was closed.');
      sessionRef.current = null;
    };

    session.begin();
    note('Apple Pay sheet opened.');
  };

  // Sends the same token again: the store answers the stored outcome (an order is paid once).
  const resubmit = async () => {
    if (!order || !token) return;
    setError(null);
    try {
      const o = await call<Order>('POST', `/orders/${order.id}/payments`, { token });
      setOrder(o);
      note(`Submitted again: the store answered the stored outcome (${o.status}, ${o.attempts} payment${o.attempts === 1 ? '' : 's'} on the order).`);
    } catch (err) {
      note(`Submitted again: ${errorText(err)}`);
    }
  };

  const refresh = async () => {
    if (!order) return;
    try {
      setOrder(await call<Order>('GET', `/orders/${order.id}`));
    } catch (err) {
      setError(errorText(err));
    }
  };

  const decrypted = order?.payment?.decrypted;
  return (
    <main className="page">
      <header className="section-head">
        <h1>{STORE_LABEL}</h1>
        <p className="sub">A demo shop: a real merchant on Tessera, paying with the Apple Pay JS API.</p>
      </header>

      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}

      <section className="panel" aria-label="Products">
        <h2>Products</h2>
        {products === null ? (
          <p className="loading" role="status">
            Loading the catalogue…
          </p>
        ) : (
          <ul aria-label="Catalogue" style={{ listStyle: 'none', padding: 0, margin: 0 }}>
            {products.map((p) => (
              <li key={p.id} data-product={p.id} style={{ display: 'grid', gridTemplateColumns: '3rem 1fr auto', gap: '0.8rem', alignItems: 'center', padding: '0.5rem 0' }}>
                <span aria-hidden="true" style={{ width: '3rem', height: '3rem', borderRadius: 10, background: p.image, color: '#fff', display: 'grid', placeItems: 'center', fontWeight: 700 }}>
                  {p.name.slice(0, 1)}
                </span>
                <span>
                  <strong>{p.name}</strong> — {money(p.price, p.currency)}
                  <br />
                  <small>{p.description}</small>
                </span>
                <span className="button-row" style={{ alignItems: 'center' }}>
                  <button type="button" aria-label={`Remove one ${p.name}`} onClick={() => setQuantity(p.id, (cart[p.id] ?? 0) - 1)} disabled={(cart[p.id] ?? 0) === 0}>
                    −
                  </button>
                  <output aria-label={`${p.name} in cart`}>{cart[p.id] ?? 0}</output>
                  <button type="button" aria-label={`Add ${p.name}`} onClick={() => setQuantity(p.id, (cart[p.id] ?? 0) + 1)}>
                    +
                  </button>
                </span>
              </li>
            ))}
          </ul>
        )}
      </section>

      <section className="panel" aria-label="Cart">
        <h2>Cart</h2>
        {lines.length === 0 ? (
          <p className="hint">Your cart is empty.</p>
        ) : (
          <>
            <ul>
              {lines.map((l) => (
                <li key={l.product.id}>
                  {l.product.name} × {l.quantity} — {money(l.product.price * l.quantity, l.product.currency)}
                </li>
              ))}
            </ul>
            <p>
              Total: <strong data-testid="cart-total">{money(cartTotal, currency)}</strong>
            </p>
            {!order && (
              <button type="button" onClick={() => void checkout()} disabled={busy}>
                Check out
              </button>
            )}
          </>
        )}
        {order && order.status !== 'paid' && (
          <div className="button-row">
            {canPay ? (
              <button type="button" className="apple-pay-button" aria-label="Buy with Apple Pay" onClick={payWithApplePay} lang="en" style={{ background: '#000', color: '#fff', padding: '0.6rem 1.4rem', borderRadius: 8 }}>
                Buy with Apple Pay
              </button>
            ) : (
              <p className="hint">{script === 'loading' ? 'Loading Apple Pay…' : 'Apple Pay is not available in this browser.'}</p>
            )}
          </div>
        )}
      </section>

      {order && (
        <section className="panel" aria-label="Order">
          <h2>Order</h2>
          <dl className="facts">
            <dt>Order</dt>
            <dd>
              <code>{order.id}</code>
            </dd>
            <dt>Status</dt>
            <dd>
              <span className={`badge ${order.status === 'paid' ? 'badge-active' : order.status === 'declined' ? 'badge-declined' : 'badge-default'}`} data-testid="order-status">
                {order.status}
              </span>
            </dd>
            <dt>Total</dt>
            <dd>{money(order.total, order.currency)}</dd>
            <dt>applicationData</dt>
            <dd>
              <code>{order.applicationData}</code> (base64 of the order id; its SHA-256 is in the token header)
            </dd>
            <dt>Payments accepted</dt>
            <dd data-testid="order-attempts">{order.attempts}</dd>
            {order.payment && (
              <>
                <dt>Authorization</dt>
                <dd data-testid="order-auth">
                  {order.payment.status} — response code {order.payment.responseCode ?? '…'}
                  {order.payment.authCode ? `, auth code ${order.payment.authCode}` : ''}
                  {order.payment.declineReason ? ` (${order.payment.declineReason})` : ''}
                </dd>
              </>
            )}
          </dl>
          <div className="button-row">
            <button type="button" onClick={() => void refresh()}>
              Refresh order
            </button>
            {token && (
              <button type="button" onClick={() => void resubmit()}>
                Submit the payment again
              </button>
            )}
          </div>
        </section>
      )}

      {decrypted && (
        <section className="panel" aria-label="Decrypted payment">
          <h2>What the store decrypted</h2>
          <dl className="facts">
            <dt>Device account number</dt>
            <dd data-testid="device-token">{decrypted.deviceToken}</dd>
            <dt>Expiry (YYMMDD)</dt>
            <dd>{decrypted.applicationExpirationDate}</dd>
            <dt>Online payment cryptogram</dt>
            <dd>
              <code data-testid="cryptogram">{decrypted.onlinePaymentCryptogram ?? '—'}</code>
            </dd>
            <dt>ECI</dt>
            <dd data-testid="eci">{decrypted.eciIndicator ?? '— (none)'}</dd>
            <dt>Amount / currency</dt>
            <dd>
              {decrypted.transactionAmount} / {decrypted.currencyCode}
            </dd>
            <dt>Card</dt>
            <dd>{decrypted.paymentMethod.displayName}</dd>
            <dt>transactionId</dt>
            <dd>
              <code>{decrypted.transactionId}</code>
            </dd>
          </dl>
        </section>
      )}

      {token && (
        <section className="panel" aria-label="Payment token">
          <h2>The payment token (event.payment.token)</h2>
          <pre className="stream" data-testid="token-json" style={{ whiteSpace: 'pre-wrap', wordBreak: 'break-all' }}>
            {JSON.stringify(token, null, 2)}
          </pre>
        </section>
      )}

      {log.length > 0 && (
        <section className="panel" aria-label="Checkout log">
          <h2>What happened</h2>
          <ol data-testid="checkout-log">
            {log.map((l, i) => (
              <li key={i}>{l}</li>
            ))}
          </ol>
        </section>
      )}
    </main>
  );
}
