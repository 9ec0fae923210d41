import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { fromHex, toHex } from '../bytes.js';
import { ProtocolError, MAX_INPUT_BYTES } from '../errors.js';
import { parseTlv, buildTlv, findTag, tlvToMap } from '../tlv/tlv.js';
import { parseDol, buildDolData, splitDolData } from '../tlv/dol.js';
import {
  buildCommand, parseCommand, parseResponse, buildResponse, swMeaning, SW,
  selectByName, selectPpse, getProcessingOptions, readRecord, generateAc, getData,
} from './apdu.js';
import { TAP_STEPS } from './fixtures/real-taps.js';

const FUZZ_RUNS = Number(process.env.FUZZ_RUNS ?? 100000);
const hex = (h: string): Uint8Array => fromHex(h.replace(/\s+/g, ''));

test('command cases 1-4, short form', () => {
  assert.equal(toHex(buildCommand({ cla: 0x00, ins: 0xa4, p1: 4, p2: 0 })), '00A40400');
  assert.equal(toHex(buildCommand({ cla: 0x00, ins: 0xb2, p1: 1, p2: 0x0c, le: 0 })), '00B2010C00');
  assert.equal(toHex(buildCommand({ cla: 0x00, ins: 0xb2, p1: 1, p2: 0x0c, le: 256 })), '00B2010C00');
  assert.equal(toHex(buildCommand({ cla: 0x80, ins: 0xca, p1: 0x9f, p2: 0x36, le: 5 })), '80CA9F3605');
  assert.equal(toHex(buildCommand({ cla: 0x00, ins: 0x20, p1: 0, p2: 0x80, data: hex('2412') })), '00200080022412');
  assert.equal(toHex(buildCommand({ cla: 0x00, ins: 0xa4, p1: 4, p2: 0, data: hex('A0000000041010'), le: 0 })), '00A4040007A000000004101000');

  assert.deepEqual(parseCommand(hex('00A40400')), { cla: 0, ins: 0xa4, p1: 4, p2: 0 });
  assert.deepEqual(parseCommand(hex('00B2010C00')), { cla: 0, ins: 0xb2, p1: 1, p2: 0x0c, le: 256 });
  const c3 = parseCommand(hex('00200080022412'));
  assert.equal(toHex(c3.data!), '2412');
  assert.equal(c3.le, undefined);
  const c4 = parseCommand(hex('00A4040007A000000004101000'));
  assert.equal(toHex(c4.data!), 'A0000000041010');
  assert.equal(c4.le, 256);
});

test('command cases 2-4, extended form', () => {
  const data = new Uint8Array(300).fill(0xab);
  const c3 = buildCommand({ cla: 0x80, ins: 0xe2, p1: 0, p2: 0, data });
  assert.equal(toHex(c3.subarray(0, 7)), '80E20000' + '00012C');
  assert.equal(c3.length, 7 + 300);
  const c4 = buildCommand({ cla: 0x80, ins: 0xe2, p1: 0, p2: 0, data, le: 65536 });
  assert.equal(toHex(c4.subarray(c4.length - 2)), '0000');
  const c2 = buildCommand({ cla: 0x00, ins: 0xb0, p1: 0, p2: 0, le: 1000 });
  assert.equal(toHex(c2), '00B00000' + '0003E8');
  for (const bytes of [c2, c3, c4]) assert.equal(toHex(buildCommand(parseCommand(bytes))), toHex(bytes));
  assert.equal(parseCommand(c4).le, 65536);
  assert.equal(parseCommand(c2).le, 1000);
});

test('malformed commands are typed errors', () => {
  const code = (h: string, c: string) =>
    assert.throws(() => parseCommand(hex(h)), (e: unknown) => e instanceof ProtocolError && e.code === c);
  code('00A404', 'apdu_truncated');
  code('00A4040007A0000000', 'apdu_bad_length'); // Lc 7, 3 bytes
  code('00A4040002AABBCCDD', 'apdu_bad_length');
  code('00A404000000', 'apdu_bad_length'); // extended marker without its length
  code('00A40400000003AA', 'apdu_bad_length'); // extended Lc 3, 1 byte
  code('00A40400000000AA', 'apdu_bad_length'); // extended Lc 0 with data
  assert.throws(() => buildCommand({ cla: 256, ins: 0, p1: 0, p2: 0 }), { code: 'apdu_bad_field' });
  assert.throws(() => buildCommand({ cla: 0, ins: 0, p1: 0, p2: 0, le: 70000 }), { code: 'apdu_bad_length' });
  assert.throws(() => parseCommand(new Uint8Array(MAX_INPUT_BYTES + 1)), { code: 'input_too_large' });
});

test('responses and status words', () => {
  const r = parseResponse(hex('6F009000'));
  assert.equal(toHex(r.data), '6F00');
  assert.equal(r.sw, SW.OK);
  assert.equal(r.sw1, 0x90);
  assert.equal(r.sw2, 0x00);
  assert.equal(parseResponse(hex('6A82')).sw, SW.FILE_NOT_FOUND);
  assert.equal(toHex(buildResponse(hex('770A'), SW.OK)), '770A9000');
  assert.equal(toHex(buildResponse(new Uint8Array(0), 0x6985)), '6985');
  assert.throws(() => parseResponse(hex('90')), { code: 'apdu_truncated' });
  assert.throws(() => buildResponse(new Uint8Array(0), 0x10000), { code: 'apdu_bad_field' });
  assert.equal(swMeaning(0x9000), 'success');
  assert.equal(swMeaning(SW.CONDITIONS_NOT_SATISFIED), 'conditions of use not satisfied');
  assert.equal(swMeaning(0x6a82), 'file or application not found');
  assert.equal(swMeaning(0x6120), 'success, 32 more bytes available');
  assert.equal(swMeaning(0x63c2), 'verification failed, 2 tries left');
  for (const sw of [0x9000, 0x6a82, 0x6985, 0x6700, 0x6d00, 0x6e00, 0x6a86, 0x6983, 0x6984, 0x6a88]) {
    assert.ok(Object.values(SW).includes(sw as never), sw.toString(16));
    assert.notEqual(swMeaning(sw), 'unknown status');
  }
});

test('contactless command builders', () => {
  assert.equal(toHex(selectPpse()), '00A404000E325041592E5359532E444446303100');
  assert.equal(toHex(selectByName(hex('A0000000031010'))), '00A4040007A000000003101000');
  assert.equal(toHex(getProcessingOptions()), '80A8000002830000');
  assert.equal(toHex(getProcessingOptions(hex('A0000000'))), '80A80000068304A000000000');
  assert.equal(toHex(readRecord(1, 2)), '00B2011400');
  assert.equal(toHex(readRecord(2, 4)), '00B2022400');
  assert.equal(toHex(generateAc(0x80, hex('0102'))), '80AE8000020102' + '00');
  assert.equal(toHex(getData('9F36')), '80CA9F3600');
  assert.equal(toHex(getData('9F17')), '80CA9F1700');
  assert.throws(() => readRecord(0, 1), { code: 'apdu_bad_field' });
  assert.throws(() => readRecord(1, 31), { code: 'apdu_bad_field' });
  assert.throws(() => selectByName(new Uint8Array(17)), { code: 'apdu_bad_field' });
  assert.throws(() => generateAc(0x80, new Uint8Array(256)), { code: 'apdu_bad_length' });
});

// ---- Real taps (fixtures/real-taps.ts) ----

for (const step of TAP_STEPS) {
  test(`real trace, ${step.card}: ${step.step}`, () => {
    const wire = step.sw === null ? hex(step.response) : buildResponse(hex(step.response), step.sw);
    const response = parseResponse(step.sw === null ? buildResponse(wire, SW.OK) : wire);
    assert.equal(response.sw, SW.OK);
    const nodes = parseTlv(response.data);
    for (const [tag, expected] of Object.entries(step.expect)) {
      const node = findTag(nodes, tag);
      assert.ok(node, `tag ${tag} found`);
      if (expected !== true) assert.equal(toHex(node.value), expected, `value of ${tag}`);
    }
    // Real answers are canonically encoded: they re-encode byte for byte.
    assert.equal(toHex(buildTlv(nodes)), toHex(response.data));
    if (step.command) {
      const cmd = parseCommand(hex(step.command));
      assert.equal(toHex(buildCommand(cmd)), step.command.toUpperCase());
    }
  });
}

test('real trace: our builders produce the logged commands', () => {
  const visa = TAP_STEPS.filter((s) => s.card === 'visa');
  const mc = TAP_STEPS.filter((s) => s.card === 'mastercard');
  assert.equal(toHex(selectPpse()), visa[0]!.command.toUpperCase());
  assert.equal(toHex(selectPpse()), mc[0]!.command.toUpperCase());

  // Visa: AID from the PPSE answer, PDOL from the FCI, GPO with the logged PDOL data.
  const aid = findTag(parseTlv(hex(visa[0]!.response)), '4F')!.value;
  assert.equal(toHex(selectByName(aid)), visa[1]!.command.toUpperCase());
  const pdol = parseDol(findTag(parseTlv(hex(visa[1]!.response)), '9F38')!.value);
  const gpo = parseCommand(hex(visa[2]!.command));
  const pdolData = findTag(parseTlv(gpo.data!), '83')!.value;
  const values = splitDolData(pdol, pdolData);
  assert.equal(toHex(values.get('9F66')!), 'A0000000');
  assert.equal(toHex(values.get('9F1A')!), '0978');
  assert.equal(toHex(getProcessingOptions(buildDolData(pdol, values))), visa[2]!.command.toUpperCase());

  // Mastercard: empty PDOL, AFL-driven READ RECORD, GENERATE AC over CDOL1.
  assert.equal(toHex(getProcessingOptions()), mc[2]!.command.toUpperCase());
  const afl = findTag(parseTlv(hex(mc[2]!.response)), '94')!.value;
  const reads: string[] = [];
  for (let k = 0; k < afl.length; k += 4) {
    for (let rec = afl[k + 1]!; rec <= afl[k + 2]!; rec++) reads.push(toHex(readRecord(rec, afl[k]! >> 3)));
  }
  assert.deepEqual(reads, mc.filter((s) => s.step.startsWith('READ RECORD')).map((s) => s.command.toUpperCase()));
  const record = tlvToMap(parseTlv(hex(mc.find((s) => s.step.includes('SFI 2'))!.response)));
  const cdol1 = parseDol(record.get('8C')!);
  const genAc = mc.find((s) => s.step.startsWith('GENERATE AC'))!;
  const cdolData = parseCommand(hex(genAc.command)).data!;
  assert.equal(toHex(generateAc(0x80, buildDolData(cdol1, splitDolData(cdol1, cdolData)))), genAc.command.toUpperCase());
});

// ---- Robustness ----

test(`robustness: ${FUZZ_RUNS} random response and command APDUs give a result or a ProtocolError`, { timeout: 600_000 }, () => {
  const started = performance.now();
  let parsed = 0;
  const pool = TAP_STEPS.map((s) => buildResponse(hex(s.response), s.sw ?? SW.OK));
  const input = fc.oneof(
    fc.uint8Array({ maxLength: 300 }),
    fc.tuple(fc.nat({ max: pool.length - 1 }), fc.nat(), fc.integer({ min: 0, max: 255 }), fc.nat()).map(([k, at, byte, cut]) => {
      const b = pool[k]!.slice();
      b[at % b.length] = byte;
      return b.subarray(0, b.length - (cut % 4));
    }),
  );
  fc.assert(
    fc.property(input, (bytes) => {
      try {
        const r = parseResponse(bytes);
        assert.equal(r.data.length, bytes.length - 2);
        parseTlv(r.data);
        parsed++;
      } catch (err) {
        if (!(err instanceof ProtocolError)) throw err;
      }
      try {
        const cmd = parseCommand(bytes);
        assert.deepEqual(parseCommand(buildCommand(cmd)), cmd);
      } catch (err) {
        if (!(err instanceof ProtocolError)) throw err;
      }
    }),
    { numRuns: FUZZ_RUNS },
  );
  console.log(`  apdu: ${FUZZ_RUNS} runs (${parsed} responses parsed to TLV) in ${Math.round(performance.now() - started)} ms`);
  assert.throws(() => parseResponse(new Uint8Array(MAX_INPUT_BYTES + 1)), { code: 'input_too_large' });
});
