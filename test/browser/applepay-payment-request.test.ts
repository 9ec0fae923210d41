import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Page } from 'playwright-core';
import { setUpWallet, startMerchantSite, type MerchantSite } from './applepay-merchant.js';
import { startBrowserEnv, type BrowserEnv } from './harness.js';

/**
 * The other two ways pages reach Apple Pay (test/browser/pages/, changed only by the script tag):
 * the W3C Payment Request API with the https://apple.com/apple-pay method, and the Apple Pay button
 * (the <apple-pay-button> element and an element styled with -webkit-appearance: -apple-pay-button).
 */
describe('Apple Pay through PaymentRequest and the Apple Pay button in Chromium', () => {
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

  const sheetOf = (page: Page) => page.frameLocator('iframe[title="Apple Pay sheet"]');

  async function merchantPage(displayName: string, merchantIdentifier: string, file: string): Promise<{ s: MerchantSite; page: Page }> {
    const s = await startMerchantSite(env, displayName, merchantIdentifier);
    sites.push(s);
    const page = await env.newPage();
    await page.goto(`${s.origin}/${file}`);
    return { s, page };
  }

  test('(d) a Payment Request API checkout: merchantvalidation, shipping address and option changes with updateWith, the token decrypts; cancel is AbortError', async () => {
    const { s, page } = await merchantPage('Lumen Lamps', 'merchant.com.example.lumen', 'lumen-payment-request.html');
    // Another payment method still goes to Chromium's own PaymentRequest.
    const native = await page.evaluate(() => {
      const r = new PaymentRequest([{ supportedMethods: 'https://example.com/other-pay' }], { total: { label: 'x', amount: { currency: 'USD', value: '1.00' } } });
      return { isRequest: r instanceof PaymentRequest, nativeShow: Function.prototype.toString.call(Object.getPrototypeOf(r).show).includes('[native code]') };
    });
    assert.deepEqual(native, { isRequest: true, nativeShow: true });

    const pay = page.getByRole('button', { name: 'Pay with Apple Pay' });
    await pay.click({ timeout: 30_000 });
    const sheet = sheetOf(page);
    await sheet.getByRole('heading', { name: 'Tessera Pay' }).waitFor({ timeout: 30_000 });
    // The debit modifier applies once a paymentmethodchange reports a debit card (the sheet reports a card
    // when the user picks one; the page records its type).
    await sheet.getByRole('button', { name: 'Add contact' }).waitFor({ timeout: 30_000 });
    const debit = (await page.evaluate(() => document.body.dataset.cardType)) === 'debit' ? 1 : 0;
    await sheet.getByTestId('paysheet-total').filter({ hasText: `$${(84 - debit).toFixed(2)}` }).waitFor({ timeout: 30_000 });

    await sheet.getByRole('button', { name: 'Add contact' }).click({ timeout: 30_000 });
    const form = sheet.getByRole('form', { name: 'New contact' });
    for (const [label, value] of Object.entries({ 'First name': 'Grace', 'Last name': 'Hopper', 'E-mail address': 'grace@example.com', 'Phone number': '+1 503 555 0101', Street: '2 Pine St', City: 'Portland', 'County or state': 'OR', Postcode: '97204', 'Country code (GB, US…)': 'US' })) {
      await form.getByLabel(label).fill(value);
    }
    await form.getByRole('button', { name: 'Save contact' }).click();
    // shippingaddresschange: Oregon has no sales tax.
    await sheet.getByTestId('paysheet-total').filter({ hasText: `$${(80 - debit).toFixed(2)}` }).waitFor({ timeout: 30_000 });
    // shippingoptionchange: express shipping.
    await sheet.getByLabel('Shipping method').selectOption('express');
    await sheet.getByTestId('paysheet-total').filter({ hasText: `$${(92 - debit).toFixed(2)}` }).waitFor({ timeout: 30_000 });
    await env.screenshot(page, 'applepay-d-payment-request');
    await sheet.getByRole('button', { name: 'Face ID: match' }).click({ timeout: 30_000 });
    await page.waitForFunction(() => document.getElementById('status')!.textContent !== '', undefined, { timeout: 30_000 });
    assert.equal(await page.getByRole('status').textContent(), 'Thank you, Grace Hopper. Your lamp ships express to Portland.');
    await page.locator('iframe[title="Apple Pay sheet"]').waitFor({ state: 'detached', timeout: 15_000 });

    assert.equal(s.payments.length, 1);
    assert.equal(s.payments[0]!.payload.transactionAmount, (92 - debit) * 100);
    assert.deepEqual(s.posted[0], { payerName: 'Grace Hopper', shippingOption: 'express', city: 'Portland' });
    assert.deepEqual(Object.keys(s.validationBodies[0]!).sort(), ['displayName', 'initiative', 'initiativeContext', 'merchantIdentifier']);

    // The shopper closes the sheet: show() rejects with AbortError.
    await pay.click();
    await sheet.getByRole('button', { name: 'Face ID: match' }).waitFor({ timeout: 30_000 });
    await sheet.getByRole('button', { name: 'Cancel' }).click();
    await page.getByText('Payment cancelled (AbortError).').waitFor({ timeout: 15_000 });
    await page.locator('iframe[title="Apple Pay sheet"]').waitFor({ state: 'detached', timeout: 15_000 });

    // abort() from the page: the sheet goes and show() rejects with AbortError too.
    const aborted = await page.evaluate(async () => {
      const request = new PaymentRequest(
        [{ supportedMethods: 'https://apple.com/apple-pay', data: { version: 3, merchantIdentifier: 'merchant.com.example.lumen', merchantCapabilities: ['supports3DS'], supportedNetworks: ['visa'], countryCode: 'US' } }],
        { total: { label: 'Lumen Lamps', amount: { currency: 'USD', value: '1.00' } } },
      );
      const shown = request.show().then(
        () => 'resolved',
        (err: Error) => err.name,
      );
      await new Promise((r) => setTimeout(r, 200));
      await request.abort();
      return shown;
    });
    assert.equal(aborted, 'AbortError');
    await page.locator('iframe[title="Apple Pay sheet"]').waitFor({ state: 'detached', timeout: 15_000 });
    assert.equal(s.payments.length, 1);
    await page.close();
    assert.deepEqual(env.pageErrors, []);
  });

  test('(g) the Apple Pay button: <apple-pay-button> and a -webkit-appearance: -apple-pay-button element render, and their clicks start the session', async () => {
    const { s, page } = await merchantPage('Harbor Gallery', 'merchant.com.example.gallery', 'gallery-button.html');
    const buy = page.getByRole('button', { name: 'Buy with Apple Pay' });
    await buy.waitFor({ timeout: 30_000 });
    const box = await buy.boundingBox();
    assert.ok(box, 'the button has a box');
    // The page's CSS custom properties size it.
    assert.equal(Math.round(box.width), 240);
    assert.equal(Math.round(box.height), 44);
    await page.locator('apple-pay-button').getByText('Buy with').waitFor();
    const look = await page.locator('apple-pay-button').evaluate((el) => {
      const inner = el.shadowRoot!.querySelector('.button')!;
      const cs = getComputedStyle(inner);
      return { background: cs.backgroundColor, color: cs.color, radius: getComputedStyle(el).borderTopLeftRadius, text: inner.textContent };
    });
    assert.deepEqual(look, { background: 'rgb(0, 0, 0)', color: 'rgb(255, 255, 255)', radius: '8px', text: 'Buy withPay' });

    // The CSS-styled element: drawn as a white-outline donate button.
    const tip = page.getByRole('button', { name: 'Donate with Apple Pay' });
    await tip.waitFor({ timeout: 30_000 });
    const tipBox = await tip.boundingBox();
    assert.ok(tipBox && tipBox.width >= 100 && tipBox.height >= 30, `the styled element has a size: ${JSON.stringify(tipBox)}`);
    await page.locator('#tip').getByText('Donate with').waitFor();
    assert.equal(await page.locator('#tip').evaluate((el) => getComputedStyle(el.shadowRoot!.querySelector('.button')!).borderTopStyle), 'solid');
    await env.screenshot(page, 'applepay-g-buttons');

    // Its click reaches the page's own handler, which starts a session; the visitor cancels.
    await tip.click();
    const sheet = sheetOf(page);
    await sheet.getByText('$5.00').first().waitFor({ timeout: 30_000 });
    await sheet.getByRole('button', { name: 'Cancel' }).click({ timeout: 30_000 });
    await page.getByText('Cancelled.').waitFor({ timeout: 15_000 });
    await page.locator('iframe[title="Apple Pay sheet"]').waitFor({ state: 'detached', timeout: 15_000 });

    // The <apple-pay-button> onclick attribute starts the page's session, which completes a payment.
    await buy.click();
    await sheet.getByText('$35.00').first().waitFor({ timeout: 30_000 });
    await sheet.getByRole('button', { name: 'Face ID: match' }).click({ timeout: 30_000 });
    await page.getByText('Thank you for your order.').waitFor({ timeout: 30_000 });
    assert.equal(s.payments.length, 1);
    assert.equal(s.payments[0]!.payload.transactionAmount, 3500);
    // The keyboard works too: Enter on the focused element is a click.
    await page.locator('iframe[title="Apple Pay sheet"]').waitFor({ state: 'detached', timeout: 15_000 });
    await buy.focus();
    await page.keyboard.press('Enter');
    await sheet.getByText('$35.00').first().waitFor({ timeout: 30_000 });
    await sheet.getByRole('button', { name: 'Cancel' }).click({ timeout: 30_000 });
    await page.locator('iframe[title="Apple Pay sheet"]').waitFor({ state: 'detached', timeout: 15_000 });
    await page.close();
    assert.deepEqual(env.pageErrors, []);
  });
});
