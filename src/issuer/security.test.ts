import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Validator } from '@seriousme/openapi-schema-validator';
import { randomBase62 } from '../infra/ids.js';
import { checkRouteSecurity } from '../../test/helpers/security.js';
import { startIssuerTestEnv, type IssuerTestEnv } from '../../test/helpers/issuer-env.js';
import type { Network } from '../protocol/cards/index.js';
import { SANDBOX_CARDS, SANDBOX_CREDIT_UNION, TESSERA_BANK } from './sandbox-cards.js';

let t: IssuerTestEnv;
/** Every card number and CVV the flows below handled, and every one-time code sent. */
const pans = new Set(SANDBOX_CARDS.map((c) => c.number));
const cvvs = new Set(['123', '1234']);
const codes = new Set<string>();

before(async () => {
  t = await startIssuerTestEnv();
  await runFlows();
});
after(async () => {
  await t.close();
});

async function verify(c: { number: string; network: string; cvv: string; issuerId: string }, over: Record<string, unknown> = {}, headers: Record<string, string> = {}) {
  return t.request({
    method: 'POST',
    url: `/issuer/${c.issuerId}/v1/card-verifications`,
    auth: t.keys.networks[c.network as Network],
    headers,
    payload: { pan: c.number, exp_month: 12, exp_year: 2030, cvv: c.cvv, name: 'ADA LOVELACE', network: c.network, token_requestor_id: '40010030273', token_ref: `tok_${randomBase62(20)}`, device: { id: 'dev_scan', kind: 'phone' }, device_score: 5, ...over },
  });
}

/** Every kind of flow, so the scans below look at real rows: decisions, wrong CVVs, codes, issued cards, idempotency records. */
async function runFlows(): Promise<void> {
  for (const c of SANDBOX_CARDS) {
    await verify(c, {}, { 'idempotency-key': `scan-${c.key}` });
    await verify(c, { cvv: c.network === 'amex' ? '4321' : '321' });
  }
  const issued = await t.issuers.service.issueCard({ issuerId: TESSERA_BANK, network: 'visa', product: 'credit', holderName: 'EDSGER DIJKSTRA', expMonth: 4, expYear: 2029 });
  pans.add(issued.pan.reveal());
  cvvs.add(issued.cvv.reveal());
  await verify({ number: issued.pan.reveal(), network: 'visa', cvv: issued.cvv.reveal(), issuerId: TESSERA_BANK }, { exp_month: 4, exp_year: 2029 });
  for (const network of ['visa', 'amex'] as const) {
    const c = SANDBOX_CARDS.find((x) => x.key === `${network}_yellow`)!;
    const auth = t.keys.networks[network];
    const v = (await verify(c)).json();
    for (const method of ['sms', 'email']) {
      await t.request({ method: 'POST', url: `/issuer/${c.issuerId}/v1/card-verifications/${v.id}/otp`, auth, payload: { method_id: method }, headers: { 'idempotency-key': `otp-${v.id}-${method}` } });
      const list = await t.request({ method: 'GET', url: `/issuer/${c.issuerId}/v1/card-verifications/${v.id}/messages`, auth });
      const code = /\b(\d{6})\b/.exec(list.json().data[0].body)![1]!;
      codes.add(code);
      await t.request({ method: 'POST', url: `/issuer/${c.issuerId}/v1/card-verifications/${v.id}/confirm`, auth, payload: { code: String((Number(code) + 7) % 1e6).padStart(6, '0') } });
    }
    const code = [...codes].at(-1)!;
    await t.request({ method: 'POST', url: `/issuer/${c.issuerId}/v1/card-verifications/${v.id}/confirm`, auth, payload: { code }, headers: { 'idempotency-key': `confirm-${v.id}` } });
  }
}

/** Every row of every table of a schema, each column's value as the driver gives it. */
async function allRows(schema: string): Promise<{ table: string; row: Record<string, unknown> }[]> {
  const { rows: tables } = await t.env.db.query<{ table_name: string }>(
    `SELECT table_name FROM information_schema.tables WHERE table_schema = $1 AND table_type = 'BASE TABLE' ORDER BY table_name`,
    [schema],
  );
  const out: { table: string; row: Record<string, unknown> }[] = [];
  for (const { table_name } of tables) {
    const { rows } = await t.env.db.query<{ j: Record<string, unknown> }>(`SELECT to_jsonb(x) AS j FROM ${schema}.${table_name} x`);
    for (const r of rows) out.push({ table: table_name, row: typeof r.j === 'string' ? JSON.parse(r.j) : r.j });
  }
  return out;
}

/** Every string inside a JSON value (object keys excluded), with its path. */
function strings(value: unknown, path = ''): { path: string; value: string }[] {
  if (typeof value === 'string') return [{ path, value }];
  if (typeof value === 'number') return [{ path, value: String(value) }];
  if (Array.isArray(value)) return value.flatMap((v, i) => strings(v, `${path}[${i}]`));
  if (value && typeof value === 'object') return Object.entries(value).flatMap(([k, v]) => strings(v, `${path}.${k}`));
  return [];
}

const asciiHex = (s: string) => Buffer.from(s).toString('hex');

describe('issuer security', () => {
  it('answers 401 without credentials and 403 to parties that may not call', async () => {
    const checks = await checkRouteSecurity(t.app, t.issuers.routes, { merchant: t.keys.merchant, platform: t.keys.platform, admin: t.keys.admin, acquirer: t.keys.acquirer, terminal: t.keys.terminal });
    assert.ok(checks >= 4 * (5 + 5), `${checks} checks`);
  });

  it('answers 404 for an unknown issuer on every route, the public one included', async () => {
    const c = SANDBOX_CARDS[0]!;
    const cases = [
      { method: 'POST' as const, url: '/issuer/iss_nobody/v1/card-verifications', payload: { pan: c.number, exp_month: 12, exp_year: 2030, cvv: '123', network: 'visa', token_requestor_id: '40010030273', token_ref: 'tok_x', device: { id: 'd', kind: 'phone' }, device_score: 5 } },
      { method: 'POST' as const, url: '/issuer/iss_nobody/v1/card-verifications/civ_x/otp', payload: { method_id: 'sms' } },
      { method: 'POST' as const, url: '/issuer/iss_nobody/v1/card-verifications/civ_x/confirm', payload: { code: '123456' } },
      { method: 'GET' as const, url: '/issuer/iss_nobody/v1/card-verifications/civ_x/messages' },
      { method: 'GET' as const, url: '/issuer/iss_nobody/v1/sandbox/cards' },
    ];
    for (const req of cases) {
      const res = await t.request({ ...req, auth: t.keys.network });
      assert.equal(res.statusCode, 404, `${req.url}: ${res.body}`);
      assert.equal(res.json().error.code, 'resource_missing');
      assert.equal(res.json().error.param, 'issuer_id');
    }
  });

  it("an issuer's own key works for that issuer only (another issuer is 'not found')", async () => {
    const c = SANDBOX_CARDS.find((x) => x.key === 'visa_green')!;
    const own = await t.request({ method: 'POST', url: `/issuer/${TESSERA_BANK}/v1/card-verifications`, auth: t.keys.tesseraBank, payload: { pan: c.number, exp_month: 12, exp_year: 2030, cvv: '123', network: 'visa', token_requestor_id: '40010030273', token_ref: `tok_${randomBase62(10)}`, device: { id: 'd', kind: 'phone' }, device_score: 5 } });
    assert.equal(own.json().decision, 'green');
    const other = await t.request({ method: 'POST', url: `/issuer/${TESSERA_BANK}/v1/card-verifications`, auth: t.keys.creditUnion, payload: { pan: c.number, exp_month: 12, exp_year: 2030, cvv: '123', network: 'visa', token_requestor_id: '40010030273', token_ref: `tok_${randomBase62(10)}`, device: { id: 'd', kind: 'phone' }, device_score: 5 } });
    assert.equal(other.statusCode, 404);
  });

  it('lists the sandbox test cards publicly: full numbers only for the well-known ones', async () => {
    const res = await t.request({ method: 'GET', url: `/issuer/${TESSERA_BANK}/v1/sandbox/cards` });
    assert.equal(res.statusCode, 200);
    const list = res.json();
    assert.equal(list.object, 'list');
    assert.equal(list.data.length, SANDBOX_CARDS.filter((c) => c.issuerId === TESSERA_BANK).length);
    const visa = list.data.find((c: { key: string }) => c.key === 'visa_green');
    assert.deepEqual({ number: visa.number, masked: visa.masked, cvv: visa.cvv, expiry: visa.expiry }, { number: '4111111111111111', masked: '411111******1111', cvv: '123', expiry: 'any future month' });
    const yellow = list.data.find((c: { key: string }) => c.key === 'mastercard_yellow');
    assert.equal(yellow.number, null);
    assert.equal(yellow.masked, '555555******0010');
    assert.equal(yellow.outcome, 'yellow');
    const cu = (await t.request({ method: 'GET', url: `/issuer/${SANDBOX_CREDIT_UNION}/v1/sandbox/cards` })).json();
    assert.deepEqual(cu.data.filter((c: { number: string | null }) => c.number).map((c: { number: string }) => c.number).sort(), ['378282246310005', '6011111111111117']);
    assert.equal(cu.data.find((c: { key: string }) => c.key === 'amex_green').cvv, '1234');
    const expired = cu.data.find((c: { key: string }) => c.key === 'discover_expired');
    assert.equal(expired.expiry, '12/2020');
  });

  it('keeps no card number in clear at rest: not in any column, not as the bytes of a ciphertext', async () => {
    const rows = [...(await allRows('issuer')), ...(await allRows('infra'))];
    assert.ok(rows.some((r) => r.table === 'cards'));
    // The scan sees bytea columns as their hex text, so ciphertext bytes are covered too.
    assert.ok(rows.some((r) => r.table === 'cards' && strings(r.row).some((s) => s.path === '.pan_encrypted' && s.value.startsWith('\\x'))));
    for (const { table, row } of rows) {
      for (const { path, value } of strings(row)) {
        for (const pan of pans) {
          assert.ok(!value.includes(pan), `${table}${path} holds a card number`);
          assert.ok(!value.toLowerCase().includes(asciiHex(pan)), `${table}${path} holds a card number's bytes`);
        }
      }
    }
  });

  it('keeps no CVV at all, and one-time codes only in the simulated messages', async () => {
    const rows = [...(await allRows('issuer')), ...(await allRows('infra'))];
    for (const { table, row } of rows) {
      for (const { path, value } of strings(row)) {
        // Column-level equality: "123" would be found inside many other numbers.
        for (const cvv of cvvs) {
          assert.notEqual(value, cvv, `${table}${path} is a CVV`);
          assert.ok(!value.includes(`"cvv":"${cvv}"`) && !value.includes(`"cvv": "${cvv}"`), `${table}${path} holds a CVV field`);
          if (value.startsWith('\\x')) assert.ok(!value.includes(asciiHex(`:${cvv}`)), `${table}${path} holds a CVV's bytes`);
        }
        if (table === 'sandbox_messages' && path === '.body') continue;
        for (const code of codes) {
          if (value.startsWith('\\x')) continue; // MACs and ciphertexts: their hex holds 6-digit runs by chance
          assert.ok(!value.includes(code), `${table}${path} holds a one-time code`);
        }
      }
    }
    const messages = rows.filter((r) => r.table === 'sandbox_messages');
    assert.equal(messages.length, 4);
    for (const { row } of messages) assert.match(String(row.destination), /^(•••• \d{4}|.•••@example\.com)$/);
    const verifications = rows.filter((r) => r.table === 'verifications');
    assert.ok(verifications.every((r) => r.row.otp_hmac === null || /^\\x[0-9a-f]{64}$/.test(String(r.row.otp_hmac))));
  });

  it('stores the card number encrypted under a data key wrapped by the KEK, found by a keyed fingerprint', async () => {
    const { rows } = await t.env.db.query<{ id: string; pan_encrypted: Uint8Array; pan_fingerprint: Uint8Array }>('SELECT id, pan_encrypted, pan_fingerprint FROM issuer.cards');
    const byPan = new Map<string, string>();
    for (const r of rows) {
      const pan = await t.issuers.service.cipher.decryptString(r.pan_encrypted, `issuer:pan:${r.id}`);
      assert.ok(pans.has(pan));
      assert.ok(Buffer.from(r.pan_fingerprint).equals(await t.issuers.service.cipher.fingerprint(pan)));
      byPan.set(pan, r.id);
      // The ciphertext is bound to its card: moved to another row it does not decrypt.
      await assert.rejects(t.issuers.service.cipher.decrypt(r.pan_encrypted, 'issuer:pan:icard_other'));
    }
    assert.equal(byPan.size, rows.length);
    const keys = await t.env.db.query<{ purpose: string; wrapped: Uint8Array }>('SELECT purpose, wrapped FROM issuer.issuer_keys ORDER BY issuer_id, purpose');
    assert.equal(keys.rows.length, 6);
  });

  it('writes no card number, CVV or code to the logs', async () => {
    const text = t.env.logLines.join('');
    assert.ok(text.includes('card verification'), 'the flows were logged');
    for (const pan of pans) assert.ok(!text.includes(pan), 'a card number in the logs');
    for (const code of codes) assert.ok(!text.includes(code), 'a one-time code in the logs');
    for (const cvv of cvvs) assert.ok(!text.includes(`"${cvv}"`), 'a CVV in the logs');
  });

  it('documents its routes in the OpenAPI document with the error shape', async () => {
    const doc = (await t.app.inject({ method: 'GET', url: '/openapi.json' })).json();
    const result = await new Validator().validate(doc);
    assert.equal(result.valid, true, JSON.stringify(result.errors));
    for (const path of ['/issuer/{issuer_id}/v1/card-verifications', '/issuer/{issuer_id}/v1/card-verifications/{id}/otp', '/issuer/{issuer_id}/v1/card-verifications/{id}/confirm', '/issuer/{issuer_id}/v1/card-verifications/{id}/messages', '/issuer/{issuer_id}/v1/sandbox/cards']) {
      assert.ok(doc.paths[path], path);
    }
    const errors = (await t.app.inject({ method: 'GET', url: '/v1/errors' })).json().data.map((e: { code: string }) => e.code);
    for (const code of ['card_not_supported', 'card_expired', 'card_cvv_incorrect', 'provisioning_declined', 'verification_code_incorrect', 'verification_locked', 'verification_expired', 'verification_code_limit']) {
      assert.ok(errors.includes(code), code);
    }
  });
});
