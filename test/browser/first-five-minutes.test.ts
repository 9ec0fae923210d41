import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Page } from 'playwright-core';
import { startBrowserEnv, type BrowserEnv } from './harness.js';
import { PHONE_VIEWPORT, addTestCard, armWithFaceId, charge, newCredentials, sandboxCards, signUpHere, type SandboxCard } from './flows.js';

/**
 * The README's "Try it in the browser (five minutes)" as a newcomer does it: everything starts at the
 * front door (/) and every app is reached by its link there, not by a typed address. Sign up, register
 * the phone, add a card, pay at the terminal, pay in the store, open the console: the console's counters
 * agree with its table, every payment has its message flow, and the front page's checklist ticked by itself.
 */

/** Opens / in a new tab of the one profile (the apps share its storage and radio) and follows the app's link. */
async function openFromFrontDoor(env: BrowserEnv, app: string, options: { viewport?: { width: number; height: number } } = {}): Promise<Page> {
  const page = await env.newPage(options);
  await page.goto('/');
  await page.getByRole('navigation', { name: 'Apps' }).getByRole('link', { name: app, exact: true }).click();
  return page;
}

async function checklistCount(page: Page): Promise<string> {
  return (await page.locator('#try-count').innerText()).trim();
}

describe('the first five minutes, from the front door', () => {
  let env: BrowserEnv;
  let card: SandboxCard;
  let home: Page;

  before(async () => {
    env = await startBrowserEnv();
    const green = (await sandboxCards(env)).find((c) => c.path === 'green' && c.network === 'visa');
    assert.ok(green, 'the sandbox has a green Visa test card');
    card = green;
    await env.tessera.tessera.store.whenReady(60_000);
  });
  after(async () => {
    await env?.close();
  });

  test('/ says what Tessera is, links every app, the API reference and the test cards', async () => {
    home = await env.newPage();
    const res = await home.goto('/');
    assert.equal(res?.status(), 200);
    assert.match(res?.headers()['content-type'] ?? '', /^text\/html/);
    await home.getByRole('heading', { name: 'Tessera', level: 1 }).waitFor();
    const apps = home.getByRole('navigation', { name: 'Apps' });
    const links = await apps.getByRole('link').evaluateAll((as) => as.map((a) => [a.textContent, a.getAttribute('href')]));
    assert.deepEqual(links, [
      ['Wallet', '/wallet'],
      ['Terminal', '/terminal'],
      ['Store', '/store'],
      ['Console', '/console'],
      ['API reference', '/docs'],
      ['Test cards and keys', '#sandbox'],
    ]);
    // Every link answers (the API reference too).
    for (const [, href] of links) {
      if (!href?.startsWith('/')) continue;
      const r = await home.request.get(href);
      assert.equal(r.status(), 200, `${href} answers`);
    }
    // The sandbox section: the test cards as a table, the demo user, the terminals.
    await apps.getByRole('link', { name: 'Test cards and keys' }).click();
    const sandbox = home.getByRole('region', { name: 'Sandbox: test cards and keys' });
    await sandbox.getByRole('table', { name: 'Test cards' }).getByRole('cell', { name: card.number }).waitFor();
    await sandbox.getByText('Corner Coffee').first().waitFor();
    assert.equal(await checklistCount(home), '0 of 6 done');
    await env.screenshot(home, 'home');
  });

  test('the walkthrough: wallet, terminal, store, console; the counters equal the table; the checklist ticks', async () => {
    // 1. The wallet, by its link. A too-short password is refused in a sentence, not the API's schema message.
    const wallet = await openFromFrontDoor(env, 'Wallet', { viewport: PHONE_VIEWPORT });
    await wallet.getByRole('heading', { name: 'Create your account' }).waitFor();
    const user = newCredentials();
    await wallet.getByLabel('Name', { exact: true }).fill(user.name);
    await wallet.getByLabel('E-mail').fill(user.email);
    await wallet.getByLabel('Password').fill('short');
    await wallet.getByRole('button', { name: 'Sign up' }).click();
    const alert = wallet.getByRole('alert');
    await alert.waitFor();
    assert.match(await alert.innerText(), /^Choose a password of at least 10 characters/);
    await signUpHere(wallet, user);
    // "Use" adds the card at once (flows.addTestCard presses nothing else).
    await addTestCard(wallet, card);

    // 2. The terminal in a second tab, by its link.
    const terminal = await openFromFrontDoor(env, 'Terminal');
    await terminal.getByLabel('Terminal').waitFor();
    await terminal.getByRole('option', { name: /Corner Coffee/ }).waitFor({ state: 'attached' });
    await terminal.getByLabel('Terminal').selectOption({ label: (await terminal.getByRole('option', { name: /Corner Coffee/ }).innerText()).trim() });
    // Held near the reader without the double-click: the reader says why nothing was read (not "no_application").
    await charge(terminal, '3.20');
    await wallet.bringToFront();
    await wallet.getByRole('button', { name: 'Hold near reader without double-click' }).click({ timeout: 15_000 });
    const screen = terminal.locator('.reader-screen');
    await screen.getByText('Not authorised on the phone').waitFor({ timeout: 30_000 });
    assert.match(await screen.innerText(), /Double-click the side button and pass Face ID first/);
    assert.doesNotMatch(await screen.innerText(), /no_application/);
    await wallet.getByText(/double-click the side button and pass Face ID first/).waitFor({ timeout: 15_000 });
    await wallet.getByRole('button', { name: 'Close' }).click();
    // Now as the README says: charge, double-click, Face ID.
    await terminal.bringToFront();
    await charge(terminal, '12.50');
    await terminal.getByText('Hold a phone near the reader', { exact: false }).waitFor();
    await wallet.bringToFront();
    await armWithFaceId(wallet);
    await screen.getByText('Approved', { exact: true }).waitFor({ timeout: 30_000 });
    await wallet.getByText('✓ Done').waitFor({ timeout: 15_000 });
    await wallet.getByRole('button', { name: 'Close' }).click();

    // 3. The store, by its link: a cap, check out, Apple Pay; the paid order empties the cart.
    const store = await openFromFrontDoor(env, 'Store');
    await store.getByRole('heading', { name: 'Tessera Outfitters' }).waitFor();
    await store.getByRole('button', { name: 'Add Trail cap' }).click();
    await store.getByRole('button', { name: 'Check out' }).click();
    await store.getByTestId('order-status').filter({ hasText: 'pending' }).waitFor();
    await store.getByRole('button', { name: 'Buy with Apple Pay' }).click();
    const sheet = store.frameLocator('iframe[title="Apple Pay sheet"]');
    const faceId = sheet.getByRole('button', { name: 'Face ID: match' });
    await faceId.waitFor({ timeout: 30_000 });
    await faceId.click();
    await store.getByTestId('order-status').filter({ hasText: 'paid' }).waitFor({ timeout: 30_000 });
    await store.getByRole('region', { name: 'Cart' }).getByText('Your cart is empty.').waitFor();

    // 4. The console, by its link: the counters and the table agree; every payment has its flow.
    const consolePage = await openFromFrontDoor(env, 'Console');
    await consolePage.getByRole('heading', { name: 'Operations console' }).waitFor();
    const recent = consolePage.getByRole('region', { name: 'Recent authorizations' });
    await recent.getByRole('row').filter({ hasText: '$18.00' }).waitFor({ timeout: 15_000 });
    await recent.getByRole('row').filter({ hasText: '$12.50' }).waitFor({ timeout: 15_000 });
    const counter = async (name: string) => Number(await consolePage.getByRole('region', { name: 'Live counters' }).locator('dt', { hasText: new RegExp(`^${name}$`) }).locator('xpath=following-sibling::dd').innerText());
    const rows = recent.locator('tbody tr');
    const statuses = await rows.evaluateAll((trs) => trs.map((tr) => tr.className));
    assert.equal(statuses.length, 2, `two authorizations listed: ${statuses.join(', ')}`);
    assert.equal(await counter('Approved'), statuses.filter((s) => s === 'approved').length, 'Approved counts what the table lists as approved');
    assert.equal(await counter('Declined'), statuses.filter((s) => s === 'declined').length, 'Declined counts what the table lists as declined');
    assert.equal(await counter('Approved'), 2);
    // The web payment is traceable like the tap: no "not in trace".
    assert.equal(await recent.getByText('not in trace').count(), 0);
    await recent.getByRole('row').filter({ hasText: '$18.00' }).getByRole('button', { name: /Open the message flow of the \$18\.00 authorization/ }).click();
    const diagram = consolePage.getByRole('figure', { name: /^Message flow of / });
    await diagram.waitFor({ timeout: 15_000 });
    const lanes = (await diagram.locator('.lane-head').allInnerTexts()).map((l) => l.toLowerCase());
    for (const lane of ['merchant', 'acquirer', 'network', 'issuer']) assert.ok(lanes.includes(lane), `a ${lane} lane in the web payment's flow: ${lanes.join(', ')}`);
    // The issuer writes no event that nobody delivers: nothing stays pending under its topic.
    const outbox = consolePage.getByRole('region', { name: 'Outbox and webhooks' });
    await outbox.getByRole('table').waitFor();
    assert.equal(await outbox.getByRole('rowheader', { name: /^issuer\.\s*authorization$/ }).count(), 0);
    await env.screenshot(consolePage, 'first-five-minutes-console');

    // 5. The front page, open all along, ticked every step by itself (storage events, no reload).
    await home.bringToFront();
    await home.getByText('6 of 6 done').waitFor({ timeout: 15_000 });
    const items = await home.getByRole('region', { name: 'Try this first (five minutes)' }).getByRole('listitem').evaluateAll((lis) => lis.map((li) => li.getAttribute('aria-label')));
    assert.equal(items.length, 6);
    for (const item of items) assert.match(item ?? '', /: done$/);
    await env.screenshot(home, 'home-done');
    assert.deepEqual(env.pageErrors, []);
  });
});
