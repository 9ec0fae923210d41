import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startBrowserEnv, type BrowserEnv } from './harness.js';
import { PHONE_VIEWPORT, addTestCard, assertNoFullNumbers, newCredentials, sandboxCards, signInAndRegister, signUpAndRegister, type SandboxCard } from './flows.js';

describe('/wallet in Chromium', () => {
  let env: BrowserEnv;
  let cards: SandboxCard[];
  before(async () => {
    env = await startBrowserEnv({ viewport: PHONE_VIEWPORT });
    cards = await sandboxCards(env);
  });
  after(async () => {
    await env?.close();
  });

  const user = newCredentials();

  test('sign up, register this browser as a phone, add a card on the yellow path (code from the simulated SMS)', async () => {
    const page = await env.newPage();
    await signUpAndRegister(page, user, 'My iPhone', { env, prefix: 'wallet' });
    const yellow = cards.find((c) => c.path === 'yellow' && c.network === 'visa') ?? cards.find((c) => c.path === 'yellow');
    assert.ok(yellow, 'the sandbox has a yellow-path test card');
    await addTestCard(page, yellow, { env, prefix: 'wallet' });

    const tile = page.getByRole('button', { name: new RegExp(`card ending ${yellow.number.slice(-4)}, Ready, default`) });
    await tile.waitFor();
    await env.screenshot(page, 'wallet-home');
    await assertNoFullNumbers(page);

    // Card details: masked numbers only, the card's actions.
    await tile.click();
    await page.getByRole('heading', { name: new RegExp(`•••• ${yellow.number.slice(-4)}`) }).waitFor();
    await page.getByRole('button', { name: 'Suspend card' }).waitFor();
    await assertNoFullNumbers(page);
    await env.screenshot(page, 'wallet-card-details');

    // The SE keys live in IndexedDB as non-extractable CryptoKeys.
    // (A source string: tsx would add helpers to a function that do not exist in the page.)
    const keys = (await page.evaluate(`(async () => {
      const db = await new Promise((resolve, reject) => {
        const open = indexedDB.open('tessera-device-phone');
        open.onsuccess = () => resolve(open.result);
        open.onerror = () => reject(open.error);
      });
      const all = await new Promise((resolve, reject) => {
        const req = db.transaction('slots').objectStore('slots').getAll();
        req.onsuccess = () => resolve(req.result);
        req.onerror = () => reject(req.error);
      });
      const found = [];
      const walk = (v, depth) => {
        if (depth > 4 || v === null || typeof v !== 'object') return;
        if (v instanceof CryptoKey) { found.push({ extractable: v.extractable, type: v.type }); return; }
        for (const x of Object.values(v)) walk(x, depth + 1);
      };
      for (const v of all) walk(v, 0);
      db.close();
      return found;
    })()`)) as { extractable: boolean; type: string }[];
    assert.ok(keys.some((k) => k.type === 'private'), 'the SE private key is stored as a CryptoKey');
    assert.ok(keys.every((k) => !k.extractable || k.type === 'public'), 'no secret or private key is extractable');

    // Survives a reload: the same device, the same card.
    await page.reload();
    await page.getByRole('button', { name: new RegExp(`card ending ${yellow.number.slice(-4)}, Ready`) }).waitFor({ timeout: 20_000 });
    assert.deepEqual(env.pageErrors, []);
    await page.close();
  });

  test('a red-path card is declined with the reason shown', async () => {
    const page = await env.newPage();
    await page.goto('/wallet');
    await page.getByRole('heading', { name: 'Cards' }).waitFor({ timeout: 20_000 });
    const red = cards.find((c) => c.path === 'red');
    assert.ok(red);
    await page.getByRole('button', { name: 'Add card' }).click();
    // "Use" fills the form and adds the card at once: no "Continue" to press.
    await page.getByRole('button', { name: `Use ${red.label} (red)` }).click();
    const alert = page.getByRole('alert').filter({ hasText: /declin/i });
    await alert.waitFor({ timeout: 20_000 });
    await page.close();
  });

  test('the same browser registers as a watch too: its own Secure Element, its own cards', async () => {
    const page = await env.newPage();
    await page.goto('/wallet');
    await page.getByRole('button', { name: 'Watch', exact: true }).click();
    await page.getByRole('button', { name: 'I have an account' }).click();
    await page.getByLabel('E-mail').fill(user.email);
    await page.getByLabel('Password').fill(user.password);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.getByRole('heading', { name: 'Set up this browser as your Watch' }).waitFor();
    await page.getByLabel('Device name').fill('My Watch');
    await page.getByLabel(/Device passcode/).fill('2468');
    await page.getByRole('button', { name: 'Register this Watch' }).click();
    await page.getByRole('heading', { name: 'Cards' }).waitFor({ timeout: 30_000 });
    await page.getByText('No cards yet.', { exact: false }).waitFor();
    await page.getByText('My iPhone (phone)').waitFor();
    // Back to the phone: its card is still there.
    await page.getByRole('button', { name: 'iPhone', exact: true }).click();
    await page.getByRole('button', { name: /card ending \d{4}, Ready/ }).waitFor({ timeout: 20_000 });
    await page.close();
  });

  test('lost device: a second device (another browser profile) reports the first lost; the first loses its session and its cards are suspended', async () => {
    const second = await env.newContext();
    const other = await second.newPage();
    await signInAndRegister(other, user, 'Second iPhone');
    const devices = other.getByRole('region', { name: 'Your devices' }).or(other.locator('section', { has: other.getByRole('heading', { name: 'Your devices' }) }));
    await devices.getByText('My iPhone (phone)').waitFor();
    await other.getByRole('button', { name: 'Mark My iPhone as lost' }).click();
    await other.getByRole('button', { name: 'Mark My iPhone as found' }).waitFor({ timeout: 20_000 });
    await env.screenshot(other, 'wallet-lost-device');

    // The platform suspended the lost phone's card.
    const signIn = await env.tessera.request({ method: 'POST', url: '/platform/v1/sessions', payload: { email: user.email, password: user.password } });
    assert.equal(signIn.statusCode, 201);
    const token = (signIn.json() as { session: { token: string } }).session.token;
    const list = (await env.tessera.request({ method: 'GET', url: '/platform/v1/cards', auth: token })).json() as { data: { device_id: string; status: string }[] };
    const phoneDevices = (await env.tessera.request({ method: 'GET', url: '/platform/v1/devices', auth: token })).json() as { data: { id: string; name: string; status: string }[] };
    const lost = phoneDevices.data.find((d) => d.name === 'My iPhone');
    assert.equal(lost?.status, 'lost');
    const lostCards = list.data.filter((c) => c.device_id === lost!.id);
    assert.ok(lostCards.length > 0 && lostCards.every((c) => c.status === 'suspended'), 'every card of the lost phone is suspended');

    // The lost phone, opened again, finds its session gone.
    const page = await env.newPage();
    await page.goto('/wallet');
    await page.getByText(/Your session ended/).waitFor({ timeout: 20_000 });
    await env.screenshot(page, 'wallet-session-ended');
    await page.close();
    await second.close();
  });
});
