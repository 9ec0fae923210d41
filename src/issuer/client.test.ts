import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { randomBase62 } from '../infra/ids.js';
import { InjectTransport, PartyError } from '../infra/transport.js';
import { packMessage, packSubelements, unpackMessage } from '../protocol/iso8583/iso8583.js';
import type { Network } from '../protocol/cards/index.js';
import { Secret } from '../protocol/secret.js';
import type { IssuerGateway } from '../network/issuers.js';
import { startIssuerTestEnv, type IssuerTestEnv } from '../../test/helpers/issuer-env.js';
import { IssuerClient } from './client.js';
import { issuerIdForPan, SANDBOX_CARDS } from './sandbox-cards.js';

let t: IssuerTestEnv;
let client: IssuerClient;
/** The issuers as a brand's network reaches them: with that brand's key. */
let clientFor: (brand: Network) => IssuerClient;
before(async () => {
  t = await startIssuerTestEnv();
  clientFor = (brand) => new IssuerClient(new InjectTransport(() => t.app), t.keys.networks[brand]);
  client = clientFor('visa');
});
after(async () => {
  await t.close();
});

function body(key: string, over: Record<string, unknown> = {}) {
  const c = SANDBOX_CARDS.find((x) => x.key === key)!;
  return { pan: Secret.pan(c.number), exp_month: 12, exp_year: 2030, cvv: new Secret(c.cvv), network: c.network, token_requestor_id: '40010030273', token_ref: `tok_${randomBase62(20)}`, device: { id: 'dev_c', kind: 'phone' as const }, device_score: 5, ...over };
}

describe('IssuerClient', () => {
  it('is what the network calls the issuers through (its IssuerGateway)', () => {
    const gateway: IssuerGateway = client;
    assert.ok(gateway);
  });

  it('runs the yellow flow: verify, send a code, read the simulated SMS, confirm', async () => {
    const b = body('discover_yellow');
    const issuerId = issuerIdForPan(b.pan)!;
    // The Discover network asks about a Discover card.
    const client = clientFor('discover');
    const v = await client.verifyCard(issuerId, b, { idempotencyKey: `c-${randomBase62(6)}` });
    assert.equal(v.decision, 'yellow');
    assert.deepEqual(v.methods.map((m) => m.id), ['sms', 'email']);
    const sent = await client.sendOtp(issuerId, v.id, 'sms');
    assert.equal(sent.sent, true);
    const list = await client.messages(issuerId, v.id);
    assert.equal(list.data.length, 1);
    const code = /\b(\d{6})\b/.exec(list.data[0]!.body)![1]!;
    const ok = await client.confirmOtp(issuerId, v.id, code);
    assert.deepEqual(ok, { id: v.id, object: 'card_verification', decision: 'green', status: 'verified' });
  });

  it('throws PartyError with the catalogue code on a card error', async () => {
    const b = body('visa_green', { cvv: '999' });
    await assert.rejects(client.verifyCard(issuerIdForPan(b.pan)!, b), (err: unknown) => {
      assert.ok(err instanceof PartyError);
      assert.equal(err.status, 402);
      assert.equal(err.code, 'card_cvv_incorrect');
      assert.ok(!err.message.includes('4111'));
      return true;
    });
    const v = await client.createCardVerification(issuerIdForPan(b.pan)!, { ...body('visa_yellow'), pan: '4111110000000013', cvv: '123' });
    await client.sendVerificationOtp(v.card.issuer_id, v.id, 'email');
    await assert.rejects(client.confirmVerification(v.card.issuer_id, v.id, '000000'), (err: unknown) => err instanceof PartyError && /incorrect|attempts/.test(err.message));
    assert.equal((await client.verificationMessages(v.card.issuer_id, v.id)).data[0]!.channel, 'email');
  });

  it('lists the sandbox cards without credentials', async () => {
    const list = await new IssuerClient(new InjectTransport(() => t.app), '').sandboxCards('iss_tessera_bank');
    assert.ok(list.data.some((c) => c.number === '5555555555554444'));
  });

  it('sends ISO 8583 to an issuer and reads balances: iso8583() and account()', async () => {
    const pan = '4111111111111111';
    const request = {
      mti: '0100',
      fields: { 2: pan, 3: '000000', 4: '000000000250', 7: '0615120000', 11: '424242', 14: '3012', 22: '812', 32: '412345', 37: '616600424242', 41: 'TERM0042', 42: 'MERCHANT0000001', 48: packSubelements({ '36': 'V' }), 49: '840' },
    };
    const answer = unpackMessage(await client.iso8583('iss_tessera_bank', packMessage(request)));
    assert.equal(answer.mti, '0110');
    assert.equal(answer.fields[39], '00');
    const ref = (await t.issuers.service.accountForPan(pan))!;
    assert.equal(JSON.stringify(ref).includes(pan), false);
    const own = new IssuerClient(new InjectTransport(() => t.app), t.keys.tesseraBank);
    const balance = await own.account('iss_tessera_bank', ref.accountId);
    assert.equal(balance.holds, 250);
    assert.equal(balance.available, balance.posted + balance.credit_limit - 250);
    await assert.rejects(client.iso8583('iss_tessera_bank', Uint8Array.of(1, 2, 3)), (err: unknown) => err instanceof PartyError && err.status === 400 && err.code === 'issuer_message_invalid');
    await assert.rejects(client.account('iss_tessera_bank', ref.accountId), (err: unknown) => err instanceof PartyError && err.status === 403);
  });
});
