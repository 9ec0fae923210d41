import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CompactEncrypt, importJWK } from 'jose';
import { vaultContext } from '../../src/network/service.js';
import { isTokenBin, luhnCheck, tokenBinFor } from '../../src/protocol/cards/index.js';
import { startTestTessera, type TestTessera } from '../helpers/tessera.js';
import { card, newDevice, newUser } from '../helpers/wallet.js';

let t: TestTessera;
before(async () => {
  t = await startTestTessera();
});
after(async () => {
  await t.close();
});

const WELL_KNOWN = { visa: '4111111111111111', mastercard: '5555555555554444', amex: '378282246310005', discover: '6011111111111117' } as const;
const YELLOW = { visa: '4111110000000013', mastercard: '5555550000000010', amex: '378282000000016', discover: '6011110000000019' } as const;
const RED = { visa: '4111110000000021', mastercard: '5555550000000028', amex: '378282000000024', discover: '6011110000000027' } as const;

async function codeFrom(device: Awaited<ReturnType<typeof newDevice>>, cardId: string): Promise<string> {
  const messages = await device.wallet.verificationMessages(cardId);
  const code = /\b(\d{6})\b/.exec(messages.at(-1)?.body ?? '')?.[1];
  assert.ok(code, 'the sandbox outbox has the code');
  return code;
}

async function rejection(p: Promise<unknown>): Promise<{ code?: string; status?: number; declineCode?: string }> {
  try {
    await p;
  } catch (err) {
    return err as { code?: string; status?: number; declineCode?: string };
  }
  assert.fail('expected a refusal');
}

describe('provisioning end to end (device → platform → network → issuer)', () => {
  for (const network of ['visa', 'mastercard', 'amex', 'discover'] as const) {
    it(`${network}: green path installs a device token in the SE`, async () => {
      const user = await newUser(t);
      const phone = await newDevice(t, user);
      const r = await phone.wallet.addCard(card(WELL_KNOWN[network]));
      assert.equal(r.state, 'active');
      assert.equal(r.card.network, network);
      assert.equal(r.card.last4, WELL_KNOWN[network].slice(-4));
      const onSe = await phone.se.listCards();
      assert.deepEqual(onSe.map((c) => c.tokenRef), [r.card.token_ref]);
      const cards = await phone.wallet.cards();
      assert.equal(cards[0]?.on_device, true);
      const art = await t.request({ method: 'GET', url: new URL(r.card.art_url, 'http://x').pathname });
      assert.equal(art.statusCode, 200);
      assert.match(String(art.headers['cache-control']), /max-age=\d+/);
      assert.match(art.body, /^<svg/);
    });

    it(`${network}: yellow path asks for a one-time code, then activates`, async () => {
      const user = await newUser(t);
      const phone = await newDevice(t, user);
      const r = await phone.wallet.addCard(card(YELLOW[network]));
      assert.equal(r.state, 'needs_verification');
      assert.equal((await phone.se.listCards()).length, 0, 'nothing in the SE before the code');
      if (r.state !== 'needs_verification') return;
      await phone.wallet.sendCode(r.card.id, r.methods[0]!.id);
      const done = await phone.wallet.confirmCode(r.card.id, await codeFrom(phone, r.card.id));
      assert.equal(done.state, 'active');
      assert.equal((await phone.se.listCards()).length, 1);
    });

    it(`${network}: red path is refused with a clear reason`, async () => {
      const user = await newUser(t);
      const phone = await newDevice(t, user);
      const err = await rejection(phone.wallet.addCard(card(RED[network])));
      assert.equal(err.code, 'provisioning_declined');
      assert.equal(err.status, 402);
      assert.ok(err.declineCode);
    });
  }

  it('a low device score turns the well-known card yellow', async () => {
    const phone = await newDevice(t, await newUser(t));
    const r = await phone.wallet.addCard(card(WELL_KNOWN.visa), { sandboxDeviceScore: 1 });
    assert.equal(r.state, 'needs_verification');
  });

  it('wrong CVV, expired card, unknown BIN and bad Luhn each give their own error', async () => {
    const phone = await newDevice(t, await newUser(t));
    assert.equal((await rejection(phone.wallet.addCard(card(WELL_KNOWN.visa, '999')))).code, 'card_cvv_incorrect');
    assert.equal((await rejection(phone.wallet.addCard(card('4111110000000047')))).code, 'card_expired');
    // A Visa-range number no issuer holds.
    assert.equal((await rejection(phone.wallet.addCard(card('4000056655665556')))).code, 'card_not_supported');
    // The wallet refuses a bad number before anything leaves the device...
    assert.equal((await rejection(phone.wallet.addCard(card('4111111111111112')))).code, 'wallet_card_invalid');
    // ...and the network refuses one that a modified device sends anyway.
    const key = await phone.client.networkEncryptionKey('visa');
    const jwe = await new CompactEncrypt(new TextEncoder().encode(JSON.stringify({ pan: '4111111111111112', exp_month: 12, exp_year: 2031, cvv: '123', name: 'X' })))
      .setProtectedHeader({ alg: 'ECDH-ES+A256KW', enc: 'A256GCM', kid: key.kid, cty: 'card+json' })
      .encrypt(await importJWK(key.jwk, 'ECDH-ES+A256KW'));
    const direct = await rejection(phone.client.provision({ network: 'visa', encrypted_card: jwe }, 'bad-luhn-1'));
    assert.equal(direct.code, 'card_number_invalid');
  });

  it('a wrong one-time code says how many tries are left, then locks', async () => {
    const phone = await newDevice(t, await newUser(t));
    const r = await phone.wallet.addCard(card(YELLOW.mastercard));
    assert.equal(r.state, 'needs_verification');
    if (r.state !== 'needs_verification') return;
    await phone.wallet.sendCode(r.card.id, r.methods[0]!.id);
    const real = await codeFrom(phone, r.card.id);
    const wrong = real === '000000' ? '111111' : '000000';
    const codes: (string | undefined)[] = [];
    for (let i = 0; i < 3; i++) codes.push((await rejection(phone.wallet.confirmCode(r.card.id, wrong))).code);
    assert.deepEqual(codes, ['verification_code_incorrect', 'verification_code_incorrect', 'verification_locked']);
    const after = await rejection(phone.wallet.confirmCode(r.card.id, real));
    assert.ok(after.status === 402 || after.status === 409, 'even the right code is refused once locked');
    assert.equal((await phone.se.listCards()).length, 0);
    const cards = await phone.client.cards();
    assert.equal(cards.some((c) => c.id === r.card.id && c.status === 'active'), false);
  });

  it("two devices of one user get different tokens; each SE holds only its own", async () => {
    const user = await newUser(t);
    const phone = await newDevice(t, user, 'phone');
    const watch = await newDevice(t, user, 'watch');
    const a = await phone.wallet.addCard(card(WELL_KNOWN.visa));
    const b = await watch.wallet.addCard(card(WELL_KNOWN.visa));
    assert.notEqual(a.card.token_ref, b.card.token_ref);
    assert.notEqual(a.card.token_last4 + a.card.token_ref, b.card.token_last4 + b.card.token_ref);
    assert.deepEqual((await phone.se.listCards()).map((c) => c.tokenRef), [a.card.token_ref]);
    assert.deepEqual((await watch.se.listCards()).map((c) => c.tokenRef), [b.card.token_ref]);
    // The token numbers themselves stay in the network and the SE; check them where they live.
    for (const ref of [a.card.token_ref, b.card.token_ref]) {
      const { rows } = await t.env.db.query<{ token_pan_encrypted: Buffer }>('SELECT token_pan_encrypted FROM network.tokens WHERE token_ref = $1', [ref]);
      const pan = await t.tessera.networks.vault.decryptString(rows[0]!.token_pan_encrypted, vaultContext.tokenPan(ref));
      assert.ok(luhnCheck(pan));
      assert.ok(isTokenBin(pan));
      assert.ok(pan.startsWith(tokenBinFor('visa')));
      assert.equal(pan.length, 16);
      assert.notEqual(pan, WELL_KNOWN.visa);
    }
  });

  it('the same card twice on one device: the second is a conflict, concurrent or not', async () => {
    const phone = await newDevice(t, await newUser(t));
    const results = await Promise.allSettled([phone.wallet.addCard(card(WELL_KNOWN.discover)), phone.wallet.addCard(card(WELL_KNOWN.discover))]);
    const ok = results.filter((r) => r.status === 'fulfilled');
    const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    assert.equal(ok.length, 1);
    assert.equal(failed.length, 1);
    assert.equal((failed[0]!.reason as { code?: string }).code, 'card_already_provisioned');
    assert.equal((await rejection(phone.wallet.addCard(card(WELL_KNOWN.discover)))).code, 'card_already_provisioned');
    assert.equal((await phone.se.listCards()).length, 1);
  });

  it('a retried provisioning request (same Idempotency-Key) never makes a second token', async () => {
    const phone = await newDevice(t, await newUser(t));
    const key = await phone.client.networkEncryptionKey('amex');
    const jwe = await new CompactEncrypt(new TextEncoder().encode(JSON.stringify({ pan: WELL_KNOWN.amex, exp_month: 12, exp_year: 2031, cvv: '1234', name: 'X' })))
      .setProtectedHeader({ alg: 'ECDH-ES+A256KW', enc: 'A256GCM', kid: key.kid, cty: 'card+json' })
      .encrypt(await importJWK(key.jwk, 'ECDH-ES+A256KW'));
    const first = await phone.client.provision({ network: 'amex', encrypted_card: jwe }, 'retry-me');
    const second = await phone.client.provision({ network: 'amex', encrypted_card: jwe }, 'retry-me');
    assert.equal(second.card.token_ref, first.card.token_ref);
    assert.equal(second.provisioning_payload, first.provisioning_payload);
    const { rows } = await t.env.db.query<{ n: number }>("SELECT count(*)::int AS n FROM platform.cards WHERE device_id = $1", [phone.deviceId]);
    assert.equal(rows[0]!.n, 1);
  });

  it("another user's card and device are not found", async () => {
    const alice = await newDevice(t, await newUser(t));
    const bob = await newDevice(t, await newUser(t));
    const r = await alice.wallet.addCard(card(WELL_KNOWN.mastercard));
    assert.equal((await rejection(bob.client.card(r.card.id))).status, 404);
    assert.equal((await rejection(bob.client.messages(r.card.id))).status, 404);
    assert.equal((await rejection(bob.client.sendCode(r.card.id, 'sms'))).status, 404);
  });
});
