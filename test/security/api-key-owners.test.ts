import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ApiKeys } from '../../src/infra/http/auth.js';
import type { Role } from '../../src/infra/http/route.js';
import { randomBase62 } from '../../src/infra/ids.js';
import { startTestTessera, type TestTessera } from '../helpers/tessera.js';

/**
 * Issue 16, point 4: an API key speaks for an owner of its role that exists in the deployment. Keys are
 * made only for such owners (POST /ops/v1/api-keys), and a key whose owner does not exist (made before
 * this check, or whose owner is gone) is refused on every request, for every role: failing closed.
 */
let t: TestTessera;
let owners: Record<Exclude<Role, 'admin' | 'ops'>, string>;

before(async () => {
  t = await startTestTessera();
  const { rows } = await t.tessera.db.query<{ id: string }>('SELECT id FROM network.token_requestors ORDER BY id LIMIT 1');
  const terminal = t.tessera.terminals[0]!;
  owners = {
    network: 'visa',
    issuer: Object.keys(t.tessera.issuerKeys)[0]!,
    acquirer: 'acq_000001',
    terminal: terminal.terminal,
    merchant: terminal.merchant_id,
    platform: rows[0]!.id,
  };
});
after(() => t.close());

const create = (role: string, owner_id: string) => t.request({ method: 'POST', url: '/ops/v1/api-keys', auth: t.adminKey, payload: { role, owner_id } });

describe('API keys are made only for owners that exist', () => {
  it('refuses a network key for an owner that is not a brand the deployment runs (the audit\'s bogus-net)', async () => {
    const res = await create('network', 'bogus-net');
    assert.equal(res.statusCode, 400, res.body);
    assert.equal(res.json().error.code, 'parameter_invalid');
    assert.equal(res.json().error.param, 'owner_id');
    const list = await t.request({ method: 'GET', url: '/ops/v1/api-keys?owner_id=bogus-net', auth: t.adminKey });
    assert.deepEqual(list.json().data, [], 'no key was made');
  });

  for (const role of ['network', 'issuer', 'acquirer', 'terminal', 'merchant', 'platform'] as const) {
    it(`${role}: a key for an existing owner works, one for an unknown owner is refused`, async () => {
      const ok = await create(role, owners[role]);
      assert.equal(ok.statusCode, 201, ok.body);
      // The new key authenticates (a route of another role answers 403, not 401).
      const used = await t.request({ method: 'GET', url: '/ops/v1/api-keys', auth: ok.json().secret });
      assert.equal(used.statusCode, 403, used.body);
      const bogus = await create(role, `${role === 'network' ? 'mastercard-' : ''}x_${randomBase62(8)}`);
      assert.equal(bogus.statusCode, 400, bogus.body);
      assert.equal(bogus.json().error.param, 'owner_id');
    });
  }
});

describe('every role is checked against its owner at request time, failing closed', () => {
  // Keys as an older version made them (no owner check): straight into the table.
  const unchecked = () => new ApiKeys(t.tessera.db, t.env.cache);

  for (const role of ['network', 'issuer', 'acquirer', 'terminal', 'merchant', 'platform'] as const) {
    it(`${role}: a key whose owner does not exist is not accepted`, async () => {
      const key = await unchecked().create(role, `gone_${randomBase62(8)}`);
      const res = await t.request({ method: 'GET', url: '/ops/v1/api-keys', auth: key.secret });
      assert.equal(res.statusCode, 401, res.body);
      assert.equal(res.json().error.code, 'credentials_invalid');
    });
  }

  it('a network key not tied to a brand cannot ask an issuer to verify a card number and CVV', async () => {
    const key = await unchecked().create('network', 'bogus-net');
    const issuerId = owners.issuer;
    const res = await t.request({
      method: 'POST',
      url: `/issuer/${issuerId}/v1/card-verifications`,
      auth: key.secret,
      payload: { pan: '4111111111111111', exp_month: 12, exp_year: 2030, cvv: '123', name: 'ADA LOVELACE', network: 'visa', token_requestor_id: owners.platform, token_ref: `tok_${randomBase62(20)}`, device: { id: 'dev_owner_test', kind: 'phone' }, device_score: 5 },
    });
    assert.equal(res.statusCode, 401, res.body);
    // The same request with the brand's own key is answered (the route itself works).
    const visa = await create('network', 'visa');
    const ok = await t.request({
      method: 'POST',
      url: `/issuer/${issuerId}/v1/card-verifications`,
      auth: visa.json().secret,
      payload: { pan: '4111111111111111', exp_month: 12, exp_year: 2030, cvv: '123', name: 'ADA LOVELACE', network: 'visa', token_requestor_id: owners.platform, token_ref: `tok_${randomBase62(20)}`, device: { id: 'dev_owner_test', kind: 'phone' }, device_score: 5 },
    });
    assert.notEqual(ok.statusCode, 401, ok.body);
    assert.notEqual(ok.statusCode, 403, ok.body);
  });

  it('admin and ops keys name their holder, not an object, and keep working', async () => {
    for (const role of ['admin', 'ops'] as const) {
      const res = await create(role, `holder_${randomBase62(6)}`);
      assert.equal(res.statusCode, 201, res.body);
    }
  });
});
