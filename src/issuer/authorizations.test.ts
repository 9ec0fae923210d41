import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startIssuerTestEnv, type IssuerTestEnv } from '../../test/helpers/issuer-env.js';
import { fromHex } from '../protocol/bytes.js';
import { detectNetwork, luhnCheckDigit } from '../protocol/cards/index.js';
import { packMessage, packSubelements, unpackMessage, type IsoMessage } from '../protocol/iso8583/iso8583.js';
import { buildTlv, tlv } from '../protocol/tlv/tlv.js';
import { batchStats } from '../infra/db/batcher.js';
import { AUTHORIZATION_LIMITS } from './authorization-rules.js';
import { SANDBOX_CARDS, SANDBOX_CREDIT_UNION, TESSERA_BANK } from './sandbox-cards.js';

let t: IssuerTestEnv;
/** Every card number the tests sent: none may appear at rest or in a log. */
const pans = new Set<string>(SANDBOX_CARDS.map((c) => c.number));

before(async () => {
  t = await startIssuerTestEnv();
});
after(async () => {
  await t.close();
});

const sandbox = (key: string) => SANDBOX_CARDS.find((c) => c.key === key)!;

let stanCounter = 0;
const ACQUIRER_ID = '412345';

interface Tap {
  pan: string;
  amount: number;
  stan?: string;
  transmitted?: string;
  terminal?: string;
  expiry?: string | null;
  posEntryMode?: string;
  cryptogram?: string | null;
  de55?: Uint8Array | null;
  currency?: string;
  processingCode?: string;
}

/** DE55 as a Visa phone sends it: CVR in 9F10 and CTQ saying whether the user verified on the phone. */
function visaChip(cdcvm: boolean, amount: number): Uint8Array {
  return buildTlv([
    tlv('82', fromHex('1200')),
    tlv('95', fromHex('8000000000')),
    tlv('9A', fromHex('260615')),
    tlv('9C', fromHex('00')),
    tlv('5F2A', fromHex('0840')),
    tlv('9F02', fromHex(String(amount).padStart(12, '0'))),
    tlv('9F10', fromHex(`06011203${cdcvm ? 'A4' : 'A0'}0000`)),
    tlv('9F26', fromHex('0102030405060708')),
    tlv('9F27', fromHex('80')),
    tlv('9F34', fromHex(cdcvm ? '010002' : '1F0002')),
    tlv('9F36', fromHex('0007')),
    tlv('9F37', fromHex('11223344')),
    tlv('9F6C', fromHex(cdcvm ? '0080' : '0000')),
  ]);
}

function mastercardChip(cdcvm: boolean): Uint8Array {
  return buildTlv([tlv('82', fromHex('1A80')), tlv('9F10', fromHex(`0114${cdcvm ? 'A5' : 'A0'}00000000000000`)), tlv('9F26', fromHex('0102030405060708')), tlv('9F27', fromHex('80')), tlv('9F34', fromHex(cdcvm ? '010002' : '1F0002'))]);
}

/** A 0100 as the network sends it to the issuer: the card number in DE2, the token context in DE48. */
function auth0100(o: Tap): IsoMessage {
  const stan = o.stan ?? String(++stanCounter % 1_000_000).padStart(6, '0');
  const fields: Record<number, string | Uint8Array> = {
    2: o.pan,
    3: o.processingCode ?? '000000',
    4: String(o.amount).padStart(12, '0'),
    7: o.transmitted ?? '0615120000',
    11: stan,
    12: '120000',
    13: '0615',
    18: '5411',
    22: o.posEntryMode ?? '071',
    25: '00',
    32: ACQUIRER_ID,
    37: `6166${stan.padStart(8, '0')}`,
    41: o.terminal ?? 'TERM0001',
    42: 'MERCHANT0000001',
    43: 'TESSERA CAFE           SAN FRANCISCO  US',
    49: o.currency ?? '840',
  };
  if (o.expiry !== null) fields[14] = o.expiry ?? '3012';
  if (o.cryptogram !== null) fields[48] = packSubelements({ '33': '4895370012345678', '34': '3012', '35': '40010030273', '36': o.cryptogram ?? 'V', '37': 'dev_test', '71': 'V' });
  if (o.de55 !== null) fields[55] = o.de55 ?? visaChip(false, o.amount);
  return { mti: '0100', fields };
}

/** The reversal the network sends for a 0100 (DE90 names it, DE41 is the original's). */
function reversalOf(original: IsoMessage, mti: '0400' | '0420' = '0400', over: Record<number, string> = {}): IsoMessage {
  const f = original.fields;
  const de90 = `0100${f[11]}${f[7]}${String(f[32] ?? '').padStart(11, '0')}${'0'.repeat(11)}`;
  return { mti, fields: { 2: f[2]!, 3: f[3]!, 4: f[4]!, 7: '0615120030', 11: String(++stanCounter % 1_000_000).padStart(6, '0'), 32: ACQUIRER_ID, 37: f[37]!, 41: f[41]!, 42: f[42]!, 49: f[49]!, 90: de90, ...over } };
}

async function post(bytes: Uint8Array | Buffer, auth: string = t.keys.network, issuerId = TESSERA_BANK) {
  return t.request({ method: 'POST', url: `/issuer/${issuerId}/v1/iso8583`, auth, headers: { 'content-type': 'application/octet-stream' }, payload: Buffer.from(bytes) });
}

/** The key of the network of the message's card (a network key speaks for its own brand only); Visa's without DE 2. */
function networkKey(msg: IsoMessage): string {
  const brand = typeof msg.fields[2] === 'string' ? detectNetwork(msg.fields[2]) : undefined;
  return brand ? t.keys.networks[brand] : t.keys.network;
}

/** Sends a message; the answer, unpacked. */
async function send(msg: IsoMessage, auth: string = networkKey(msg), issuerId = TESSERA_BANK): Promise<IsoMessage> {
  const res = await post(packMessage(msg), auth, issuerId);
  assert.equal(res.statusCode, 200, res.body);
  assert.match(String(res.headers['content-type']), /application\/octet-stream/);
  return unpackMessage(new Uint8Array(res.rawPayload));
}

const code = (m: IsoMessage) => m.fields[39];

async function balance(accountId: string, issuerId = TESSERA_BANK, auth = issuerId === TESSERA_BANK ? t.keys.tesseraBank : t.keys.creditUnion) {
  const res = await t.request({ method: 'GET', url: `/issuer/${issuerId}/v1/accounts/${accountId}`, auth });
  assert.equal(res.statusCode, 200, res.body);
  return res.json() as { posted: number; credit_limit: number; holds: number; available: number; currency: string };
}

async function accountOf(pan: string): Promise<string> {
  const ref = await t.issuers.service.accountForPan(pan);
  assert.ok(ref);
  return ref.accountId;
}

/** A fresh card with its own account, so each test starts from a known balance. */
async function newCard(o: { product?: 'credit' | 'debit'; creditLimit?: number; posted?: number; network?: 'visa' | 'mastercard'; status?: 'active' | 'blocked' | 'closed' } = {}) {
  const issued = await t.issuers.service.issueCard({
    issuerId: TESSERA_BANK,
    network: o.network ?? 'visa',
    product: o.product ?? 'credit',
    holderName: 'ADA LOVELACE',
    expMonth: 12,
    expYear: 2030,
    creditLimit: BigInt(o.creditLimit ?? (o.product === 'debit' ? 0 : 100_000)),
    postedBalance: BigInt(o.posted ?? 0),
    ...(o.status ? { status: o.status } : {}),
  });
  pans.add(issued.pan.reveal());
  return { pan: issued.pan.reveal(), accountId: issued.accountId, cardId: issued.cardId };
}

async function count(sql: string, params: unknown[]): Promise<number> {
  const { rows } = await t.env.db.query<{ n: number }>(sql, params);
  return Number(rows[0]!.n);
}

const holdsOf = (cardId: string, status = 'active') => count('SELECT count(*)::int AS n FROM issuer.holds WHERE card_id = $1 AND status = $2', [cardId, status]);

async function assertInvariants() {
  const report = await t.issuers.service.checkInvariants();
  assert.equal(report.ok, true, JSON.stringify(report));
}

describe('authorizations: decisions', () => {
  it('approves with a 6-character code, a hold, a balanced ledger posting and an event; echoes the keys and DE48', async () => {
    const card = await newCard({ creditLimit: 100_000 });
    assert.equal((await balance(card.accountId)).available, 100_000);
    const req = auth0100({ pan: card.pan, amount: 2_500 });
    const res = await send(req);
    assert.equal(res.mti, '0110');
    assert.equal(code(res), '00');
    assert.match(String(res.fields[38]), /^[0-9A-Z]{6}$/);
    for (const n of [2, 3, 4, 7, 11, 32, 37, 41, 42, 48, 49]) assert.deepEqual(res.fields[n], req.fields[n], `DE ${n} echoed`);
    assert.equal(res.fields[55], undefined);
    assert.deepEqual(await balance(card.accountId), { object: 'account_balance', id: card.accountId, issuer_id: TESSERA_BANK, currency: 'USD', posted: 0, credit_limit: 100_000, holds: 2_500, available: 97_500 });
    assert.equal(await holdsOf(card.cardId), 1);
    const { rows: hold } = await t.env.db.query<{ id: string; amount: number; auth_code: string; status: string }>('SELECT id, amount::int AS amount, auth_code, status FROM issuer.holds WHERE card_id = $1', [card.cardId]);
    assert.match(hold[0]!.id, /^hold_/);
    assert.deepEqual({ amount: hold[0]!.amount, auth_code: hold[0]!.auth_code, status: hold[0]!.status }, { amount: 2_500, auth_code: res.fields[38], status: 'active' });
    const { rows: entries } = await t.env.db.query<{ ledger_account: string; amount: number }>(
      'SELECT e.ledger_account, e.amount::int AS amount FROM issuer.ledger_entries e JOIN issuer.holds h ON h.id = e.hold_id WHERE h.card_id = $1 ORDER BY e.amount',
      [card.cardId],
    );
    assert.deepEqual(entries, [
      { ledger_account: card.accountId, amount: -2_500 },
      { ledger_account: 'authorizations_pending', amount: 2_500 },
    ]);
    // No outbox event: nothing consumes one (it would stay pending for ever); the decision is the record.
    const { rows: events } = await t.env.db.query<{ topic: string }>(`SELECT topic FROM infra.outbox WHERE aggregate_id = $1 OR topic LIKE 'issuer.authorization%'`, [card.cardId]);
    assert.deepEqual(events, []);
    await assertInvariants();
  });

  it('51 with the debit card of 5.00: exactly what is available, not a cent more', async () => {
    const c = sandbox('visa_debit_low_balance');
    const account = await accountOf(c.number);
    assert.equal((await balance(account)).available, 500);
    assert.equal(code(await send(auth0100({ pan: c.number, amount: 501 }))), '51');
    assert.equal(code(await send(auth0100({ pan: c.number, amount: 500 }))), '00');
    assert.equal(code(await send(auth0100({ pan: c.number, amount: 1 }))), '51');
    assert.deepEqual(await balance(account), { object: 'account_balance', id: account, issuer_id: TESSERA_BANK, currency: 'USD', posted: 500, credit_limit: 0, holds: 500, available: 0 });
  });

  it('61 above the single-transaction limit (5,000.00 credit, 2,500.00 debit)', async () => {
    const credit = await newCard({ creditLimit: 2_000_000 });
    assert.equal(code(await send(auth0100({ pan: credit.pan, amount: Number(AUTHORIZATION_LIMITS.singleAmount.credit) + 1, posEntryMode: '812' }))), '61');
    assert.equal(code(await send(auth0100({ pan: credit.pan, amount: Number(AUTHORIZATION_LIMITS.singleAmount.credit), posEntryMode: '812' }))), '00');
    const debit = await newCard({ product: 'debit', posted: 1_000_000 });
    assert.equal(code(await send(auth0100({ pan: debit.pan, amount: 250_001, posEntryMode: '812' }))), '61');
    assert.equal(code(await send(auth0100({ pan: debit.pan, amount: 250_000, posEntryMode: '812' }))), '00');
  });

  it('61 for the 31st approval on a card within 10 minutes; approved again once the window has moved', async () => {
    const card = await newCard();
    for (let i = 0; i < AUTHORIZATION_LIMITS.velocityMaxApprovals; i++) assert.equal(code(await send(auth0100({ pan: card.pan, amount: 100 }))), '00');
    assert.equal(code(await send(auth0100({ pan: card.pan, amount: 100 }))), '61');
    t.clock.advance(AUTHORIZATION_LIMITS.velocityWindowMs + 1_000);
    assert.equal(code(await send(auth0100({ pan: card.pan, amount: 100 }))), '00');
  });

  it('62 for a blocked or closed card, and for a card the issuer blocks later', async () => {
    assert.equal(code(await send(auth0100({ pan: sandbox('visa_blocked').number, amount: 100 }))), '62');
    const closed = await newCard({ status: 'closed' });
    assert.equal(code(await send(auth0100({ pan: closed.pan, amount: 100 }))), '62');
    const later = await newCard();
    assert.equal(code(await send(auth0100({ pan: later.pan, amount: 100 }))), '00');
    await t.issuers.service.setCardStatus(later.cardId, 'blocked');
    assert.equal(code(await send(auth0100({ pan: later.pan, amount: 100 }))), '62');
  });

  it('54 for an expired card, a DE14 that is past, or a DE14 that is not the card\'s', async () => {
    assert.equal(code(await send(auth0100({ pan: sandbox('visa_expired').number, amount: 100, expiry: '2012' }))), '54');
    const card = await newCard();
    assert.equal(code(await send(auth0100({ pan: card.pan, amount: 100, expiry: '2911' }))), '54');
    assert.equal(code(await send(auth0100({ pan: card.pan, amount: 100, expiry: '2505' }))), '54');
    assert.equal(code(await send(auth0100({ pan: card.pan, amount: 100, expiry: '3013' }))), '54');
    assert.equal(code(await send(auth0100({ pan: card.pan, amount: 100, expiry: '3012' }))), '00');
    // The documented test cards take any future month, as at provisioning.
    const green = sandbox('visa_green').number;
    assert.equal(code(await send(auth0100({ pan: green, amount: 100, expiry: '2811' }))), '00');
    assert.equal(code(await send(auth0100({ pan: green, amount: 100, expiry: '2601' }))), '54');
  });

  it('14 for a card number the issuer does not know (or another issuer\'s)', async () => {
    const partial = '411111999999999';
    const unknown = partial + luhnCheckDigit(partial);
    pans.add(unknown);
    assert.equal(code(await send(auth0100({ pan: unknown, amount: 100 }))), '14');
    const amex = sandbox('amex_green').number;
    assert.equal(code(await send(auth0100({ pan: amex, amount: 100, de55: null }))), '14', 'an Amex card sent to Tessera Bank');
    assert.equal(code(await send(auth0100({ pan: amex, amount: 100, de55: null }), t.keys.networks.amex, SANDBOX_CREDIT_UNION)), '00', 'and to its issuer');
  });

  it("05 when the network's cryptogram check is not V, or DE48 is missing or broken", async () => {
    const card = await newCard();
    assert.equal(code(await send(auth0100({ pan: card.pan, amount: 100, cryptogram: 'F' }))), '05');
    assert.equal(code(await send(auth0100({ pan: card.pan, amount: 100, cryptogram: 'N' }))), '05');
    assert.equal(code(await send(auth0100({ pan: card.pan, amount: 100, cryptogram: null }))), '05');
    const broken = auth0100({ pan: card.pan, amount: 100 });
    broken.fields[48] = '3699V';
    assert.equal(code(await send(broken)), '05');
    assert.equal(await holdsOf(card.cardId), 0);
  });

  it('13 for a zero amount; 12 for another currency or a processing code that is not a purchase', async () => {
    const card = await newCard();
    assert.equal(code(await send(auth0100({ pan: card.pan, amount: 0 }))), '13');
    assert.equal(code(await send(auth0100({ pan: card.pan, amount: 100, currency: '978' }))), '12');
    assert.equal(code(await send(auth0100({ pan: card.pan, amount: 100, processingCode: '200000' }))), '12');
    assert.equal(await holdsOf(card.cardId), 0);
  });

  it('55 contactless above the CVM limit without consumer-device CVM; approved with it, at the limit, or not contactless', async () => {
    const card = await newCard();
    const limit = Number(AUTHORIZATION_LIMITS.contactlessCvmLimit);
    assert.equal(code(await send(auth0100({ pan: card.pan, amount: limit + 1, de55: visaChip(false, limit + 1) }))), '55');
    assert.equal(code(await send(auth0100({ pan: card.pan, amount: limit + 1, de55: visaChip(true, limit + 1) }))), '00');
    assert.equal(code(await send(auth0100({ pan: card.pan, amount: limit, de55: visaChip(false, limit) }))), '00');
    assert.equal(code(await send(auth0100({ pan: card.pan, amount: limit + 1, de55: null }))), '55', 'no chip data: no CDCVM');
    assert.equal(code(await send(auth0100({ pan: card.pan, amount: limit + 1, posEntryMode: '911', de55: visaChip(false, limit + 1) }))), '55', 'contactless magstripe');
    assert.equal(code(await send(auth0100({ pan: card.pan, amount: limit + 1, posEntryMode: '812', de55: null }))), '00', 'in-app is not contactless');
    // A CTQ claiming CDCVM does not beat a CVR (covered by the cryptogram) that says none.
    const forged = buildTlv([tlv('9F10', fromHex('06011203A00000')), tlv('9F6C', fromHex('0080'))]);
    assert.equal(code(await send(auth0100({ pan: card.pan, amount: limit + 1, de55: forged }))), '55');
    const mc = await newCard({ network: 'mastercard' });
    assert.equal(code(await send(auth0100({ pan: mc.pan, amount: limit + 1, de55: mastercardChip(false) }))), '55');
    assert.equal(code(await send(auth0100({ pan: mc.pan, amount: limit + 1, de55: mastercardChip(true) }))), '00');
  });

  it('12 for a 0100 without DE11, DE7 or DE41 (no key: nothing recorded)', async () => {
    const card = await newCard();
    for (const n of [7, 11, 41]) {
      const msg = auth0100({ pan: card.pan, amount: 100 });
      delete msg.fields[n];
      assert.equal(code(await send(msg)), '12');
    }
    assert.equal(await count('SELECT count(*)::int AS n FROM issuer.authorizations WHERE card_id = $1', [card.cardId]), 0);
  });
});

describe('authorizations: duplicates and concurrency', () => {
  it('a repeated 0100 gets the same answer and no second hold; another message under its key gets 94', async () => {
    const card = await newCard();
    const req = auth0100({ pan: card.pan, amount: 1_000 });
    const first = await send(req);
    const again = await send(req);
    assert.equal(code(first), '00');
    assert.deepEqual(again.fields, first.fields);
    assert.equal(await holdsOf(card.cardId), 1);
    const other = auth0100({ pan: card.pan, amount: 2_000, stan: String(req.fields[11]) });
    assert.equal(code(await send(other)), '94');
    assert.equal(await holdsOf(card.cardId), 1);
    // A repeated decline is the same decline.
    const big = auth0100({ pan: card.pan, amount: 100_001, posEntryMode: '812' });
    assert.equal(code(await send(big)), '51');
    assert.equal(code(await send(big)), '51');
    assert.equal((await balance(card.accountId)).holds, 1_000);
  });

  it('20 identical 0100s at once: one decision, one hold, the same answer to all', async () => {
    const card = await newCard();
    const req = auth0100({ pan: card.pan, amount: 700 });
    const answers = await Promise.all(Array.from({ length: 20 }, () => send(req)));
    for (const a of answers) assert.deepEqual(a.fields, answers[0]!.fields);
    assert.equal(code(answers[0]!), '00');
    assert.equal(await holdsOf(card.cardId), 1);
    assert.equal(await count('SELECT count(*)::int AS n FROM issuer.authorizations WHERE card_id = $1', [card.cardId]), 1);
    assert.equal((await balance(card.accountId)).holds, 700);
  });

  it('20 different 0100s at once that together exceed the balance: approvals never exceed it', async () => {
    const card = await newCard({ product: 'debit', posted: 10_000 });
    const answers = await Promise.all(Array.from({ length: 20 }, () => send(auth0100({ pan: card.pan, amount: 700 }))));
    const codes = answers.map(code);
    const approved = codes.filter((c) => c === '00').length;
    assert.equal(approved, Math.floor(10_000 / 700), codes.join(','));
    assert.ok(codes.every((c) => c === '00' || c === '51'), codes.join(','));
    const b = await balance(card.accountId);
    assert.equal(b.holds, approved * 700);
    assert.ok(b.available >= 0);
    await assertInvariants();
  });

  it('concurrent 0100s of many cards are decided together, each as it would be alone; two cards of one account share its funds', async () => {
    const shared = await newCard({ product: 'debit', posted: 10_000 });
    const second = await newCard({ product: 'debit', posted: 0 });
    // The second card moves onto the first card's account: both draw on its 100.00.
    await t.env.db.query('UPDATE issuer.cards SET account_id = $1 WHERE id = $2', [shared.accountId, second.cardId]);
    const singles = await Promise.all(Array.from({ length: 8 }, () => newCard({ product: 'debit', posted: 5_000 })));
    const blocked = await newCard({ status: 'blocked' });
    const partial = '411111999999998';
    const unknown = partial + luhnCheckDigit(partial);
    pans.add(unknown);
    const batchesBefore = batchStats.statements;
    const sends = [
      ...Array.from({ length: 10 }, (_, i) => send(auth0100({ pan: (i % 2 ? shared : second).pan, amount: 700 }))),
      ...singles.map((c) => send(auth0100({ pan: c.pan, amount: 4_000 }))),
      ...singles.map((c) => send(auth0100({ pan: c.pan, amount: 4_000 }))),
      send(auth0100({ pan: blocked.pan, amount: 100 })),
      send(auth0100({ pan: unknown, amount: 100 })),
    ];
    const codes = (await Promise.all(sends)).map(code);
    // PostgreSQL runs decisions side by side, so 0100s queue up behind them and go together. The embedded
    // database runs one statement at a time, so its requests reach the queue one by one (the grouping
    // itself is tested in decision-queue.test.ts; the outcomes below hold on both).
    if (t.env.db.kind === 'postgres') assert.ok(batchStats.statements > batchesBefore, 'some 0100s were decided in one transaction together');
    const sharedCodes = codes.slice(0, 10);
    assert.equal(sharedCodes.filter((c) => c === '00').length, Math.min(10, Math.floor(10_000 / 700)), sharedCodes.join(','));
    // Each single card has funds for one of its two 40.00 taps: one approval, one 51.
    singles.forEach((_, i) => assert.deepEqual([codes[10 + i], codes[18 + i]].sort(), ['00', '51'], codes.join(',')));
    assert.deepEqual(codes.slice(26), ['62', '14']);
    assert.equal((await balance(shared.accountId)).holds, 7_000);
    for (const c of singles) assert.equal((await balance(c.accountId)).holds, 4_000);
    await assertInvariants();
  });
});

describe('authorizations: reversals', () => {
  it('a 0400 releases the hold once: a second one is acknowledged and changes nothing', async () => {
    const card = await newCard();
    const original = auth0100({ pan: card.pan, amount: 3_000 });
    assert.equal(code(await send(original)), '00');
    assert.equal((await balance(card.accountId)).available, 97_000);
    const reversal = reversalOf(original);
    const first = await send(reversal);
    assert.equal(first.mti, '0410');
    assert.equal(code(first), '00');
    for (const n of [2, 3, 4, 7, 11, 32, 37, 41, 42, 49, 90]) assert.deepEqual(first.fields[n], reversal.fields[n], `DE ${n} echoed`);
    assert.equal((await balance(card.accountId)).available, 100_000);
    assert.equal(await holdsOf(card.cardId, 'released'), 1);
    // The network sends it again (its own retry, or a 0420 advice): acknowledged, nothing more.
    assert.equal(code(await send(reversal)), '00');
    assert.equal(code(await send(reversalOf(original, '0420'))), '00');
    assert.equal((await balance(card.accountId)).available, 100_000);
    const { rows } = await t.env.db.query<{ kind: string; n: number }>(
      'SELECT e.kind, count(*)::int AS n FROM issuer.ledger_entries e JOIN issuer.holds h ON h.id = e.hold_id WHERE h.card_id = $1 GROUP BY e.kind ORDER BY e.kind',
      [card.cardId],
    );
    assert.deepEqual(rows, [{ kind: 'hold', n: 2 }, { kind: 'release', n: 2 }]);
    // The original repeated after its reversal: the first answer, and still no hold.
    assert.equal(code(await send(original)), '00');
    assert.equal(await holdsOf(card.cardId), 0);
    await assertInvariants();
  });

  it('a 0420 advice answers 0430 and releases like a 0400', async () => {
    const card = await newCard();
    const original = auth0100({ pan: card.pan, amount: 1_234 });
    assert.equal(code(await send(original)), '00');
    const res = await send(reversalOf(original, '0420'));
    assert.equal(res.mti, '0430');
    assert.equal(code(res), '00');
    assert.equal((await balance(card.accountId)).holds, 0);
  });

  it('10 concurrent reversals of one authorization release it exactly once', async () => {
    const card = await newCard();
    const original = auth0100({ pan: card.pan, amount: 4_000 });
    assert.equal(code(await send(original)), '00');
    const answers = await Promise.all(Array.from({ length: 10 }, (_, i) => send(reversalOf(original, i % 2 ? '0420' : '0400'))));
    assert.ok(answers.every((a) => code(a) === '00'));
    assert.equal(await count(`SELECT count(*)::int AS n FROM issuer.ledger_entries e JOIN issuer.holds h ON h.id = e.hold_id WHERE h.card_id = $1 AND e.kind = 'release'`, [card.cardId]), 2);
    assert.equal(await count('SELECT count(*)::int AS n FROM issuer.reversals r JOIN issuer.authorizations a ON a.id = r.authorization_id WHERE a.card_id = $1', [card.cardId]), 1);
    assert.equal((await balance(card.accountId)).available, 100_000);
    await assertInvariants();
  });

  it('a reversal before its original leaves a tombstone: the late 0100 is declined 12 without a hold', async () => {
    const card = await newCard();
    const late = auth0100({ pan: card.pan, amount: 2_000 });
    const reversal = await send(reversalOf(late));
    assert.equal(code(reversal), '00');
    const answer = await send(late);
    assert.equal(code(answer), '12');
    assert.equal(answer.fields[38], undefined);
    assert.equal(code(await send(late)), '12', 'and again when repeated');
    assert.equal(await holdsOf(card.cardId), 0);
    assert.equal((await balance(card.accountId)).available, 100_000);
    assert.equal(await count(`SELECT count(*)::int AS n FROM issuer.reversals WHERE outcome = 'before_original' AND txn_key LIKE $1`, [`%:${late.fields[11]}:%`]), 1);
    await assertInvariants();
  });

  it('a reversal racing its original: whichever wins, holds equal approved, not reversed authorizations', async () => {
    for (let i = 0; i < 5; i++) {
      const card = await newCard();
      const original = auth0100({ pan: card.pan, amount: 1_500 });
      const [a] = await Promise.all([send(original), send(reversalOf(original))]);
      assert.ok(code(a) === '00' || code(a) === '12', String(code(a)));
      assert.equal(await holdsOf(card.cardId), 0);
    }
    await assertInvariants();
  });

  it('a reversal of a declined authorization, or for another card or amount, releases nothing', async () => {
    const card = await newCard();
    const declined = auth0100({ pan: card.pan, amount: 200_000, posEntryMode: '812' });
    assert.equal(code(await send(declined)), '51');
    assert.equal(code(await send(reversalOf(declined))), '00');
    const approved = auth0100({ pan: card.pan, amount: 1_000 });
    assert.equal(code(await send(approved)), '00');
    assert.equal(code(await send(reversalOf(approved, '0400', { 4: '000000000999' }))), '12');
    const other = await newCard();
    assert.equal(code(await send(reversalOf(approved, '0400', { 2: other.pan }))), '12');
    assert.equal(code(await send(reversalOf(approved, '0400', { 90: '0'.repeat(42) }))), '12');
    assert.equal((await balance(card.accountId)).holds, 1_000);
  });
});

describe('authorizations: security and robustness', () => {
  it('401 without a key, 403 for parties that are not networks, on both routes', async () => {
    const msg = packMessage(auth0100({ pan: sandbox('visa_green').number, amount: 100 }));
    assert.equal((await post(msg, '')).statusCode, 401);
    for (const key of [t.keys.merchant, t.keys.platform, t.keys.acquirer, t.keys.terminal, t.keys.tesseraBank, t.keys.admin]) {
      const res = await post(msg, key);
      assert.equal(res.statusCode, 403, res.body);
      assert.equal(res.json().error.type, 'permission_error');
    }
    const account = await accountOf(sandbox('visa_green').number);
    const get = (auth: string, issuerId = TESSERA_BANK) => t.request({ method: 'GET', url: `/issuer/${issuerId}/v1/accounts/${account}`, auth });
    assert.equal((await t.request({ method: 'GET', url: `/issuer/${TESSERA_BANK}/v1/accounts/${account}` })).statusCode, 401);
    assert.equal((await get(t.keys.network)).statusCode, 403);
    assert.equal((await get(t.keys.merchant)).statusCode, 403);
    assert.equal((await get(t.keys.tesseraBank)).statusCode, 200);
    assert.equal((await get(t.keys.admin)).statusCode, 200);
    assert.equal((await get(t.keys.creditUnion)).statusCode, 404, "another issuer's key");
    assert.equal((await get(t.keys.creditUnion, SANDBOX_CREDIT_UNION)).statusCode, 404, "another issuer's account");
    assert.equal((await get(t.keys.admin, 'iss_nobody')).statusCode, 404);
    assert.equal((await post(msg, t.keys.network, 'iss_nobody')).statusCode, 404);
  });

  it("a network key owned by a brand may touch only that brand's cards: another's gets 14 and changes nothing", async () => {
    const card = await newCard();
    const mastercard = (await t.apiKeys.create('network', 'mastercard')).secret;
    const req = auth0100({ pan: card.pan, amount: 500 });
    assert.equal(code(await send(req, mastercard)), '14');
    assert.equal(await count('SELECT count(*)::int AS n FROM issuer.authorizations WHERE card_id = $1', [card.cardId]), 0);
    assert.equal(code(await send(req, t.keys.visaNetwork)), '00');
    // Nor may it reverse the Visa card's authorization, or leave a tombstone for one.
    assert.equal(code(await send(reversalOf(req), mastercard)), '14');
    const noPan = reversalOf(req);
    delete noPan.fields[2];
    assert.equal(code(await send(noPan, mastercard)), '14');
    assert.equal((await balance(card.accountId)).holds, 500);
    assert.equal(code(await send(reversalOf(req), t.keys.visaNetwork)), '00');
    assert.equal((await balance(card.accountId)).holds, 0);
  });

  it('what is not a message is a 400 issuer_message_invalid, never a 500', async () => {
    const bad = async (payload: Buffer | string, type = 'application/octet-stream') => {
      const res = await t.request({ method: 'POST', url: `/issuer/${TESSERA_BANK}/v1/iso8583`, auth: t.keys.network, headers: { 'content-type': type }, payload });
      assert.equal(res.statusCode, 400, res.body);
      assert.equal(res.json().error.code, 'issuer_message_invalid');
    };
    await bad(Buffer.alloc(0));
    await bad(Buffer.from('hello, issuer'));
    await bad(JSON.stringify({ mti: '0100' }), 'application/json');
    const valid = packMessage(auth0100({ pan: sandbox('visa_green').number, amount: 100 }));
    await bad(Buffer.from(valid.subarray(0, valid.length - 3)));
    await bad(Buffer.concat([Buffer.from(valid), Buffer.from('x')]));
    // Messages of the profile that are not requests the issuer takes.
    await bad(Buffer.from(packMessage({ mti: '0110', fields: { 11: '000001', 39: '00' } })));
    await bad(Buffer.from(packMessage({ mti: '0800', fields: { 7: '0615120000', 11: '000001', 70: '301' } })));
  });

  it('fuzz: random bytes and mutated messages are answered 200 or 400, never 500', async () => {
    const runs = Number(process.env.ISSUER_FUZZ_RUNS ?? 3_000);
    let seed = 0x2545f491;
    const rand = (n: number) => {
      seed ^= seed << 13;
      seed ^= seed >>> 17;
      seed ^= seed << 5;
      return (seed >>> 0) % n;
    };
    const card = await newCard({ creditLimit: 100_000 });
    const base = packMessage(auth0100({ pan: card.pan, amount: 100 }));
    const statuses = new Map<number, number>();
    for (let i = 0; i < runs; i++) {
      let payload: Uint8Array;
      if (i % 3 === 0) {
        payload = Uint8Array.from({ length: rand(120) }, () => rand(256));
        if (i % 2 && payload.length >= 4) payload.set(Buffer.from(['0100', '0400', '0420'][rand(3)]!), 0);
      } else {
        payload = Uint8Array.from(base);
        for (let k = 0, flips = 1 + rand(4); k < flips; k++) payload[rand(payload.length)] = rand(256);
        if (i % 5 === 0) payload = payload.subarray(0, rand(payload.length));
      }
      const res = await post(payload);
      statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1);
      assert.ok(res.statusCode === 200 || res.statusCode === 400, `run ${i}: ${res.statusCode} ${res.body}`);
      if (res.statusCode === 400) assert.equal(res.json().error.code, 'issuer_message_invalid');
    }
    assert.ok((statuses.get(400) ?? 0) > 0 && (statuses.get(200) ?? 0) > 0, JSON.stringify([...statuses]));
    await assertInvariants();
  });

  it('keeps no card number at rest (authorizations, holds, reversals, ledger, outbox) or in the logs, nor chip data in the logs', async () => {
    const { rows: tables } = await t.env.db.query<{ t: string }>(`SELECT 'issuer.' || table_name AS t FROM information_schema.tables WHERE table_schema = 'issuer' UNION ALL SELECT 'infra.outbox'`);
    for (const { t: table } of tables) {
      const { rows } = await t.env.db.query<{ j: unknown }>(`SELECT to_jsonb(x)::text AS j FROM ${table} x`);
      for (const r of rows) {
        const text = String(r.j);
        for (const pan of pans) {
          assert.ok(!text.includes(pan), `${table} holds a card number`);
          assert.ok(!text.includes(Buffer.from(pan).toString('hex')), `${table} holds a card number's bytes`);
        }
      }
    }
    const logs = t.env.logLines.join('');
    assert.ok(logs.includes('issuer iso8583'), 'the messages were logged');
    for (const pan of pans) assert.ok(!logs.includes(pan), 'a card number in the logs');
    assert.ok(!logs.includes('9F2608'), 'chip data in the logs');
    assert.ok(!/"55":/.test(logs), 'DE55 in the logs');
  });

  it('the invariants hold after everything above', async () => {
    const report = await t.issuers.service.checkInvariants();
    assert.deepEqual(report, { ok: true, held_total_mismatches: 0, ledger_total: '0', unbalanced_transactions: [], hold_mismatches: [], ledger_hold_mismatches: [] });
    assert.ok((await count('SELECT count(*)::int AS n FROM issuer.holds', [])) > 50);
  });
});
