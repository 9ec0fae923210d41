import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Page } from 'playwright-core';
import { startBrowserEnv, type BrowserEnv } from './harness.js';
import { PHONE_VIEWPORT, addTestCard, armWithFaceId, assertNoFullNumbers, charge, newCredentials, sandboxCards, signInAndRegister, signUpAndRegister, type SandboxCard } from './flows.js';

describe('/terminal ↔ /wallet taps in Chromium', () => {
  let env: BrowserEnv;
  let wallet: Page;
  let terminal: Page;
  let card: SandboxCard;
  const user = newCredentials();

  before(async () => {
    env = await startBrowserEnv();
    const cards = await sandboxCards(env);
    const green = cards.find((c) => c.path === 'green' && c.network === 'mastercard') ?? cards.find((c) => c.path === 'green');
    assert.ok(green);
    card = green;
    // Two tabs of one browser profile: the phone and the reader share the BroadcastChannel "radio".
    wallet = await env.newPage({ viewport: PHONE_VIEWPORT });
    await signUpAndRegister(wallet, user);
    await addTestCard(wallet, card);
    terminal = await env.newPage();
    await terminal.goto('/terminal');
    await terminal.getByLabel('Terminal').waitFor();
    await terminal.getByRole('option', { name: /Corner Coffee/ }).waitFor({ state: 'attached' });
  });
  after(async () => {
    await env?.close();
  });

  test('double-click to pay, Face ID, tap: the APDU dialogue, the masked 0100/0110 and Approved', async () => {
    await terminal.bringToFront();
    await charge(terminal, '12.50');
    await terminal.getByText('Hold a phone near the reader', { exact: false }).waitFor();
    await wallet.bringToFront();
    await armWithFaceId(wallet);
    await env.screenshot(wallet, 'wallet-armed');

    const screen = terminal.locator('.reader-screen');
    await screen.getByText('Approved', { exact: true }).waitFor({ timeout: 30_000 });
    assert.match(await screen.innerText(), /00 · approved/);
    assert.match(await screen.innerText(), /Authorization code [0-9A-Za-z]{6}/);
    // The dialogue, decoded.
    for (const name of ['SELECT PPSE', 'SELECT AID', 'GET PROCESSING OPTIONS']) await terminal.getByText(name, { exact: true }).first().waitFor();
    await terminal.getByRole('table', { name: /Request · MTI 0100/ }).waitFor();
    await terminal.getByRole('table', { name: /Response · MTI 0110/ }).waitFor();
    await assertNoFullNumbers(terminal);
    const tokenShown = await terminal.locator('.tag-value').allInnerTexts();
    assert.ok(tokenShown.some((v) => /^\d{6}•{5,9}\d{4}$/.test(v)), 'the token number read from the phone (5A) is shown as first 6 / last 4');
    await env.screenshot(terminal, 'terminal-approved');
    await terminal.setViewportSize({ width: 390, height: 844 });
    await env.screenshot(terminal, 'terminal-approved-phone-size');
    await terminal.setViewportSize({ width: 1280, height: 900 });

    // The phone hears the outcome, and its transaction list updates live (server-sent events).
    await wallet.getByText('✓ Done').waitFor({ timeout: 15_000 });
    await wallet.getByRole('button', { name: 'Close' }).click();
    const tx = wallet.locator('.tx').filter({ hasText: 'Corner Coffee' }).filter({ hasText: '12.50 USD' });
    await tx.getByText('approved').waitFor({ timeout: 30_000 });
    await env.screenshot(wallet, 'wallet-transactions');
    assert.deepEqual(env.pageErrors, []);
  });

  test('express transit: at a fare gate the transit card pays without double-click', async () => {
    await wallet.getByRole('button', { name: new RegExp(`card ending ${card.number.slice(-4)}`) }).click();
    // The box follows the SE's state (set asynchronously): click, then wait for it.
    await wallet.getByLabel('Express Transit').click();
    await wallet.getByLabel('Express Transit').and(wallet.locator(':checked')).waitFor();
    await wallet.getByRole('button', { name: '← Cards' }).click();
    await wallet.getByText('Express Transit').waitFor();

    await terminal.getByLabel('Terminal').selectOption({ label: (await terminal.getByRole('option', { name: /Metro Transit/ }).innerText()).trim() });
    await charge(terminal, '2.75');
    const screen = terminal.locator('.reader-screen');
    await screen.getByText('Approved', { exact: true }).waitFor({ timeout: 30_000 });
    await wallet.getByText('✓ Done').waitFor({ timeout: 15_000 });
    await wallet.getByRole('button', { name: 'Close' }).click();

    // Off again, and back to the coffee shop's reader for the next tests.
    await wallet.getByRole('button', { name: new RegExp(`card ending ${card.number.slice(-4)}`) }).click();
    await wallet.getByLabel('Express Transit').click();
    await wallet.locator('input:checked').waitFor({ state: 'detached' });
    await wallet.getByRole('button', { name: '← Cards' }).click();
    await terminal.getByLabel('Terminal').selectOption({ label: (await terminal.getByRole('option', { name: /Corner Coffee/ }).innerText()).trim() });
  });

  test('a suspended card cannot pay: the wallet refuses to arm it and the tap is declined', async () => {
    await wallet.getByRole('button', { name: new RegExp(`card ending ${card.number.slice(-4)}`) }).click();
    await wallet.getByRole('button', { name: 'Suspend card' }).click();
    await wallet.getByRole('button', { name: 'Resume card' }).waitFor({ timeout: 20_000 });
    await wallet.getByRole('button', { name: '← Cards' }).click();
    await wallet.getByRole('button', { name: /Suspended/ }).waitFor();

    await wallet.getByRole('button', { name: 'Side button' }).dblclick();
    await wallet.getByRole('dialog', { name: 'Tessera Pay' }).getByText(/suspended: it cannot pay/).waitFor();
    await wallet.getByRole('button', { name: 'Close' }).click();

    await charge(terminal, '3.00');
    // Held near the reader without a payable card: the phone offers no card, and the reader says why.
    await wallet.getByRole('button', { name: 'Hold near reader without double-click' }).click();
    const screen = terminal.locator('.reader-screen');
    await screen.getByText('Not authorised on the phone', { exact: true }).waitFor({ timeout: 30_000 });
    assert.match(await screen.innerText(), /a suspended card is never offered/);
    await env.screenshot(terminal, 'terminal-declined-suspended');
    // The phone shows the reader's answer too.
    await wallet.getByRole('dialog', { name: 'Tessera Pay' }).getByText(/^Declined/).waitFor();
    await wallet.getByRole('button', { name: 'Close' }).click();
  });

  test('a lost phone that never heard (offline) still taps, and the network declines it online', async () => {
    await wallet.getByRole('button', { name: new RegExp(`card ending ${card.number.slice(-4)}`) }).click();
    await wallet.getByRole('button', { name: 'Resume card' }).click();
    await wallet.getByRole('button', { name: 'Suspend card' }).waitFor({ timeout: 20_000 });
    await wallet.getByRole('button', { name: '← Cards' }).click();
    await wallet.getByRole('button', { name: /Ready/ }).waitFor();
    // The phone goes offline (its page closes); meanwhile a second device reports it lost.
    await wallet.close();
    const second = await env.newContext();
    const other = await second.newPage();
    await signInAndRegister(other, user, 'Second iPhone');
    await other.getByRole('button', { name: 'Mark My iPhone as lost' }).click();
    await other.getByRole('button', { name: 'Mark My iPhone as found' }).waitFor({ timeout: 20_000 });
    await second.close();

    // Back on, the phone cannot reach the platform any more (its session was revoked), so its SE still
    // holds the card as active: it arms and answers the reader; the network refuses the suspended token.
    wallet = await env.newPage({ viewport: PHONE_VIEWPORT });
    await wallet.goto('/wallet');
    await wallet.getByText(/Your session ended/).waitFor({ timeout: 20_000 });
    await armWithFaceId(wallet);
    await terminal.bringToFront();
    await charge(terminal, '2.00');
    const screen = terminal.locator('.reader-screen');
    await screen.getByText('Declined', { exact: true }).waitFor({ timeout: 30_000 });
    await terminal.getByRole('table', { name: /Response · MTI 0110/ }).waitFor();
    assert.doesNotMatch(await screen.innerText(), /^00 ·/m);
    await env.screenshot(terminal, 'terminal-declined-lost');
    await env.screenshot(wallet, 'wallet-lost-offline');
  });
});
