import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { randomBase62 } from '../infra/ids.js';
import { startIssuerTestEnv, type IssuerTestEnv } from '../../test/helpers/issuer-env.js';
import type { Network } from '../protocol/cards/index.js';
import { SANDBOX_CARDS } from './sandbox-cards.js';

/** A verification as the tests hold it: the key of the network that asked for it goes with it. */
type Held = { id: string; issuerId: string; auth?: string };

let t: IssuerTestEnv;
before(async () => {
  t = await startIssuerTestEnv();
});
after(async () => {
  await t.close();
});

const MINUTE = 60_000;

/** A fresh yellow verification of the given network's yellow card. */
async function yellow(network = 'visa', auth = t.keys.networks[network as Network]): Promise<Required<Held>> {
  const c = SANDBOX_CARDS.find((x) => x.key === `${network}_yellow`)!;
  const res = await t.request({
    method: 'POST',
    url: `/issuer/${c.issuerId}/v1/card-verifications`,
    auth,
    payload: { pan: c.number, exp_month: 12, exp_year: 2030, cvv: c.cvv, network: c.network, token_requestor_id: '40010030273', token_ref: `tok_${randomBase62(20)}`, device: { id: 'dev_w', kind: 'watch' }, device_score: 4 },
  });
  assert.equal(res.json().decision, 'yellow', res.body);
  return { id: res.json().id, issuerId: c.issuerId, auth };
}

function send(v: Held, method_id = 'sms', auth = v.auth ?? t.keys.network, headers: Record<string, string> = {}) {
  return t.request({ method: 'POST', url: `/issuer/${v.issuerId}/v1/card-verifications/${v.id}/otp`, auth, payload: { method_id }, headers });
}

function confirm(v: Held, code: string, auth = v.auth ?? t.keys.network, headers: Record<string, string> = {}) {
  return t.request({ method: 'POST', url: `/issuer/${v.issuerId}/v1/card-verifications/${v.id}/confirm`, auth, payload: { code }, headers });
}

async function messages(v: Held, auth = v.auth ?? t.keys.network) {
  return t.request({ method: 'GET', url: `/issuer/${v.issuerId}/v1/card-verifications/${v.id}/messages`, auth });
}

/** The code of the newest simulated message (what the cardholder reads on the phone). */
async function latestCode(v: { id: string; issuerId: string }): Promise<string> {
  const res = await messages(v);
  assert.equal(res.statusCode, 200, res.body);
  const m = /\b(\d{6})\b/.exec(res.json().data[0].body);
  assert.ok(m, 'the message carries a 6-digit code');
  return m[1]!;
}

function wrongCode(code: string): string {
  return String((Number(code) + 1) % 1_000_000).padStart(6, '0');
}

describe('one-time codes', () => {
  it('sends a code by SMS, lists the simulated message, confirms to green; confirming again is the same success', async () => {
    const v = await yellow('mastercard');
    const sent = await send(v, 'sms');
    assert.equal(sent.statusCode, 200, sent.body);
    assert.equal(sent.json().sent, true);
    assert.equal(sent.json().method_id, 'sms');
    assert.equal(sent.json().expires_at, new Date(t.clock.now().getTime() + 10 * MINUTE).toISOString());

    const list = (await messages(v)).json();
    assert.equal(list.object, 'list');
    assert.equal(list.has_more, false);
    assert.equal(list.data.length, 1);
    const c = SANDBOX_CARDS.find((x) => x.key === 'mastercard_yellow')!;
    assert.equal(list.data[0].channel, 'sms');
    assert.equal(list.data[0].destination, `•••• ${c.phone.slice(-4)}`);
    assert.match(list.data[0].body, /Tessera Bank/);
    assert.match(list.data[0].body, new RegExp(`ending ${c.number.slice(-4)}`));
    assert.ok(!list.data[0].body.includes(c.number));

    const code = await latestCode(v);
    const ok = await confirm(v, code);
    assert.equal(ok.statusCode, 200, ok.body);
    assert.deepEqual(ok.json(), { id: v.id, object: 'card_verification', decision: 'green', status: 'verified' });
    const again = await confirm(v, code);
    assert.deepEqual(again.json(), ok.json());
    // Once verified, nothing more to send.
    assert.equal((await send(v)).json().error.code, 'verification_not_pending');
  });

  it('sends by e-mail to the masked address', async () => {
    const v = await yellow('amex');
    assert.equal((await send(v, 'email')).statusCode, 200);
    const m = (await messages(v)).json().data[0];
    assert.equal(m.channel, 'email');
    assert.equal(m.destination, 'g•••@example.com');
    assert.match(m.body, /^Subject: /);
    assert.equal((await confirm(v, await latestCode(v))).statusCode, 200);
  });

  it('a wrong code says how many attempts are left; the third locks the verification for good', async () => {
    const v = await yellow('discover');
    await send(v);
    const code = await latestCode(v);
    const first = await confirm(v, wrongCode(code));
    assert.equal(first.statusCode, 402);
    assert.equal(first.json().error.code, 'verification_code_incorrect');
    assert.match(first.json().error.message, /2 attempts left/);
    assert.ok(!first.body.includes(code));
    const second = await confirm(v, wrongCode(code));
    assert.match(second.json().error.message, /1 attempt left/);
    const third = await confirm(v, wrongCode(code));
    assert.equal(third.json().error.code, 'verification_locked');
    // Locked: the right code, a new code, nothing opens it again.
    assert.equal((await confirm(v, code)).json().error.code, 'verification_locked');
    assert.equal((await send(v)).json().error.code, 'verification_locked');
  });

  it('attempts count across resent codes', async () => {
    const v = await yellow('visa');
    await send(v);
    await confirm(v, wrongCode(await latestCode(v)));
    await confirm(v, wrongCode(await latestCode(v)));
    await send(v, 'email');
    const code = await latestCode(v);
    assert.equal((await confirm(v, wrongCode(code))).json().error.code, 'verification_locked');
  });

  it('a code expires after 10 minutes; a new one can be requested and works', async () => {
    const v = await yellow('visa');
    await send(v);
    const old = await latestCode(v);
    t.clock.advance(10 * MINUTE - 1000);
    t.clock.advance(1000);
    const expired = await confirm(v, old);
    assert.equal(expired.statusCode, 402);
    assert.equal(expired.json().error.code, 'verification_expired');
    assert.equal((await confirm(v, old)).json().error.code, 'verification_expired');
    assert.equal((await send(v)).statusCode, 200);
    const fresh = await latestCode(v);
    assert.equal((await messages(v)).json().data.length, 2);
    if (fresh !== old) assert.equal((await confirm(v, old)).json().error.code, 'verification_code_incorrect');
    assert.equal((await confirm(v, fresh)).json().status, 'verified');
  });

  it('a code is still good just before its 10 minutes end', async () => {
    const v = await yellow('mastercard');
    await send(v);
    t.clock.advance(10 * MINUTE - 1);
    assert.equal((await confirm(v, await latestCode(v))).statusCode, 200);
  });

  it('a resent code replaces the previous one', async () => {
    const v = await yellow('amex');
    await send(v);
    const first = await latestCode(v);
    await send(v);
    const second = await latestCode(v);
    if (first !== second) assert.equal((await confirm(v, first)).json().error.code, 'verification_code_incorrect');
    assert.equal((await confirm(v, second)).statusCode, 200);
  });

  it('at most 5 codes per verification', async () => {
    const v = await yellow('discover');
    for (let i = 0; i < 5; i++) assert.equal((await send(v, i % 2 ? 'email' : 'sms')).statusCode, 200);
    const sixth = await send(v);
    assert.equal(sixth.statusCode, 409);
    assert.equal(sixth.json().error.code, 'verification_code_limit');
    assert.equal((await messages(v)).json().data.length, 5);
    assert.equal((await confirm(v, await latestCode(v))).statusCode, 200);
  });

  it('refuses confirming before a code was sent, codes for green or red verifications, and unknown methods', async () => {
    const v = await yellow('visa');
    const early = await confirm(v, '123456');
    assert.equal(early.statusCode, 409);
    assert.equal(early.json().error.code, 'verification_not_pending');
    const c = SANDBOX_CARDS.find((x) => x.key === 'visa_green')!;
    const green = await t.request({
      method: 'POST',
      url: `/issuer/${c.issuerId}/v1/card-verifications`,
      auth: t.keys.network,
      payload: { pan: c.number, exp_month: 12, exp_year: 2030, cvv: '123', network: 'visa', token_requestor_id: '40010030273', token_ref: `tok_${randomBase62(20)}`, device: { id: 'd', kind: 'phone' }, device_score: 5 },
    });
    const g = { id: green.json().id as string, issuerId: c.issuerId };
    assert.equal((await send(g)).json().error.code, 'verification_not_pending');
    // A green verification is verified already: confirming it is not how it got there.
    assert.equal((await confirm(g, '123456')).json().error.code, 'verification_not_pending');
    const bad = await send(v, 'push');
    assert.equal(bad.statusCode, 400);
    assert.equal(bad.json().error.param, 'method_id');
    const badCode = await confirm(v, '12345');
    assert.equal(badCode.statusCode, 400);
  });

  it('concurrent wrong codes: each counted once, never two "third tries"', async () => {
    const v = await yellow('mastercard');
    await send(v);
    const code = await latestCode(v);
    const results = await Promise.all(Array.from({ length: 6 }, () => confirm(v, wrongCode(code))));
    const codes = results.map((r) => r.json().error.code as string);
    assert.equal(codes.filter((c) => c === 'verification_code_incorrect').length, 2, codes.join());
    assert.equal(codes.filter((c) => c === 'verification_locked').length, 4, codes.join());
    const messagesLeft = results.filter((r) => r.json().error.code === 'verification_code_incorrect').map((r) => r.json().error.message as string).sort();
    assert.deepEqual(messagesLeft.map((m) => /(\d) attempt/.exec(m)![1]), ['1', '2']);
    const { rows } = await t.env.db.query<{ attempts: number; status: string }>('SELECT attempts, status FROM issuer.verifications WHERE id = $1', [v.id]);
    assert.equal(Number(rows[0]!.attempts), 3);
    assert.equal(rows[0]!.status, 'locked');
  });

  it('concurrent right and wrong codes: the verification ends verified or counted, consistently', async () => {
    const v = await yellow('visa');
    await send(v);
    const code = await latestCode(v);
    const results = await Promise.all([confirm(v, code), confirm(v, code), confirm(v, wrongCode(code)), confirm(v, code)]);
    const ok = results.filter((r) => r.statusCode === 200);
    assert.ok(ok.length >= 3, results.map((r) => r.body).join('\n'));
    for (const r of ok) assert.equal(r.json().status, 'verified');
    const { rows } = await t.env.db.query<{ status: string; attempts: number }>('SELECT status, attempts FROM issuer.verifications WHERE id = $1', [v.id]);
    assert.equal(rows[0]!.status, 'verified');
    assert.ok(Number(rows[0]!.attempts) <= 1);
  });

  it('Idempotency-Key on confirm replays the first answer (a wrong code is not counted twice)', async () => {
    const v = await yellow('discover');
    await send(v);
    const code = await latestCode(v);
    const headers = { 'idempotency-key': `confirm-${randomBase62(8)}` };
    const a = await confirm(v, wrongCode(code), v.auth, headers);
    const b = await confirm(v, wrongCode(code), v.auth, headers);
    assert.equal(a.json().error.message, b.json().error.message);
    assert.equal(b.headers['idempotent-replayed'], 'true');
    const { rows } = await t.env.db.query<{ attempts: number }>('SELECT attempts FROM issuer.verifications WHERE id = $1', [v.id]);
    assert.equal(Number(rows[0]!.attempts), 1);
    const sendHeaders = { 'idempotency-key': `send-${randomBase62(8)}` };
    await send(v, 'sms', v.auth, sendHeaders);
    await send(v, 'sms', v.auth, sendHeaders);
    assert.equal((await messages(v)).json().data.length, 2);
  });

  it("another network's verification is not found; the issuer's own key sees it", async () => {
    const v = await yellow('visa');
    await send(v);
    for (const res of [await send(v, 'sms', t.keys.otherNetwork), await confirm(v, '000000', t.keys.otherNetwork), await messages(v, t.keys.otherNetwork)]) {
      assert.equal(res.statusCode, 404);
      assert.equal(res.json().error.code, 'resource_missing');
    }
    assert.equal((await messages(v, t.keys.tesseraBank)).statusCode, 200);
    // The other issuer's key: that issuer does not exist as far as it is concerned.
    assert.equal((await messages(v, t.keys.creditUnion)).statusCode, 404);
    // Unknown verification ids, and a verification looked for under another issuer.
    assert.equal((await messages({ id: 'civ_nope', issuerId: v.issuerId })).statusCode, 404);
    assert.equal((await messages({ id: v.id, issuerId: 'iss_sandbox_credit_union' })).statusCode, 404);
  });
});
