import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { toHex } from '../protocol/bytes.js';
import { maskPan } from '../protocol/cards/index.js';
import { packMessage, unpackMessage, type IsoMessage } from '../protocol/iso8583/iso8583.js';
import { parseTlv } from '../protocol/tlv/tlv.js';
import {
  approve,
  build0100,
  NETWORK_DE55_HEX,
  startAcquirerTestEnv,
  TERMINAL_DE55_HEX,
  token,
  UNROUTABLE,
  type AcquirerTestEnv,
  type FakeReply,
} from './acquirer.test-helper.js';

let t: AcquirerTestEnv;
before(async () => {
  // A network deadline that a busy machine never reaches: the test of the deadline itself runs a second
  // acquirer with a short one.
  t = await startAcquirerTestEnv({ timeoutMs: 60_000 });
});
after(async () => {
  await t.close();
});
beforeEach(() => {
  t.network.received.length = 0;
  t.network.reply = (msg) => approve(msg);
});

const row = async (terminalStan: string) =>
  (await t.env.db.query<Record<string, unknown>>('SELECT * FROM acquirer.authorizations WHERE terminal_id = $1 AND stan = $2', [t.terminals.coffee.terminal, terminalStan])).rows[0]!;
const reversalOf = async (authorizationId: string) =>
  (await t.env.db.query<Record<string, unknown>>('SELECT * FROM acquirer.reversals WHERE authorization_id = $1', [authorizationId])).rows;

describe('acquirer: approvals and declines pass through', () => {
  it('the test ICC data is well-formed BER-TLV', () => {
    assert.ok(parseTlv(Buffer.from(TERMINAL_DE55_HEX, 'hex')).length > 5);
    assert.equal(parseTlv(Buffer.from(NETWORK_DE55_HEX, 'hex')).length, 2);
  });

  it('forwards a 0100 with DE 32, DE 37 and its own STAN/DE 7, and answers the network 0110 with the terminal keys', async () => {
    const pan = token('visa');
    const req = build0100({ pan, amount: 4250, terminal: t.terminals.coffee, extra: { 18: '5999', 43: 'SOMETHING ELSE                          ' } });
    const { message: res, raw } = await t.exchange(req);

    assert.equal(res.mti, '0110');
    assert.equal(res.fields[39], '00');
    assert.equal(res.fields[2], pan, 'DE 2 back to the token');
    assert.equal(res.fields[38], 'A1B2C3');
    assert.equal(toHex(res.fields[55] as Uint8Array), NETWORK_DE55_HEX, "the network's DE 55 (ARPC) reaches the terminal");
    assert.equal(res.fields[11], req.fields[11], "the terminal's STAN");
    assert.equal(res.fields[7], req.fields[7], "the terminal's DE 7");
    assert.equal(res.fields[4], '000000004250');
    assert.equal(res.fields[41], t.terminals.coffee.terminal_id);
    assert.match(res.fields[37] as string, /^\d{12}$/);

    assert.equal(t.network.received.length, 1);
    const sent = t.network.received[0]!;
    assert.equal(sent.brand, 'visa');
    assert.equal(sent.apiKey, t.networkApiKey);
    assert.equal(sent.timeoutMs, 60_000);
    assert.equal(sent.message.mti, '0100');
    assert.equal(sent.message.fields[2], pan);
    assert.equal(sent.message.fields[32], '000001');
    assert.equal(sent.message.fields[37], res.fields[37]);
    assert.match(sent.message.fields[11] as string, /^\d{6}$/);
    assert.match(sent.message.fields[7] as string, /^\d{10}$/);
    assert.equal(sent.message.fields[18], '5814', "the acquirer's registry sets the MCC");
    assert.equal((sent.message.fields[43] as string).trimEnd(), 'Corner Coffee            San FranciscoUS');
    assert.equal(toHex(sent.message.fields[55] as Uint8Array), TERMINAL_DE55_HEX, 'ICC data forwarded untouched');

    const r = await row(req.fields[11] as string);
    assert.equal(r.status, 'approved');
    assert.equal(r.response_code, '00');
    assert.equal(r.auth_code, 'A1B2C3');
    assert.equal(r.brand, 'visa');
    assert.equal(r.token_masked, maskPan(pan));
    assert.equal(Number(r.amount), 4250);
    assert.equal(r.network_stan, sent.message.fields[11]);
    // Both kept sealed (they carry the token number), opened by the acquirer's vault.
    const id = r.id as string;
    assert.ok(!toHex(new Uint8Array(r.response as Uint8Array)).includes(toHex(new TextEncoder().encode(pan))), 'the token is not at rest in clear');
    assert.equal(toHex(await t.acquirer.messages.open(r.response as Uint8Array, 'authorizations.response', id)), toHex(raw), 'the stored answer is the answer');
    assert.ok(Number(r.latency_ms) >= 0);
    assert.ok(!toHex(await t.acquirer.messages.open(r.forwarded as Uint8Array, 'authorizations.forwarded', id)).includes(TERMINAL_DE55_HEX), 'ICC data is not kept');
  });

  it('routes by token BIN to each network, and a card BIN by its network', async () => {
    for (const brand of ['mastercard', 'amex', 'discover', 'visa'] as const) {
      const { message } = await t.exchange(build0100({ pan: token(brand), terminal: t.terminals.coffee }));
      assert.equal(message.fields[39], '00');
      assert.equal(t.network.received.at(-1)!.brand, brand);
    }
    const { message } = await t.exchange(build0100({ pan: '5555555555554444', terminal: t.terminals.coffee }));
    assert.equal(message.fields[39], '00');
    assert.equal(t.network.received.at(-1)!.brand, 'mastercard');
  });

  it("passes a network decline through (DE 39 51) and records it", async () => {
    t.network.reply = (msg) => approve(msg, '51');
    const req = build0100({ terminal: t.terminals.coffee });
    const { message } = await t.exchange(req);
    assert.equal(message.fields[39], '51');
    assert.equal(message.fields[38], undefined);
    const r = await row(req.fields[11] as string);
    assert.equal(r.status, 'declined');
    assert.equal(r.response_code, '51');
  });

  it('answers 14 itself for a number no network takes, stored like any answer, without calling a network', async () => {
    const req = build0100({ pan: UNROUTABLE, terminal: t.terminals.coffee });
    const first = await t.exchange(req);
    assert.equal(first.message.fields[39], '14');
    assert.equal(first.message.fields[2], UNROUTABLE);
    assert.equal(first.message.fields[11], req.fields[11]);
    const again = await t.exchange(req);
    assert.equal(toHex(again.raw), toHex(first.raw));
    assert.equal(t.network.received.length, 0);
    assert.equal((await row(req.fields[11] as string)).status, 'declined');
  });

  it('answers 14 for a DE 2 that is no card number at all (bad Luhn, too short)', async () => {
    const good = token();
    const badLuhn = good.slice(0, -1) + String((Number(good.at(-1)) + 1) % 10);
    for (const pan of [badLuhn, '411111111111']) {
      const { message } = await t.exchange(build0100({ pan, terminal: t.terminals.coffee }));
      assert.equal(message.fields[39], '14');
    }
    assert.equal(t.network.received.length, 0);
  });

  it('answers 12 for a missing required element or an unsupported processing code, 13 for a zero amount', async () => {
    for (const [extra, code] of [
      [{ 4: undefined }, '12'],
      [{ 49: undefined }, '12'],
      [{ 2: undefined }, '12'],
      [{ 22: undefined }, '12'],
      [{ 3: '200000' }, '12'],
      [{ 4: '000000000000' }, '13'],
    ] as const) {
      const { message } = await t.exchange(build0100({ terminal: t.terminals.coffee, extra }));
      assert.equal(message.mti, '0110');
      assert.equal(message.fields[39], code, JSON.stringify(extra));
    }
    assert.equal(t.network.received.length, 0);
  });

  it("keeps a terminal's own DE 37, and refuses one it repeats under another STAN (12)", async () => {
    const rrn = 'TERMRRN00001';
    const first = await t.exchange(build0100({ terminal: t.terminals.coffee, extra: { 37: rrn } }));
    assert.equal(first.message.fields[37], rrn);
    assert.equal(t.network.received[0]!.message.fields[37], rrn);
    const second = await t.exchange(build0100({ terminal: t.terminals.coffee, extra: { 37: rrn } }));
    assert.equal(second.message.fields[39], '12');
    assert.equal(t.network.received.length, 1);
  });

  it('assigns a different RRN to every authorization', async () => {
    const rrns = new Set<string>();
    for (let i = 0; i < 10; i++) rrns.add((await t.exchange(build0100({ terminal: t.terminals.transit }), t.terminals.transit.secret)).message.fields[37] as string);
    assert.equal(rrns.size, 10);
  });
});

describe('acquirer: duplicate transmissions', () => {
  it('a byte-identical retransmission gets the stored answer; another message under the same STAN and DE 7 gets 94; one network call', async () => {
    const req = build0100({ amount: 1000, terminal: t.terminals.coffee });
    const first = await t.exchange(req);
    assert.equal(first.message.fields[39], '00');
    const again = await t.exchange(req);
    assert.equal(toHex(again.raw), toHex(first.raw), 'identical bytes');

    const changed = { mti: '0100', fields: { ...req.fields, 4: '000000001001' } };
    const dup = await t.exchange(changed);
    assert.equal(dup.message.mti, '0110');
    assert.equal(dup.message.fields[39], '94');
    assert.equal(dup.message.fields[4], '000000001001');
    assert.equal(dup.message.fields[11], req.fields[11]);
    assert.equal(t.network.received.length, 1, 'exactly one network call');
    assert.equal(Number((await row(req.fields[11] as string)).amount), 1000, 'the first message stands');
  });

  it('the same STAN and DE 7 from two terminals are two authorizations', async () => {
    const stan = '424242';
    const a = await t.exchange(build0100({ stan, terminal: t.terminals.coffee }));
    const b = await t.exchange(build0100({ stan, terminal: t.terminals.transit }), t.terminals.transit.secret);
    assert.equal(a.message.fields[39], '00');
    assert.equal(b.message.fields[39], '00');
    assert.equal(t.network.received.length, 2);
  });

  it('20 identical retransmissions at once: one network call, 20 identical answers', async () => {
    t.network.reply = (msg) => ({ ...approve(msg), delayMs: 80 });
    const bytes = packMessage(build0100({ terminal: t.terminals.coffee }));
    const answers = await Promise.all(Array.from({ length: 20 }, () => t.send(bytes)));
    for (const a of answers) assert.equal(a.statusCode, 200, a.body);
    const hexes = new Set(answers.map((a) => toHex(new Uint8Array(a.rawPayload))));
    assert.equal(hexes.size, 1);
    assert.equal(unpackMessage(new Uint8Array(answers[0]!.rawPayload)).fields[39], '00');
    assert.equal(t.network.received.length, 1);
  });

  it('20 different messages under one key at once: one network call, the others 94', async () => {
    t.network.reply = (msg) => ({ ...approve(msg), delayMs: 30 });
    const base = build0100({ terminal: t.terminals.coffee });
    const answers = await Promise.all(
      Array.from({ length: 20 }, (_, i) => t.send(packMessage({ mti: '0100', fields: { ...base.fields, 4: String(100 + i).padStart(12, '0') } }))),
    );
    const codes = answers.map((a) => unpackMessage(new Uint8Array(a.rawPayload)).fields[39]);
    assert.equal(codes.filter((c) => c === '00').length, 1);
    assert.equal(codes.filter((c) => c === '94').length, 19);
    assert.equal(t.network.received.length, 1);
  });
});

describe('acquirer: when the network does not answer', () => {
  it('a network slower than the timeout: 91 to the terminal at the timeout, and a pending reversal', async () => {
    // The network answers only once released, after the terminal has had its answer: the 91 cannot have
    // waited for it, however slowly the machine runs.
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const short = await t.sibling({ timeoutMs: 300 });
    short.network.reply = (msg) => ({ kind: 'hang', release: held.then(() => approve(msg)) });
    const exchange = async (msg: IsoMessage) => {
      const res = await short.app.inject({ method: 'POST', url: '/acquirer/v1/authorizations', headers: { authorization: `Bearer ${t.keys.terminal}`, 'content-type': 'application/octet-stream' }, payload: Buffer.from(packMessage(msg)) });
      assert.equal(res.statusCode, 200, res.body);
      return { message: unpackMessage(new Uint8Array(res.rawPayload)) };
    };
    try {
      const req = build0100({ terminal: t.terminals.coffee });
      const started = performance.now();
      const { message } = await exchange(req);
      const took = performance.now() - started;
      assert.equal(message.fields[39], '91');
      assert.equal(message.fields[2], req.fields[2]);
      assert.equal(message.fields[11], req.fields[11]);
      assert.ok(took >= 290, `answered after ${Math.round(took)} ms, before the 300 ms timeout`);
      const r = await row(req.fields[11] as string);
      assert.equal(r.status, 'timed_out');
      const revs = await reversalOf(r.id as string);
      assert.equal(revs.length, 1);
      assert.equal(revs[0]!.status, 'pending');
      assert.equal(revs[0]!.reason, 'network_timeout');
      // The retransmission gets the same 91, and no second network call.
      const again = await exchange(req);
      assert.equal(again.message.fields[39], '91');
      assert.equal(short.network.byMti('0100').length, 1);
    } finally {
      release();
    }
  });

  it('a network that cannot be reached: 91 and a reversal (network_error)', async () => {
    t.network.reply = () => ({ kind: 'unavailable' });
    const req = build0100({ terminal: t.terminals.coffee });
    assert.equal((await t.exchange(req)).message.fields[39], '91');
    const r = await row(req.fields[11] as string);
    assert.equal((await reversalOf(r.id as string))[0]!.reason, 'network_error');
  });

  it('a 5xx from the network: 91 and a reversal; bytes that are no 0110 for this message: 96 and a reversal', async () => {
    t.network.reply = () => ({ kind: 'raw', status: 500, body: { error: { code: 'internal_error' } } });
    const a = build0100({ terminal: t.terminals.coffee });
    assert.equal((await t.exchange(a)).message.fields[39], '91');
    assert.equal((await reversalOf((await row(a.fields[11] as string)).id as string)).length, 1);

    const replies: FakeReply[] = [
      { kind: 'raw', status: 200, raw: new Uint8Array([1, 2, 3]) },
      { kind: 'iso', message: { mti: '0110', fields: { 11: '999999', 39: '00' } } },
      { kind: 'iso', message: { mti: '0410', fields: { 39: '00' } } },
      { kind: 'iso', message: { mti: '0110', fields: { 2: '4111111111111111' } } },
    ];
    for (const reply of replies) {
      t.network.reply = () => reply;
      const req = build0100({ terminal: t.terminals.coffee });
      assert.equal((await t.exchange(req)).message.fields[39], '96', JSON.stringify(reply));
      const r = await row(req.fields[11] as string);
      assert.equal(r.status, 'timed_out');
      assert.equal((await reversalOf(r.id as string))[0]!.reason, 'network_error');
    }
  });

  it('a 4xx from the network (it refused the message): 96, nothing to reverse', async () => {
    t.network.reply = () => ({ kind: 'raw', status: 400, body: { error: { code: 'iso8583_invalid' } } });
    const req = build0100({ terminal: t.terminals.coffee });
    assert.equal((await t.exchange(req)).message.fields[39], '96');
    const r = await row(req.fields[11] as string);
    assert.equal(r.status, 'declined');
    assert.equal((await reversalOf(r.id as string)).length, 0);
  });
});

describe('acquirer: what is not this terminal\'s message', () => {
  it("DE 41 or DE 42 other than the key's terminal: 403 terminal_mismatch, nothing recorded", async () => {
    for (const extra of [{ 41: 'GATE0001' }, { 42: 'TSSMETROTRANSIT' }, { 41: undefined }, { 42: undefined }, { 41: 'NOSUCHT1' }]) {
      const req = build0100({ terminal: t.terminals.coffee, extra });
      const res = await t.send(packMessage(req));
      assert.equal(res.statusCode, 403, JSON.stringify(extra));
      assert.equal(res.json().error.type, 'permission_error');
      assert.equal(res.json().error.code, 'terminal_mismatch');
    }
    assert.equal(t.network.received.length, 0);
  });

  it('messages other than 0100 and 0400: 400 iso8583_invalid', async () => {
    const res = await t.send(packMessage({ mti: '0800', fields: { 7: '0615120000', 11: '000001', 70: '301' } }));
    assert.equal(res.statusCode, 400);
    assert.equal(res.json().error.code, 'iso8583_invalid');
    assert.equal(res.json().error.param, 'MTI');
  });

  it('garbage and truncated bodies: 400 iso8583_invalid with the codec message (no values)', async () => {
    const good = packMessage(build0100({ terminal: t.terminals.coffee }));
    for (const body of [new Uint8Array(0), new Uint8Array([0x30]), good.subarray(0, 20), good.subarray(0, good.length - 1), Buffer.concat([good, Buffer.from('xx')]), Buffer.from('hello world, not iso')]) {
      const res = await t.send(body);
      assert.equal(res.statusCode, 400, `${body.length} bytes → ${res.statusCode} ${res.body}`);
      assert.equal(res.json().error.code, 'iso8583_invalid');
      assert.ok(!res.body.includes('4895'), 'no token digits echoed');
    }
    const asJson = await t.app.inject({ method: 'POST', url: '/acquirer/v1/authorizations', headers: { authorization: `Bearer ${t.keys.terminal}` }, payload: { mti: '0100' } });
    assert.equal(asJson.statusCode, 400);
    assert.equal(asJson.json().error.code, 'iso8583_invalid');
    assert.equal(t.network.received.length, 0);
  });

  it('a suspended terminal: 403 terminal_inactive', async () => {
    const created = await t.app.inject({
      method: 'POST',
      url: `/acquirer/v1/merchants/${t.terminals.coffee.merchant_id}/terminals`,
      headers: { authorization: `Bearer ${t.keys.admin}` },
      payload: { kind: 'contactless', terminal_id: 'SUSPEND1' },
    });
    assert.equal(created.statusCode, 201, created.body);
    const { terminal, api_key } = created.json();
    await t.env.db.query(`UPDATE acquirer.terminals SET status = 'suspended' WHERE id = $1`, [terminal.id]);
    const res = await t.send(packMessage(build0100({ terminal: { terminal_id: 'SUSPEND1', card_acceptor_id: t.terminals.coffee.card_acceptor_id } })), api_key.secret);
    assert.equal(res.statusCode, 403);
    assert.equal(res.json().error.code, 'terminal_inactive');
  });
});
