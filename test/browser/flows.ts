import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import type { BrowserEnv } from './harness.js';

/** What the browser tests do through the pages, as a user would (labels and roles, no test ids). */

function luhn(digits: string): boolean {
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = Number(digits[digits.length - 1 - i]);
    if (i % 2 === 1) d = d * 2 > 9 ? d * 2 - 9 : d * 2;
    sum += d;
  }
  return sum % 10 === 0;
}

export const PHONE_VIEWPORT = { width: 390, height: 844 };
let counter = 0;

export interface SandboxCard {
  label: string;
  number: string;
  path: 'green' | 'yellow' | 'red';
  network: string;
}

export async function sandboxCards(env: BrowserEnv): Promise<SandboxCard[]> {
  const res = await env.tessera.request({ method: 'GET', url: '/sandbox/v1' });
  assert.equal(res.statusCode, 200, 'GET /sandbox/v1 (C5) must answer in the test server');
  return (res.json() as { testCards: SandboxCard[] }).testCards;
}

export function newCredentials(): { email: string; password: string; name: string } {
  counter++;
  const id = `${Date.now().toString(36)}${counter}`;
  return { email: `browser-${id}@example.com`, password: `pw-${id}-Secret!`, name: 'Ada Lovelace' };
}

/** Sign-up on /wallet and registration of this browser profile as a phone. */
export async function signUpAndRegister(page: Page, user: { email: string; password: string; name: string }, deviceName = 'My iPhone', shots?: { env: BrowserEnv; prefix: string }): Promise<void> {
  await page.goto('/wallet');
  await signUpHere(page, user, deviceName, shots);
}

/** The same on a /wallet page already open (reached by a link). */
export async function signUpHere(page: Page, user: { email: string; password: string; name: string }, deviceName = 'My iPhone', shots?: { env: BrowserEnv; prefix: string }): Promise<void> {
  await page.getByRole('heading', { name: 'Create your account' }).waitFor();
  await page.getByLabel('Name', { exact: true }).fill(user.name);
  await page.getByLabel('E-mail').fill(user.email);
  await page.getByLabel('Password').fill(user.password);
  if (shots) await shots.env.screenshot(page, `${shots.prefix}-signup`);
  await page.getByRole('button', { name: 'Sign up' }).click();
  await registerDevice(page, deviceName, shots);
}

export async function signInAndRegister(page: Page, user: { email: string; password: string }, deviceName: string): Promise<void> {
  await page.goto('/wallet');
  await page.getByRole('button', { name: 'I have an account' }).click();
  await page.getByLabel('E-mail').fill(user.email);
  await page.getByLabel('Password').fill(user.password);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await registerDevice(page, deviceName);
}

async function registerDevice(page: Page, deviceName: string, shots?: { env: BrowserEnv; prefix: string }): Promise<void> {
  await page.getByRole('heading', { name: /Set up this browser as your iPhone/ }).waitFor();
  await page.getByLabel('Device name').fill(deviceName);
  await page.getByLabel(/Device passcode/).fill('123456');
  if (shots) await shots.env.screenshot(page, `${shots.prefix}-setup`);
  await page.getByRole('button', { name: 'Register this iPhone' }).click();
  await page.getByRole('heading', { name: 'Cards' }).waitFor({ timeout: 30_000 });
}

/** Adds a sandbox test card through the add-card screen ("Use" adds it at once); the yellow path reads the code from the simulated SMS. */
export async function addTestCard(page: Page, card: SandboxCard, shots?: { env: BrowserEnv; prefix: string }): Promise<void> {
  await page.getByRole('button', { name: 'Add card' }).click();
  await page.getByRole('heading', { name: 'Add a card' }).waitFor();
  if (shots) await shots.env.screenshot(page, `${shots.prefix}-add-card`);
  await page.getByRole('button', { name: `Use ${card.label} (${card.path})` }).click();
  if (card.path === 'yellow') {
    await page.getByRole('heading', { name: 'Verify your card' }).waitFor({ timeout: 30_000 });
    await page.getByRole('button', { name: 'Send code' }).click();
    const bubble = page.locator('.sms-body').first();
    await bubble.waitFor({ timeout: 15_000 });
    const code = /\b(\d{6})\b/.exec(await bubble.innerText())?.[1];
    assert.ok(code, 'the simulated SMS carries a 6-digit code');
    await page.getByLabel('One-time code').fill(code);
    if (shots) await shots.env.screenshot(page, `${shots.prefix}-verify`);
    await page.getByRole('button', { name: 'Verify' }).click();
  }
  await page.getByRole('heading', { name: 'Card added' }).waitFor({ timeout: 30_000 });
  await page.getByRole('button', { name: 'Done' }).click();
  await page.getByRole('heading', { name: 'Cards' }).waitFor();
}

/** Double-click the side button and pass the simulated Face ID: the phone is armed for a tap. */
export async function armWithFaceId(page: Page): Promise<void> {
  await page.getByRole('button', { name: 'Side button' }).dblclick();
  await page.getByRole('dialog', { name: 'Tessera Pay' }).waitFor();
  await page.getByRole('button', { name: 'Face ID: match' }).click();
  await page.getByText('Hold near reader', { exact: true }).waitFor({ timeout: 15_000 });
}

/** Enters an amount on the terminal page and presses Charge. */
export async function charge(terminal: Page, amount: string): Promise<void> {
  await terminal.getByLabel(/^Amount/).fill(amount);
  await terminal.getByRole('button', { name: 'Charge' }).click();
}

/** No card or token number shown beyond its first 6 / last 4 digits (test cards on the add-card screen excepted). */
export async function assertNoFullNumbers(page: Page, allowed: string[] = []): Promise<void> {
  const text = await page.locator('body').innerText();
  // Standalone runs only: hex such as an AID (A0000000041010) is not a number.
  for (const m of text.matchAll(/(?<![0-9A-Fa-f])\d{13,19}(?![0-9A-Fa-f])/g)) {
    // The context is printed with its digits hidden: enough to find the spot, nothing of the number.
    const where = text.slice(Math.max(0, m.index - 40), m.index).replace(/\d/g, '#');
    // Card and token numbers are Luhn-valid; hex data that happens to be all digits (an AFL) mostly is not.
    if (!luhn(m[0])) continue;
    assert.ok(allowed.includes(m[0]), `a ${m[0].length}-digit number is shown on ${page.url()} after "${where}"`);
  }
}
