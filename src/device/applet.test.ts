import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { buildCommand, generateAc, getData, getProcessingOptions, parseResponse, readRecord, selectByName, selectPpse } from '../protocol/apdu/apdu.js';
import { fromHex, toHex, utf8 } from '../protocol/bytes.js';
import { cryptogramInput, deriveIccMasterKeyA, keyCheckValue, parseIad } from '../protocol/emv/index.js';
import { buildDolData, parseDol, splitDolData } from '../protocol/tlv/dol.js';
import { parseTlv, tlvToMap } from '../protocol/tlv/tlv.js';
import { AIP_MASTERCARD, AIP_QVSDC, ATC_MAX, CDOL1_HEX, PDOL_HEX } from './applet.js';
import { IMK_3DES, authorizeTap, installCard, paymentDevice, verifyCryptogram, type PaymentDevice } from './applet.test-helper.js';
import { DeviceError } from './errors.js';
import { buildPayload, dumpStorage } from './fixtures.test-helper.js';
import { seal, unseal } from './sealed.js';
import type { SecureElement } from './secure-element.js';

const PDOL = parseDol(fromHex(PDOL_HEX));
const CDOL1 = parseDol(fromHex(CDOL1_HEX));

function terminalValues(options: { amount?: number; mcc?: string; un?: string; cvm?: string } = {}): Map<string, Uint8Array> {
  return new Map([
    ['9F66', fromHex('20804000')],
    ['9F02', fromHex(String(options.amount ?? 1234).padStart(12, '0'))],
    ['9F03', new Uint8Array(6)],
    ['9F1A', fromHex('0840')],
    ['95', fromHex('8000000000')],
    ['5F2A', fromHex('0840')],
    ['9A', fromHex('260314')],
    ['9C', fromHex('00')],
    ['9F37', fromHex(options.un ?? 'A1B2C3D4')],
    ['9F15', fromHex(options.mcc ?? '5411')],
    ['9F4E', utf8.encode('TESSERA COFFEE')],
    ['9F35', fromHex('22')],
    ['9F45', new Uint8Array(2)],
    ['9F4C', new Uint8Array(8)],
    ['9F34', fromHex(options.cvm ?? '1F0002')],
    ['9F21', fromHex('150926')],
    ['9F7C', new Uint8Array(20)],
  ]);
}

async function send(se: SecureElement, command: Uint8Array): Promise<{ sw: string; data: Uint8Array; map: Map<string, Uint8Array> }> {
  const r = parseResponse(await se.processApdu(command));
  let map = new Map<string, Uint8Array>();
  try {
    map = tlvToMap(parseTlv(r.data));
  } catch {
    // not TLV
  }
  return { sw: r.sw.toString(16).toUpperCase().padStart(4, '0'), data: r.data, map };
}

async function selectCard(se: SecureElement, aid: string): Promise<void> {
  assert.equal((await send(se, selectPpse())).sw, '9000');
  assert.equal((await send(se, selectByName(fromHex(aid)))).sw, '9000');
}

const AIDS = { visa: 'A0000000031010', mastercard: 'A0000000041010', amex: 'A00000002501', discover: 'A0000001523010' } as const;

describe('payment applet: selection', () => {
  it('lists only the armed card in PPSE and answers SELECT AID with the PDOL', async () => {
    const d = await paymentDevice();
    await d.se.prepareContactless(d.cards.visa.tokenRef, null);
    const ppse = await send(d.se, selectPpse());
    assert.equal(ppse.sw, '9000');
    const nodes = parseTlv(ppse.data);
    assert.equal(nodes[0]!.tag, '6F');
    assert.equal(toHex(ppse.map.get('84')!), toHex(utf8.encode('2PAY.SYS.DDF01')));
    assert.equal(toHex(ppse.map.get('4F')!), AIDS.visa);
    assert.equal(utf8.decode(ppse.map.get('50')!), 'VISA CREDIT');
    assert.equal(toHex(ppse.map.get('87')!), '01');
    const select = await send(d.se, selectByName(fromHex(AIDS.visa)));
    assert.equal(select.sw, '9000');
    assert.equal(toHex(select.map.get('84')!), AIDS.visa);
    assert.equal(toHex(select.map.get('9F38')!), PDOL_HEX);
    assert.equal(select.map.has('57'), false, 'no card data before GPO');
  });

  it('answers 6985 when no card is armed and no transit card is set, 6A82 for another AID', async () => {
    const d = await paymentDevice();
    assert.equal((await send(d.se, selectPpse())).sw, '6985');
    assert.equal((await send(d.se, selectByName(fromHex(AIDS.visa)))).sw, '6985');
    await d.se.prepareContactless(d.cards.visa.tokenRef, null);
    assert.equal((await send(d.se, selectPpse())).sw, '9000');
    assert.equal((await send(d.se, selectByName(fromHex(AIDS.mastercard)))).sw, '6A82');
    assert.equal((await send(d.se, selectByName(fromHex('A000000003')))).sw, '9000', 'partial selection by a 5-byte prefix');
    assert.equal((await send(d.se, selectByName(utf8.encode('1PAY.SYS.DDF01')))).sw, '6A82');
  });
});

describe('payment applet: status words for wrong states and bad commands', () => {
  it('answers each wrong command with its status word and never throws', async () => {
    const d = await paymentDevice();
    const se = d.se;
    const gpo = getProcessingOptions(buildDolData(PDOL, terminalValues()));
    await se.prepareContactless(d.cards.visa.tokenRef, null);
    assert.equal((await send(se, gpo)).sw, '6985', 'GPO before SELECT');
    assert.equal((await send(se, readRecord(1, 1))).sw, '6985', 'READ RECORD before SELECT');
    assert.equal((await send(se, generateAc(0x80, new Uint8Array(66)))).sw, '6985', 'GENERATE AC before SELECT');
    assert.equal((await send(se, getData('9F36'))).sw, '6985', 'GET DATA before SELECT');
    assert.equal((await send(se, buildCommand({ cla: 0x00, ins: 0x20, p1: 0, p2: 0x80, data: fromHex('241234FFFFFFFFFF') }))).sw, '6D00', 'VERIFY');
    assert.equal((await send(se, buildCommand({ cla: 0x80, ins: 0x50, p1: 0, p2: 0 }))).sw, '6D00', 'unknown INS');
    assert.equal((await send(se, buildCommand({ cla: 0x84, ins: 0xa4, p1: 4, p2: 0, data: fromHex(AIDS.visa) }))).sw, '6E00', 'unknown CLA');
    assert.equal((await send(se, buildCommand({ cla: 0x80, ins: 0xa4, p1: 4, p2: 0, data: fromHex(AIDS.visa) }))).sw, '6E00', 'SELECT with CLA 80');
    assert.equal((await send(se, buildCommand({ cla: 0x00, ins: 0xa8, p1: 0, p2: 0, data: fromHex('8300') }))).sw, '6E00', 'GPO with CLA 00');
    assert.equal((await send(se, buildCommand({ cla: 0x00, ins: 0xa4, p1: 0, p2: 0, data: fromHex(AIDS.visa) }))).sw, '6A86', 'SELECT P1 00');
    assert.equal((await send(se, fromHex('00A4'))).sw, '6700', 'truncated header');
    assert.equal((await send(se, fromHex('00A404000E325041'))).sw, '6700', 'Lc longer than the data');

    await selectCard(se, AIDS.visa);
    assert.equal((await send(se, buildCommand({ cla: 0x80, ins: 0xa8, p1: 1, p2: 0, data: fromHex('8300'), le: 0 }))).sw, '6A86', 'GPO P1');
    assert.equal((await send(se, getProcessingOptions(new Uint8Array(10)))).sw, '6700', 'PDOL data of the wrong length');
    assert.equal((await send(se, buildCommand({ cla: 0x80, ins: 0xa8, p1: 0, p2: 0, data: fromHex('8400'), le: 0 }))).sw, '6A80', 'GPO data not 83');
    assert.equal((await send(se, getData('9F17'))).sw, '6A88', 'GET DATA of another tag');
    assert.equal((await send(se, readRecord(1, 1))).sw, '6A83', 'a Visa card has no records');
    assert.equal((await send(se, generateAc(0x80, new Uint8Array(66)))).sw, '6985', 'GENERATE AC for Visa');
    assert.equal((await send(se, gpo)).sw, '9000');
    assert.equal((await send(se, gpo)).sw, '6985', 'GPO twice');
  });

  it('Mastercard: records, GENERATE AC only after GPO and once, wrong CDOL length 6700, unknown record 6A83', async () => {
    const d = await paymentDevice();
    const se = d.se;
    await se.prepareContactless(d.cards.mastercard.tokenRef, null);
    await selectCard(se, AIDS.mastercard);
    const cdol = buildDolData(CDOL1, terminalValues());
    assert.equal((await send(se, generateAc(0x80, cdol))).sw, '6985', 'GENERATE AC before GPO');
    assert.equal((await send(se, readRecord(3, 1))).sw, '6A83');
    assert.equal((await send(se, readRecord(1, 5))).sw, '6A83');
    assert.equal((await send(se, buildCommand({ cla: 0x00, ins: 0xb2, p1: 1, p2: 0x0b, le: 0 }))).sw, '6A86', 'READ RECORD P2 without the 100 bits');
    const gpo = await send(se, getProcessingOptions(buildDolData(PDOL, terminalValues())));
    assert.equal(gpo.sw, '9000');
    assert.equal(toHex(gpo.map.get('82')!), AIP_MASTERCARD);
    assert.equal(toHex(gpo.map.get('94')!), '0801010010010100');
    assert.equal(gpo.map.has('9F26'), false);
    const rec1 = await send(se, readRecord(1, 1));
    assert.equal(rec1.sw, '9000');
    assert.equal(parseTlv(rec1.data)[0]!.tag, '70');
    assert.match(toHex(rec1.map.get('57')!), new RegExp(`^${d.cards.mastercard.tokenPan}D3012201`));
    const rec2 = await send(se, readRecord(1, 2));
    assert.equal(toHex(rec2.map.get('5A')!), d.cards.mastercard.tokenPan);
    assert.equal(toHex(rec2.map.get('5F24')!), '301231');
    assert.equal(toHex(rec2.map.get('8C')!), CDOL1_HEX);
    assert.equal((await send(se, generateAc(0x80, cdol.slice(1)))).sw, '6700');
    assert.equal((await send(se, generateAc(0xc0, cdol))).sw, '6A86', 'P1 C0 is RFU');
    const gac = await send(se, generateAc(0x80, cdol));
    assert.equal(gac.sw, '9000');
    assert.equal(toHex(gac.map.get('9F27')!), '80');
    assert.equal((await send(se, generateAc(0x80, cdol))).sw, '6985', 'GENERATE AC twice');
  });

  it('answers every random command sequence with status words', async () => {
    const d = await paymentDevice();
    const runs = Math.min(Number(process.env.FUZZ_RUNS ?? 300), 2_000);
    const header = fc.constantFrom(
      [0x00, 0xa4, 0x04, 0x00],
      [0x80, 0xa8, 0x00, 0x00],
      [0x00, 0xb2, 0x01, 0x0c],
      [0x00, 0xb2, 0x01, 0x14],
      [0x80, 0xae, 0x80, 0x00],
      [0x80, 0xca, 0x9f, 0x36],
    );
    const valid = fc.constantFrom(
      selectPpse(),
      selectByName(fromHex(AIDS.mastercard)),
      selectByName(fromHex(AIDS.visa)),
      getProcessingOptions(buildDolData(PDOL, terminalValues())),
      readRecord(1, 2),
      generateAc(0x80, buildDolData(CDOL1, terminalValues())),
    );
    const command = fc.oneof(
      fc.uint8Array({ maxLength: 300 }),
      fc.tuple(header, fc.uint8Array({ maxLength: 80 })).map(([h, rest]) => Uint8Array.from([...h, rest.length, ...rest])),
      valid,
    );
    await fc.assert(
      fc.asyncProperty(fc.constantFrom('visa' as const, 'mastercard' as const, 'amex' as const), fc.array(command, { minLength: 1, maxLength: 8 }), async (network, commands) => {
        await d.se.prepareContactless(d.cards[network].tokenRef, null);
        for (const c of commands) {
          const out = await d.se.processApdu(c);
          assert.ok(out instanceof Uint8Array && out.length >= 2);
          const sw1 = out[out.length - 2]!;
          assert.ok(sw1 === 0x90 || (sw1 >= 0x62 && sw1 <= 0x6f), `status word ${toHex(out.slice(-2))}`);
          if (sw1 !== 0x90) assert.equal(out.length, 2, 'an error carries no data');
        }
      }),
      { numRuns: runs },
    );
  });
});

describe('payment applet: cryptograms', () => {
  it('Visa qVSDC: GPO answers the ARQC over the PDOL data, verifiable with the IMK-derived key', async () => {
    const d = await paymentDevice();
    const card = d.cards.visa;
    await d.se.prepareContactless(card.tokenRef, null);
    await selectCard(d.se, AIDS.visa);
    const values = terminalValues({ un: '0BADCAFE', amount: 4200 });
    const gpo = await send(d.se, getProcessingOptions(buildDolData(PDOL, values)));
    assert.equal(gpo.sw, '9000');
    const m = gpo.map;
    assert.equal(parseTlv(gpo.data)[0]!.tag, '77');
    assert.equal(toHex(m.get('82')!), AIP_QVSDC);
    assert.equal(toHex(m.get('57')!), `${card.tokenPan}D30122010000000000000F`);
    assert.equal(toHex(m.get('5F34')!), '00');
    assert.equal(toHex(m.get('9F10')!), '06011203A00000');
    assert.equal(toHex(m.get('9F27')!), '80');
    assert.equal(toHex(m.get('9F36')!), '0001');
    assert.equal(toHex(m.get('9F6C')!), '0000');
    assert.equal(toHex(m.get('5F24')!), '301231');
    assert.equal(toHex(m.get('9F19')!), '040010030273');
    assert.equal(utf8.decode(m.get('9F24')!), 'V0010013018209999999999999999');
    assert.ok(m.has('9F6E'));
    const input = cryptogramInput(new Map([...values, ['82', m.get('82')!], ['9F36', m.get('9F36')!], ['9F10', m.get('9F10')!]]));
    assert.equal(await verifyCryptogram('visa', card.tokenPan, '00', input, m.get('9F26')!), true);
    // Bound to the UN and the amount: another either way does not verify.
    assert.equal(await verifyCryptogram('visa', card.tokenPan, '00', { ...input, '9F37': fromHex('0BADCAFF') }, m.get('9F26')!), false);
    assert.equal(await verifyCryptogram('visa', card.tokenPan, '00', { ...input, '9F02': fromHex('000000004201') }, m.get('9F26')!), false);
    const tap = d.se.lastTap()!;
    assert.deepEqual(
      { ...tap },
      { tokenRef: card.tokenRef, network: 'visa', cryptogram: 'ARQC', atc: 1, amount: 4200, currency: '0840', mcc: '5411', merchantName: 'TESSERA COFFEE', cdcvm: false, transit: false },
    );
  });

  it('Mastercard CVN 20: GENERATE AC answers the ARQC over the CDOL1 data, IAD DKI ‖ CVN ‖ CVR ‖ DAC', async () => {
    const d = await paymentDevice();
    const card = d.cards.mastercard;
    await d.se.prepareContactless(card.tokenRef, null);
    await selectCard(d.se, AIDS.mastercard);
    assert.equal((await send(d.se, getProcessingOptions(buildDolData(PDOL, terminalValues())))).sw, '9000');
    const values = terminalValues({ un: '12345678', amount: 999 });
    const gac = await send(d.se, generateAc(0x80, buildDolData(CDOL1, values)));
    const m = gac.map;
    assert.equal(toHex(m.get('9F10')!), '0114A000000000000000');
    const iad = parseIad(20, m.get('9F10')!);
    assert.equal(toHex(iad.cvr), 'A00000000000');
    const input = cryptogramInput(new Map([...values, ['82', fromHex(AIP_MASTERCARD)], ['9F36', m.get('9F36')!], ['9F10', m.get('9F10')!]]));
    assert.equal(await verifyCryptogram('mastercard', card.tokenPan, '00', input, m.get('9F26')!), true);
  });

  it('Amex A1 and Discover D1: the AES cryptogram in the GPO answer verifies', async () => {
    const d = await paymentDevice();
    for (const network of ['amex', 'discover'] as const) {
      const card = d.cards[network];
      await d.se.prepareContactless(card.tokenRef, null);
      await selectCard(d.se, AIDS[network]);
      const values = terminalValues();
      const gpo = await send(d.se, getProcessingOptions(buildDolData(PDOL, values)));
      const m = gpo.map;
      assert.equal(toHex(m.get('9F10')!), network === 'amex' ? '0601A103A00000' : '0601D103A00000');
      const input = cryptogramInput(new Map([...values, ['82', m.get('82')!], ['9F36', m.get('9F36')!], ['9F10', m.get('9F10')!]]));
      assert.equal(await verifyCryptogram(network, card.tokenPan, '00', input, m.get('9F26')!), true, network);
      if (network === 'amex') assert.match(toHex(m.get('57')!), new RegExp(`^${card.tokenPan}D3012201`));
    }
  });

  it('increments the ATC on every cryptogram, persisted, across a reopen and a reinstall; GET DATA reads it', async () => {
    const d = await paymentDevice();
    const card = d.cards.visa;
    const tap = async (se: SecureElement): Promise<string> => {
      await se.prepareContactless(card.tokenRef, null);
      await selectCard(se, AIDS.visa);
      const gpo = await send(se, getProcessingOptions(buildDolData(PDOL, terminalValues())));
      return toHex(gpo.map.get('9F36')!);
    };
    assert.equal(await tap(d.se), '0001');
    assert.equal(await tap(d.se), '0002');
    const reopened = await d.reopen();
    assert.equal(await tap(reopened), '0003');
    await reopened.prepareContactless(card.tokenRef, null);
    await selectCard(reopened, AIDS.visa);
    assert.equal(toHex((await send(reopened, getData('9F36'))).map.get('9F36')!), '0003');

    // The same token installed again (a re-provisioning) keeps its counter.
    const again = await installCard(reopened, 'visa', card.tokenRef);
    assert.notEqual(again.tokenPan, card.tokenPan);
    // Another token number under the same ref starts its own counter.
    assert.equal(await tapOther(reopened, again.tokenRef), '0001');
  });

  it('keeps the ATC of a token re-installed with the same number', async () => {
    const d = await paymentDevice();
    const card = d.cards.visa;
    await d.se.prepareContactless(card.tokenRef, null);
    await selectCard(d.se, AIDS.visa);
    await send(d.se, getProcessingOptions(buildDolData(PDOL, terminalValues())));
    const mk = deriveIccMasterKeyA(IMK_3DES, card.tokenPan, '00');
    const { jwe } = await buildPayload(await d.se.publicKeyJwk(), {
      network: 'visa',
      tokenRef: card.tokenRef,
      override: { token_pan: card.tokenPan },
      keyOverride: { mk: toHex(mk), kcv: toHex(keyCheckValue(mk)) },
    });
    await d.se.install(jwe);
    assert.equal(await tapOther(d.se, card.tokenRef), '0002');
  });

  it('stops making cryptograms when the ATC is exhausted', async () => {
    const d = await paymentDevice();
    const card = d.cards.visa;
    // Move the sealed counter near its end as only the SE could: with its own sealing key.
    const keys = (await d.storage.get('se:keys')) as { sealing: CryptoKey };
    const slot = `se:card:${card.tokenRef}`;
    const record = (await unseal(keys.sealing, slot, await d.storage.get(slot))) as Record<string, unknown>;
    await d.storage.put(slot, await seal(keys.sealing, slot, { ...record, atc: ATC_MAX - 1 }));
    assert.equal(await tapOther(d.se, card.tokenRef), 'FFFF');
    await d.se.prepareContactless(card.tokenRef, null);
    await selectCard(d.se, AIDS.visa);
    assert.equal((await send(d.se, getProcessingOptions(buildDolData(PDOL, terminalValues())))).sw, '6985');
    // A record whose counter is not a 2-byte number is refused as corrupt (6F00), not used.
    await d.storage.put(slot, await seal(keys.sealing, slot, { ...record, atc: -1 }));
    await d.se.prepareContactless(card.tokenRef, null);
    await selectCard(d.se, AIDS.visa);
    assert.equal((await send(d.se, getProcessingOptions(buildDolData(PDOL, terminalValues())))).sw, '6F00');
  });

  it('never answers the master key and keeps it sealed in storage', async () => {
    const d = await paymentDevice();
    const responses: string[] = [];
    for (const network of ['visa', 'mastercard'] as const) {
      const card = d.cards[network];
      await d.se.prepareContactless(card.tokenRef, null);
      responses.push(toHex(await d.se.processApdu(selectPpse())));
      responses.push(toHex(await d.se.processApdu(selectByName(fromHex(AIDS[network])))));
      responses.push(toHex(await d.se.processApdu(getProcessingOptions(buildDolData(PDOL, terminalValues())))));
      responses.push(toHex(await d.se.processApdu(readRecord(1, 1))));
      responses.push(toHex(await d.se.processApdu(readRecord(1, 2))));
      responses.push(toHex(await d.se.processApdu(generateAc(0x80, buildDolData(CDOL1, terminalValues())))));
    }
    const dump = await dumpStorage(d.storage);
    for (const network of ['visa', 'mastercard'] as const) {
      const mk = toHex(deriveIccMasterKeyA(IMK_3DES, d.cards[network].tokenPan, '00'));
      assert.ok(!responses.some((r) => r.includes(mk)), `${network} MK in an answer`);
      assert.ok(!dump.includes(mk), `${network} MK in storage`);
      assert.ok(!dump.includes(d.cards[network].tokenPan), `${network} token number in storage`);
    }
  });
});

async function tapOther(se: SecureElement, tokenRef: string): Promise<string> {
  const card = (await se.listCards()).find((c) => c.tokenRef === tokenRef)!;
  await se.prepareContactless(tokenRef, null);
  await selectCard(se, AIDS[card.network]);
  const gpo = await send(se, getProcessingOptions(buildDolData(PDOL, terminalValues())));
  if (card.network === 'mastercard') {
    const gac = await send(se, generateAc(0x80, buildDolData(CDOL1, terminalValues())));
    return toHex(gac.map.get('9F36')!);
  }
  return toHex(gpo.map.get('9F36')!);
}

describe('payment applet: consumer-device CVM', () => {
  async function visaCtq(d: PaymentDevice): Promise<{ ctq: string; cvr: string }> {
    await selectCard(d.se, AIDS.visa);
    const gpo = await send(d.se, getProcessingOptions(buildDolData(PDOL, terminalValues())));
    assert.equal(gpo.sw, '9000');
    return { ctq: toHex(gpo.map.get('9F6C')!), cvr: toHex(gpo.map.get('9F10')!.slice(3)) };
  }

  it('signals CDCVM (CTQ 0080, CVR 03A40000) with a fresh authorization, once', async () => {
    const d = await paymentDevice();
    const armed = await d.se.prepareContactless(d.cards.visa.tokenRef, await authorizeTap(d));
    assert.deepEqual(armed, { tokenRef: d.cards.visa.tokenRef, cdcvm: true, cdcvmExpiresAt: d.clock.now + 60_000 });
    assert.deepEqual(await visaCtq(d), { ctq: '0080', cvr: '03A40000' });
    assert.equal(d.se.lastTap()!.cdcvm, true);
    // Consumed: the arming is gone with the tap.
    assert.equal((await send(d.se, selectPpse())).sw, '6985');
    await d.se.prepareContactless(d.cards.visa.tokenRef, null);
    assert.deepEqual(await visaCtq(d), { ctq: '0000', cvr: '03A00000' });
  });

  it('no CDCVM without an authorization, with an expired, reused, wrong-purpose or forged one, or without a challenge', async () => {
    const d = await paymentDevice();
    const ref = d.cards.visa.tokenRef;

    // Expired between arming and tap.
    await d.se.prepareContactless(ref, await authorizeTap(d));
    d.clock.now += 60_001;
    assert.deepEqual(await visaCtq(d), { ctq: '0000', cvr: '03A00000' });

    // Exactly 60 s old still counts.
    await d.se.prepareContactless(ref, await authorizeTap(d));
    d.clock.now += 60_000;
    assert.deepEqual(await visaCtq(d), { ctq: '0080', cvr: '03A40000' });

    // Expired before arming.
    const old = await authorizeTap(d);
    d.clock.now += 61_000;
    assert.deepEqual(await d.se.prepareContactless(ref, old), { tokenRef: ref, cdcvm: false, cdcvmExpiresAt: null, reason: 'se_authorization_expired' });
    assert.deepEqual(await visaCtq(d), { ctq: '0000', cvr: '03A00000' });

    // Reused: the same authorization a second time (with a new challenge it does not match either).
    const auth = await authorizeTap(d);
    assert.equal((await d.se.prepareContactless(ref, auth)).cdcvm, true);
    await d.se.newChallenge('contactless');
    const again = await d.se.prepareContactless(ref, auth);
    assert.equal(again.cdcvm, false);
    assert.ok(again.reason === 'se_authorization_mismatch' || again.reason === 'se_authorization_replayed');
    assert.deepEqual(await visaCtq(d), { ctq: '0000', cvr: '03A00000' });

    // Reused over its own challenge: the SE issues each challenge once, and remembers the nonce.
    const challenge = await d.se.newChallenge('contactless');
    const result = await d.enclave.authorize({ purpose: 'contactless', challenge, method: { biometric: 'match' } });
    assert.ok(result.ok);
    assert.equal((await d.se.prepareContactless(ref, result.authorization)).cdcvm, true);
    assert.equal((await d.se.prepareContactless(ref, result.authorization)).reason, 'se_authorization_mismatch');
    await d.se.verifyAuthorization(result.authorization, { purpose: 'contactless', challenge }).then(
      () => assert.fail('a used authorization verified again'),
      (err: unknown) => assert.ok(err instanceof DeviceError && err.code === 'se_authorization_replayed'),
    );

    // Another purpose.
    const inapp = await authorizeTap(d, 'inapp');
    assert.equal((await d.se.prepareContactless(ref, inapp)).reason, 'se_authorization_mismatch');
    assert.deepEqual(await visaCtq(d), { ctq: '0000', cvr: '03A00000' });

    // Forged MAC.
    const forged = await authorizeTap(d);
    const bad = { ...forged, mac: `${forged.mac.slice(0, 63)}${forged.mac.endsWith('0') ? '1' : '0'}` };
    assert.equal((await d.se.prepareContactless(ref, bad)).reason, 'se_authorization_invalid');

    // No challenge issued by the SE (the wallet made one up).
    const made = await d.enclave.authorize({ purpose: 'contactless', challenge: fromHex('00112233'), method: { biometric: 'match' } });
    assert.ok(made.ok);
    assert.equal((await d.se.prepareContactless(ref, made.authorization)).reason, 'se_authorization_mismatch');
    assert.deepEqual(await visaCtq(d), { ctq: '0000', cvr: '03A00000' });
  });

  it('Mastercard: CDCVM in the CVR (A5); asked for without one, the answer is an AAC with DF4B "see phone"', async () => {
    const d = await paymentDevice();
    const card = d.cards.mastercard;
    const tap = async (cvm: string): Promise<Map<string, Uint8Array>> => {
      await selectCard(d.se, AIDS.mastercard);
      await send(d.se, getProcessingOptions(buildDolData(PDOL, terminalValues())));
      return (await send(d.se, generateAc(0x80, buildDolData(CDOL1, terminalValues({ cvm }))))).map;
    };
    await d.se.prepareContactless(card.tokenRef, await authorizeTap(d));
    let m = await tap('010002');
    assert.equal(toHex(m.get('9F27')!), '80');
    assert.equal(toHex(parseIad(20, m.get('9F10')!).cvr), 'A50000000000');

    await d.se.prepareContactless(card.tokenRef, null);
    m = await tap('010002');
    assert.equal(toHex(m.get('9F27')!), '00');
    assert.equal(toHex(parseIad(20, m.get('9F10')!).cvr), '800000000000');
    assert.equal(toHex(m.get('DF4B')!), '000100');
    assert.equal(d.se.lastTap()!.cryptogram, 'AAC');

    await d.se.prepareContactless(card.tokenRef, null);
    m = await tap('1F0002');
    assert.equal(toHex(m.get('9F27')!), '80');
    assert.equal(toHex(parseIad(20, m.get('9F10')!).cvr), 'A00000000000');
  });

  it('issues fresh 16-byte challenges and refuses an unknown purpose', async () => {
    const d = await paymentDevice();
    const a = await d.se.newChallenge('contactless');
    const b = await d.se.newChallenge('contactless');
    assert.equal(a.length, 16);
    assert.notEqual(toHex(a), toHex(b));
    await assert.rejects(d.se.newChallenge('atm' as 'contactless'), (err: unknown) => err instanceof DeviceError && err.code === 'se_request_invalid');
  });
});

describe('payment applet: arming and express transit', () => {
  async function transitTap(se: SecureElement, aid: string, options: { amount: number; mcc: string }): Promise<string> {
    const ppse = await send(se, selectPpse());
    if (ppse.sw !== '9000') return `PPSE ${ppse.sw}`;
    assert.equal((await send(se, selectByName(fromHex(aid)))).sw, '9000');
    const gpo = await send(se, getProcessingOptions(buildDolData(PDOL, terminalValues(options))));
    if (gpo.sw !== '9000') return `GPO ${gpo.sw}`;
    if (aid !== AIDS.mastercard) return toHex(gpo.map.get('9F6C')!);
    const gac = await send(se, generateAc(0x80, buildDolData(CDOL1, terminalValues(options))));
    return gac.sw === '9000' ? toHex(gac.map.get('9F27')!) : `GENERATE AC ${gac.sw}`;
  }

  it('the transit card pays without authorization only at a transit MCC within the limit', async () => {
    const d = await paymentDevice();
    await d.se.setTransitCard(d.cards.visa.tokenRef);
    assert.equal(await d.se.transitCard(), d.cards.visa.tokenRef);
    for (const mcc of ['4111', '4131', '4784']) assert.equal(await transitTap(d.se, AIDS.visa, { amount: 275, mcc }), '0000', mcc);
    assert.equal(d.se.lastTap()!.transit, true);
    assert.equal(await transitTap(d.se, AIDS.visa, { amount: 2500, mcc: '4111' }), '0000', 'at the limit');
    assert.equal(await transitTap(d.se, AIDS.visa, { amount: 2501, mcc: '4111' }), 'GPO 6985', 'above the limit');
    assert.equal(await transitTap(d.se, AIDS.visa, { amount: 275, mcc: '5411' }), 'GPO 6985', 'a grocery store');
    // An armed card answers instead of the transit card, anywhere.
    await d.se.prepareContactless(d.cards.amex.tokenRef, null);
    assert.equal(await transitTap(d.se, AIDS.amex, { amount: 9000, mcc: '5411' }), '0000');
  });

  it('Mastercard as the transit card: checked at GPO and again on the CDOL1 amount', async () => {
    const d = await paymentDevice();
    await d.se.setTransitCard(d.cards.mastercard.tokenRef);
    assert.equal(await transitTap(d.se, AIDS.mastercard, { amount: 275, mcc: '4111' }), '80');
    assert.equal(await transitTap(d.se, AIDS.mastercard, { amount: 275, mcc: '5812' }), 'GPO 6985');
    // Within the limit at GPO, above it in CDOL1.
    await send(d.se, selectPpse());
    await send(d.se, selectByName(fromHex(AIDS.mastercard)));
    assert.equal((await send(d.se, getProcessingOptions(buildDolData(PDOL, terminalValues({ amount: 100, mcc: '4111' }))))).sw, '9000');
    assert.equal((await send(d.se, generateAc(0x80, buildDolData(CDOL1, terminalValues({ amount: 5000, mcc: '4111' }))))).sw, '6985');
  });

  it('takes the transit limit and MCCs from the SE options, keeps the choice across a reopen, forgets it with the card', async () => {
    const d = await paymentDevice({ transit: { limit: 500, mccs: ['4112'] } });
    await d.se.setTransitCard(d.cards.discover.tokenRef);
    assert.deepEqual(d.se.transitPolicy(), { limit: 500, mccs: ['4112'] });
    assert.equal(await transitTap(d.se, AIDS.discover, { amount: 500, mcc: '4112' }), '0000');
    assert.equal(await transitTap(d.se, AIDS.discover, { amount: 501, mcc: '4112' }), 'GPO 6985');
    assert.equal(await transitTap(d.se, AIDS.discover, { amount: 100, mcc: '4111' }), 'GPO 6985');
    const reopened = await d.reopen();
    assert.equal(await reopened.transitCard(), d.cards.discover.tokenRef);
    assert.deepEqual(reopened.transitPolicy(), { limit: 2500, mccs: ['4111', '4131', '4784'] });
    await reopened.deleteCard(d.cards.discover.tokenRef);
    assert.equal(await reopened.transitCard(), null);
    assert.equal(await transitTap(reopened, AIDS.discover, { amount: 100, mcc: '4111' }), 'PPSE 6985');
    await assert.rejects(d.reopen({ transit: { limit: -1 } }), (err: unknown) => err instanceof DeviceError && err.code === 'se_request_invalid');
    await assert.rejects(d.reopen({ transit: { mccs: ['41'] } }), (err: unknown) => err instanceof DeviceError && err.code === 'se_request_invalid');
  });

  it('refuses to arm an unknown or suspended card; a card suspended after arming does not answer', async () => {
    const d = await paymentDevice();
    await assert.rejects(d.se.prepareContactless('tok_nope', null), (err: unknown) => err instanceof DeviceError && err.code === 'se_card_unknown');
    await assert.rejects(d.se.setTransitCard('tok_nope'), (err: unknown) => err instanceof DeviceError && err.code === 'se_card_unknown');
    await d.se.setStatus(d.cards.visa.tokenRef, 'suspended');
    await assert.rejects(d.se.prepareContactless(d.cards.visa.tokenRef, null), (err: unknown) => err instanceof DeviceError && err.code === 'se_request_invalid');
    await d.se.prepareContactless(d.cards.amex.tokenRef, null);
    await send(d.se, selectPpse());
    await send(d.se, selectByName(fromHex(AIDS.amex)));
    await d.se.setStatus(d.cards.amex.tokenRef, 'suspended');
    assert.equal((await send(d.se, getProcessingOptions(buildDolData(PDOL, terminalValues())))).sw, '6985');
    assert.equal((await send(d.se, selectPpse())).sw, '6985');
  });

  it('cancelContactless disarms', async () => {
    const d = await paymentDevice();
    await d.se.prepareContactless(d.cards.visa.tokenRef, null);
    await d.se.cancelContactless();
    assert.equal((await send(d.se, selectPpse())).sw, '6985');
  });

  it('splits CDOL1 data as the doc lists it', () => {
    const data = buildDolData(CDOL1, terminalValues());
    assert.equal(data.length, 66);
    assert.equal(toHex(splitDolData(CDOL1, data).get('9F34')!), '1F0002');
  });
});
