import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { LightMyRequestResponse } from 'fastify';
import { maskForTrace } from '../../src/infra/trace.js';
import { startTestTessera, type TestTessera } from '../helpers/tessera.js';
import { WalletPlatformClient } from '../../src/platform/client.js';
import { FUTURE_YEAR, newDevice, newUser, transportOf } from '../helpers/wallet.js';
import { runBadInputs, type BadInputCredentials } from '../helpers/bad-input.js';

/**
 * Issue 16, points 1 and 6: a field has one JSON type (no coercion), integers stay within their
 * documented range, and nothing a client can send answers 500 (NUL characters, deep JSON). Then the
 * shared generator over every route with a body, taken from the running app's route table.
 */
// Rate limits would answer 429 before validation and hide what the generator looks for.
process.env.TESSERA_RATE_LIMIT_FACTOR = '0';

let t: TestTessera;
let creds: BadInputCredentials;
let issuerId: string;
let user: Awaited<ReturnType<typeof newUser>>;
let deviceId: string;

before(async () => {
  t = await startTestTessera();
  user = await newUser(t);
  const device = await newDevice(t, user);
  deviceId = device.deviceId;
  issuerId = Object.keys(t.tessera.issuerKeys)[0]!;
  // Keys are made only for owners that exist: the platform's token requestor at a network, a seeded merchant.
  const { rows } = await t.tessera.db.query<{ id: string }>("SELECT id FROM network.token_requestors WHERE brand = 'mastercard' LIMIT 1");
  const trid = rows[0]!.id;
  creds = {
    admin: t.adminKey,
    platform: (await t.tessera.apiKeys.create('platform', trid)).secret,
    merchant: (await t.tessera.apiKeys.create('merchant', t.tessera.terminals[0]!.merchant_id)).secret,
    acquirer: (await t.tessera.apiKeys.create('acquirer', 'acq_000001')).secret,
    terminal: t.tessera.terminals[0]!.api_key,
    issuer: t.tessera.issuerKeys[issuerId]!,
    network: (await t.tessera.apiKeys.create('network', 'mastercard')).secret,
    ops: (await t.tessera.apiKeys.create('ops', 'bad-input-console')).secret,
    user: user.client.sessionToken,
    deviceUser: device.client.sessionToken,
  };
});
after(() => t.close());

function assertInvalid(res: LightMyRequestResponse, param: string, what: string): void {
  assert.equal(res.statusCode, 400, `${what} → ${res.statusCode} ${res.body}`);
  const { error } = res.json<{ error: { code: string; param?: string; message: string } }>();
  assert.equal(error.code, 'parameter_invalid', what);
  assert.equal(error.param, param, `${what}: names the field`);
  assert.ok(error.message.includes(param), `${what}: the message names the field: ${error.message}`);
}

/** A card verification the issuer would accept (a sandbox card), for one field at a time to be spoilt. */
const VERIFICATION = {
  pan: '5555555555554444',
  exp_month: 12,
  exp_year: FUTURE_YEAR,
  cvv: '123',
  network: 'mastercard',
  token_requestor_id: '50110030273',
  token_ref: 'tok_badinput',
  device: { id: 'dev_badinput', kind: 'phone' },
  device_score: 5,
};

const COERCION_BAIT: unknown[] = ['0x10', true, [2], ' 5', '5', 'Infinity', '1e3', null, {}, 1.5, '', 'NaN'];

describe('no coercion in request bodies', () => {
  it('a refund amount is a JSON integer: "0x10", true, [2], " 5", "Infinity" … are 400 naming amount', async () => {
    for (const amount of [...COERCION_BAIT, 1e15, 2 ** 53 + 2, -1, 0]) {
      const res = await t.request({ method: 'POST', url: '/acquirer/v1/authorizations/auth_0000000000000000000000/refunds', auth: creds.admin, payload: { amount }, headers: { 'idempotency-key': `refund-${randomUUID()}` } });
      assertInvalid(res, 'amount', `refund amount ${JSON.stringify(amount)}`);
    }
  });

  it('card verification: exp_month "Infinity", "12", true, [12] are 400 naming exp_month, never a verified card', async () => {
    const valid = VERIFICATION;
    for (const exp_month of ['Infinity', '12', ' 12', true, [12], 12.5, null]) {
      const res = await t.request({ method: 'POST', url: `/issuer/${issuerId}/v1/card-verifications`, auth: creds.issuer, payload: { ...valid, exp_month } });
      assertInvalid(res, 'exp_month', `exp_month ${JSON.stringify(exp_month)}`);
    }
    for (const device_score of ['5', true]) {
      const res = await t.request({ method: 'POST', url: `/issuer/${issuerId}/v1/card-verifications`, auth: creds.issuer, payload: { ...valid, device_score } });
      assertInvalid(res, 'device_score', `device_score ${JSON.stringify(device_score)}`);
    }
  });

  it("a network's transaction amount is bounded and never coerced", async () => {
    const valid = { network_transaction_id: 'ntx_badinput', token_ref: 'tok_badinput', brand: 'mastercard', amount: 100, currency: '840', merchant_name: 'Shop', status: 'approved', type: 'nfc', occurred_at: new Date().toISOString() };
    for (const amount of [2 ** 60, Number.MAX_SAFE_INTEGER, '100', '0x10', true]) {
      const res = await t.request({ method: 'POST', url: '/platform/v1/network-events/transactions', auth: creds.network, payload: { ...valid, amount } });
      assertInvalid(res, 'amount', `transaction amount ${JSON.stringify(amount)}`);
    }
  });

  it('query strings are parsed explicitly and strictly: limit=10 works, limit=0x10 and limit=" 5" do not', async () => {
    const ok = await t.request({ method: 'GET', url: '/platform/v1/transactions?limit=10', auth: creds.user });
    assert.equal(ok.statusCode, 200, ok.body);
    const outbox = await t.request({ method: 'GET', url: '/ops/v1/outbox?undelivered=true&limit=5', auth: creds.admin });
    assert.equal(outbox.statusCode, 200, outbox.body);
    for (const limit of ['0x10', '%205', '1e1', 'Infinity', '10.0', '', '-0']) {
      const res = await t.request({ method: 'GET', url: `/platform/v1/transactions?limit=${limit}`, auth: creds.user });
      assertInvalid(res, 'limit', `limit=${limit}`);
    }
    const flag = await t.request({ method: 'GET', url: '/ops/v1/outbox?undelivered=1', auth: creds.admin });
    assertInvalid(flag, 'undelivered', 'undelivered=1');
  });
});

describe('documented ranges', () => {
  it('every integer or number in every request body and query declares its minimum and maximum', () => {
    const unbounded: string[] = [];
    const walk = (s: Record<string, unknown> | undefined, path: string): void => {
      if (!s || typeof s !== 'object') return;
      if ((s.type === 'integer' || s.type === 'number') && (typeof s.minimum !== 'number' || typeof s.maximum !== 'number')) unbounded.push(path);
      for (const [k, v] of Object.entries((s.properties ?? {}) as Record<string, Record<string, unknown>>)) walk(v, `${path}.${k}`);
      if (s.items) walk(s.items as Record<string, unknown>, `${path}[]`);
      for (const u of [...((s.anyOf ?? []) as Record<string, unknown>[]), ...((s.oneOf ?? []) as Record<string, unknown>[])]) walk(u, path);
    };
    for (const r of t.tessera.parties.flatMap((p) => p.routes)) {
      walk(r.body as Record<string, unknown> | undefined, `${r.method} ${r.url} body`);
      walk(r.querystring as Record<string, unknown> | undefined, `${r.method} ${r.url} query`);
    }
    assert.deepEqual(unbounded, []);
  });
});

describe('bad input never answers 500', () => {
  it('a NUL character in a body string is 400 naming the field (PostgreSQL refuses 0x00)', async () => {
    const jwk = { kty: 'EC', crv: 'P-256', x: 'f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU', y: 'x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0' };
    assertInvalid(await t.request({ method: 'POST', url: '/platform/v1/devices', auth: creds.user, payload: { kind: 'phone', name: 'my\u0000phone', se_public_key: jwk } }), 'name', 'devices.name');
    const verification = { ...VERIFICATION, token_ref: 'tok_\u0000' };
    assertInvalid(await t.request({ method: 'POST', url: `/issuer/${issuerId}/v1/card-verifications`, auth: creds.issuer, payload: verification }), 'token_ref', 'card-verifications.token_ref');
    assertInvalid(
      await t.request({ method: 'POST', url: `/issuer/${issuerId}/v1/card-verifications`, auth: creds.issuer, payload: { ...verification, token_ref: 'tok_x', device: { id: 'dev\u0000', kind: 'phone' } } }),
      'device.id',
      'card-verifications.device.id',
    );
    const event = { event_id: 'evt_badinput1', issuer_id: issuerId, brand: 'mastercard', token_ref: 'tok_badinput', type: 'token.created', status: 'active', reason: 'why\u0000', actor: 'network', occurred_at: new Date().toISOString() };
    assertInvalid(await t.request({ method: 'POST', url: `/issuer/${issuerId}/v1/network-events/tokens`, auth: creds.network, payload: event }), 'reason', 'issuer network-events.reason');
    assertInvalid(
      await t.request({ method: 'POST', url: `/issuer/${issuerId}/v1/network-events/tokens`, auth: creds.network, payload: { ...event, reason: 'x', token_ref: '\u0000' } }),
      'token_ref',
      'issuer network-events.token_ref',
    );
  });

  it('a NUL character in a query string or a path parameter is 400 too', async () => {
    assertInvalid(await t.request({ method: 'GET', url: '/platform/v1/transactions?card_id=%00', auth: creds.user }), 'card_id', 'query card_id');
    assertInvalid(await t.request({ method: 'POST', url: '/platform/v1/cards/card_%00/suspend', auth: creds.user }), 'card_id', 'path card_id');
    assertInvalid(await t.request({ method: 'GET', url: `/issuer/${issuerId}/v1/token-notifications?token_ref=a%00b`, auth: creds.issuer }), 'token_ref', 'query token_ref');
  });

  it('10,000-deep JSON on routes without a body schema is 400, before any handler or trace', async () => {
    const deep = `${'['.repeat(10_000)}${']'.repeat(10_000)}`;
    const deepObject = `${'{"a":'.repeat(10_000)}1${'}'.repeat(10_000)}`;
    const id = '0000000000000000000000';
    const routes: [string, string | undefined][] = [
      [`/platform/v1/cards/card_${id}/suspend`, creds.user],
      [`/platform/v1/cards/card_${id}/resume`, creds.user],
      [`/platform/v1/devices/dev_${id}/lost`, creds.user],
      [`/platform/v1/devices/dev_${id}/found`, creds.user],
      [`/platform/v1/devices/dev_${id}/erase`, creds.user],
      [`/issuer/${issuerId}/v1/cards/card_${id}/block`, creds.issuer],
      [`/issuer/${issuerId}/v1/cards/card_${id}/unblock`, creds.issuer],
      [`/issuer/${issuerId}/v1/cards/card_${id}/close`, creds.issuer],
      [`/platform/v1/merchants/mer_${id}/certificates/cert_${id}/revoke`, creds.admin],
    ];
    for (const [url, auth] of routes) {
      for (const payload of [deep, deepObject]) {
        const res = await t.request({ method: 'POST', url, auth, payload, headers: { 'content-type': 'application/json' } });
        assert.equal(res.statusCode, 400, `${url} → ${res.statusCode} ${res.body}`);
        assert.equal(res.json().error.code, 'body_invalid', url);
      }
    }
    // Moderate nesting inside a schema'd body is still judged by the schema.
    const nested = await t.request({ method: 'POST', url: '/platform/v1/devices', auth: creds.user, payload: { kind: 'phone', name: [[[['x']]]] } });
    assert.equal(nested.statusCode, 400);
  });

  it('trace masking bounds its depth: a deep value is cut, never a stack overflow', () => {
    let deep: unknown = '5555555555554444';
    for (let i = 0; i < 10_000; i++) deep = i % 2 ? [deep] : { a: deep };
    const masked = JSON.stringify(maskForTrace({ body: deep }));
    assert.match(masked, /nested too deeply/);
    assert.doesNotMatch(masked, /5555555555554444/);
  });

  it('an oversized body is 413 on every kind of route', async () => {
    const big = JSON.stringify({ name: 'x'.repeat(300_000) });
    for (const [url, auth] of [
      ['/platform/v1/devices', creds.user],
      ['/platform/v1/cards/card_0000000000000000000000/suspend', creds.user],
    ] as const) {
      const res = await t.request({ method: 'POST', url, auth, payload: big, headers: { 'content-type': 'application/json' } });
      assert.equal(res.statusCode, 413, `${url} → ${res.statusCode}`);
      assert.equal(res.json().error.code, 'body_too_large');
    }
  });
});

describe('the shared bad-input generator, over every route with a body', () => {
  it('0 answers of 5xx, 0 coerced values accepted, on every POST/PUT/PATCH/DELETE route of the route table', async () => {
    const report = await runBadInputs(t.tessera.app, t.tessera.parties.flatMap((p) => p.routes), creds, {
      perRoute: Number(process.env.BAD_INPUT_PER_ROUTE ?? 40),
      params: { issuer_id: issuerId, brand: 'mastercard' },
      // Signing out (DELETE /sessions/current) ends the session in use: sign in again.
      renew: async (kind) => {
        const { session } = await WalletPlatformClient.signIn(transportOf(t), { email: user.email, password: user.password, ...(kind === 'deviceUser' ? { device_id: deviceId } : {}) });
        return session.token;
      },
    });
    console.log(`bad-input generator: ${report.routes} routes, ${report.total} requests; ${report.baselineValid} routes' generated bodies passed validation`);
    for (const [cls, n] of Object.entries(report.byClass).sort()) console.log(`  ${cls.padEnd(22)} ${String(n.run).padStart(5)} run, ${n.failures} failures`);
    for (const f of report.failures.slice(0, 200)) console.log(`  FAILED ${f}`);
    assert.deepEqual(report.failures.slice(0, 20), [], `${report.failures.length} failures`);
    assert.ok(report.routes >= 40, `routes covered: ${report.routes}`);
    assert.deepEqual(report.uncovered, [], 'every route with a body in the OpenAPI document is covered');
  });
});
