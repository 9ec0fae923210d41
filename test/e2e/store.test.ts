import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { InjectTransport } from '../../src/infra/transport.js';
import { applicationDataOf, STORE_MERCHANT_IDENTIFIER } from '../../src/merchant/store/index.js';
import type { OrderView } from '../../src/merchant/store/index.js';
import { runProvision, type ProvisionedDevice } from '../../src/scenario/provision.js';
import { startTestTessera, type TestTessera } from '../helpers/tessera.js';
import { luhnCheck } from '../../src/protocol/cards/index.js';

/**
 * The online store (issues #6, #8) end to end without a browser: the store sets itself up as a merchant
 * (registry, domain, its own keys' certificates, acquirer key), a device pays an order through the
 * in-app flow (merchant session over mutual TLS, Secure Element cryptogram, platform token), and the
 * store verifies, decrypts and authorizes it once.
 */
let t: TestTessera;
let device: ProvisionedDevice;
const quiet = { step: () => {}, detail: () => {} };

before(async () => {
  t = await startTestTessera();
  t.tessera.startBackground();
  await t.tessera.app.listen({ host: '127.0.0.1', port: 0 });
  await t.tessera.store.whenReady(60_000);
  device = await runProvision(new InjectTransport(() => t.tessera.app), { network: 'visa' }, quiet);
  await device.wallet.setDefaultCard(device.cardId);
});
after(async () => {
  await t.tessera.outbox.stop();
  await t.close();
});

async function api<T = unknown>(method: 'GET' | 'POST', url: string, payload?: unknown): Promise<{ status: number; body: T }> {
  const res = await t.request({ method, url, ...(payload !== undefined ? { payload: payload as object } : {}) });
  return { status: res.statusCode, body: res.json() as T };
}

async function newOrder(items = [{ productId: 'prod_trail_cap', quantity: 2 }, { productId: 'prod_field_tee', quantity: 1 }]): Promise<OrderView> {
  const res = await api<OrderView>('POST', '/store/api/orders', { items });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  return res.body;
}

function paymentRequest(order: OrderView, overrides: { amount?: string; applicationData?: string } = {}) {
  return {
    countryCode: 'US',
    currencyCode: order.currency,
    supportedNetworks: ['visa', 'masterCard', 'amex', 'discover'],
    merchantCapabilities: ['supports3DS'],
    total: { label: 'Tessera Outfitters', amount: overrides.amount ?? order.totalDecimal },
    applicationData: overrides.applicationData ?? order.applicationData,
  };
}

/** What the page and the sheet do between "Buy" and onpaymentauthorized: a merchant session, then the device's token. */
async function tokenFor(order: OrderView, overrides: { amount?: string; applicationData?: string } = {}): Promise<Record<string, unknown>> {
  const session = await api<Record<string, unknown>>('POST', `/store/api/orders/${order.id}/merchant-session`, { validationURL: t.validationUrl });
  assert.equal(session.status, 200, JSON.stringify(session.body));
  const paid = await device.wallet.payInApp({ merchantSession: session.body, request: paymentRequest(order, overrides) as never, cardId: device.cardId }, { biometric: 'match' });
  assert.ok(paid.ok, 'the device authorizes the payment');
  return paid.token as unknown as Record<string, unknown>;
}

async function approvedAuthorizationsFor(orderId: string): Promise<number> {
  const { rows } = await t.tessera.db.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM acquirer.authorizations a WHERE a.status = 'approved' AND a.id IN
       (SELECT acquirer_authorization_id FROM store.payment_attempts WHERE order_id = $1)`,
    [orderId],
  );
  return rows[0]!.n;
}

describe('the store sets itself up as a merchant', () => {
  it('is registered with a verified domain, certificates for its own keys, and serves its association file', async () => {
    const products = await api<{ data: { id: string; price: number; priceDecimal: string }[] }>('GET', '/store/api/products');
    assert.equal(products.status, 200);
    assert.ok(products.body.data.length >= 4);
    assert.equal(products.body.data.find((p) => p.id === 'prod_trail_cap')?.priceDecimal, '18.00');

    const certs = await t.tessera.pki.certificatesOf(STORE_MERCHANT_IDENTIFIER);
    assert.deepEqual(new Set(certs.filter((c) => c.status === 'active').map((c) => c.kind)), new Set(['processing', 'identity']));
    // The store made the keys: the platform holds only the certificates, the store only wrapped private keys.
    const { rows } = await t.tessera.db.query<{ kind: string; public_key_hash: string; private_key_enc: Buffer }>('SELECT kind, public_key_hash, private_key_enc FROM store.keys');
    for (const c of certs) assert.ok(rows.some((r) => r.public_key_hash === c.publicKeyHash && r.kind === c.kind));
    for (const r of rows) assert.ok(!r.private_key_enc.toString('latin1').includes('PRIVATE KEY'));

    const association = await t.request({ method: 'GET', url: '/.well-known/apple-developer-merchantid-domain-association' });
    assert.equal(association.statusCode, 200);
    assert.match(association.body, /^[0-9a-f]{64,}$/);
  });

  it('refuses validation URLs that are not the platform\'s', async () => {
    const order = await newOrder();
    for (const validationURL of ['https://evil.example/paymentservices/startSession', 'http://127.0.0.1:1/x', `${t.validationUrl}?x=1`, 'not a url']) {
      const res = await api<{ error: { code: string } }>('POST', `/store/api/orders/${order.id}/merchant-session`, { validationURL });
      assert.equal(res.status, 400, validationURL);
      assert.equal(res.body.error.code, 'validation_url_not_allowed');
    }
  });
});

describe('creating orders', () => {
  it('an Idempotency-Key makes repeated order requests one order; another key or no key is another order', async () => {
    const items = [{ productId: 'prod_trail_cap', quantity: 1 }];
    const send = (key?: string) =>
      t.request({ method: 'POST', url: '/store/api/orders', payload: { items }, ...(key ? { headers: { 'idempotency-key': key } } : {}) });
    const answers = await Promise.all(Array.from({ length: 10 }, () => send('checkout-7f3c')));
    const ids = new Set<string>();
    for (const res of answers) {
      // Concurrent twins may be told the first is still in flight; none makes a second order.
      if (res.statusCode === 201) ids.add((res.json() as OrderView).id);
      else assert.equal((res.json() as { error: { code: string } }).error.code, 'idempotency_in_flight');
    }
    const again = await send('checkout-7f3c');
    assert.equal(again.statusCode, 201);
    ids.add((again.json() as OrderView).id);
    assert.equal(ids.size, 1, 'one order for one key');
    const other = await send('checkout-other');
    assert.notEqual((other.json() as OrderView).id, [...ids][0]);
    const none = await send();
    assert.notEqual((none.json() as OrderView).id, [...ids][0]);
    // The same key with another cart is a misuse, not a replay.
    const misuse = await t.request({ method: 'POST', url: '/store/api/orders', payload: { items: [{ productId: 'prod_field_tee', quantity: 1 }] }, headers: { 'idempotency-key': 'checkout-7f3c' } });
    assert.equal(misuse.statusCode, 422, misuse.body);
  });
});

describe('paying an order in app', () => {
  it('pays the order: verified, decrypted, authorized with cryptogram and ECI', async () => {
    const order = await newOrder();
    assert.equal(order.status, 'pending');
    assert.equal(order.total, 2 * 1800 + 2400);
    assert.equal(Buffer.from(order.applicationData, 'base64').toString(), order.id);
    const token = await tokenFor(order);
    const header = (token.paymentData as { header: { applicationData?: string } }).header;
    assert.equal(header.applicationData, applicationDataOf(order.id).sha256Hex);

    const res = await api<OrderView>('POST', `/store/api/orders/${order.id}/payments`, { token });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.status, 'paid');
    const p = res.body.payment!;
    assert.equal(p.status, 'approved');
    assert.equal(p.responseCode, '00');
    assert.match(p.authCode ?? '', /^[ -~]{6}$/);
    assert.match(p.decrypted.deviceToken, /^\d{6}\*+\d{4}$/);
    assert.equal(Buffer.from(p.decrypted.onlinePaymentCryptogram ?? '', 'base64').length, 20);
    assert.equal(p.decrypted.transactionAmount, order.total);
    assert.equal(p.decrypted.currencyCode, '840');
    assert.ok(p.decrypted.eciIndicator, 'a Visa token carries an ECI');

    const got = await api<OrderView>('GET', `/store/api/orders/${order.id}`);
    assert.equal(got.body.status, 'paid');
    assert.equal(got.body.payment?.acquirerAuthorizationId, p.acquirerAuthorizationId);
    assert.equal(await approvedAuthorizationsFor(order.id), 1);
  });

  it('a repeated submission of the same token answers the stored outcome; another token for the paid order is 409', async () => {
    const order = await newOrder([{ productId: 'prod_wool_socks', quantity: 1 }]);
    const token = await tokenFor(order);
    const first = await api<OrderView>('POST', `/store/api/orders/${order.id}/payments`, { token });
    assert.equal(first.body.status, 'paid');
    const again = await api<OrderView>('POST', `/store/api/orders/${order.id}/payments`, { token });
    assert.equal(again.status, 200);
    assert.deepEqual(again.body, first.body);

    const other = await tokenFor(order).catch((err: unknown) => err);
    // The store still hands out merchant sessions only for unpaid orders.
    assert.ok(other instanceof Error);
    const res = await api<{ error: { code: string } }>('POST', `/store/api/orders/${order.id}/merchant-session`, { validationURL: t.validationUrl });
    assert.equal(res.status, 409);
    assert.equal(res.body.error.code, 'order_already_paid');
    assert.equal(await approvedAuthorizationsFor(order.id), 1);
  });

  it('concurrent submissions (same token and different tokens) pay the order once, with one approved authorization', async () => {
    const order = await newOrder([{ productId: 'prod_canvas_tote', quantity: 3 }]);
    const tokenA = await tokenFor(order);
    const tokenB = await tokenFor(order);
    const results = await Promise.all([tokenA, tokenA, tokenB, tokenA, tokenB].map((token) => api<OrderView & { error?: { code: string } }>('POST', `/store/api/orders/${order.id}/payments`, { token })));
    const paid = results.filter((r) => r.status === 200);
    const refused = results.filter((r) => r.status !== 200);
    assert.ok(paid.length >= 1);
    for (const r of paid) assert.equal(r.body.status, 'paid');
    for (const r of refused) {
      assert.equal(r.status, 409, JSON.stringify(r.body));
      assert.equal(r.body.error?.code, 'order_already_paid');
    }
    // Every answer that was paid names the same payment.
    assert.equal(new Set(paid.map((r) => r.body.payment?.id)).size, 1);
    assert.equal(await approvedAuthorizationsFor(order.id), 1);
    const { rows } = await t.tessera.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM store.payment_attempts WHERE order_id = $1 AND status = 'approved'`, [order.id]);
    assert.equal(rows[0]!.n, 1);
    const final = await api<OrderView>('GET', `/store/api/orders/${order.id}`);
    assert.equal(final.body.status, 'paid');
  });

  it('refuses a token for another amount, and a token whose applicationData is another order', async () => {
    const order = await newOrder([{ productId: 'prod_rain_shell', quantity: 1 }]);
    const cheaper = await tokenFor(order, { amount: '1.00' });
    const res = await api<{ error: { code: string; message: string } }>('POST', `/store/api/orders/${order.id}/payments`, { token: cheaper });
    assert.equal(res.status, 400);
    assert.equal(res.body.error.code, 'payment_mismatch');
    assert.match(res.body.error.message, /amount/);

    const otherOrder = await newOrder([{ productId: 'prod_rain_shell', quantity: 1 }]);
    const misbound = await tokenFor(order, { applicationData: otherOrder.applicationData });
    const res2 = await api<{ error: { code: string; message: string } }>('POST', `/store/api/orders/${order.id}/payments`, { token: misbound });
    assert.equal(res2.status, 400);
    assert.equal(res2.body.error.code, 'payment_mismatch');
    assert.match(res2.body.error.message, /application_data/);

    const still = await api<OrderView>('GET', `/store/api/orders/${order.id}`);
    assert.equal(still.body.status, 'pending');
    assert.equal(await approvedAuthorizationsFor(order.id), 0);
  });

  it('refuses a replayed token (one already used for another order) and a tampered one', async () => {
    const a = await newOrder([{ productId: 'prod_trail_cap', quantity: 1 }]);
    const b = await newOrder([{ productId: 'prod_trail_cap', quantity: 1 }]);
    // b's applicationData is its own id: present a's token (same amount) to b.
    const tokenA = await tokenFor(a);
    const paidA = await api<OrderView>('POST', `/store/api/orders/${a.id}/payments`, { token: tokenA });
    assert.equal(paidA.body.status, 'paid');
    const replay = await api<{ error: { code: string } }>('POST', `/store/api/orders/${b.id}/payments`, { token: tokenA });
    assert.equal(replay.status, 400);
    assert.equal(replay.body.error.code, 'payment_token_replayed');

    const tokenB = await tokenFor(b);
    const pd = tokenB.paymentData as { data: string };
    const bytes = Buffer.from(pd.data, 'base64');
    bytes[5] = bytes[5]! ^ 1;
    const tampered = { ...tokenB, paymentData: { ...pd, data: bytes.toString('base64') } };
    const bad = await api<{ error: { code: string } }>('POST', `/store/api/orders/${b.id}/payments`, { token: tampered });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.error.code, 'payment_token_invalid');
    // The genuine token still pays b (a forged one cannot burn its transactionId).
    const ok = await api<OrderView>('POST', `/store/api/orders/${b.id}/payments`, { token: tokenB });
    assert.equal(ok.body.status, 'paid', JSON.stringify(ok.body));
  });

  it('logs no device token and no private key', () => {
    const logs = t.env.logLines.join('\n');
    assert.ok(logs.length > 0);
    for (const line of t.env.logLines) {
      // Whole digit runs, not the fraction of a response time.
      for (const digits of line.match(/(?<![\d.])\d{13,19}(?![\d.])/g) ?? []) assert.ok(!luhnCheck(digits), `a card-number-like digit run in a log line: ${line.replace(/\d{13,19}/g, '<digits>').slice(0, 300)}`);
    }
    assert.ok(!logs.includes('PRIVATE KEY'));
  });
});
