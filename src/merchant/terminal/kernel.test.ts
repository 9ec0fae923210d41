import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { fromHex, toHex } from '../../protocol/bytes.js';
import type { Network } from '../../protocol/cards/index.js';
import { cryptogramInput, parseIad, verifyArqc } from '../../protocol/emv/index.js';
import { packMessage, unpackMessage, type IsoMessage } from '../../protocol/iso8583/iso8583.js';
import { buildTlv, parseTlv, tlv, tlvToMap } from '../../protocol/tlv/tlv.js';
import { ALL_NETWORKS, T0, authorizeTap, paymentDevice, verifyCryptogram, type PaymentDevice } from '../../device/applet.test-helper.js';
import { FakePlatform } from '../../device/fixtures.test-helper.js';
import { seLink, tracingLink, type ApduLink, type ApduTrace } from '../../device/nfc.js';
import { setupDevice } from '../../device/setup.js';
import { MemoryStorage } from '../../device/storage.js';
import { Wallet } from '../../device/wallet.js';
import { KernelError } from './errors.js';
import { ContactlessKernel, DE55_FORBIDDEN_TAGS, DE55_TAGS, type KernelConfig, type KernelOutcome } from './kernel.js';

const BASE: KernelConfig = {
  terminalId: 'TRM00001',
  merchantId: 'MERCHANT0000001',
  merchantName: 'TESSERA COFFEE',
  merchantCity: 'SAN FRANCISCO',
  merchantCountry: 'US',
  mcc: '5814',
  countryCode: '0840',
  currencyCode: '0840',
  currencyAlpha: 'USD',
  cvmLimit: 5000,
};

function kernelFor(d: Pick<PaymentDevice, 'clock'>, overrides: Partial<KernelConfig> = {}): ContactlessKernel {
  return new ContactlessKernel({ ...BASE, clock: () => d.clock.now, ...overrides });
}

function online(outcome: KernelOutcome): Extract<KernelOutcome, { kind: 'online' }> {
  assert.equal(outcome.kind, 'online', `expected online, got ${outcome.kind}${outcome.kind === 'declined_offline' ? ` (${outcome.reason})` : ''}`);
  return outcome as Extract<KernelOutcome, { kind: 'online' }>;
}

/**
 * What the network does with a 0100 from the acquirer: DE55 → CryptogramInput, amount and currency
 * consistent with DE4/DE49, the token's key from DE2 + DE23, the ARQC verified. Answers the DE55 tags.
 */
async function networkVerifies(packed: Uint8Array, network: Network): Promise<Map<string, Uint8Array>> {
  const msg = unpackMessage(packed);
  const de55 = msg.fields[55];
  assert.ok(de55 instanceof Uint8Array);
  const tags = tlvToMap(parseTlv(de55));
  for (const forbidden of DE55_FORBIDDEN_TAGS) assert.equal(tags.has(forbidden), false, `DE55 carries ${forbidden}`);
  for (const needed of DE55_TAGS) assert.ok(tags.has(needed), `DE55 lacks ${needed}`);
  const input = cryptogramInput(tags);
  assert.equal(toHex(input['9F02']), msg.fields[4], 'DE4 = 9F02');
  assert.equal(toHex(input['5F2A']), `0${String(msg.fields[49])}`, 'DE49 = 5F2A');
  const pan = String(msg.fields[2]);
  const psn = String(msg.fields[23]).slice(1);
  assert.equal(toHex(tags.get('5F34')!), psn, 'DE23 = 5F34');
  assert.equal(toHex(tags.get('9F27')!), '80');
  assert.equal(await verifyCryptogram(network, pan, psn, input, tags.get('9F26')!), true, 'ARQC verifies');
  return tags;
}

describe('kernel ↔ SE: a tap per network', () => {
  for (const network of ALL_NETWORKS) {
    it(`${network}: builds a 0100 whose ARQC the network verifies from DE55`, async () => {
      const d = await paymentDevice();
      const card = d.cards[network];
      await d.se.prepareContactless(card.tokenRef, null);
      const kernel = kernelFor(d, { random: () => fromHex('DEADBEEF') });
      const outcome = online(await kernel.transact(seLink(d.se), { amount: 1250 }));
      assert.equal(outcome.cdcvm, false);
      assert.equal(outcome.amount, 1250);
      assert.equal(outcome.currency, 'USD');
      assert.deepEqual(outcome.card, {
        aid: { visa: 'A0000000031010', mastercard: 'A0000000041010', amex: 'A00000002501', discover: 'A0000001523010' }[network],
        network,
        label: `${network.toUpperCase()} CREDIT`.slice(0, 16),
        panLast4: card.tokenPan.slice(-4),
        atc: 1,
      });
      assert.equal(outcome.apdus.length, network === 'mastercard' ? 6 : 3);

      const msg = unpackMessage(outcome.packed);
      assert.deepEqual(msg, outcome.request);
      assert.deepEqual(packMessage(msg), outcome.packed);
      const f = msg.fields;
      assert.equal(msg.mti, '0100');
      assert.equal(f[2], card.tokenPan);
      assert.equal(f[3], '000000');
      assert.equal(f[4], '000000001250');
      assert.equal(f[7], '0314150926');
      assert.equal(f[11], '000001');
      assert.equal(f[12], '150926');
      assert.equal(f[13], '0314');
      assert.equal(f[14], '3012');
      assert.equal(f[18], '5814');
      assert.equal(f[22], '071');
      assert.equal(f[23], '000');
      assert.equal(f[25], '00');
      assert.equal(f[41], 'TRM00001');
      assert.equal(f[42], 'MERCHANT0000001');
      assert.equal(f[43], 'TESSERA COFFEE           SAN FRANCISCOUS');
      assert.equal(f[49], '840');
      assert.deepEqual(Object.keys(f).map(Number), [2, 3, 4, 7, 11, 12, 13, 14, 18, 22, 23, 25, 41, 42, 43, 49, 55]);

      const tags = await networkVerifies(outcome.packed, network);
      assert.equal(toHex(tags.get('9F37')!), 'DEADBEEF');
      assert.equal(toHex(tags.get('9A')!), '260314');
      assert.equal(toHex(tags.get('9F34')!), '1F0002');
      assert.equal(toHex(tags.get('9F66')!), '20804000');
      assert.equal(toHex(tags.get('9F33')!), '000800');
      assert.equal(toHex(tags.get('9F35')!), '22');
      assert.equal(toHex(tags.get('95')!), '8000000000');
      assert.equal(tags.has('9F6C'), network !== 'mastercard');
      // DE55 in the documented order.
      const order = parseTlv(f[55] as Uint8Array).map((n) => n.tag);
      assert.deepEqual(order, [...DE55_TAGS, ...(network === 'mastercard' ? [] : ['9F6C']), '9F66']);
      // The phone saw the merchant.
      assert.equal(d.se.lastTap()!.merchantName, 'TESSERA COFFEE');
      assert.equal(d.se.lastTap()!.mcc, '5814');
    });
  }

  it('increments the ATC across taps and across an SE reopen, and the STAN per online message', async () => {
    const d = await paymentDevice();
    let stan = 41;
    const kernel = kernelFor(d, { stan: () => ++stan });
    const atcs: string[] = [];
    const stans: string[] = [];
    let se = d.se;
    for (let i = 0; i < 4; i++) {
      if (i === 2) se = await d.reopen();
      await se.prepareContactless(d.cards.mastercard.tokenRef, null);
      const outcome = online(await kernel.transact(seLink(se), { amount: 100 + i }));
      const tags = await networkVerifies(outcome.packed, 'mastercard');
      atcs.push(toHex(tags.get('9F36')!));
      stans.push(String(outcome.request.fields[11]));
    }
    assert.deepEqual(atcs, ['0001', '0002', '0003', '0004']);
    assert.deepEqual(stans, ['000042', '000043', '000044', '000045']);
  });

  it('reports the dialogue through a tracing link as trace lines', async () => {
    const d = await paymentDevice();
    await d.se.prepareContactless(d.cards.visa.tokenRef, null);
    const traces: ApduTrace[] = [];
    const outcome = online(await kernelFor(d).transact(tracingLink(seLink(d.se), (t) => traces.push(t)), { amount: 500 }));
    assert.equal(traces.length, 6);
    assert.deepEqual(
      traces.map((t) => `${t.from}>${t.to}`),
      ['terminal>device', 'device>terminal', 'terminal>device', 'device>terminal', 'terminal>device', 'device>terminal'],
    );
    assert.deepEqual(
      outcome.apdus.flatMap((a) => [a.command, a.response]),
      traces.map((t) => t.hex),
    );
    assert.ok(traces[0]!.hex.startsWith('00A404000E325041592E5359532E4444463031'));
  });
});

describe('kernel ↔ SE: consumer-device CVM and the CVM limit', () => {
  for (const network of ALL_NETWORKS) {
    it(`${network}: a fresh authorization signals CDCVM and pays above the CVM limit`, async () => {
      const d = await paymentDevice();
      await d.se.prepareContactless(d.cards[network].tokenRef, await authorizeTap(d));
      const outcome = online(await kernelFor(d).transact(seLink(d.se), { amount: 12_000 }));
      assert.equal(outcome.cdcvm, true);
      const tags = await networkVerifies(outcome.packed, network);
      assert.equal(toHex(tags.get('9F34')!), '010002');
      assert.equal(toHex(tags.get('9F66')!), '20C04000', 'TTQ says CVM required');
      if (network === 'mastercard') {
        assert.equal(toHex(parseIad(20, tags.get('9F10')!).cvr), 'A50000000000');
      } else {
        assert.equal(toHex(tags.get('9F6C')!), '0080');
        assert.equal(toHex(tags.get('9F10')!.slice(3)), '03A40000');
      }
    });

    it(`${network}: without a usable authorization, no CDCVM: declined offline above the limit, online below`, async () => {
      const d = await paymentDevice();
      const ref = d.cards[network].tokenRef;
      const kernel = kernelFor(d);
      const cases: Array<[string, () => Promise<unknown>]> = [
        ['none', async () => d.se.prepareContactless(ref, null)],
        [
          'expired',
          async () => {
            await d.se.prepareContactless(ref, await authorizeTap(d));
            d.clock.now += 60_001;
          },
        ],
        [
          'reused',
          async () => {
            const auth = await authorizeTap(d);
            await d.se.prepareContactless(ref, auth);
            await d.se.cancelContactless();
            await d.se.newChallenge('contactless');
            await d.se.prepareContactless(ref, auth);
          },
        ],
        ['wrong purpose', async () => d.se.prepareContactless(ref, await authorizeTap(d, 'inapp'))],
      ];
      for (const [name, arm] of cases) {
        await arm();
        const above = await kernel.transact(seLink(d.se), { amount: 5001 });
        assert.equal(above.kind, 'declined_offline', name);
        assert.equal(above.kind === 'declined_offline' && above.reason, 'cvm_required', name);
        assert.equal(above.cdcvm, false);
        await arm();
        const below = online(await kernel.transact(seLink(d.se), { amount: 5000 }));
        assert.equal(below.cdcvm, false, name);
        const tags = await networkVerifies(below.packed, network);
        assert.equal(toHex(tags.get('9F34')!), '1F0002', name);
        const cvr = network === 'mastercard' ? toHex(parseIad(20, tags.get('9F10')!).cvr) : toHex(tags.get('9F10')!.slice(3));
        assert.equal(cvr, network === 'mastercard' ? 'A00000000000' : '03A00000', name);
      }
    });
  }

  it('Visa: the decline above the limit comes after GPO (the ATC moved), Mastercard after an AAC with "see phone"', async () => {
    const d = await paymentDevice();
    await d.se.prepareContactless(d.cards.visa.tokenRef, null);
    const visa = await kernelFor(d).transact(seLink(d.se), { amount: 9999 });
    assert.equal(visa.kind, 'declined_offline');
    assert.equal(visa.apdus.length, 3);
    assert.equal(visa.card.atc, null);
    assert.equal(d.se.lastTap()!.atc, 1);

    await d.se.prepareContactless(d.cards.mastercard.tokenRef, null);
    const mc = await kernelFor(d).transact(seLink(d.se), { amount: 9999 });
    assert.equal(mc.kind === 'declined_offline' && mc.reason, 'cvm_required');
    assert.equal(mc.apdus.length, 6);
    assert.match(mc.apdus[5]!.response, /DF4B03000100/);
    assert.equal(d.se.lastTap()!.cryptogram, 'AAC');
  });

  it('a reader without CDCVM support (TTQ byte 3 bit 40 clear) declines above the limit even with an authorization', async () => {
    const d = await paymentDevice();
    for (const network of ['visa', 'mastercard'] as const) {
      await d.se.prepareContactless(d.cards[network].tokenRef, await authorizeTap(d));
      const outcome = await kernelFor(d, { ttq: '20800000' }).transact(seLink(d.se), { amount: 9999 });
      assert.equal(outcome.kind === 'declined_offline' && outcome.reason, 'cvm_required', network);
    }
  });

  it('Mastercard below the limit with an authorization: the CVR carries CDCVM, the terminal asked for no CVM', async () => {
    const d = await paymentDevice();
    await d.se.prepareContactless(d.cards.mastercard.tokenRef, await authorizeTap(d));
    const outcome = online(await kernelFor(d).transact(seLink(d.se), { amount: 300 }));
    assert.equal(outcome.cdcvm, false);
    const tags = await networkVerifies(outcome.packed, 'mastercard');
    assert.equal(toHex(parseIad(20, tags.get('9F10')!).cvr), 'A50000000000');
    assert.equal(toHex(tags.get('9F34')!), '1F0002');
  });
});

describe('kernel ↔ SE: express transit', () => {
  for (const network of ['visa', 'mastercard'] as const) {
    it(`${network}: pays at a transit gate within the limit without authorization, nowhere else`, async () => {
      const d = await paymentDevice();
      await d.se.setTransitCard(d.cards[network].tokenRef);
      const gate = kernelFor(d, { mcc: '4111', merchantName: 'TESSERA METRO' });
      const outcome = online(await gate.transact(seLink(d.se), { amount: 275 }));
      assert.equal(outcome.cdcvm, false);
      await networkVerifies(outcome.packed, network);
      assert.equal(d.se.lastTap()!.transit, true);

      const above = await gate.transact(seLink(d.se), { amount: 2501 });
      assert.equal(above.kind === 'declined_offline' && above.reason, 'card_declined');
      const shop = await kernelFor(d, { mcc: '5411' }).transact(seLink(d.se), { amount: 275 });
      assert.equal(shop.kind === 'declined_offline' && shop.reason, 'card_declined');
      // Again at the gate: still fine (express transit needs no arming).
      online(await gate.transact(seLink(d.se), { amount: 100 }));
    });
  }
});

describe('kernel against a misbehaving card', () => {
  it('no armed card, no application, unsupported AIDs → no_application', async () => {
    const d = await paymentDevice();
    const err = await kernelFor(d)
      .transact(seLink(d.se), { amount: 100 })
      .then(() => null, (e: unknown) => e);
    assert.ok(err instanceof KernelError);
    assert.equal(err.code, 'no_application');
    assert.equal(err.sw, 0x6985);

    await d.se.prepareContactless(d.cards.discover.tokenRef, null);
    await assert.rejects(kernelFor(d, { aids: ['A0000000031010'] }).transact(seLink(d.se), { amount: 100 }), (e: unknown) => e instanceof KernelError && e.code === 'no_application');
  });

  it('a link that fails or answers garbage → link_failed / card_read_failed', async () => {
    const d = await paymentDevice();
    const kernel = kernelFor(d);
    const failing: ApduLink = {
      transceive: async () => {
        throw new Error('tag lost');
      },
    };
    await assert.rejects(kernel.transact(failing, { amount: 1 }), (e: unknown) => e instanceof KernelError && e.code === 'link_failed');
    const notBytes = { transceive: async () => 'nonsense' } as unknown as ApduLink;
    await assert.rejects(kernel.transact(notBytes, { amount: 1 }), (e: unknown) => e instanceof KernelError && e.code === 'card_read_failed');
    const short: ApduLink = { transceive: async () => Uint8Array.of(0x90) };
    await assert.rejects(kernel.transact(short, { amount: 1 }), (e: unknown) => e instanceof KernelError && e.code === 'card_read_failed');
  });

  it('inconsistent card data → card_data_invalid, with no value in the message', async () => {
    const d = await paymentDevice();
    const pan = d.cards.visa.tokenPan;
    // A card whose GPO answer carries a track 2 that fails the Luhn check.
    const bad = `${pan.slice(0, -1)}${(Number(pan.slice(-1)) + 1) % 10}`;
    await d.se.prepareContactless(d.cards.visa.tokenRef, null);
    const real = seLink(d.se);
    const tampering: ApduLink = {
      async transceive(command) {
        const response = await real.transceive(command);
        return fromHex(toHex(response).replace(pan, bad));
      },
    };
    const err = await kernelFor(d)
      .transact(tampering, { amount: 100 })
      .then(() => null, (e: unknown) => e);
    assert.ok(err instanceof KernelError);
    assert.equal(err.code, 'card_data_invalid');
    assert.ok(!err.message.includes(bad) && !err.message.includes(pan.slice(-4)));
  });

  it('random answers → typed errors only', async () => {
    const runs = Math.min(Number(process.env.FUZZ_RUNS ?? 500), 5_000);
    const kernel = kernelFor({ clock: { now: T0 } });
    await fc.assert(
      fc.asyncProperty(fc.array(fc.uint8Array({ maxLength: 260 }), { minLength: 1, maxLength: 12 }), async (answers) => {
        let i = 0;
        const link: ApduLink = { transceive: async () => answers[i++ % answers.length]! };
        try {
          await kernel.transact(link, { amount: 100 });
        } catch (err) {
          assert.ok(err instanceof KernelError, `untyped ${String(err)}`);
        }
      }),
      { numRuns: runs },
    );
  });

  it('mutated real answers (Visa and Mastercard sessions) → an outcome or a typed error only', async () => {
    const d = await paymentDevice();
    const sessions: Uint8Array[][] = [];
    for (const network of ['visa', 'mastercard'] as const) {
      await d.se.prepareContactless(d.cards[network].tokenRef, null);
      const recorded: Uint8Array[] = [];
      const real = seLink(d.se);
      await kernelFor(d).transact({ transceive: async (c) => { const r = await real.transceive(c); recorded.push(r); return r; } }, { amount: 100 });
      sessions.push(recorded);
    }
    const runs = Math.min(Number(process.env.FUZZ_RUNS ?? 500), 5_000);
    const kernel = kernelFor(d);
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(0, 1),
        fc.array(fc.tuple(fc.nat(), fc.nat(), fc.integer({ min: 0, max: 255 }), fc.constantFrom('set', 'cut', 'insert')), { minLength: 1, maxLength: 4 }),
        async (which, mutations) => {
          const answers = sessions[which]!.map((a) => Uint8Array.from(a));
          for (const [at, pos, byte, kind] of mutations) {
            const a = answers[at % answers.length]!;
            const p = pos % Math.max(1, a.length);
            if (kind === 'set') a[p] = byte;
            else if (kind === 'cut') answers[at % answers.length] = a.slice(0, p);
            else answers[at % answers.length] = Uint8Array.from([...a.slice(0, p), byte, ...a.slice(p)]);
          }
          let i = 0;
          const link: ApduLink = { transceive: async () => answers[Math.min(i++, answers.length - 1)]! };
          try {
            const outcome = await kernel.transact(link, { amount: 100 });
            if (outcome.kind === 'online') {
              const tags = tlvToMap(parseTlv(outcome.request.fields[55] as Uint8Array));
              for (const forbidden of DE55_FORBIDDEN_TAGS) assert.equal(tags.has(forbidden), false);
              unpackMessage(outcome.packed);
            }
          } catch (err) {
            assert.ok(err instanceof KernelError, `untyped ${String(err)}`);
          }
        },
      ),
      { numRuns: runs },
    );
  });
});

describe('kernel: request, configuration and the 0110', () => {
  it('refuses bad amounts and configurations', async () => {
    const kernel = new ContactlessKernel(BASE);
    const link: ApduLink = { transceive: async () => fromHex('6A82') };
    for (const amount of [0, -1, 1.5, Number.NaN, 1e12]) {
      await assert.rejects(kernel.transact(link, { amount }), (e: unknown) => e instanceof KernelError && e.code === 'request_invalid', String(amount));
    }
    await assert.rejects(kernel.transact(link, { amount: 1, type: 'refund' as 'purchase' }), (e: unknown) => e instanceof KernelError && e.code === 'request_invalid');
    const bad: Array<Partial<KernelConfig>> = [
      { terminalId: 'SHORT' },
      { merchantId: 'M1' },
      { merchantName: '' },
      { merchantName: 'X'.repeat(26) },
      { mcc: '58' },
      { countryCode: '84' },
      { currencyCode: 'USD' },
      { currencyAlpha: 'usd' },
      { ttq: '2080' },
      { terminalType: '2' },
      { capabilities: 'ZZZZZZ' },
      { cvmLimit: -5 },
      { aids: ['A0'] },
      { merchantCountry: 'USA' },
      { utcOffsetMinutes: 2000 },
    ];
    for (const b of bad) assert.throws(() => new ContactlessKernel({ ...BASE, ...b }), (e: unknown) => e instanceof KernelError && e.code === 'config_invalid', JSON.stringify(b));
  });

  it('uses local time for DE12/DE13 and 9A, UTC for DE7', async () => {
    const d = await paymentDevice();
    d.clock.now = Date.UTC(2026, 2, 14, 23, 30, 0);
    await d.se.prepareContactless(d.cards.visa.tokenRef, null);
    const outcome = online(await kernelFor(d, { utcOffsetMinutes: 60 }).transact(seLink(d.se), { amount: 100 }));
    assert.equal(outcome.request.fields[7], '0314233000');
    assert.equal(outcome.request.fields[12], '003000');
    assert.equal(outcome.request.fields[13], '0315');
    assert.equal(toHex(tlvToMap(parseTlv(outcome.request.fields[55] as Uint8Array)).get('9A')!), '260315');
  });

  it('interprets 0110 answers by DE39, checking they answer the request', async () => {
    const kernel = new ContactlessKernel(BASE);
    const request: IsoMessage = { mti: '0100', fields: { 4: '000000001250', 11: '000007', 41: 'TRM00001', 42: 'MERCHANT0000001' } };
    const arpc = buildTlv([tlv('91', fromHex('0011223344556677'))]);
    const approved: IsoMessage = { mti: '0110', fields: { 4: '000000001250', 11: '000007', 38: 'A1B2C3', 39: '00', 41: 'TRM00001', 55: arpc } };
    assert.deepEqual(kernel.interpretResponse(approved, request), {
      approved: true,
      responseCode: '00',
      reason: 'approved',
      authCode: 'A1B2C3',
      issuerAuthenticationData: '0011223344556677',
    });
    assert.deepEqual(kernel.interpretResponse(packMessage({ mti: '0110', fields: { 11: '000007', 39: '51' } }), request), {
      approved: false,
      responseCode: '51',
      reason: 'insufficient funds',
      authCode: null,
      issuerAuthenticationData: null,
    });
    assert.equal(kernel.interpretResponse({ mti: '0110', fields: { 11: '000007', 39: '55' } }).reason, 'cardholder verification required');
    assert.equal(kernel.interpretResponse({ mti: '0110', fields: { 11: '000007', 39: '63' } }).reason, 'security violation');
    assert.equal(kernel.interpretResponse({ mti: '0110', fields: { 11: '000007', 39: 'Z3' } }).reason, 'declined (code Z3)');
    const invalid = (e: unknown): boolean => e instanceof KernelError && e.code === 'response_invalid';
    assert.throws(() => kernel.interpretResponse({ ...approved, fields: { ...approved.fields, 11: '000008' } }, request), invalid);
    assert.throws(() => kernel.interpretResponse({ ...approved, fields: { ...approved.fields, 4: '000000009999' } }, request), invalid);
    assert.throws(() => kernel.interpretResponse({ mti: '0110', fields: { 39: '00' } }, request), invalid);
    assert.throws(() => kernel.interpretResponse({ mti: '0100', fields: { 39: '00' } }), invalid);
    assert.throws(() => kernel.interpretResponse({ mti: '0110', fields: {} }), invalid);
    assert.throws(() => kernel.interpretResponse(fromHex('30313130')), invalid);
    assert.throws(() => kernel.interpretResponse({ mti: '0110', fields: { 39: '00', 55: fromHex('9F') } }), invalid);
  });

  it('answers an approval of a real tap as the network would send it', async () => {
    const d = await paymentDevice();
    await d.se.prepareContactless(d.cards.visa.tokenRef, null);
    const kernel = kernelFor(d);
    const outcome = online(await kernel.transact(seLink(d.se), { amount: 999 }));
    const f = outcome.request.fields;
    const answer: IsoMessage = { mti: '0110', fields: { 2: f[2]!, 4: f[4]!, 11: f[11]!, 38: '123456', 39: '00', 41: f[41]!, 42: f[42]! } };
    assert.equal(kernel.interpretResponse(packMessage(answer), outcome.request).approved, true);
  });
});

describe('wallet preparePayment → tap', () => {
  it('double-click to pay: biometric match arms with CDCVM; no match answers what to offer; null arms without', async () => {
    const storage = new MemoryStorage();
    const clock = { now: T0 };
    const { se, enclave } = await setupDevice(storage, { biometric: 'face', passcode: '482916', passcodeIterations: 1_000, clock: () => clock.now });
    const api = new FakePlatform();
    const wallet = new Wallet({ api, se, enclave, storage, clock: () => clock.now });
    await wallet.register({ kind: 'phone', name: 'Ada phone' });
    const added = await wallet.addCard({ pan: '4111111111111111', expMonth: 12, expYear: 2030, cvv: '739', name: 'ADA LOVELACE' });
    assert.equal(added.state, 'active');

    const prepared = await wallet.preparePayment({ biometric: 'match' });
    assert.deepEqual(prepared, { ok: true, cardId: added.card.id, tokenRef: added.card.token_ref, cdcvm: true });
    const outcome = online(await kernelFor({ clock }).transact(seLink(se), { amount: 8000 }));
    assert.equal(outcome.cdcvm, true);
    // The fake network issued a random key: verify with it as the network would.
    const tags = tlvToMap(parseTlv(outcome.request.fields[55] as Uint8Array));
    assert.equal(verifyArqc(18, fromHex(api.issuedSecrets[0]!.mk), cryptogramInput(tags), tags.get('9F26')!), true);
    assert.equal(outcome.request.fields[2], api.issuedSecrets[0]!.tokenPan);

    const failed = await wallet.preparePayment({ biometric: 'no_match' });
    assert.equal(failed.ok, false);
    assert.equal(!failed.ok && failed.verification.reason, 'biometric_no_match');

    assert.deepEqual(await wallet.preparePayment(null), { ok: true, cardId: added.card.id, tokenRef: added.card.token_ref, cdcvm: false });
    const small = online(await kernelFor({ clock }).transact(seLink(se), { amount: 800 }));
    assert.equal(small.cdcvm, false);
  });
});
