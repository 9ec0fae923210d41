import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startBrowserEnv, type BrowserEnv } from './harness.js';
import { addTestCard, assertNoFullNumbers, newCredentials, sandboxCards, signUpAndRegister, type SandboxCard } from './flows.js';

describe('/store in Chromium: buying with the ApplePaySession sheet', () => {
  let env: BrowserEnv;
  let cards: SandboxCard[];
  before(async () => {
    env = await startBrowserEnv();
    cards = await sandboxCards(env);
    await env.tessera.tessera.store.whenReady(60_000);
  });
  after(async () => {
    await env?.close();
  });

  async function counts(orderId: string): Promise<{ approvedAttempts: number; attempts: number; approvedAtAcquirer: number }> {
    const db = env.tessera.tessera.db;
    const a = await db.query<{ approved: number; all: number }>(
      `SELECT count(*) FILTER (WHERE status = 'approved')::int AS approved, count(*)::int AS all FROM store.payment_attempts WHERE order_id = $1`,
      [orderId],
    );
    const acq = await db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM acquirer.authorizations WHERE status = 'approved' AND id IN (SELECT acquirer_authorization_id FROM store.payment_attempts WHERE order_id = $1)`,
      [orderId],
    );
    return { approvedAttempts: a.rows[0]!.approved, attempts: a.rows[0]!.all, approvedAtAcquirer: acq.rows[0]!.n };
  }

  test('a wallet user buys two caps and a tee; the lost answer is retried by the page; the order is paid once', async () => {
    const page = await env.newPage();
    await signUpAndRegister(page, newCredentials(), 'My iPhone');
    const green = cards.find((c) => c.path === 'green' && c.network === 'visa') ?? cards.find((c) => c.path === 'green');
    assert.ok(green, 'the sandbox has a green-path test card');
    await addTestCard(page, green);

    await page.goto('/store');
    await page.getByRole('heading', { name: 'Tessera Outfitters' }).waitFor();
    await page.getByRole('button', { name: 'Add Trail cap' }).click();
    await page.getByRole('button', { name: 'Add Trail cap' }).click();
    await page.getByRole('button', { name: 'Add Field tee' }).click();
    assert.equal(await page.getByTestId('cart-total').innerText(), '$60.00');
    await page.getByRole('button', { name: 'Check out' }).click();
    await page.getByTestId('order-status').filter({ hasText: 'pending' }).waitFor();
    const orderId = await page.locator('dd code').first().innerText();
    assert.match(orderId, /^ord_/);

    // The first answer to the payment submission is lost on the way back (the store did process it):
    // the page submits again and gets the stored outcome.
    let submissions = 0;
    await page.route('**/store/api/orders/*/payments', async (route) => {
      submissions++;
      if (submissions === 1) {
        await route.fetch();
        await route.abort('connectionreset');
      } else {
        await route.continue();
      }
    });

    await page.getByRole('button', { name: 'Buy with Apple Pay' }).click();
    const sheet = page.frameLocator('iframe[title="Apple Pay sheet"]');
    await sheet.getByRole('heading', { name: 'Tessera Pay' }).waitFor({ timeout: 30_000 });
    await sheet.getByText('$60.00').waitFor();
    const faceId = sheet.getByRole('button', { name: 'Face ID: match' });
    await faceId.waitFor({ timeout: 30_000 });
    await env.screenshot(page, 'store-sheet');
    await faceId.click();

    await page.getByTestId('order-status').filter({ hasText: 'paid' }).waitFor({ timeout: 30_000 });
    assert.ok(submissions >= 2, 'the page submitted the payment again after the lost answer');
    await page.getByText(/submitting the payment again/).waitFor();
    // The sheet got STATUS_SUCCESS and closed.
    await page.locator('iframe[title="Apple Pay sheet"]').waitFor({ state: 'detached', timeout: 15_000 });

    // What the store decrypted: the device token masked, the 20-byte cryptogram, the ECI; the token JSON.
    assert.match(await page.getByTestId('device-token').innerText(), /^\d{6}\*+\d{4}$/);
    assert.equal(Buffer.from(await page.getByTestId('cryptogram').innerText(), 'base64').length, 20);
    assert.match(await page.getByTestId('eci').innerText(), /^\d{1,2}$/);
    const token = JSON.parse(await page.getByTestId('token-json').innerText()) as { paymentData: { version: string; header: { applicationData: string } } };
    assert.equal(token.paymentData.version, 'EC_v1');
    assert.match(token.paymentData.header.applicationData, /^[0-9a-f]{64}$/);
    assert.match(await page.getByTestId('order-auth').innerText(), /approved — response code 00, auth code/);
    // Hex and base64 (transactionId, ciphertext) may hold long digit runs by chance: only those are allowed.
    const encoded = await page.getByTestId('token-json').innerText();
    await assertNoFullNumbers(page, [...encoded.matchAll(/\d{13,19}/g)].map((m) => m[0]));
    await env.screenshot(page, 'store-paid');

    // The page's "submit again": the stored outcome, still one payment.
    await page.getByRole('button', { name: 'Submit the payment again' }).click();
    await page.getByText('Submitted again: the store answered the stored outcome (paid, 1 payment on the order).').waitFor();
    assert.deepEqual(await counts(orderId), { approvedAttempts: 1, attempts: 1, approvedAtAcquirer: 1 });
    assert.deepEqual(env.pageErrors, []);
  });
});
