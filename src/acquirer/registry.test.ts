import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Validator } from '@seriousme/openapi-schema-validator';
import { InjectTransport, PartyError } from '../infra/transport.js';
import { packMessage, unpackMessage } from '../protocol/iso8583/iso8583.js';
import { approve, build0100, startAcquirerTestEnv, token, type AcquirerTestEnv } from './acquirer.test-helper.js';
import { AcquirerClient } from './client.js';
import { SANDBOX_ACQUIRER } from './seed.js';

let t: AcquirerTestEnv;
before(async () => {
  t = await startAcquirerTestEnv();
});
after(async () => {
  await t.close();
});

const admin = (method: 'GET' | 'POST', url: string, payload?: unknown, headers: Record<string, string> = {}) =>
  t.app.inject({ method, url, headers: { authorization: `Bearer ${t.keys.admin}`, ...headers }, ...(payload !== undefined ? { payload: payload as Record<string, unknown> } : {}) });

describe('acquirer: the sandbox seed', () => {
  it('creates Corner Coffee, Metro Transit and Tessera Online Store, each with a terminal and a key shown once', async () => {
    assert.deepEqual(Object.keys(t.terminals).sort(), ['coffee', 'online', 'transit']);
    assert.equal(t.terminals.coffee.merchant_name, 'Corner Coffee');
    assert.equal(t.terminals.transit.kind, 'contactless');
    assert.equal(t.terminals.online.kind, 'ecommerce');
    for (const s of Object.values(t.terminals)) {
      assert.match(s.secret, /^tsk_terminal_/);
      assert.match(s.terminal, /^term_/);
      assert.match(s.merchant_id, /^mer_/);
    }
    const mccs = (await t.env.db.query<{ name: string; mcc: string }>('SELECT name, mcc FROM acquirer.merchants ORDER BY name')).rows;
    assert.deepEqual(
      Object.fromEntries(mccs.map((m) => [m.name, m.mcc])),
      { 'Corner Coffee': '5814', 'Metro Transit': '4111', 'Tessera Online Store': '5999' },
    );
  });

  it('is idempotent: same ids, no new key, the old keys still work; a configured key is registered', async () => {
    const again = await t.acquirer.seed();
    for (const s of again) {
      assert.equal(s.new_api_key, undefined);
      assert.equal(s.terminal, t.terminals[s.key].terminal);
      assert.equal(s.merchant_id, t.terminals[s.key].merchant_id);
    }
    assert.equal((await t.env.db.query<{ n: number }>('SELECT count(*)::int AS n FROM acquirer.terminals')).rows[0]!.n >= 3, true);
    const configured = `tsk_terminal_${'C'.repeat(40)}`;
    await t.acquirer.seed({ terminalKeys: { transit: configured } });
    await t.acquirer.seed({ terminalKeys: { transit: configured } });
    const { message } = await t.exchange(build0100({ terminal: t.terminals.transit }), configured);
    assert.equal(message.fields[39], '00');
    assert.equal(SANDBOX_ACQUIRER.length, 3);
  });
});

describe('acquirer: merchants and terminals (admin)', () => {
  let merchantId: string;

  it('signs a merchant up, with DE 42 and DE 43 generated; an Idempotency-Key replays', async () => {
    const body = { name: 'Bakery on Main', mcc: '5462', country: 'GB', city: 'London', currency: 'GBP' };
    const res = await admin('POST', '/acquirer/v1/merchants', body, { 'idempotency-key': 'bakery-1' });
    assert.equal(res.statusCode, 201, res.body);
    const m = res.json();
    merchantId = m.id;
    assert.match(m.id, /^mer_/);
    assert.equal(m.object, 'merchant');
    assert.match(m.card_acceptor_id, /^TSS\d{12}$/);
    assert.equal(m.name_location.length, 40);
    assert.equal(m.name_location, `${'Bakery on Main'.padEnd(25)}${'London'.padEnd(13)}GB`);
    const replay = await admin('POST', '/acquirer/v1/merchants', body, { 'idempotency-key': 'bakery-1' });
    assert.equal(replay.json().id, m.id);
    assert.equal((await admin('POST', '/acquirer/v1/merchants', { ...body, mcc: '5411' }, { 'idempotency-key': 'bakery-1' })).statusCode, 422);
  });

  it('refuses a taken DE 42 (409), an unknown currency and bad fields (400)', async () => {
    const base = { name: 'Dup', mcc: '5411', country: 'US', city: 'Boston', currency: 'USD' };
    const dup = await admin('POST', '/acquirer/v1/merchants', { ...base, card_acceptor_id: 'TSSCORNERCOFFEE' });
    assert.equal(dup.statusCode, 409);
    assert.equal(dup.json().error.code, 'card_acceptor_id_taken');
    assert.equal((await admin('POST', '/acquirer/v1/merchants', { ...base, currency: 'XXX' })).json().error.param, 'currency');
    for (const bad of [{ mcc: '54' }, { country: 'usa' }, { city: 'A city name longer than 13' }, { card_acceptor_id: 'short' }, { extra: 1 }]) {
      const res = await admin('POST', '/acquirer/v1/merchants', { ...base, ...bad });
      assert.equal(res.statusCode, 400, JSON.stringify(bad));
    }
  });

  it('adds a terminal with its API key (shown once), which then authorizes as that terminal', async () => {
    const res = await admin('POST', `/acquirer/v1/merchants/${merchantId}/terminals`, { kind: 'contactless', terminal_id: 'BAKERY01', name: 'Till' });
    assert.equal(res.statusCode, 201, res.body);
    const { terminal, api_key } = res.json();
    assert.match(terminal.id, /^term_/);
    assert.equal(terminal.terminal_id, 'BAKERY01');
    assert.match(api_key.secret, /^tsk_terminal_/);
    const merchant = (await admin('GET', `/acquirer/v1/merchants/${merchantId}`)).json();
    const { message } = await t.exchange(build0100({ terminal: { terminal_id: 'BAKERY01', card_acceptor_id: merchant.card_acceptor_id }, extra: { 49: '826' } }), api_key.secret);
    assert.equal(message.fields[39], '00');
    assert.equal(t.network.received.at(-1)!.message.fields[18], '5462');
    // Its key is not the coffee shop's terminal.
    const other = await t.send(packMessage(build0100({ terminal: t.terminals.coffee })), api_key.secret);
    assert.equal(other.statusCode, 403);

    const dup = await admin('POST', `/acquirer/v1/merchants/${merchantId}/terminals`, { kind: 'contactless', terminal_id: 'BAKERY01' });
    assert.equal(dup.statusCode, 409);
    assert.equal(dup.json().error.code, 'terminal_id_taken');
    const generated = (await admin('POST', `/acquirer/v1/merchants/${merchantId}/terminals`, { kind: 'ecommerce' })).json();
    assert.match(generated.terminal.terminal_id, /^T\d{7}$/);
    assert.equal((await admin('POST', '/acquirer/v1/merchants/mer_nope/terminals', { kind: 'ecommerce' })).statusCode, 404);
  });

  it('lists merchants and terminals newest first, with cursors', async () => {
    const list = (await admin('GET', '/acquirer/v1/merchants?limit=2')).json();
    assert.equal(list.object, 'list');
    assert.equal(list.data.length, 2);
    assert.equal(list.has_more, true);
    assert.equal(list.data[0].id, merchantId);
    const next = (await admin('GET', `/acquirer/v1/merchants?limit=100&starting_after=${list.data[1].id}`)).json();
    assert.ok(next.data.every((m: { id: string }) => m.id < list.data[1].id));
    const terminals = (await admin('GET', `/acquirer/v1/merchants/${merchantId}/terminals`)).json();
    assert.equal(terminals.data.length, 2);
    assert.equal(terminals.data[1].terminal_id, 'BAKERY01');
    assert.equal((await admin('GET', '/acquirer/v1/merchants/mer_nope/terminals')).statusCode, 404);
    assert.equal((await admin('GET', '/acquirer/v1/merchants/mer_nope')).statusCode, 404);
  });

  it('lists authorizations with masked tokens only', async () => {
    const pan = token('amex');
    await t.exchange(build0100({ pan, terminal: t.terminals.coffee }));
    const res = await admin('GET', `/acquirer/v1/authorizations?merchant_id=${t.terminals.coffee.merchant_id}&limit=1`);
    assert.equal(res.statusCode, 200);
    const a = res.json().data[0];
    assert.equal(a.object, 'authorization');
    assert.equal(a.brand, 'amex');
    assert.equal(a.token_masked, `${pan.slice(0, 6)}*****${pan.slice(-4)}`);
    assert.equal(a.terminal_id, 'COFFEE01');
    assert.equal(a.currency, 'USD');
    assert.equal(a.status, 'approved');
    assert.ok(!res.body.includes(pan));
    const byTerminal = (await admin('GET', `/acquirer/v1/authorizations?terminal=${t.terminals.online.terminal}`)).json();
    assert.equal(byTerminal.data.length, 0);
  });
});

describe('acquirer: settlement', () => {
  it("clears one UTC day's approved, unreversed authorizations per merchant with totals", async () => {
    const day = '2031-03-04';
    const sibling = await t.sibling({ clock: () => new Date(`${day}T10:00:00Z`) });
    const send = (req: ReturnType<typeof build0100>, key = t.terminals.coffee.secret) =>
      sibling.app.inject({ method: 'POST', url: '/acquirer/v1/authorizations', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/octet-stream' }, payload: Buffer.from(packMessage(req)) });
    const codes: Record<number, string> = { 100: '00', 250: '00', 999: '51', 4000: '00' };
    sibling.network.reply = (m) => approve(m, codes[Number(m.fields[4])] ?? '00');
    for (const amount of [100, 250, 999]) await send(build0100({ amount, terminal: t.terminals.coffee }));
    await send(build0100({ amount: 4000, terminal: t.terminals.transit }), t.terminals.transit.secret);
    await send(build0100({ amount: 4000, terminal: t.terminals.transit, extra: { 49: '978' } }), t.terminals.transit.secret);

    const res = await admin('GET', `/acquirer/v1/settlement?date=${day}`);
    assert.equal(res.statusCode, 200, res.body);
    const file = res.json();
    assert.equal(file.object, 'settlement');
    assert.equal(file.acquirer_id, '000001');
    assert.deepEqual(file.totals, [
      { currency: 'USD', count: 3, amount: 4350 },
      { currency: 'EUR', count: 1, amount: 4000 },
    ]);
    const coffee = file.merchants.find((m: { merchant_id: string }) => m.merchant_id === t.terminals.coffee.merchant_id);
    assert.deepEqual(coffee.totals, [{ currency: 'USD', count: 2, amount: 350 }]);
    assert.equal(coffee.authorizations.length, 2);
    assert.equal(coffee.authorizations[0].terminal_id, 'COFFEE01');
    assert.match(coffee.authorizations[0].token_masked, /^\d{6}\*+\d{4}$/);
    assert.equal(coffee.authorizations[0].auth_code, 'A1B2C3');

    assert.deepEqual((await admin('GET', '/acquirer/v1/settlement?date=2031-03-05')).json().merchants, []);
    for (const bad of ['2031-02-30', '20310304', 'yesterday']) assert.equal((await admin('GET', `/acquirer/v1/settlement?date=${bad}`)).statusCode, 400, bad);
  });
});

describe('acquirer: the terminal client', () => {
  it('authorizes over a transport, and throws PartyError for what is not a message', async () => {
    const client = new AcquirerClient(new InjectTransport(() => t.app), t.terminals.coffee.secret);
    const answer = unpackMessage(await client.authorize(packMessage(build0100({ terminal: t.terminals.coffee }))));
    assert.equal(answer.fields[39], '00');
    await assert.rejects(client.authorize(new Uint8Array([1, 2, 3])), (err: unknown) => err instanceof PartyError && err.status === 400 && err.code === 'iso8583_invalid');
    const stranger = new AcquirerClient(new InjectTransport(() => t.app), t.terminals.online.secret);
    await assert.rejects(stranger.authorize(packMessage(build0100({ terminal: t.terminals.coffee }))), (err: unknown) => err instanceof PartyError && err.status === 403);
    const reversal = unpackMessage(
      await client.reverse(packMessage({ mti: '0400', fields: { 7: '0615120000', 11: '000777', 41: 'COFFEE01', 42: 'TSSCORNERCOFFEE', 90: `0100999999${'0'.repeat(32)}` } })),
    );
    assert.equal(reversal.mti, '0410');
    assert.equal(reversal.fields[39], '25');
  });
});

describe('acquirer: OpenAPI', () => {
  it('documents every route in a valid OpenAPI 3.1 document, with the catalogue codes', async () => {
    const doc = (await t.app.inject({ method: 'GET', url: '/openapi.json' })).json();
    const result = await new Validator().validate(doc);
    assert.equal(result.valid, true, JSON.stringify(result.errors));
    for (const path of ['/acquirer/v1/authorizations', '/acquirer/v1/merchants', '/acquirer/v1/merchants/{merchant_id}', '/acquirer/v1/merchants/{merchant_id}/terminals', '/acquirer/v1/settlement']) {
      assert.ok(doc.paths[path], path);
    }
    const codes = (await t.app.inject({ method: 'GET', url: '/v1/errors' })).json().data.map((e: { code: string }) => e.code);
    for (const code of ['iso8583_invalid', 'terminal_mismatch', 'terminal_inactive', 'terminal_id_taken', 'card_acceptor_id_taken']) assert.ok(codes.includes(code), code);
  });
});
