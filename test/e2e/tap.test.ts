import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { AcquirerClient } from '../../src/acquirer/client.js';
import { InjectTransport, PartyUnavailable, type Transport } from '../../src/infra/transport.js';
import { packMessage, unpackMessage } from '../../src/protocol/iso8583/iso8583.js';
import { buildTlv, parseTlv, tlv } from '../../src/protocol/tlv/tlv.js';
import type { Target } from '../../src/scenario/harness.js';
import { runProvision, type NetworkName, type ProvisionedDevice } from '../../src/scenario/provision.js';
import { kernelFor, sandboxTerminal, tap, withChangedAmount, type TerminalSetup } from '../../src/scenario/tap.js';
import { createTessera, type Tessera } from '../../src/server/tessera.js';
import { createTestEnv, type TestEnv } from '../helpers/env.js';

let env: TestEnv;
let tessera: Tessera;
let target: Target;
let terminal: TerminalSetup;
/** What the issuer hop does: pass, answer late, or take the message and never answer. */
let issuerMode: 'normal' | 'slow' | 'lost' = 'normal';

const quiet = { step: () => {}, detail: () => {} };

before(async () => {
  env = await createTestEnv();
  tessera = await createTessera({
    config: env.config,
    logger: env.logger,
    db: env.db,
    cache: env.cache,
    wrapTransport: (hop, inner): Transport =>
      hop.to !== 'issuer'
        ? inner
        : {
            async request(req) {
              if (issuerMode === 'slow' && req.raw) {
                await sleep(1800);
                return inner.request(req);
              }
              if (issuerMode === 'lost' && req.raw && unpackMessage(req.raw).mti === '0100') {
                // The issuer processes the authorization, then the answer is lost (a crash mid-flight).
                await inner.request(req);
                throw new PartyUnavailable('issuer', 'connection reset');
              }
              return inner.request(req);
            },
          },
  });
  const transport = new InjectTransport(() => tessera.app);
  target = { device: transport, raw: transport, trace: undefined, tessera, adminKey: tessera.newAdminKey, close: async () => {} };
  terminal = await sandboxTerminal(target);
});
after(async () => {
  await tessera.close();
  await env.close();
});

async function device(options: { network?: NetworkName; card?: string } = {}): Promise<ProvisionedDevice> {
  const d = await runProvision(target.device, options, quiet);
  await d.wallet.setDefaultCard(d.cardId);
  return d;
}

async function pay(d: ProvisionedDevice, amount: number, options: { verify?: boolean; cvmLimit?: number; terminal?: TerminalSetup } = {}) {
  if (options.verify !== false) assert.equal((await d.wallet.preparePayment({ biometric: 'match' })).ok, true);
  else await d.wallet.preparePayment(null);
  const t = options.terminal ?? terminal;
  return tap(target, d, t, kernelFor(t, options.cvmLimit !== undefined ? { cvmLimit: options.cvmLimit } : {}), amount);
}

/** A captured 0100 sent again as a new transmission (new STAN), optionally altered: what a fraudster would try. */
async function resend(packed: Uint8Array, alter: (fields: Record<number, string | Uint8Array>) => void = () => {}) {
  const msg = unpackMessage(packed);
  const fields = { ...msg.fields };
  fields[11] = String(100000 + Math.floor(Math.random() * 899999));
  alter(fields);
  const answer = await new AcquirerClient(target.raw, terminal.apiKey).authorize(packMessage({ mti: msg.mti, fields }));
  return unpackMessage(answer).fields[39];
}

function setTag(fields: Record<number, string | Uint8Array>, tag: string, value: Uint8Array) {
  fields[55] = buildTlv(parseTlv(fields[55] as Uint8Array).map((n) => (n.tag === tag ? tlv(tag, value) : n)));
}

function flip(bytes: Uint8Array): Uint8Array {
  const out = Uint8Array.from(bytes);
  out[out.length - 1]! ^= 0x01;
  return out;
}

async function invariants() {
  const r = await tessera.issuers.service.checkInvariants();
  assert.equal(r.ok, true, JSON.stringify(r));
}

describe('paying in store: the tap end to end', () => {
  for (const network of ['visa', 'mastercard', 'amex', 'discover'] as const) {
    it(`${network}: approved, recorded in the wallet history`, async () => {
      const d = await device({ network });
      const r = await pay(d, 1234);
      assert.equal(r.approved, true, `${r.responseCode} ${r.reason}`);
      assert.equal(r.responseCode, '00');
      assert.match(r.authCode ?? '', /^[0-9A-Z]{6}$/);
      await tessera.outbox.runOnce();
      const history = await d.client.transactions({ limit: 5 });
      assert.equal(history.data[0]?.status, 'approved');
      assert.equal(history.data[0]?.amount, 1234);
      assert.equal(history.data[0]?.merchant_name, 'Corner Coffee');
      assert.equal(history.data[0]?.type, 'nfc');
    });
  }

  it('declines: insufficient funds (51) and over the amount limit (61)', async () => {
    const low = await device({ card: '4111110000000039' });
    assert.equal((await pay(low, 1234)).responseCode, '51');
    const d = await device({ network: 'mastercard' });
    assert.equal((await pay(d, 600_000)).responseCode, '61');
  });

  it('declines a suspended token (62) at once, cache warm', async () => {
    const d = await device({ network: 'visa' });
    assert.equal((await pay(d, 100)).approved, true, 'warms the token cache');
    await env.db.query("UPDATE network.tokens SET status = 'suspended' WHERE token_ref = $1", [d.tokenRef]);
    await tessera.networks.service.invalidateToken(d.tokenRef);
    assert.equal((await pay(d, 100)).responseCode, '62');
  });

  it('declines an expired card (54)', async () => {
    const d = await device({ network: 'discover' });
    const account = await tessera.issuers.service.accountForPan('6011111111111117');
    await tessera.issuers.service.setCardStatus(account!.cardId, 'expired');
    try {
      assert.equal((await pay(d, 100)).responseCode, '54');
    } finally {
      await tessera.issuers.service.setCardStatus(account!.cardId, 'active');
    }
  });

  it('no consumer-device CVM above the limit: the reader declines, and the issuer (55) when the reader lets it through', async () => {
    const d = await device({ network: 'visa' });
    const offline = await pay(d, 15_000, { verify: false });
    assert.equal(offline.offline, 'cvm_required');
    const online = await pay(d, 15_000, { verify: false, cvmLimit: 1_000_000 });
    assert.equal(online.responseCode, '55');
    const verified = await pay(d, 15_000, { verify: true, cvmLimit: 1_000_000 });
    assert.equal(verified.approved, true);
  });

  it('wrong cryptogram: any changed byte of amount, UN, ATC or ARQC is declined 88', async () => {
    const d = await device({ network: 'mastercard' });
    const r = await pay(d, 500);
    assert.equal(r.approved, true);
    const amount = (f: Record<number, string | Uint8Array>) => {
      f[4] = '000000000600';
      setTag(f, '9F02', Uint8Array.from([0, 0, 0, 0, 6, 0]));
    };
    assert.equal(await resend(r.packed!, amount), '88');
    assert.equal(await resend(r.packed!, (f) => setTag(f, '9F37', flip(parseTlv(f[55] as Uint8Array).find((n) => n.tag === '9F37')!.value))), '88');
    assert.equal(await resend(r.packed!, (f) => setTag(f, '9F36', Uint8Array.from([0xff, 0x00]))), '88');
    assert.equal(await resend(r.packed!, (f) => setTag(f, '9F26', flip(parseTlv(f[55] as Uint8Array).find((n) => n.tag === '9F26')!.value))), '88');
  });

  it('a replayed ATC is declined 63; a replayed 0100 never approves twice', async () => {
    const d = await device({ network: 'amex' });
    const r = await pay(d, 700);
    assert.equal(r.approved, true);
    const acquirer = new AcquirerClient(target.raw, terminal.apiKey);
    const same = unpackMessage(await acquirer.authorize(r.packed!));
    assert.equal(same.fields[39], '00', 'a retransmission gets the stored answer');
    assert.equal(unpackMessage(await acquirer.authorize(withChangedAmount(r.packed!, 800))).fields[39], '94');
    assert.equal(await resend(r.packed!), '63', 'the same cryptogram as a new transmission: the ATC is not higher');
    const account = await tessera.issuers.service.accountForPan('378282246310005');
    const { rows } = await env.db.query<{ n: number }>("SELECT count(*)::int AS n FROM issuer.holds WHERE card_id = $1 AND amount = 700 AND status = 'active'", [account!.cardId]);
    assert.equal(rows[0]!.n, 1, 'one hold for the one approval');
    await invariants();
  });

  it('a token used outside its domain (manual entry, e-commerce) is declined 57', async () => {
    const d = await device({ network: 'visa' });
    const r = await pay(d, 300);
    assert.equal(await resend(r.packed!, (f) => (f[22] = '012')), '57');
    assert.equal(await resend(r.packed!, (f) => (f[22] = '812')), '57');
  });

  it('an issuer that answers too late: 91 to the terminal, the late hold released by the reversal', async () => {
    const d = await device({ network: 'visa' });
    issuerMode = 'slow';
    let r;
    try {
      r = await pay(d, 2500);
    } finally {
      issuerMode = 'normal';
    }
    assert.equal(r.approved, false);
    assert.equal(r.responseCode, '91');
    await sleep(2000);
    for (let i = 0; i < 10; i++) {
      await tessera.networks.runPendingReversals();
      await tessera.acquirer.runPendingReversals();
      if ((await tessera.issuers.service.checkInvariants()).ok) break;
      await sleep(300);
    }
    await invariants();
  });

  it('an issuer whose answer is lost mid-flight: no approval, and no hold left behind', async () => {
    const d = await device({ network: 'mastercard' });
    issuerMode = 'lost';
    let r;
    try {
      r = await pay(d, 4321);
    } finally {
      issuerMode = 'normal';
    }
    assert.equal(r.approved, false);
    await sleep(1700);
    for (let i = 0; i < 10; i++) {
      await tessera.networks.runPendingReversals();
      if ((await tessera.issuers.service.checkInvariants()).ok) break;
      await sleep(300);
    }
    await invariants();
    const account = await tessera.issuers.service.accountForPan('5555555555554444');
    const { rows } = await env.db.query<{ n: number }>("SELECT count(*)::int AS n FROM issuer.holds WHERE card_id = $1 AND status = 'active' AND amount = 4321", [account!.cardId]);
    assert.equal(rows[0]!.n, 0);
  });

  it('a terminal reversal releases the hold exactly once', async () => {
    const d = await device({ network: 'discover' });
    const r = await pay(d, 999);
    assert.equal(r.approved, true);
    const account = await tessera.issuers.service.accountForPan('6011111111111117');
    const before = await tessera.issuers.service.accountView(account!.issuerId, account!.accountId);
    const msg = unpackMessage(r.packed!);
    const de90 = `0100${String(msg.fields[11]).padStart(6, '0')}${msg.fields[7]}${'0'.repeat(22)}`;
    const reversal = packMessage({ mti: '0400', fields: { ...msg.fields, 90: de90, 55: undefined as never } });
    const acquirer = new AcquirerClient(target.raw, terminal.apiKey);
    await Promise.all([acquirer.authorize(reversal), acquirer.authorize(reversal)]);
    for (let i = 0; i < 10; i++) {
      await tessera.acquirer.runPendingReversals();
      await tessera.networks.runPendingReversals();
      const now = await tessera.issuers.service.accountView(account!.issuerId, account!.accountId);
      if (now.holds === before.holds - 999) break;
      await sleep(200);
    }
    const afterView = await tessera.issuers.service.accountView(account!.issuerId, account!.accountId);
    assert.equal(afterView.holds, before.holds - 999, 'released once, not twice');
    await invariants();
  });
});
