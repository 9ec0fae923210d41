import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Validator } from '@seriousme/openapi-schema-validator';
import { startTestTessera, type TestTessera } from '../helpers/tessera.js';
import { checkRouteSecurity } from '../helpers/security.js';

let t: TestTessera;
before(async () => {
  t = await startTestTessera();
});
after(async () => {
  await t.close();
});

describe('platform HTTP foundation', () => {
  it('answers /health with the database and cache state', async () => {
    const res = await t.request({ method: 'GET', url: '/health' });
    assert.equal(res.statusCode, 200);
    const body = res.json();
    assert.equal(body.status, 'ok');
    assert.equal(body.database.ok, true);
    assert.equal(body.database.kind, process.env.DATABASE_URL ? 'postgres' : 'pglite');
    assert.equal(body.cache.kind, process.env.REDIS_URL ? 'redis' : 'memory');
    assert.match(res.headers['request-id'] as string, /^req_/);
  });

  it('serves a valid OpenAPI 3.1 document generated from the route schemas, and the viewer', async () => {
    const res = await t.request({ method: 'GET', url: '/openapi.json' });
    assert.equal(res.statusCode, 200);
    const doc = res.json();
    assert.equal(doc.openapi, '3.1.0');
    const validator = new Validator();
    const result = await validator.validate(doc);
    assert.equal(result.valid, true, JSON.stringify(result.errors));
    assert.ok(doc.paths['/platform/v1/users'].post.requestBody, 'request schemas are in the document');
    assert.deepEqual(doc.paths['/ops/v1/api-keys'].post.security, [{ apiKey: [] }]);
    const docs = await t.request({ method: 'GET', url: '/docs/' });
    assert.equal(docs.statusCode, 200);
    assert.match(docs.body, /swagger-ui/i);
  });

  it('gives catalogue errors, never a 500, for bad input', async () => {
    const cases: [Record<string, unknown>, number, string][] = [
      [{ method: 'POST', url: '/platform/v1/users', payload: '{not json', headers: { 'content-type': 'application/json' } }, 400, 'body_invalid'],
      [{ method: 'POST', url: '/platform/v1/users', payload: '', headers: { 'content-type': 'application/json' } }, 400, 'body_invalid'],
      [{ method: 'POST', url: '/platform/v1/users', payload: { email: 'x@y.zz' } }, 400, 'parameter_invalid'],
      [{ method: 'POST', url: '/platform/v1/users', payload: { email: 'not-an-email', password: 'longenough1', name: 'A' } }, 400, 'parameter_invalid'],
      [{ method: 'POST', url: '/platform/v1/users', payload: { email: 'a@b.co', password: 'longenough1', name: 'A', extra: 1 } }, 400, 'parameter_invalid'],
      [{ method: 'POST', url: '/platform/v1/users', payload: [1, 2] }, 400, 'parameter_invalid'],
      [{ method: 'POST', url: '/platform/v1/users', payload: 'a=b', headers: { 'content-type': 'application/x-www-form-urlencoded' } }, 415, 'media_type_unsupported'],
      [{ method: 'POST', url: '/platform/v1/users', payload: JSON.stringify({ email: 'a@b.co', password: 'x'.repeat(300_000), name: 'A' }), headers: { 'content-type': 'application/json' } }, 413, 'body_too_large'],
      [{ method: 'GET', url: '/no/such/route' }, 404, 'route_not_found'],
    ];
    for (const [req, status, code] of cases) {
      const res = await t.request(req as never);
      assert.equal(res.statusCode, status, `${code}: ${res.body}`);
      const body = res.json();
      assert.equal(body.error.code, code);
      assert.equal(typeof body.error.message, 'string');
      assert.match(body.error.request_id, /^req_/);
      assert.doesNotMatch(res.body, /at .*\.ts:\d+|stack/i, 'no stack trace in an error body');
    }
  });

  it('signs up, signs in, identifies and signs out a user', async () => {
    const signup = await t.request({ method: 'POST', url: '/platform/v1/users', payload: { email: 'Ada@Example.com', password: 'correct horse battery', name: 'Ada' } });
    assert.equal(signup.statusCode, 201, signup.body);
    const { user, session } = signup.json();
    assert.match(user.id, /^usr_/);
    assert.equal(user.email, 'ada@example.com');
    assert.equal(JSON.stringify(signup.json()).includes('correct horse'), false);

    const dup = await t.request({ method: 'POST', url: '/platform/v1/users', payload: { email: 'ada@example.com', password: 'another password', name: 'Ada' } });
    assert.equal(dup.statusCode, 409);
    assert.equal(dup.json().error.code, 'email_taken');

    const wrong = await t.request({ method: 'POST', url: '/platform/v1/sessions', payload: { email: 'ada@example.com', password: 'wrong password' } });
    assert.equal(wrong.statusCode, 401);
    assert.equal(wrong.json().error.code, 'sign_in_failed');
    const unknown = await t.request({ method: 'POST', url: '/platform/v1/sessions', payload: { email: 'nobody@example.com', password: 'wrong password' } });
    assert.equal(unknown.json().error.code, 'sign_in_failed', 'unknown e-mail and wrong password look the same');

    const signin = await t.request({ method: 'POST', url: '/platform/v1/sessions', payload: { email: 'ada@example.com', password: 'correct horse battery' } });
    assert.equal(signin.statusCode, 201);
    const token = signin.json().session.token as string;
    const me = await t.request({ method: 'GET', url: '/platform/v1/me', auth: token });
    assert.equal(me.statusCode, 200);
    assert.equal(me.json().id, user.id);

    const out = await t.request({ method: 'DELETE', url: '/platform/v1/sessions/current', auth: token });
    assert.equal(out.statusCode, 200);
    const after = await t.request({ method: 'GET', url: '/platform/v1/me', auth: token });
    assert.equal(after.statusCode, 401, 'a revoked session stops working at once, cache or not');
    const first = await t.request({ method: 'GET', url: '/platform/v1/me', auth: session.token });
    assert.equal(first.statusCode, 200, 'other sessions stay valid');

    const otherDevice = await t.request({ method: 'POST', url: '/platform/v1/sessions', payload: { email: 'ada@example.com', password: 'correct horse battery', device_id: 'dev_0000000000000000000000000' } });
    assert.equal(otherDevice.statusCode, 404);
  });

  it('rate-limits sign-in per address and per e-mail with 429 and Retry-After', async () => {
    let limited;
    for (let i = 0; i < 12; i++) {
      const res = await t.request({ method: 'POST', url: '/platform/v1/sessions', payload: { email: 'target@example.com', password: `guess number ${i}` }, remoteAddress: `127.0.0.${10 + i}` });
      if (res.statusCode === 429) {
        limited = res;
        break;
      }
      assert.equal(res.statusCode, 401);
    }
    assert.ok(limited, 'the 11th guess on one e-mail from changing addresses is refused');
    assert.equal(limited.json().error.code, 'rate_limited');
    assert.ok(Number(limited.headers['retry-after']) >= 1);

    let ipLimited = false;
    for (let i = 0; i < 40 && !ipLimited; i++) {
      const res = await t.request({ method: 'POST', url: '/platform/v1/users', payload: { email: `spam${i}@example.com`, password: 'x' }, remoteAddress: '10.9.9.9' });
      ipLimited = res.statusCode === 429;
    }
    assert.ok(ipLimited, 'sign-up is limited per address');
  });

  it('creates, lists and revokes party API keys; secrets are shown once and stored only as hashes', async () => {
    // A key is made only for an owner that exists: the sandbox's Corner Coffee merchant.
    const merchantId = t.tessera.terminals[0]!.merchant_id;
    const created = await t.request({ method: 'POST', url: '/ops/v1/api-keys', auth: t.adminKey, payload: { role: 'merchant', owner_id: merchantId, name: 'demo' } });
    assert.equal(created.statusCode, 201, created.body);
    const key = created.json();
    assert.match(key.secret, /^tsk_merchant_[0-9A-Za-z]{40}$/);
    const list = await t.request({ method: 'GET', url: '/ops/v1/api-keys?role=merchant', auth: t.adminKey });
    assert.equal(list.statusCode, 200);
    assert.equal(list.body.includes(key.secret), false);
    const { rows } = await t.env.db.query<Record<string, unknown>>('SELECT * FROM infra.api_keys');
    assert.equal(JSON.stringify(rows).includes(key.secret.slice(13)), false, 'no secret at rest');

    const asMerchant = await t.request({ method: 'GET', url: '/ops/v1/api-keys', auth: key.secret });
    assert.equal(asMerchant.statusCode, 403);
    const revoke = await t.request({ method: 'DELETE', url: `/ops/v1/api-keys/${key.id}`, auth: t.adminKey });
    assert.equal(revoke.statusCode, 200);
    const afterRevoke = await t.request({ method: 'GET', url: '/ops/v1/api-keys', auth: key.secret });
    assert.equal(afterRevoke.statusCode, 401);
    const again = await t.request({ method: 'DELETE', url: `/ops/v1/api-keys/${key.id}`, auth: t.adminKey });
    assert.equal(again.statusCode, 404);
  });

  it('refuses every protected route without credentials and with the wrong kind of credentials', async () => {
    const mk = async (role: string) => (await t.request({ method: 'POST', url: '/ops/v1/api-keys', auth: t.adminKey, payload: { role, owner_id: `${role}_x` } })).json().secret as string;
    const signup = await t.request({ method: 'POST', url: '/platform/v1/users', payload: { email: 'sec@example.com', password: 'security check 1', name: 'S' } });
    const creds = {
      admin: t.adminKey,
      merchant: await mk('merchant'),
      acquirer: await mk('acquirer'),
      terminal: await mk('terminal'),
      issuer: await mk('issuer'),
      network: await mk('network'),
      user: signup.json().session.token as string,
    };
    const routes = t.tessera.parties.flatMap((p) => p.routes);
    const checks = await checkRouteSecurity(t.tessera.app, routes, creds);
    assert.ok(checks >= routes.filter((r) => r.auth.kind !== 'public').length * 5);
  });
});
