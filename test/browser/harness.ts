import { mkdir } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type BrowserContextOptions, type Page } from 'playwright-core';
import { buildWeb } from '../../scripts/build-web.mjs';
import { startTestTessera, type TestTessera } from '../helpers/tessera.js';

/**
 * A platform and a browser for the browser tests: the whole platform on a throwaway database (PGlite,
 * or PostgreSQL with DATABASE_URL) listening on a free loopback port, the web app built if stale, and
 * Debian's Chromium driven by playwright-core with the flags of DEVELOPERS.md. Playwright starts the
 * browser with a fresh temporary profile (--user-data-dir) of its own and removes it at close; each
 * newContext() is a separate "device" (its own IndexedDB, cookies, BroadcastChannel scope).
 */
export interface BrowserEnv {
  /** http://127.0.0.1:<port> */
  baseUrl: string;
  /** A new tab in the default context (tabs of one context share storage and BroadcastChannel). */
  newPage(options?: { viewport?: { width: number; height: number } }): Promise<Page>;
  /** A separate browser profile (a second device). */
  newContext(options?: BrowserContextOptions): Promise<BrowserContext>;
  /** Full-page PNG to test-results/screenshots/<name>.png. */
  screenshot(page: Page, name: string): Promise<void>;
  tessera: TestTessera;
  /** Uncaught errors of every page so far (a test may assert there were none). */
  pageErrors: string[];
  close(): Promise<void>;
}

export interface BrowserEnvOptions {
  /** Chromium binary (default /usr/bin/chromium, or CHROMIUM_PATH). */
  executablePath?: string;
  /** Default viewport of newPage(). */
  viewport?: { width: number; height: number };
}

export const CHROMIUM_ARGS: readonly string[] = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export const SCREENSHOT_DIR = join('test-results', 'screenshots');

export async function startBrowserEnv(opts: BrowserEnvOptions = {}): Promise<BrowserEnv> {
  // scripts/test-browser.mjs has built it already; a test file run on its own builds it here.
  if (process.env.TESSERA_WEB_BUILT !== '1') await buildWeb({ quiet: true });
  const tessera = await startTestTessera();
  let browser: Browser | undefined;
  try {
    tessera.tessera.startBackground();
    await tessera.tessera.app.listen({ host: '127.0.0.1', port: 0 });
    const { port } = tessera.tessera.app.server.address() as AddressInfo;
    const baseUrl = `http://127.0.0.1:${port}`;
    browser = await chromium.launch({
      executablePath: opts.executablePath ?? process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
      headless: true,
      chromiumSandbox: false,
      args: [...CHROMIUM_ARGS],
    });
    const b = browser;
    const pageErrors: string[] = [];
    const watch = (context: BrowserContext): BrowserContext => {
      context.on('page', (page) => {
        page.on('pageerror', (err) => pageErrors.push(`${page.url()}: ${err.message}`));
        if (process.env.BROWSER_LOG === '1') page.on('console', (msg) => process.stderr.write(`[browser ${msg.type()}] ${msg.text()}\n`));
      });
      return context;
    };
    const viewport = opts.viewport ?? { width: 1280, height: 900 };
    const main = watch(await b.newContext({ baseURL: baseUrl, viewport }));
    const contexts: BrowserContext[] = [main];
    await mkdir(SCREENSHOT_DIR, { recursive: true });
    return {
      baseUrl,
      tessera,
      pageErrors,
      async newPage(options = {}) {
        const page = await main.newPage();
        if (options.viewport) await page.setViewportSize(options.viewport);
        return page;
      },
      async newContext(options = {}) {
        const context = watch(await b.newContext({ baseURL: baseUrl, viewport, ...options }));
        contexts.push(context);
        return context;
      },
      async screenshot(page, name) {
        if (!/^[\w.-]{1,100}$/.test(name)) throw new Error('screenshot names are 1 to 100 letters, digits, dots, dashes or underscores');
        await page.screenshot({ path: join(SCREENSHOT_DIR, `${name}.png`), fullPage: true });
      },
      async close() {
        for (const c of contexts.splice(0)) await c.close().catch(() => undefined);
        await b.close().catch(() => undefined);
        await tessera.close();
      },
    };
  } catch (err) {
    await browser?.close().catch(() => undefined);
    await tessera.close();
    throw err;
  }
}
