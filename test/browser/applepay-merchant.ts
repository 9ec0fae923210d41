/* eslint-disable @typescript-eslint/no-explicit-any -- the platform's JSON answers are read loosely in this harness */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { verifyAndDecrypt, type VerifiedDecryptedPaymentToken } from '../../src/merchant/sdk/index.js';
import { ASSOCIATION_PATH } from '../../src/platform/merchants/index.js';
import { addTestCard, newCredentials, sandboxCards, signUpAndRegister } from './flows.js';
import type { BrowserEnv } from './harness.js';

/**
 * A merchant's web site for the Apple Pay browser tests, as the public samples run one: a small
 * server on its own loopback origin that serves the checkout pages of test/browser/pages/ (unchanged,
 * except that their one `<script src="/applepay/v1/apple-pay.js">` is pointed at the platform), the
 * domain association file, and the two server-side steps every sample has:
 * - merchant validation: POST /getApplePaySession `{ url }` (Apple's 2016 sample: the original body
 *   `{ merchantIdentifier, domainName, displayName }`) or POST /api/apple-pay/session `{ validationURL }`
 *   (the current body with initiative "web"), both over mutual TLS with the merchant's identity
 *   certificate; the platform's answer, error or not, is relayed to the page as is;
 * - the payment: POST /api/apple-pay/pay `{ token }` verified and decrypted with the merchant SDK.
 * The site registers itself with the platform first (merchant, verified domain, certificates).
 */
export interface MerchantSite {
  origin: string;
  merchantIdentifier: string;
  /** Every token the site decrypted, in order. */
  payments: VerifiedDecryptedPaymentToken[];
  /** The tokens as the pages posted them, in order. */
  tokens: unknown[];
  /** What the pages posted besides the token (contacts, method), in order. */
  posted: Array<Record<string, unknown>>;
  /** Validation bodies sent, in order (to check the shape). */
  validationBodies: Array<Record<string, unknown>>;
  /** Other files the site serves (path → JavaScript), e.g. a bundled page script. */
  scripts: Map<string, string>;
  /** Overrides merged into the next validation bodies (a test's way to make validation fail). */
  validationOverride: Record<string, unknown>;
  processing: { certificatePem: string; privateKeyPem: string };
  close(): Promise<void>;
}

const PAGES = fileURLToPath(new URL('./pages/', import.meta.url));

async function api(env: BrowserEnv, method: 'GET' | 'POST', url: string, auth: string, body?: Record<string, unknown>): Promise<Record<string, any>> {
  const res = await env.tessera.request({ method, url, auth, ...(body ? { payload: body } : {}) });
  assert.ok(res.statusCode === 200 || res.statusCode === 201, `${method} ${url}: ${res.statusCode} ${res.body}`);
  return res.json() as Record<string, any>;
}

function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      try {
        resolve(JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as Record<string, unknown>);
      } catch (err) {
        reject(err as Error);
      }
    });
    req.on('error', reject);
  });
}

function postMutualTls(url: string, body: unknown, tls: { cert: string; key: string; ca: string }): Promise<{ status: number; body: unknown }> {
  return new Promise((resolve, reject) => {
    const text = JSON.stringify(body);
    const req = httpsRequest(url, { method: 'POST', ...tls, agent: false, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(text);
  });
}

/** `merchantIdentifier` is the one the site's pages name (each test file runs its own platform). */
export async function startMerchantSite(env: BrowserEnv, displayName: string, merchantIdentifier: string): Promise<MerchantSite> {
  let association = '';
  let domain = '';
  let identity = { cert: '', key: '' };
  const rootPem = await env.tessera.tessera.pki.rootPem();
  const site: Omit<MerchantSite, 'origin' | 'close' | 'processing'> = { merchantIdentifier, payments: [], tokens: [], posted: [], scripts: new Map(), validationBodies: [], validationOverride: {} };
  let processing = { certificatePem: '', privateKeyPem: '' };

  const validate = async (validationURL: unknown, shape: 'original' | 'current') => {
    // As the samples' servers do: only the platform's validation URL is called.
    assert.equal(validationURL, env.tessera.validationUrl);
    const body =
      shape === 'original'
        ? { merchantIdentifier, domainName: domain, displayName, ...site.validationOverride }
        : { merchantIdentifier, displayName, initiative: 'web', initiativeContext: domain, ...site.validationOverride };
    site.validationBodies.push(body);
    return postMutualTls(validationURL as string, body, { ...identity, ca: rootPem });
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? '/').split('?')[0]!;
    const json = (status: number, body: unknown) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    if (req.method === 'GET' && path === ASSOCIATION_PATH) return void res.writeHead(200, { 'content-type': 'text/plain' }).end(association);
    if (req.method === 'GET' && /^\/[a-z0-9-]+\.html$/.test(path)) {
      const html = await readFile(`${PAGES}${path.slice(1)}`, 'utf8').catch(() => undefined);
      if (html === undefined) return void res.writeHead(404).end('not found');
      const pointed = html.replace('src="/applepay/v1/apple-pay.js"', `src="${env.baseUrl}/applepay/v1/apple-pay.js"`);
      return void res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(pointed);
    }
    const script = req.method === 'GET' ? site.scripts.get(path) : undefined;
    if (script !== undefined) return void res.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8' }).end(script);
    if (req.method === 'POST' && path === '/getApplePaySession') {
      const r = await validate((await readJson(req)).url, 'original');
      return json(r.status, r.body);
    }
    if (req.method === 'POST' && path === '/api/apple-pay/session') {
      const r = await validate((await readJson(req)).validationURL, 'current');
      return json(r.status, r.body);
    }
    if (req.method === 'POST' && path === '/api/apple-pay/pay') {
      const { token, ...rest } = await readJson(req);
      site.posted.push(rest);
      site.tokens.push(token);
      try {
        const decrypted = await verifyAndDecrypt(token, { roots: [rootPem], keys: [processing], merchantIdentifier });
        site.payments.push(decrypted);
        return json(200, { approved: true, amount: decrypted.payload.transactionAmount, merchantTokenIdentifier: decrypted.merchantToken?.identifier ?? null });
      } catch (err) {
        return json(400, { approved: false, reason: (err as Error).message });
      }
    }
    res.writeHead(404).end('not found');
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' }).end(JSON.stringify({ error: (err as Error).message }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  domain = `127.0.0.1:${port}`;

  // The merchant's set-up with the platform, as its developer does once.
  const admin = env.tessera.adminKey;
  const m = await api(env, 'POST', '/platform/v1/merchants', admin, { merchant_identifier: merchantIdentifier, display_name: displayName });
  const key = m.api_key.secret as string;
  const id = m.merchant.id as string;
  const added = await api(env, 'POST', `/platform/v1/merchants/${id}/domains`, key, { domain });
  association = added.association_file.content as string;
  await api(env, 'POST', `/platform/v1/merchants/${id}/domains/${added.id}/verify`, key);
  const proc = await api(env, 'POST', `/platform/v1/merchants/${id}/certificates`, key, { kind: 'processing' });
  processing = { certificatePem: proc.certificate_pem, privateKeyPem: proc.private_key_pem };
  const ident = await api(env, 'POST', `/platform/v1/merchants/${id}/certificates`, key, { kind: 'identity' });
  identity = { cert: ident.chain_pem, key: ident.private_key_pem };

  return Object.assign(site, {
    origin: `http://${domain}`,
    processing,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  });
}

/** The wallet every Apple Pay page test pays with: a user signed up in the test's browser with the sandbox's green-path card. */
export async function setUpWallet(env: BrowserEnv): Promise<void> {
  const page = await env.newPage();
  await signUpAndRegister(page, newCredentials(), 'My iPhone');
  const cards = await sandboxCards(env);
  const green = cards.find((c) => c.path === 'green' && c.network === 'visa') ?? cards.find((c) => c.path === 'green');
  assert.ok(green, 'the sandbox has a green-path test card');
  await addTestCard(page, green);
  await page.close();
}
