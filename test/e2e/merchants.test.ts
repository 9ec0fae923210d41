/* eslint-disable @typescript-eslint/no-explicit-any -- JSON answers are read loosely in this test */
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { runInNewContext } from 'node:vm';
import { ConfigError, loadConfig } from '../../src/infra/config.js';
import { AppError } from '../../src/infra/errors.js';
import { x509 } from '../../src/infra/x509.js';
import { SANDBOX_ISSUERS } from '../../src/issuer/index.js';
import { ASSOCIATION_PATH, MERCHANT_SESSION_TTL_MS } from '../../src/platform/merchants/index.js';
import { checkAssociation, normalizeDomain } from '../../src/platform/merchants/domains.js';
import { merchantRoutes } from '../../src/platform/routes/v1_merchants_routes.js';
import { checkRouteSecurity } from '../helpers/security.js';
import { startTestTessera, type TestTessera } from '../helpers/tessera.js';

let t: TestTessera;
let rootPem: string;
/** The loopback "merchant web server" whose well-known file the platform fetches. */
let web: Server;
let webPort: number;
const served = new Map<string, string>();

interface Registered {
  id: string;
  merchantIdentifier: string;
  key: string;
}

before(async () => {
  t = await startTestTessera();
  rootPem = await t.tessera.pki.rootPem();
  web = createServer((req, res) => {
    const body = served.get(req.url ?? '');
    if (body === undefined) {
      res.writeHead(404).end('not found');
      return;
    }
    res.writeHead(200, { 'content-type': 'text/plain' }).end(body);
  });
  await new Promise<void>((resolve) => web.listen(0, '127.0.0.1', resolve));
  webPort = (web.address() as AddressInfo).port;
});
after(async () => {
  await new Promise<void>((resolve) => web.close(() => resolve()));
  await t.close();
});

async function api(method: 'GET' | 'POST' | 'DELETE', url: string, auth: string, body?: unknown) {
  const res = await t.request({ method, url, auth, ...(body !== undefined ? { payload: body as Record<string, unknown> } : {}) });
  return { status: res.statusCode, body: res.json() as Record<string, any> };
}

let counter = 0;
async function register(displayName = 'Test Shop'): Promise<Registered> {
  const merchantIdentifier = `merchant.test.shop${++counter}.${Date.now()}`;
  const res = await api('POST', '/platform/v1/merchants', t.adminKey, { merchant_identifier: merchantIdentifier, display_name: displayName });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  assert.equal(res.body.merchant.merchant_identifier, merchantIdentifier);
  assert.match(res.body.merchant.team_id, /^[A-Z0-9]{10}$/);
  assert.match(res.body.api_key.secret, /^tsk_merchant_/);
  return { id: res.body.merchant.id, merchantIdentifier, key: res.body.api_key.secret };
}

/** Registers 127.0.0.1:<port of the test web server> and verifies it by serving the association file. */
async function verifiedDomain(m: Registered): Promise<string> {
  const domain = `127.0.0.1:${webPort}`;
  const added = await api('POST', `/platform/v1/merchants/${m.id}/domains`, m.key, { domain });
  assert.equal(added.status, 201, JSON.stringify(added.body));
  served.set(ASSOCIATION_PATH, added.body.association_file.content);
  const v = await api('POST', `/platform/v1/merchants/${m.id}/domains/${added.body.id}/verify`, m.key);
  assert.equal(v.status, 200, JSON.stringify(v.body));
  assert.equal(v.body.status, 'verified');
  return domain;
}

async function identity(m: Registered): Promise<{ id: string; cert: string; key: string }> {
  const res = await api('POST', `/platform/v1/merchants/${m.id}/certificates`, m.key, { kind: 'identity' });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  return { id: res.body.certificate.id, cert: res.body.chain_pem, key: res.body.private_key_pem };
}

/** POST to the mutual-TLS listener as a merchant server would (trusting the platform root). */
function validate(body: unknown, client?: { cert: string; key: string }, url = t.validationUrl): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    const text = JSON.stringify(body);
    const req = httpsRequest(
      url,
      { method: 'POST', ca: rootPem, ...(client ? { cert: client.cert, key: client.key } : {}), headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) }, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const raw = Buffer.concat(chunks).toString('utf8');
          try {
            resolve({ status: res.statusCode ?? 0, body: JSON.parse(raw) });
          } catch {
            resolve({ status: res.statusCode ?? 0, body: raw });
          }
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(text);
  });
}

async function csrPem(kind: 'ec' | 'rsa'): Promise<string> {
  const alg = kind === 'ec' ? { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } : { name: 'RSASSA-PKCS1-v1_5', modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' };
  const keys = (await crypto.subtle.generateKey(alg, false, ['sign', 'verify'])) as CryptoKeyPair;
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({ name: 'CN=merchant test', keys, signingAlgorithm: alg });
  return csr.toString('pem');
}

async function rejectsCode(p: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(p, (err: unknown) => err instanceof AppError && err.code === code);
}

describe('merchant registry: who may call', () => {
  it('no credentials → 401; roles the route does not admit → 403, before the body is looked at', async () => {
    const m = await register();
    const creds = {
      admin: t.adminKey,
      merchant: m.key,
      // Keys of owners that exist (keys are made only for those): the deployment's acquirer, a sandbox issuer.
      acquirer: (await t.tessera.apiKeys.create('acquirer', 'acq_000001')).secret,
      terminal: t.tessera.terminals[0]!.api_key,
      issuer: (await t.tessera.apiKeys.create('issuer', SANDBOX_ISSUERS[0]!.id)).secret,
    };
    const checks = await checkRouteSecurity(t.tessera.app, merchantRoutes(t.tessera.platform.merchants), creds);
    assert.ok(checks >= 50, `${checks} checks`);
  });

  it('a merchant key manages only its own merchant; another merchant is answered as not found', async () => {
    const a = await register();
    const b = await register();
    assert.equal((await api('GET', `/platform/v1/merchants/${a.id}`, a.key)).status, 200);
    const other = await api('GET', `/platform/v1/merchants/${b.id}`, a.key);
    assert.equal(other.status, 404);
    assert.equal(other.body.error.code, 'merchant_not_found');
    for (const [method, path, body] of [
      ['POST', `/platform/v1/merchants/${b.id}/domains`, { domain: 'shop.example.com' }],
      ['GET', `/platform/v1/merchants/${b.id}/domains`, undefined],
      ['POST', `/platform/v1/merchants/${b.id}/certificates`, { kind: 'identity' }],
      ['GET', `/platform/v1/merchants/${b.id}/certificates`, undefined],
    ] as const) {
      const r = await api(method, path, a.key, body);
      assert.equal(r.status, 404, `${method} ${path}`);
    }
    assert.equal((await api('GET', '/platform/v1/merchants', a.key)).status, 403);
    const list = await api('GET', '/platform/v1/merchants?limit=100', t.adminKey);
    assert.equal(list.status, 200);
    assert.ok(list.body.data.some((x: { id: string }) => x.id === b.id));
  });

  it('a merchant identifier is registered once; bad identifiers and names are refused', async () => {
    const m = await register();
    const dup = await api('POST', '/platform/v1/merchants', t.adminKey, { merchant_identifier: m.merchantIdentifier, display_name: 'Again' });
    assert.equal(dup.status, 409);
    assert.equal(dup.body.error.code, 'merchant_identifier_taken');
    for (const body of [
      { merchant_identifier: 'com.example.shop', display_name: 'x' },
      { merchant_identifier: 'merchant.ok.shop', display_name: 'x'.repeat(65) },
      { merchant_identifier: 'merchant.ok.shop', display_name: 'x', team_id: 'abc' },
    ]) {
      const r = await api('POST', '/platform/v1/merchants', t.adminKey, body);
      assert.equal(r.status, 400, JSON.stringify(body));
      assert.equal(r.body.error.code, 'parameter_invalid');
    }
  });
});

describe('domains', () => {
  it('registers a domain, refuses a wrong or missing association file, verifies the right one', async () => {
    const m = await register();
    const domain = `localhost:${webPort}`;
    const added = await api('POST', `/platform/v1/merchants/${m.id}/domains`, m.key, { domain: domain.toUpperCase() });
    assert.equal(added.status, 201);
    assert.equal(added.body.domain, domain);
    assert.equal(added.body.status, 'pending');
    assert.equal(added.body.association_file.path, '/.well-known/apple-developer-merchantid-domain-association');
    const content: string = added.body.association_file.content;
    assert.match(content, /^[0-9a-f]{64,}$/);
    const verify = () => api('POST', `/platform/v1/merchants/${m.id}/domains/${added.body.id}/verify`, m.key);

    served.delete(ASSOCIATION_PATH);
    let r = await verify();
    assert.equal(r.status, 400);
    assert.equal(r.body.error.code, 'domain_verification_failed');
    assert.match(r.body.error.message, /HTTP 404/);

    served.set(ASSOCIATION_PATH, `${content.slice(0, -2)}00`);
    r = await verify();
    assert.equal(r.body.error.code, 'domain_verification_failed');
    assert.match(r.body.error.message, /does not match/);
    const listed = await api('GET', `/platform/v1/merchants/${m.id}/domains`, m.key);
    assert.equal(listed.body.data[0].status, 'pending');
    assert.match(listed.body.data[0].last_failure, /does not match/);

    served.set(ASSOCIATION_PATH, `${content}\n`);
    r = await verify();
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.status, 'verified');
    assert.ok(r.body.verified_at);

    const again = await api('POST', `/platform/v1/merchants/${m.id}/domains`, m.key, { domain });
    assert.equal(again.status, 409);
    assert.equal(again.body.error.code, 'merchant_domain_taken');
  });

  it('refuses what is not a host name, ports on public hosts, and IP literals other than loopback', async () => {
    const m = await register();
    for (const domain of ['https://shop.example.com', 'shop.example.com/path', 'shop.example.com:8443', '10.0.0.1', 'shop', '-bad.example.com', 'exa mple.com', '[::2]:80']) {
      const r = await api('POST', `/platform/v1/merchants/${m.id}/domains`, m.key, { domain });
      assert.equal(r.status, 400, domain);
      assert.equal(r.body.error.code, 'merchant_domain_invalid', domain);
    }
    const policy = { allowLoopback: false, timeoutMs: 1000 };
    assert.throws(() => normalizeDomain('127.0.0.1:8080', policy), /domain/);
    assert.equal(normalizeDomain('Shop.Example.COM.', policy), 'shop.example.com');
  });

  it('a server that does not answer fails the check within the time bound; a redirect is not followed', async () => {
    const hang = createServer(() => {});
    await new Promise<void>((resolve) => hang.listen(0, '127.0.0.1', resolve));
    const redirect = createServer((_req, res) => res.writeHead(302, { location: 'http://169.254.169.254/' }).end());
    await new Promise<void>((resolve) => redirect.listen(0, '127.0.0.1', resolve));
    try {
      const failure = await checkAssociation(`127.0.0.1:${(hang.address() as AddressInfo).port}`, 'ab'.repeat(40), { allowLoopback: true, timeoutMs: 300 });
      // The server never answers: only the 300 ms bound can end the check.
      assert.match(failure ?? '', /did not answer in time/);
      const redirected = await checkAssociation(`127.0.0.1:${(redirect.address() as AddressInfo).port}`, 'ab'.repeat(40), { allowLoopback: true, timeoutMs: 1000 });
      assert.match(redirected ?? '', /HTTP 302/);
    } finally {
      hang.closeAllConnections();
      hang.close();
      redirect.close();
    }
  });
});

describe('certificates', () => {
  it('issues processing certificates from EC and RSA CSRs and for generated EC (default) and RSA keys; several active at once', async () => {
    const m = await register();
    const url = `/platform/v1/merchants/${m.id}/certificates`;
    const ecCsr = await api('POST', url, m.key, { kind: 'processing', csr: await csrPem('ec') });
    assert.equal(ecCsr.status, 201, JSON.stringify(ecCsr.body));
    assert.equal(ecCsr.body.certificate.key_type, 'ec_p256');
    assert.equal(ecCsr.body.private_key_pem, undefined);
    const rsaCsr = await api('POST', url, m.key, { kind: 'processing', csr: await csrPem('rsa') });
    assert.equal(rsaCsr.body.certificate.key_type, 'rsa_2048');
    const genEc = await api('POST', url, m.key, { kind: 'processing' });
    assert.equal(genEc.body.certificate.key_type, 'ec_p256');
    assert.match(genEc.body.private_key_pem, /^-----BEGIN PRIVATE KEY-----/);
    const genRsa = await api('POST', url, m.key, { kind: 'processing', key_type: 'rsa_2048' });
    assert.equal(genRsa.body.certificate.key_type, 'rsa_2048');
    assert.match(genRsa.body.private_key_pem, /^-----BEGIN PRIVATE KEY-----/);

    const cert = new X509Certificate(genEc.body.certificate_pem);
    assert.match(cert.subject, new RegExp(`CN=Apple Pay Payment Processing:${m.merchantIdentifier.replace(/\./g, '\\.')}`));
    assert.ok(cert.verify(new X509Certificate(genEc.body.chain_pem.slice(genEc.body.certificate_pem.length)).publicKey));
    // The private key is never stored: not in any row of the platform's certificates.
    const { rows } = await t.env.db.query<{ n: number }>("SELECT count(*)::int AS n FROM platform.merchant_certificates WHERE certificate_pem LIKE '%PRIVATE KEY%'");
    assert.equal(rows[0]!.n, 0);

    const bad = await api('POST', url, m.key, { kind: 'processing', csr: 'not a csr' });
    assert.equal(bad.body.error.code, 'csr_invalid');
    const both = await api('POST', url, m.key, { kind: 'processing', csr: await csrPem('ec'), key_type: 'ec_p256' });
    assert.equal(both.body.error.code, 'parameter_invalid');

    const list = await api('GET', `${url}?kind=processing`, m.key);
    assert.equal(list.body.data.length, 4);
    assert.ok(list.body.data.every((c: { status: string }) => c.status === 'active'));

    // C1: the newest active one (of a key type when asked).
    const dir = t.tessera.platform.merchants;
    assert.equal(await dir.processingCertificatePem(m.merchantIdentifier), genRsa.body.certificate_pem);
    assert.equal(await dir.processingCertificatePem(m.merchantIdentifier, 'ec_p256'), genEc.body.certificate_pem);
    const revoked = await api('POST', `${url}/${genEc.body.certificate.id}/revoke`, m.key);
    assert.equal(revoked.status, 200);
    assert.equal(revoked.body.status, 'revoked');
    assert.equal((await api('POST', `${url}/${genEc.body.certificate.id}/revoke`, m.key)).body.status, 'revoked');
    assert.equal(await dir.processingCertificatePem(m.merchantIdentifier, 'ec_p256'), ecCsr.body.certificate_pem);
    await rejectsCode(dir.processingCertificatePem('merchant.nobody.here'), 'merchant_not_found');
    const fresh = await register();
    await rejectsCode(dir.processingCertificatePem(fresh.merchantIdentifier), 'merchant_certificate_missing');
  });

  it('issues a merchant identity certificate for TLS client auth, separate from processing certificates', async () => {
    const m = await register();
    const id = await identity(m);
    const cert = new X509Certificate(id.cert);
    assert.ok(cert.keyUsage?.includes('1.3.6.1.5.5.7.3.2'), 'clientAuth');
    await rejectsCode(t.tessera.platform.merchants.processingCertificatePem(m.merchantIdentifier), 'merchant_certificate_missing');
  });
});

describe('merchant validation over mutual TLS', () => {
  let m: Registered;
  let other: Registered;
  let domain: string;
  let client: { id: string; cert: string; key: string };

  before(async () => {
    m = await register('Tessera Coffee');
    other = await register('Other Shop');
    domain = await verifiedDomain(m);
    client = await identity(m);
  });

  const body = () => ({ merchantIdentifier: m.merchantIdentifier, displayName: 'Tessera Coffee', initiative: 'web', initiativeContext: domain });

  it('serves a certificate chaining to the platform root for 127.0.0.1, and answers a signed merchant session', async () => {
    assert.match(t.validationUrl, /^https:\/\/127\.0\.0\.1:\d+\/paymentservices\/startSession$/);
    const res = await validate(body(), client);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const s = res.body;
    for (const k of ['epochTimestamp', 'expiresAt', 'merchantSessionIdentifier', 'nonce', 'merchantIdentifier', 'domainName', 'displayName', 'signature']) assert.ok(k in s, k);
    assert.equal(s.expiresAt - s.epochTimestamp, MERCHANT_SESSION_TTL_MS);
    assert.equal(s.domainName, domain);
    assert.equal(s.displayName, 'Tessera Coffee');
    assert.match(s.merchantIdentifier, /^[0-9A-F]{64}$/);
    const alias = await validate(body(), client, t.validationUrl.replace('startSession', 'paymentSession'));
    assert.equal(alias.status, 200);
    assert.notEqual(alias.body.merchantSessionIdentifier, s.merchantSessionIdentifier);
  });

  it('without a client certificate, or with one from another CA, the TLS handshake is refused', async () => {
    await assert.rejects(validate(body()));
    const keys = (await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify'])) as CryptoKeyPair;
    const self = await x509.X509CertificateGenerator.createSelfSigned({ serialNumber: '01', name: `CN=impostor ${m.merchantIdentifier}`, keys, signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' } });
    const pkcs8 = Buffer.from(await crypto.subtle.exportKey('pkcs8', keys.privateKey)).toString('base64');
    await assert.rejects(validate(body(), { cert: self.toString('pem'), key: `-----BEGIN PRIVATE KEY-----\n${pkcs8}\n-----END PRIVATE KEY-----\n` }));
  });

  it("another merchant's identity certificate → 403 merchant_identity_mismatch", async () => {
    const res = await validate(body(), await identity(other));
    assert.equal(res.status, 403);
    assert.equal(res.body.error.code, 'merchant_identity_mismatch');
    assert.equal(res.body.error.type, 'permission_error');
  });

  it('an unverified or unknown domain → 403 merchant_domain_unverified; bad bodies → 400', async () => {
    const pending = await api('POST', `/platform/v1/merchants/${m.id}/domains`, m.key, { domain: 'pending.example.com' });
    assert.equal(pending.status, 201);
    for (const ctx of ['pending.example.com', 'unknown.example.com', 'not a domain']) {
      const res = await validate({ ...body(), initiativeContext: ctx }, client);
      assert.equal(res.status, 403, ctx);
      assert.equal(res.body.error.code, 'merchant_domain_unverified');
    }
    for (const bad of [{ ...body(), displayName: 'x'.repeat(65) }, { ...body(), initiative: 'kiosk' }, { ...body(), merchantIdentifier: undefined }, [1, 2]]) {
      const res = await validate(bad, client);
      assert.equal(res.status, 400, JSON.stringify(bad));
    }
  });

  it('a revoked identity certificate is refused', async () => {
    const second = await identity(m);
    assert.equal((await validate(body(), second)).status, 200);
    const r = await api('POST', `/platform/v1/merchants/${m.id}/certificates/${second.id}/revoke`, m.key);
    assert.equal(r.body.status, 'revoked');
    const res = await validate(body(), second);
    assert.equal(res.status, 401);
    assert.equal(res.body.error.code, 'merchant_identity_required');
    // The other identity certificate still works.
    assert.equal((await validate(body(), client)).status, 200);
  });

  it('a session is redeemed once (also under a race); the second redeem → merchant_session_used', async () => {
    const dir = t.tessera.platform.merchants;
    const s = (await validate(body(), client)).body;
    const claims = await dir.redeemSession(s);
    assert.deepEqual(claims, {
      merchantIdentifier: m.merchantIdentifier,
      merchantSessionIdentifier: s.merchantSessionIdentifier,
      domainName: domain,
      displayName: 'Tessera Coffee',
      initiative: 'web',
      initiativeContext: domain,
      nonce: s.nonce,
    });
    await rejectsCode(dir.redeemSession(s), 'merchant_session_used');
    await rejectsCode(dir.redeemSession(JSON.stringify(s)), 'merchant_session_used');

    const raced = (await validate(body(), client)).body;
    const results = await Promise.allSettled(Array.from({ length: 5 }, () => dir.redeemSession(raced)));
    assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
    for (const r of results) if (r.status === 'rejected') assert.equal((r.reason as AppError).code, 'merchant_session_used');
  });

  it('a session expires after 5 minutes', async () => {
    const dir = t.tessera.platform.merchants;
    const s = (await validate(body(), client)).body;
    await rejectsCode(dir.redeemSession(s, new Date(s.expiresAt)), 'merchant_session_expired');
    await rejectsCode(dir.redeemSession(s, new Date(s.epochTimestamp + MERCHANT_SESSION_TTL_MS + 1000)), 'merchant_session_expired');
    // Just inside the window it is still good (and the expired attempts did not use it up).
    assert.equal((await dir.redeemSession(s, new Date(s.expiresAt - 1000))).merchantSessionIdentifier, s.merchantSessionIdentifier);
  });

  it('a forged or altered session object is refused', async () => {
    const dir = t.tessera.platform.merchants;
    const s = (await validate(body(), client)).body;
    await rejectsCode(dir.redeemSession({ ...s, displayName: 'Evil Shop' }), 'merchant_session_invalid');
    await rejectsCode(dir.redeemSession({ ...s, expiresAt: s.expiresAt + 3_600_000 }), 'merchant_session_invalid');
    await rejectsCode(dir.redeemSession({ ...s, signature: s.signature.replace(/^./, (c: string) => (c === '0' ? '1' : '0')) }), 'merchant_session_invalid');
    await rejectsCode(dir.redeemSession({ ...s, extra: 1 }), 'merchant_session_invalid');
    for (const junk of [null, 42, 'not json', [], {}, '{"signature":"00"}']) await rejectsCode(dir.redeemSession(junk), 'merchant_session_invalid');
    // A made-up session with a made-up signature, for an identifier that exists.
    const { signature: _sig, ...rest } = s;
    await rejectsCode(dir.redeemSession({ ...rest, signature: 'ab'.repeat(32) }), 'merchant_session_invalid');
    // The genuine one is still unused.
    assert.equal((await dir.redeemSession(s)).nonce, s.nonce);
  });

  it('no key material or session signature in the logs', async () => {
    const logs = t.env.logLines.join('\n');
    assert.doesNotMatch(logs, /PRIVATE KEY/);
    assert.doesNotMatch(logs, /BEGIN CERTIFICATE REQUEST/);
  });
});

describe('the ApplePaySession script', () => {
  it('is served bundled, as JavaScript, cacheable, and names the running validation URL', async () => {
    const res = await t.request({ method: 'GET', url: '/applepay/v1/apple-pay.js' });
    assert.equal(res.statusCode, 200);
    assert.match(String(res.headers['content-type']), /^text\/javascript; charset=utf-8/);
    assert.match(String(res.headers['cache-control']), /max-age=/);
    const etag = String(res.headers.etag);
    assert.match(etag, /^"[A-Za-z0-9_-]+"$/);
    assert.ok(res.body.includes(JSON.stringify(t.validationUrl)));
    const again = await t.request({ method: 'GET', url: '/applepay/v1/apple-pay.js', headers: { 'if-none-match': etag } });
    assert.equal(again.statusCode, 304);

    // Run it against a minimal DOM: it defines ApplePaySession, opens the sheet iframe on the script's
    // origin and hands the page the validation URL.
    const frames: Array<Record<string, unknown>> = [];
    const win: Record<string, unknown> = {
      location: { origin: 'https://shop.example' },
      addEventListener: () => {},
      removeEventListener: () => {},
      open: () => null,
      EventTarget,
      Event,
      DOMException,
      crypto,
      queueMicrotask,
      setTimeout,
      clearTimeout,
      URL,
      document: {
        currentScript: { src: 'http://127.0.0.1:8080/applepay/v1/apple-pay.js' },
        getElementsByTagName: () => [],
        createElement: () => {
          const el: Record<string, unknown> = { style: {}, setAttribute: () => {}, remove: () => {}, contentWindow: { postMessage: () => {} } };
          frames.push(el);
          return el;
        },
        body: { appendChild: () => {} },
      },
    };
    win.window = win;
    runInNewContext(res.body, win);
    const S = win.ApplePaySession as { supportsVersion(v: number): boolean; STATUS_FAILURE: number; new (v: number, r: unknown): { begin(): void; onvalidatemerchant: ((e: { validationURL: string }) => void) | null } };
    assert.equal(S.supportsVersion(14), true);
    assert.equal(S.STATUS_FAILURE, 1);
    assert.equal(typeof win.ApplePayError, 'function');
    assert.throws(() => new S(14, { countryCode: 'US', currencyCode: 'USD', merchantCapabilities: ['supportsCredit'], supportedNetworks: ['visa'], total: { label: 'x', amount: '1.00' } }), (e: unknown) => (e as Error).name === 'TypeError');
    const session = new S(14, { countryCode: 'US', currencyCode: 'USD', merchantCapabilities: ['supports3DS'], supportedNetworks: ['visa'], total: { label: 'x', amount: '1.00' } });
    const url = new Promise<string>((resolve) => (session.onvalidatemerchant = (e) => resolve(e.validationURL)));
    session.begin();
    assert.equal(await url, t.validationUrl);
    assert.equal(frames.length, 1);
    assert.match(String(frames[0]!.src), /^http:\/\/127\.0\.0\.1:8080\/wallet\/pay\?sid=[0-9a-f]{32}$/);
    assert.equal(frames[0]!.title, 'Apple Pay sheet');
  });
});

describe('configuration', () => {
  it('TESSERA_MTLS_PORT defaults to 8443, takes 0 for any free port, and a bad value is a ConfigError', () => {
    assert.equal(loadConfig({}).mtlsPort, 8443);
    assert.equal(loadConfig({ TESSERA_MTLS_PORT: '0' }).mtlsPort, 0);
    for (const v of ['abc', '70000', '-1', '1.5']) assert.throws(() => loadConfig({ TESSERA_MTLS_PORT: v }), (e: unknown) => e instanceof ConfigError && /TESSERA_MTLS_PORT/.test(e.message));
  });
});
