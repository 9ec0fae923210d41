import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Locator, Page } from 'playwright-core';
import { startBrowserEnv, type BrowserEnv } from './harness.js';
import { PHONE_VIEWPORT, addTestCard, armWithFaceId, assertNoFullNumbers, charge, newCredentials, sandboxCards, signUpAndRegister, type SandboxCard } from './flows.js';

/** The party a sequence-diagram arrow names (`network:visa` → `network`), from its accessible text. */
interface Hop {
  from: string;
  to: string;
  label: string;
}

async function hops(diagram: Locator): Promise<Hop[]> {
  const texts = await diagram.locator('button.arrow').allInnerTexts();
  const names = await Promise.all((await diagram.locator('button.arrow').all()).map((b) => b.textContent()));
  return names.map((t, i) => {
    const m = /from (\S+) to (\S+),/.exec(t ?? '');
    assert.ok(m, `arrow ${i} names its parties: ${t}`);
    return { from: m[1]!.split(':')[0]!, to: m[2]!.split(':')[0]!, label: texts[i]! };
  });
}

/** The page's text holds no card or token number: no Luhn-valid 13–19 digit run and no 16-digit run at all. */
async function assertMasked(page: Page, card: SandboxCard): Promise<void> {
  await assertNoFullNumbers(page);
  const text = await page.locator('body').innerText();
  assert.ok(!text.includes(card.number), 'the card number is not shown');
  const sixteen = [...text.matchAll(/(?<![0-9A-Fa-f])\d{16}(?![0-9A-Fa-f])/g)].map((m) => `${text.slice(Math.max(0, m.index - 60), m.index)}[16 digits]`.replace(/\d/g, '#'));
  assert.deepEqual(sixteen, [], 'no 16-digit number in the page text');
}

async function noHorizontalOverflow(page: Page): Promise<void> {
  const { scroll, client, wide } = await page.evaluate(() => {
    const client = document.documentElement.clientWidth;
    // The outermost elements sticking out on the right, to say what overflows.
    const wide = [...document.querySelectorAll('body *')]
      .filter((e) => {
        if (e.getBoundingClientRect().right <= client + 0.5) return false;
        if (e.parentElement && e.parentElement.getBoundingClientRect().right > client + 0.5) return false;
        // Inside a box that scrolls sideways by itself (a wide table): that is not the page overflowing.
        for (let a = e.parentElement; a && a !== document.body; a = a.parentElement) if (['auto', 'scroll'].includes(getComputedStyle(a).overflowX)) return false;
        return true;
      })
      .slice(0, 5)
      .map((e) => `${e.tagName.toLowerCase()}.${[...e.classList].join('.')} (${Math.round(e.getBoundingClientRect().right)} px)`);
    return { scroll: document.documentElement.scrollWidth, client, wide };
  });
  assert.ok(scroll <= client, `the page is ${scroll} px wide in a ${client} px viewport: ${wide.join(', ')}`);
}

describe('/console in Chromium: a tap seen by the operator', () => {
  let env: BrowserEnv;
  let card: SandboxCard;
  let wallet: Page;
  let terminal: Page;
  let consolePage: Page;

  before(async () => {
    env = await startBrowserEnv();
    const cards = await sandboxCards(env);
    const green = cards.find((c) => c.path === 'green' && c.network === 'visa') ?? cards.find((c) => c.path === 'green');
    assert.ok(green, 'the sandbox has a green-path test card');
    card = green;
    wallet = await env.newPage({ viewport: PHONE_VIEWPORT });
    await signUpAndRegister(wallet, newCredentials());
    await addTestCard(wallet, card);
    terminal = await env.newPage();
    await terminal.goto('/terminal');
    await terminal.getByLabel('Terminal').waitFor();
    await terminal.getByRole('option', { name: /Corner Coffee/ }).waitFor({ state: 'attached' });
    await terminal.getByLabel('Terminal').selectOption({ label: (await terminal.getByRole('option', { name: /Corner Coffee/ }).innerText()).trim() });
  });
  after(async () => {
    await env?.close();
  });

  test('the counters move, the authorization is listed with latency and outcome, its flow drawn and masked', async () => {
    // The console is open before the tap: its live counters must move by themselves.
    consolePage = await env.newPage();
    await consolePage.goto('/console');
    await consolePage.getByRole('heading', { name: 'Operations console' }).waitFor();
    const counters = consolePage.getByRole('region', { name: 'Live counters' });
    const approved = counters.locator('dt', { hasText: /^Approved$/ }).locator('xpath=following-sibling::dd');
    await approved.waitFor({ timeout: 15_000 });
    const before = Number(await approved.innerText());
    assert.ok(Number.isInteger(before), 'the approved counter is a number');
    const recent = consolePage.getByRole('region', { name: 'Recent authorizations' });
    await recent.waitFor();

    await terminal.bringToFront();
    await charge(terminal, '12.50');
    await terminal.getByText('Hold a phone near the reader', { exact: false }).waitFor();
    await wallet.bringToFront();
    await armWithFaceId(wallet);
    await terminal.locator('.reader-screen').getByText('Approved', { exact: true }).waitFor({ timeout: 30_000 });

    // Live: the page polls by itself; nothing here reloads it.
    await consolePage.bringToFront();
    await consolePage.waitForFunction(
      ([b]) => {
        const dts = [...document.querySelectorAll('.counters dt')];
        const dd = dts.find((d) => d.textContent === 'Approved')?.nextElementSibling;
        return dd !== undefined && dd !== null && Number(dd.textContent) === b + 1;
      },
      [before] as const,
      { timeout: 15_000 },
    );
    const p50 = counters.locator('dt', { hasText: /^p50$/ }).locator('xpath=following-sibling::dd');
    assert.match(await p50.innerText(), /^\d+(\.\d)? ms$/, 'the median latency is measured once an authorization was answered');

    // The authorization in the recent list: terminal, masked token, amount, the outcome and latency at each hop.
    const row = recent.getByRole('row').filter({ hasText: 'COFFEE01' }).filter({ hasText: '$12.50' });
    await row.waitFor({ timeout: 15_000 });
    const cells = await row.getByRole('cell').allInnerTexts();
    assert.equal(cells.length, 8, `the row has its eight columns: ${cells.join(' | ')}`);
    assert.match(cells[2]!, /^\d{6}[•*]{2,9}\d{4}\b/, 'the token is shown as first 6 / last 4');
    assert.match(cells[4]!, /^approved 00 · \d+ ms$/, 'acquirer: outcome, response code and latency');
    assert.match(cells[5]!, /^approved 00 · \d+ ms$/, 'network: outcome, response code and latency');
    assert.match(cells[6]!, /^00 \S/, 'issuer: response code and reason');
    await assertMasked(consolePage, card);
    await env.screenshot(consolePage, 'console');

    // Its message flow as a sequence diagram.
    await row.getByRole('button', { name: /Open the message flow of the \$12\.50 authorization at COFFEE01/ }).click();
    const flow = consolePage.getByRole('region', { name: /^Message flow/ });
    const diagram = flow.getByRole('figure', { name: /^Message flow of / });
    await diagram.waitFor({ timeout: 15_000 });
    const lanes = await diagram.locator('.lane-head').allInnerTexts();
    for (const lane of ['terminal', 'acquirer', 'network', 'issuer']) assert.ok(lanes.some((l) => l.toLowerCase() === lane), `a ${lane} lane: ${lanes.join(', ')}`);

    // The hops in order, there and back, each decoded: the 0100 from the terminal to the issuer, the 0110 back.
    const seen = await hops(diagram);
    const path: [string, string, string][] = [
      ['terminal', 'acquirer', '0100'],
      ['acquirer', 'network', '0100'],
      ['network', 'issuer', '0100'],
      ['issuer', 'network', '0110'],
      ['network', 'acquirer', '0110'],
      ['acquirer', 'terminal', '0110'],
    ];
    let at = 0;
    for (const h of seen) if (at < path.length && h.from === path[at]![0] && h.to === path[at]![1] && /ISO8583/.test(h.label) && h.label.includes(path[at]![2])) at++;
    const shown = seen.map((h) => `${h.from}→${h.to} ${h.label.replace(/\s+/g, ' ')}`).join('; ');
    assert.equal(at, path.length, `the hops hold ${path.map((p) => `${p[0]}→${p[1]} ${p[2]}`).join(', ')} in order: ${shown}`);
    assert.ok(!seen.some((h) => /not decodable/.test(h.label)), `every message of the flow is decoded: ${shown}`);
    assert.match(seen.filter((h) => h.to === 'terminal').at(-1)!.label, /DE39 00 approved/, 'the terminal gets the approval');

    // Every message opened, decoded, and masked; the 0100 from acquirer to network stays open for the screenshot.
    const arrows = diagram.locator('button.arrow');
    const count = await arrows.count();
    let maskedPanShown = false;
    for (let i = 0; i < count; i++) {
      await arrows.nth(i).click();
      assert.equal(await arrows.nth(i).getAttribute('aria-expanded'), 'true');
      const panel = diagram.locator('.message-panel');
      await panel.waitFor();
      const text = await panel.innerText();
      if (/\d{6}[•*]{2,9}\d{4}/.test(text)) maskedPanShown = true;
      await assertMasked(consolePage, card);
    }
    assert.ok(maskedPanShown, 'a card or token number is shown in a message, masked to first 6 / last 4');
    const request = seen.findIndex((h) => h.from === 'acquirer' && h.to === 'network' && /0100/.test(h.label));
    assert.ok(request >= 0, 'an 0100 from the acquirer to the network');
    await arrows.nth(request).click();
    const detail = diagram.locator('.message-panel');
    await detail.getByRole('rowheader', { name: 'DE 2', exact: true }).waitFor();
    const de2 = await detail.getByRole('row').filter({ has: consolePage.getByRole('rowheader', { name: 'DE 2', exact: true }) }).innerText();
    assert.match(de2, /\d{6}[•*]{2,9}\d{4}/, `DE 2 is shown masked: ${de2.replace(/\d/g, '#')}`);
    await assertMasked(consolePage, card);
    await flow.scrollIntoViewIfNeeded();
    await env.screenshot(consolePage, 'console-trace');

    // Escape closes the diagram.
    await arrows.nth(request).focus();
    await consolePage.keyboard.press('Escape');
    await diagram.waitFor({ state: 'detached' });
    assert.deepEqual(env.pageErrors, []);
  });

  test('at phone size (390×844) the console fits the screen, also with a flow open', async () => {
    const phone = await env.newPage({ viewport: { width: 390, height: 844 } });
    await phone.goto('/console');
    const row = phone.getByRole('region', { name: 'Recent authorizations' }).getByRole('row').filter({ hasText: 'COFFEE01' });
    await row.first().waitFor({ timeout: 15_000 });
    await phone.getByRole('region', { name: 'Parties' }).getByText('Corner Coffee').waitFor();
    await noHorizontalOverflow(phone);
    await assertMasked(phone, card);
    await env.screenshot(phone, 'console-mobile');

    await row.first().getByRole('button', { name: /Open the message flow/ }).click();
    const diagram = phone.getByRole('figure', { name: /^Message flow of / });
    await diagram.waitFor({ timeout: 15_000 });
    await diagram.locator('button.arrow').first().click();
    await diagram.locator('.message-panel').waitFor();
    await noHorizontalOverflow(phone);
    await assertMasked(phone, card);
    await env.screenshot(phone, 'console-mobile-trace');
    assert.deepEqual(env.pageErrors, []);
  });
});
