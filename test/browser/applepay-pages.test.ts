import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { build } from 'esbuild';
import { after, before, describe, test } from 'node:test';
import type { Page } from 'playwright-core';
import { setUpWallet, startMerchantSite, type MerchantSite } from './applepay-merchant.js';
import { startBrowserEnv, type BrowserEnv } from './harness.js';

/**
 * Merchant pages written the way public Apple Pay samples are (test/browser/pages/), served from the
 * merchant's own origin and changed only by the script tag that loads /applepay/v1/apple-pay.js,
 * paid with a wallet set up in the same browser.
 */
describe('Apple Pay merchant pages in Chromium', () => {
  let env: BrowserEnv;
  const sites: MerchantSite[] = [];
  before(async () => {
    env = await startBrowserEnv();
    await setUpWallet(env);
  });
  after(async () => {
    for (const s of sites) await s.close();
    await env?.close();
  });

  async function site(displayName: string, merchantIdentifier: string): Promise<MerchantSite> {
    const s = await startMerchantSite(env, displayName, merchantIdentifier);
    sites.push(s);
    return s;
  }

  const sheetOf = (page: Page) => page.frameLocator('iframe[title="Apple Pay sheet"]');

  /** The merchant's site and its page, open in a new tab. */
  async function merchantPage(displayName: string, merchantIdentifier: string, file: string): Promise<{ s: MerchantSite; page: Page }> {
    const s = await site(displayName, merchantIdentifier);
    const page = await env.newPage();
    await page.goto(`${s.origin}/${file}`);
    return { s, page };
  }

  test("(a) Apple's classic sample: the original validation body, amounts as numbers", async () => {
    const s = await site('Emporium', 'merchant.com.example.emporium');
    const page = await env.newPage();
    let relayed: unknown;
    page.on('response', (r) => {
      if (r.url().endsWith('/getApplePaySession')) void r.json().then((b: unknown) => (relayed = b));
    });
    await page.goto(`${s.origin}/emporium-legacy.html`);
    await page.getByRole('button', { name: 'Buy with Apple Pay' }).click();
    const sheet = sheetOf(page);
    await sheet.getByRole('heading', { name: 'Tessera Pay' }).waitFor({ timeout: 30_000 });
    // Safari's formatting of the total (the page gave 45, a number).
    await sheet.getByText('£45.00').first().waitFor();
    const faceId = sheet.getByRole('button', { name: 'Face ID: match' });
    await faceId.waitFor({ timeout: 30_000 });
    await env.screenshot(page, 'applepay-a-sheet');
    await faceId.click();
    await page.getByText('Thank you for your purchase!').waitFor({ timeout: 30_000 });
    await page.locator('iframe[title="Apple Pay sheet"]').waitFor({ state: 'detached', timeout: 15_000 });

    assert.deepEqual(Object.keys(s.validationBodies[0]!).sort(), ['displayName', 'domainName', 'merchantIdentifier']);
    assert.equal(s.payments.length, 1);
    assert.equal(s.payments[0]!.payload.transactionAmount, 4500);
    assert.equal(s.payments[0]!.payload.currencyCode, '826');
    assert.match((relayed as { merchantSessionIdentifier: string }).merchantSessionIdentifier, /^[0-9A-F]{64}$/);

    // The same page when its server's validation fails: the error answer goes to
    // completeMerchantValidation, and the session ends (oncancel) before the user is asked anything.
    s.validationOverride = { domainName: 'unregistered.example.com' };
    await page.reload();
    await page.getByRole('button', { name: 'Buy with Apple Pay' }).click();
    await page.getByText('Payment cancelled.').waitFor({ timeout: 30_000 });
    await page.locator('iframe[title="Apple Pay sheet"]').waitFor({ state: 'detached', timeout: 15_000 });
    assert.deepEqual((relayed as { statusCode: string; error: { code: string; param: string } }).statusCode, '403');
    assert.equal((relayed as { error: { code: string } }).error.code, 'merchant_domain_unverified');
    assert.equal((relayed as { error: { param: string } }).error.param, 'domainName');
    assert.equal(s.payments.length, 1);
    await page.close();

    // canMakePaymentsWithActiveCard on a browser without a wallet card: false, so the page offers set-up.
    const other = await env.newContext();
    const bare = await other.newPage();
    await bare.goto(`${s.origin}/emporium-legacy.html`);
    await bare.getByText('Apple Pay is available, but you have no card set up.').waitFor({ timeout: 30_000 });
    assert.equal(await bare.getByRole('button', { name: 'Buy with Apple Pay' }).isVisible(), false);
    await other.close();
    assert.deepEqual(env.pageErrors, []);
  });

  test('(b) a checkout that requires shipping and billing contacts, prices shipping methods and reads billingContact.emailAddress', async () => {
    const { s, page } = await merchantPage('Trail Outfitters', 'merchant.com.example.outfitters', 'outfitters-shipping.html');
    await page.getByRole('button', { name: 'Pay with Apple Pay' }).click();
    const sheet = sheetOf(page);
    await sheet.getByRole('heading', { name: 'Tessera Pay' }).waitFor({ timeout: 30_000 });
    await sheet.getByTestId('paysheet-total').filter({ hasText: '$129.60' }).waitFor();
    await sheet.getByText('Add a shipping contact, a billing contact to pay.').waitFor({ timeout: 30_000 });

    // A contact abroad: the page answers addressUnserviceable and paying waits for another choice.
    const addContact = async (c: Record<string, string>) => {
      await sheet.getByRole('button', { name: 'Add contact' }).click();
      const form = sheet.getByRole('form', { name: 'New contact' });
      for (const [label, value] of Object.entries(c)) await form.getByLabel(label).fill(value);
      await form.getByRole('button', { name: 'Save contact' }).click();
    };
    await addContact({ 'First name': 'Ada', 'Last name': 'Lovelace', 'E-mail address': 'ada@example.co.uk', 'Phone number': '+44 20 7946 0000', Street: '12 St James Sq', City: 'London', 'County or state': 'Greater London', Postcode: 'SW1Y 4LB', 'Country code (GB, US…)': 'GB' });
    await sheet.getByText('We only ship within the United States.').waitFor({ timeout: 30_000 });
    await sheet.getByText('Choose another contact to pay.').waitFor();
    await env.screenshot(page, 'applepay-b-unserviceable');

    await addContact({ 'First name': 'Ada', 'Last name': 'Lovelace', 'E-mail address': 'ada@example.com', 'Phone number': '+1 503 555 0100', Street: '1 Main St', City: 'Portland', 'County or state': 'OR', Postcode: '97201', 'Country code (GB, US…)': 'US' });
    await sheet.getByRole('button', { name: 'Face ID: match' }).waitFor({ timeout: 30_000 });
    assert.equal(await sheet.getByText('We only ship within the United States.').count(), 0);
    // Express shipping: the page's onshippingmethodselected answers the new total.
    await sheet.getByLabel('Shipping method').selectOption('express');
    await sheet.getByTestId('paysheet-total').filter({ hasText: '$144.60' }).waitFor({ timeout: 30_000 });
    await sheet.getByText('$15.00').first().waitFor();
    await env.screenshot(page, 'applepay-b-sheet');
    await sheet.getByRole('button', { name: 'Face ID: match' }).click();
    await page.getByText('Paid 144.60. Receipt sent to ada@example.co.uk. Shipping Express to Portland.').waitFor({ timeout: 30_000 });
    await page.locator('iframe[title="Apple Pay sheet"]').waitFor({ state: 'detached', timeout: 15_000 });

    assert.equal(s.payments.length, 1);
    assert.equal(s.payments[0]!.payload.transactionAmount, 14460);
    assert.deepEqual(s.posted[0], {
      receiptTo: 'ada@example.co.uk',
      shipTo: { name: 'Ada Lovelace', lines: ['1 Main St'], city: 'Portland', zip: '97201', phone: '+1 503 555 0100' },
      shipping: 'express',
    });
    assert.deepEqual(Object.keys(s.validationBodies[0]!).sort(), ['displayName', 'initiative', 'initiativeContext', 'merchantIdentifier']);
    await page.close();
    assert.deepEqual(env.pageErrors, []);
  });

  test('(c) a page that aborts when its server cannot validate the merchant; the donor cancelling is oncancel', async () => {
    const { s, page } = await merchantPage('Trail Fund', 'merchant.com.example.trailfund', 'donate-abort.html');
    s.validationOverride = { initiativeContext: 'unregistered.example.com' };
    await page.getByRole('button', { name: 'Donate with Apple Pay' }).click();
    await page.getByText('Apple Pay is unavailable right now (merchant validation failed: 403).').waitFor({ timeout: 30_000 });
    await page.locator('iframe[title="Apple Pay sheet"]').waitFor({ state: 'detached', timeout: 15_000 });
    // abort() is the page's own doing: Safari does not call oncancel for it.
    await page.waitForTimeout(500);
    assert.equal(await page.getByText('Donation cancelled.').count(), 0);

    // With validation working, the donor closes the sheet: oncancel.
    s.validationOverride = {};
    await page.getByRole('button', { name: 'Donate with Apple Pay' }).click();
    const sheet = sheetOf(page);
    await sheet.getByText('€25.00').first().waitFor({ timeout: 30_000 });
    await sheet.getByRole('button', { name: 'Face ID: match' }).waitFor({ timeout: 30_000 });
    await sheet.getByRole('button', { name: 'Cancel' }).click();
    await page.getByText('Donation cancelled.').waitFor({ timeout: 15_000 });
    await page.locator('iframe[title="Apple Pay sheet"]').waitFor({ state: 'detached', timeout: 15_000 });
    assert.equal(s.payments.length, 0);
    await page.close();
    assert.deepEqual(env.pageErrors, []);
  });

  test('(e) a recurring payment request: the token carries a merchant token that the SDK and the CLI decrypt', async () => {
    const { s, page } = await merchantPage('Bean Club', 'merchant.com.example.beanclub', 'coffee-subscription.html');
    await page.getByRole('button', { name: 'Subscribe with Apple Pay' }).click();
    const sheet = sheetOf(page);
    await sheet.getByText('$24.00').first().waitFor({ timeout: 30_000 });
    await sheet.getByRole('button', { name: 'Face ID: match' }).click({ timeout: 30_000 });
    await page.getByText('Subscribed. Your first bag ships tomorrow.').waitFor({ timeout: 30_000 });

    assert.equal(s.payments.length, 1);
    const paid = s.payments[0]!;
    assert.equal(paid.payload.transactionAmount, 2400);
    assert.match(paid.merchantToken!.identifier, /^MTK[0-9A-F]{40}$/);
    assert.equal(paid.payload.merchantTokenIdentifier, paid.merchantToken!.identifier);
    const metadata = paid.merchantToken!.metadata!;
    assert.equal(metadata.merchantTokenType, 'recurring');
    assert.equal(metadata.paymentDescription, 'Bean Club monthly coffee');
    assert.equal(metadata.managementURL, `${s.origin}/account/subscription`);
    assert.deepEqual((metadata.regularBilling as { amount: string; recurringPaymentIntervalUnit: string }).amount, '24.00');
    assert.equal((metadata.regularBilling as { recurringPaymentIntervalUnit: string }).recurringPaymentIntervalUnit, 'month');

    // The CLI decrypts the same token and shows the merchant token fields.
    const dir = await mkdtemp(join(tmpdir(), 'tessera-applepay-e-'));
    try {
      await writeFile(join(dir, 'token.json'), JSON.stringify(s.tokens[0]));
      await writeFile(join(dir, 'cert.pem'), s.processing.certificatePem);
      await writeFile(join(dir, 'key.pem'), s.processing.privateKeyPem);
      await writeFile(join(dir, 'root.pem'), await env.tessera.tessera.pki.rootPem());
      const bin = fileURLToPath(new URL('../../bin/tessera.js', import.meta.url));
      const { stdout } = await promisify(execFile)(process.execPath, [bin, 'applepay', 'decrypt', '--token', join(dir, 'token.json'), '--cert', join(dir, 'cert.pem'), '--key', join(dir, 'key.pem'), '--root', join(dir, 'root.pem')], { timeout: 60_000 });
      const decrypted = JSON.parse(stdout) as { merchantTokenIdentifier: string; merchantTokenMetadata: { merchantTokenType: string } };
      assert.equal(decrypted.merchantTokenIdentifier, paid.merchantToken!.identifier);
      assert.equal(decrypted.merchantTokenMetadata.merchantTokenType, 'recurring');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    await page.close();
    assert.deepEqual(env.pageErrors, []);
  });

  test('(f) the page written against @types/applepayjs (version 14) runs: coupon code, recurring request, billing contact', async () => {
    const s = await site('Tessera Coffee', 'merchant.com.example.typed');
    const bundled = await build({
      stdin: { contents: "import { checkout } from './merchant-page.ts';\ncheckout(document.getElementById('pay'), 'merchant.com.example.typed');\n", resolveDir: fileURLToPath(new URL('../applepayjs-typecheck/', import.meta.url)), loader: 'ts' },
      bundle: true,
      write: false,
      format: 'iife',
      platform: 'browser',
      logLevel: 'silent',
    });
    s.scripts.set('/typed-checkout.js', bundled.outputFiles[0]!.text);
    const page = await env.newPage();
    await page.goto(`${s.origin}/typed-checkout.html`);
    await page.getByRole('button', { name: 'Buy a latte with Apple Pay' }).click();
    const sheet = sheetOf(page);
    await sheet.getByTestId('paysheet-total').filter({ hasText: '$4.50' }).waitFor({ timeout: 30_000 });
    const faceId = sheet.getByRole('button', { name: 'Face ID: match' });
    const needsContact = sheet.getByText('Add a billing contact to pay.');
    await faceId.or(needsContact).waitFor({ timeout: 30_000 });
    if (await needsContact.isVisible()) {
      await sheet.getByRole('button', { name: 'Add contact' }).click();
      const form = sheet.getByRole('form', { name: 'New contact' });
      for (const [label, value] of Object.entries({ 'First name': 'Ada', 'Last name': 'Lovelace', Street: '1 Main St', City: 'Portland', Postcode: '97201', 'Country code (GB, US…)': 'US' })) await form.getByLabel(label).fill(value);
      await form.getByRole('button', { name: 'Save contact' }).click();
    }
    // The coupon: the page's oncouponcodechanged answers a discounted total.
    await sheet.getByRole('button', { name: 'Apply' }).click();
    await sheet.getByTestId('paysheet-total').filter({ hasText: '$4.00' }).waitFor({ timeout: 30_000 });
    await sheet.getByText('Welcome discount').waitFor();
    await sheet.getByLabel('Coupon code').fill('BOGUS');
    await sheet.getByRole('button', { name: 'Apply' }).click();
    await sheet.getByText('This coupon code is not valid.').waitFor({ timeout: 30_000 });
    await sheet.getByTestId('paysheet-total').filter({ hasText: '$4.50' }).waitFor();
    await faceId.click({ timeout: 30_000 });
    await page.locator('button[data-state="paid"]').waitFor({ state: 'attached', timeout: 30_000 });
    assert.equal(s.payments.length, 1);
    assert.equal(s.payments[0]!.payload.transactionAmount, 450);
    assert.equal(s.payments[0]!.merchantToken?.metadata?.merchantTokenType, 'recurring');
    assert.match(String(s.posted[0]!.postalCode), /\S/);
    await page.close();
    assert.deepEqual(env.pageErrors, []);
  });
});
