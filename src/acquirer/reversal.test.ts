import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { toHex } from '../protocol/bytes.js';
import { packMessage, unpackMessage, type IsoMessage } from '../protocol/iso8583/iso8583.js';
import { approve, build0100, build0400, startAcquirerTestEnv, UNROUTABLE, type AcquirerTestEnv, type FakeReply } from './acquirer.test-helper.js';

let t: AcquirerTestEnv;
before(async () => {
  t = await startAcquirerTestEnv({ reversal: { maxAttempts: 4, baseDelayMs: 1000, maxDelayMs: 60_000 } });
});
after(async () => {
  await t.close();
});
beforeEach(async () => {
  // Each test starts with nothing owed: earlier tests' reversals are settled.
  t.network.reply = (msg) => approve(msg);
  t.clock.advance(3_600_000);
  await t.acquirer.runPendingReversals();
  t.network.received.length = 0;
});

const authorizationRow = async (terminalStan: string, terminal = t.terminals.coffee.terminal) =>
  (await t.env.db.query<Record<string, unknown>>('SELECT * FROM acquirer.authorizations WHERE terminal_id = $1 AND stan = $2', [terminal, terminalStan])).rows[0]!;
const reversals = async (authorizationId: string) =>
  (await t.env.db.query<Record<string, unknown>>('SELECT * FROM acquirer.reversals WHERE authorization_id = $1', [authorizationId])).rows;

/** An authorization the network never answers in time: 91, and a reversal owed. */
async function timedOut(): Promise<{ req: IsoMessage; forwarded: IsoMessage; id: string }> {
  t.network.reply = (msg) => ({ ...approve(msg), delayMs: 1500 });
  const req = build0100({ terminal: t.terminals.coffee });
  assert.equal((await t.exchange(req)).message.fields[39], '91');
  const forwarded = t.network.byMti('0100').at(-1)!.message;
  t.network.reply = (msg) => approve(msg);
  return { req, forwarded, id: (await authorizationRow(req.fields[11] as string)).id as string };
}

describe('acquirer: reversals after a timeout', () => {
  it('sends a 0400 naming the forwarded 0100 in DE 90 and stops when the 0410 comes back', async () => {
    const { req, forwarded, id } = await timedOut();
    t.network.received.length = 0;
    assert.equal(await t.acquirer.runPendingReversals(), 1);
    const sent = t.network.byMti('0400');
    assert.equal(sent.length, 1);
    const r = sent[0]!.message;
    assert.equal(sent[0]!.brand, 'visa');
    assert.equal(sent[0]!.apiKey, t.networkApiKey);
    assert.equal(r.fields[90], `0100${forwarded.fields[11] as string}${forwarded.fields[7] as string}${'00000000001'}${'00000000000'}`);
    assert.equal((r.fields[90] as string).length, 42);
    assert.equal(r.fields[2], req.fields[2], 'the token');
    assert.equal(r.fields[4], req.fields[4]);
    assert.equal(r.fields[49], req.fields[49]);
    assert.equal(r.fields[37], forwarded.fields[37], 'the same RRN');
    assert.equal(r.fields[32], '000001');
    assert.equal(r.fields[41], req.fields[41]);
    assert.equal(r.fields[42], req.fields[42]);
    assert.notEqual(r.fields[11], forwarded.fields[11], 'a reversal has its own STAN');
    assert.equal(r.fields[55], undefined, 'no ICC data in a reversal');

    const [rev] = await reversals(id);
    assert.equal(rev!.status, 'acknowledged');
    assert.equal(rev!.response_code, '00');
    assert.equal(rev!.attempts, 1);
    assert.equal((await authorizationRow(req.fields[11] as string)).status, 'reversed');

    // Nothing more to send, however often the worker runs.
    t.clock.advance(3_600_000);
    assert.equal(await t.acquirer.runPendingReversals(), 0);
    assert.equal(t.network.byMti('0400').length, 1);
    // The terminal's retransmission still gets its 91.
    assert.equal((await t.exchange(req)).message.fields[39], '91');
  });

  it('retries with exponential backoff, the same bytes every time, until acknowledged', async () => {
    const { id } = await timedOut();
    t.network.received.length = 0;
    const replies: FakeReply['kind'][] = ['unavailable', 'raw', 'iso'];
    let n = 0;
    t.network.reply = (msg) => {
      const kind = replies[n++];
      if (kind === 'unavailable') return { kind: 'unavailable' };
      if (kind === 'raw') return { kind: 'raw', status: 503, body: { error: { code: 'service_unavailable' } } };
      return approve(msg);
    };
    assert.equal(await t.acquirer.runPendingReversals(), 0);
    let [rev] = await reversals(id);
    assert.equal(rev!.status, 'pending');
    assert.equal(rev!.attempts, 1);
    assert.match(String(rev!.last_error), /no answer/);

    // Not due yet: the first retry waits timeout + 1 s.
    assert.equal(await t.acquirer.runPendingReversals(), 0);
    assert.equal(t.network.byMti('0400').length, 1);
    t.clock.advance(1_400);
    assert.equal(await t.acquirer.runPendingReversals(), 0);
    assert.equal(t.network.byMti('0400').length, 2);
    // The second retry waits 2 s: 1.4 s is not enough.
    t.clock.advance(1_400);
    assert.equal(await t.acquirer.runPendingReversals(), 0);
    assert.equal(t.network.byMti('0400').length, 2);
    t.clock.advance(1_000);
    assert.equal(await t.acquirer.runPendingReversals(), 1);
    const sent = t.network.byMti('0400');
    assert.equal(sent.length, 3);
    assert.equal(new Set(sent.map((s) => toHex(s.raw))).size, 1, 'byte-identical repeats');
    [rev] = await reversals(id);
    assert.equal(rev!.status, 'acknowledged');
    assert.equal(rev!.attempts, 3);
  });

  it('a 0410 that refuses the reversal (12) fails it at once, for the operator; 25 (no original at the network) settles it', async () => {
    const refused = await timedOut();
    t.network.received.length = 0;
    t.network.reply = (m) => approve(m, '12');
    assert.equal(await t.acquirer.runPendingReversals(), 0);
    const [rev] = await reversals(refused.id);
    assert.equal(rev!.status, 'failed');
    assert.equal(rev!.attempts, 1);
    assert.match(String(rev!.last_error), /answered 12/);
    t.clock.advance(3_600_000);
    assert.equal(await t.acquirer.runPendingReversals(), 0);
    assert.equal(t.network.byMti('0400').length, 1);

    const unknown = await timedOut();
    t.network.reply = (m) => approve(m, '25');
    assert.equal(await t.acquirer.runPendingReversals(), 1);
    assert.equal((await reversals(unknown.id))[0]!.status, 'acknowledged');
    assert.equal((await t.env.db.query<{ status: string }>('SELECT status FROM acquirer.authorizations WHERE id = $1', [unknown.id])).rows[0]!.status, 'reversed');
  });

  it('a 0410 with 91/96 or for another STAN is not an acknowledgement; after the last attempt the reversal is failed', async () => {
    const { id } = await timedOut();
    t.network.received.length = 0;
    const answers: ((m: IsoMessage) => FakeReply)[] = [
      (m) => approve(m, '96'),
      (m) => approve(m, '91'),
      (m) => ({ kind: 'iso', message: { mti: '0410', fields: { ...m.fields, 11: '000000', 39: '00' } } }),
      (m) => ({ kind: 'iso', message: { mti: '0110', fields: { ...m.fields, 39: '00' } } }),
    ];
    let n = 0;
    t.network.reply = (m) => answers[n++]!(m);
    for (let i = 0; i < 4; i++) {
      assert.equal(await t.acquirer.runPendingReversals(), 0);
      t.clock.advance(120_000);
    }
    const [rev] = await reversals(id);
    assert.equal(rev!.status, 'failed');
    assert.equal(rev!.attempts, 4);
    assert.equal(t.network.byMti('0400').length, 4);
    t.clock.advance(3_600_000);
    t.network.reply = (m) => approve(m);
    assert.equal(await t.acquirer.runPendingReversals(), 0);
    assert.equal(t.network.byMti('0400').length, 4, 'a failed reversal is left to the operator');
    assert.equal((await t.env.db.query<{ status: string }>('SELECT status FROM acquirer.authorizations WHERE id = $1', [id])).rows[0]!.status, 'timed_out');
  });

  it('workers running at once send a reversal once: one 0400, one acknowledgement', async () => {
    const { id } = await timedOut();
    t.network.received.length = 0;
    t.network.reply = (m) => ({ ...approve(m), delayMs: 50 });
    const sibling = await t.sibling({ reversal: { maxAttempts: 4, baseDelayMs: 1000, maxDelayMs: 60_000 } });
    sibling.network.reply = t.network.reply;
    const counts = await Promise.all([t.acquirer.runPendingReversals(), t.acquirer.runPendingReversals(), sibling.acquirer.runPendingReversals(), sibling.acquirer.runPendingReversals()]);
    // Calls overlapping in one process share its pass (and its count); across processes the lease decides.
    assert.deepEqual(counts.slice(0, 2), [counts[0], counts[0]]);
    assert.equal(counts[0]! + counts[2]!, 1);
    assert.equal(t.network.byMti('0400').length + sibling.network.byMti('0400').length, 1);
    const revs = await reversals(id);
    assert.equal(revs.length, 1);
    assert.equal(revs[0]!.status, 'acknowledged');
  });
});

describe('acquirer: the reversal worker on a timer', () => {
  it('startReversalWorker delivers owed reversals by itself, and stops', async () => {
    const { id } = await timedOut();
    const worker = t.acquirer.startReversalWorker(20);
    const until = Date.now() + 120_000; // a safety net, not a deadline
    while ((await reversals(id))[0]!.status !== 'acknowledged' && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
    await worker.stop();
    assert.equal((await reversals(id))[0]!.status, 'acknowledged');
    assert.equal(t.network.byMti('0400').length, 1);
  });
});

describe('acquirer: reversals the terminal asks for', () => {
  it("after an approval: 0410 00 at once, the 0400 follows, the authorization leaves the clearing; repeats change nothing", async () => {
    const req = build0100({ terminal: t.terminals.coffee, amount: 777 });
    assert.equal((await t.exchange(req)).message.fields[39], '00');
    const forwarded = t.network.byMti('0100').at(-1)!.message;
    const rev = build0400(req);
    const answer = await t.exchange(rev);
    assert.equal(answer.message.mti, '0410');
    assert.equal(answer.message.fields[39], '00');
    assert.equal(answer.message.fields[11], rev.fields[11]);
    assert.equal(answer.message.fields[90], rev.fields[90]);
    const row = await authorizationRow(req.fields[11] as string);
    assert.equal((await reversals(row.id as string))[0]!.reason, 'terminal_request');

    const today = t.clock.now().toISOString().slice(0, 10);
    const clearing = (await t.app.inject({ method: 'GET', url: `/acquirer/v1/settlement?date=${today}`, headers: { authorization: `Bearer ${t.keys.admin}` } })).json();
    assert.ok(!JSON.stringify(clearing).includes(row.id as string), 'a reversal owed already keeps it out of clearing');

    assert.equal((await t.exchange(rev)).message.fields[39], '00');
    assert.equal((await t.exchange(build0400(req))).message.fields[39], '00');
    assert.equal(await t.acquirer.runPendingReversals(), 1);
    const sent = t.network.byMti('0400');
    assert.equal(sent.length, 1);
    assert.equal(sent[0]!.message.fields[90], `0100${forwarded.fields[11] as string}${forwarded.fields[7] as string}0000000000100000000000`);
    assert.equal((await authorizationRow(req.fields[11] as string)).status, 'reversed');
    assert.equal((await reversals(row.id as string)).length, 1);
  });

  it('after the acquirer already owes one (timeout): still one reversal', async () => {
    const { req, id } = await timedOut();
    assert.equal((await t.exchange(build0400(req))).message.fields[39], '00');
    const revs = await reversals(id);
    assert.equal(revs.length, 1);
    assert.equal(revs[0]!.reason, 'network_timeout');
    assert.equal(await t.acquirer.runPendingReversals(), 1);
    assert.equal(t.network.byMti('0400').length, 1);
  });

  it('for a decline or an unroutable number: acknowledged, nothing sent; for an unknown original: 25; without DE 90: 12', async () => {
    t.network.reply = (m) => approve(m, '05');
    const declined = build0100({ terminal: t.terminals.coffee });
    assert.equal((await t.exchange(declined)).message.fields[39], '05');
    assert.equal((await t.exchange(build0400(declined))).message.fields[39], '00');
    const unroutable = build0100({ pan: UNROUTABLE, terminal: t.terminals.coffee });
    assert.equal((await t.exchange(unroutable)).message.fields[39], '14');
    assert.equal((await t.exchange(build0400(unroutable))).message.fields[39], '00');
    const unknown = build0100({ terminal: t.terminals.coffee });
    assert.equal((await t.exchange(build0400(unknown))).message.fields[39], '25');
    assert.equal((await t.exchange(build0400(unknown, { 90: undefined }))).message.fields[39], '12');
    assert.equal((await t.exchange(build0400(unknown, { 90: `0200${'1'.repeat(38)}` }))).message.fields[39], '12');
    assert.equal(await t.acquirer.runPendingReversals(), 0);
    assert.equal(t.network.byMti('0400').length, 0);
  });

  it('with another amount or token than the original: 12, nothing recorded', async () => {
    const req = build0100({ terminal: t.terminals.coffee, amount: 500 });
    assert.equal((await t.exchange(req)).message.fields[39], '00');
    assert.equal((await t.exchange(build0400(req, { 4: '000000000499' }))).message.fields[39], '12');
    assert.equal((await t.exchange(build0400(req, { 2: '4895370000000000'.slice(0, 15) + '7' }))).message.fields[39], '12');
    assert.equal((await reversals((await authorizationRow(req.fields[11] as string)).id as string)).length, 0);
  });

  it("from another terminal for this terminal's authorization: 403 (DE 41 is checked), or 25 under its own DE 41/42", async () => {
    const req = build0100({ terminal: t.terminals.coffee });
    assert.equal((await t.exchange(req)).message.fields[39], '00');
    const res = await t.send(packMessage(build0400(req)), t.terminals.transit.secret);
    assert.equal(res.statusCode, 403);
    const own = build0400(req, { 41: t.terminals.transit.terminal_id, 42: t.terminals.transit.card_acceptor_id });
    assert.equal((await t.exchange(own, t.terminals.transit.secret)).message.fields[39], '25');
  });

  it('while the original is still in flight: recorded at once, sent only after the original is answered', async () => {
    let release!: (r: FakeReply) => void;
    const held = new Promise<FakeReply>((r) => (release = r));
    const slow = await t.sibling({ timeoutMs: 10_000 });
    slow.network.reply = () => ({ kind: 'hang', release: held });
    const req = build0100({ terminal: t.terminals.coffee });
    const inflight = slow.app.inject({ method: 'POST', url: '/acquirer/v1/authorizations', headers: { authorization: `Bearer ${t.keys.terminal}`, 'content-type': 'application/octet-stream' }, payload: Buffer.from(packMessage(req)) });
    while (slow.network.received.length === 0) await new Promise((r) => setTimeout(r, 5));

    assert.equal((await t.exchange(build0400(req))).message.fields[39], '00');
    const row = await authorizationRow(req.fields[11] as string);
    assert.equal(row.status, 'pending');
    assert.equal((await reversals(row.id as string)).length, 1);
    assert.equal(await t.acquirer.runPendingReversals(), 0);
    assert.equal(t.network.byMti('0400').length, 0, 'a reversal never overtakes its original');

    release(approve(slow.network.received[0]!.message));
    const answered = await inflight;
    assert.equal(unpackMessage(new Uint8Array(answered.rawPayload)).fields[39], '00');
    assert.equal(await t.acquirer.runPendingReversals(), 1);
    assert.equal((await authorizationRow(req.fields[11] as string)).status, 'reversed');
  });
});

describe('acquirer: a process that dies mid-flight', () => {
  it("a retransmission that finds the first copy unanswered past the deadline answers 91 for it and reverses; the first copy's late answer is then the same 91", async () => {
    let release!: (r: FakeReply) => void;
    const held = new Promise<FakeReply>((r) => (release = r));
    // The "dying" process: a very long deadline, and a network that does not answer.
    const stuck = await t.sibling({ timeoutMs: 60_000 });
    stuck.network.reply = () => ({ kind: 'hang', release: held });
    const req = build0100({ terminal: t.terminals.coffee });
    const bytes = Buffer.from(packMessage(req));
    const first = stuck.app.inject({ method: 'POST', url: '/acquirer/v1/authorizations', headers: { authorization: `Bearer ${t.keys.terminal}`, 'content-type': 'application/octet-stream' }, payload: bytes });
    while (stuck.network.received.length === 0) await new Promise((r) => setTimeout(r, 5));

    // The retransmission reaches a healthy process (timeout 300 ms): it waits 300 ms + 1 s, then answers.
    const started = performance.now();
    const retry = await t.exchange(req);
    assert.ok(performance.now() - started >= 1_250);
    assert.equal(retry.message.fields[39], '91');
    assert.equal(retry.message.fields[11], req.fields[11]);
    const row = await authorizationRow(req.fields[11] as string);
    assert.equal(row.status, 'timed_out');
    assert.equal((await reversals(row.id as string))[0]!.reason, 'network_timeout');

    // The stuck process gets its approval after all: the 91 stands, for both copies.
    release(approve(stuck.network.received[0]!.message));
    const late = await first;
    assert.equal(late.statusCode, 200);
    assert.equal(toHex(new Uint8Array(late.rawPayload)), toHex(retry.raw));
    assert.equal(await t.acquirer.runPendingReversals(), 1);
    assert.equal((await authorizationRow(req.fields[11] as string)).status, 'reversed');
    assert.equal(t.network.byMti('0100').length, 0, 'the healthy process never sent the 0100 again');
  });

  it('the worker answers for authorizations left pending past timeout + grace, and reverses them', async () => {
    let release!: (r: FakeReply) => void;
    const held = new Promise<FakeReply>((r) => (release = r));
    const stuck = await t.sibling({ timeoutMs: 60_000 });
    stuck.network.reply = () => ({ kind: 'hang', release: held });
    const req = build0100({ terminal: t.terminals.coffee });
    const first = stuck.app.inject({ method: 'POST', url: '/acquirer/v1/authorizations', headers: { authorization: `Bearer ${t.keys.terminal}`, 'content-type': 'application/octet-stream' }, payload: Buffer.from(packMessage(req)) });
    while (stuck.network.received.length === 0) await new Promise((r) => setTimeout(r, 5));

    // Not yet stale for the healthy worker: nothing happens.
    assert.equal(await t.acquirer.runPendingReversals(), 0);
    assert.equal((await authorizationRow(req.fields[11] as string)).status, 'pending');
    t.clock.advance(10_000);
    assert.equal(await t.acquirer.runPendingReversals(), 1, 'answered 91 and reversed in one pass');
    const row = await authorizationRow(req.fields[11] as string);
    assert.equal(row.status, 'reversed');
    assert.equal(row.response_code, '91');
    release({ kind: 'unavailable' });
    const late = await first;
    assert.equal(unpackMessage(new Uint8Array(late.rawPayload)).fields[39], '91');
    assert.equal(t.network.byMti('0400').length, 1);
  });
});
