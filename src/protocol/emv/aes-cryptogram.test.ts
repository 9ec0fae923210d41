import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createCipheriv } from 'node:crypto';
import fc from 'fast-check';
import { concatBytes, fromHex as h, toHex } from '../bytes.js';
import { ProtocolError } from '../errors.js';
import { cryptogramInput, type CryptogramInput } from './cryptogram.js';
import {
  AES_CVNS,
  aesKeyCheckValue,
  deriveAesIccMasterKey,
  deriveAesSessionKey,
  generateAesArpc,
  generateAesArqc,
  verifyAesArpc,
  verifyAesArqc,
  type AesCvn,
} from './aes-cryptogram.js';
import { EMV_VECTORS as V } from './test-vectors.js';

function input(iad: string): CryptogramInput {
  const map = new Map<string, Uint8Array>(Object.entries(V.visa.icc).map(([k, v]) => [k, h(v)]));
  map.set('9F10', h(iad));
  return cryptogramInput(map);
}

// Generated once by this implementation and fixed here, so a change to the design is noticed.
const REGRESSION = [
  {
    cvn: 'A1' as const, pan: '378282246310005', iad: '0601A103A0B800',
    mk: '937D4F0B532FB8A847F94A012200C081', mkKcv: '7B08', sk: 'E395A8F5EC5080335A469067B9F78C5D', skKcv: 'B3A0',
    arqc: '83950687EAC9FAAF', arpc: '97B7D6A8',
  },
  {
    cvn: 'D1' as const, pan: '6011111111111117', iad: '0601D103A0B800',
    mk: '49FEA9C50135591907BA790B580B42A7', mkKcv: '9FDC', sk: '537B1CD4C053BAEA013B3F028AFF1851', skKcv: '5544',
    arqc: '7927AA6DD22E09D5', arpc: 'EEADC9A6',
  },
];

test('Tessera AES cryptogram: fixed regression vectors (IMK and transaction of the pyemv vectors)', async () => {
  for (const r of REGRESSION) {
    const tx = input(r.iad);
    const mk = await deriveAesIccMasterKey(h(V.imk), r.pan, '00');
    assert.equal(toHex(mk), r.mk);
    assert.equal(toHex(await aesKeyCheckValue(mk)), r.mkKcv);
    const sk = await deriveAesSessionKey(r.cvn, mk, h(V.atc));
    assert.equal(toHex(sk), r.sk);
    assert.equal(toHex(await aesKeyCheckValue(sk)), r.skKcv);
    const arqc = await generateAesArqc(r.cvn, mk, tx);
    assert.equal(toHex(arqc), r.arqc);
    assert.equal(await verifyAesArqc(r.cvn, mk, tx, arqc), true);
    assert.equal(toHex(await generateAesArpc(r.cvn, mk, tx, arqc)), r.arpc);
    assert.equal(toHex(await generateAesArpc(r.cvn, mk, tx, arqc, h('00000000'), new Uint8Array(0))), r.arpc);
    assert.equal(await verifyAesArpc(r.cvn, mk, tx, arqc, h(r.arpc)), true);
  }
});

// --- The documented design, rebuilt on OpenSSL's AES, to check the code does what the header says ---

function referenceCmac(key: Uint8Array, message: Uint8Array): Uint8Array {
  const ecb = (block: Uint8Array): Uint8Array => {
    const c = createCipheriv(`aes-${key.length * 8}-ecb`, key, null);
    c.setAutoPadding(false);
    return new Uint8Array(Buffer.concat([c.update(block), c.final()]));
  };
  const dbl = (b: Uint8Array): Uint8Array => {
    const out = new Uint8Array(16);
    for (let i = 0; i < 16; i++) out[i] = ((b[i]! << 1) | (i < 15 ? b[i + 1]! >> 7 : 0)) & 0xff;
    if (b[0]! & 0x80) out[15]! ^= 0x87;
    return out;
  };
  const k1 = dbl(ecb(new Uint8Array(16)));
  const k2 = dbl(k1);
  const n = Math.max(1, Math.ceil(message.length / 16));
  let x: Uint8Array = new Uint8Array(16);
  for (let i = 0; i < n; i++) {
    const block = new Uint8Array(16);
    const part = message.subarray(i * 16, i * 16 + 16);
    block.set(part);
    if (i === n - 1) {
      if (part.length < 16) block[part.length] = 0x80;
      const k = part.length === 16 ? k1 : k2;
      for (let j = 0; j < 16; j++) block[j]! ^= k[j]!;
    }
    for (let j = 0; j < 16; j++) block[j]! ^= x[j]!;
    x = ecb(block);
  }
  return x;
}

const ascii = (s: string) => new TextEncoder().encode(s);
const CVN_BYTE: Record<AesCvn, number> = { A1: 0xa1, D1: 0xd1 };

function referenceArqc(cvn: AesCvn, imk: Uint8Array, pan: string, psn: string, tx: CryptogramInput): { mk: Uint8Array; sk: Uint8Array; arqc: Uint8Array } {
  const mk = referenceCmac(imk, concatBytes(ascii('TMK'), Uint8Array.of(1, pan.length), h((pan + psn).padStart(22, '0'))));
  const sk = referenceCmac(mk, concatBytes(ascii('TSK'), Uint8Array.of(CVN_BYTE[cvn]), tx['9F36'], new Uint8Array(10)));
  const data = concatBytes(tx['9F02'], tx['9F03'], tx['9F1A'], tx['95'], tx['5F2A'], tx['9A'], tx['9C'], tx['9F37'], tx['82'], tx['9F36'], tx['9F10']);
  return { mk, sk, arqc: referenceCmac(sk, data).slice(0, 8) };
}

const bytes = (n: number) => fc.uint8Array({ minLength: n, maxLength: n });
const aesTransaction = fc.record({
  cvn: fc.constantFrom(...AES_CVNS),
  imk: fc.constantFrom(16, 24, 32).chain((n) => bytes(n)),
  pan: fc.stringMatching(/^\d{12,19}$/),
  psn: fc.stringMatching(/^\d{2}$/),
  '9F02': bytes(6), '9F03': bytes(6), '9F1A': bytes(2), '95': bytes(5), '5F2A': bytes(2), '9A': bytes(3),
  '9C': bytes(1), '9F37': bytes(4), '82': bytes(2), '9F36': bytes(2),
  cvr: bytes(4),
  extra: fc.uint8Array({ maxLength: 16 }),
}).map(({ cvn, imk, pan, psn, cvr, extra, ...tags }) => ({
  cvn, imk, pan, psn,
  tx: { ...tags, '9F10': concatBytes(Uint8Array.of(6, 1, CVN_BYTE[cvn]), cvr, extra) } as CryptogramInput,
}));

test('the code matches the design documented at the top of aes-cryptogram.ts (property)', async () => {
  await fc.assert(
    fc.asyncProperty(aesTransaction, async ({ cvn, imk, pan, psn, tx }) => {
      const ref = referenceArqc(cvn, imk, pan, psn, tx);
      const mk = await deriveAesIccMasterKey(imk, pan, psn);
      assert.deepEqual(mk, ref.mk);
      assert.deepEqual(await deriveAesSessionKey(cvn, mk, tx['9F36']), ref.sk);
      const arqc = await generateAesArqc(cvn, mk, tx);
      assert.deepEqual(arqc, ref.arqc);
      const csu = h('00820000');
      assert.deepEqual(await generateAesArpc(cvn, mk, tx, arqc, csu), referenceCmac(ref.sk, concatBytes(arqc, csu)).slice(0, 4));
    }),
    { numRuns: 100 },
  );
});

test('AES verification fails on any single changed byte of amount, UN, ATC or ARQC (property)', async () => {
  const change = fc.record({ field: fc.constantFrom('9F02', '9F37', '9F36', 'arqc'), index: fc.nat(), delta: fc.integer({ min: 1, max: 255 }) });
  await fc.assert(
    fc.asyncProperty(aesTransaction, change, async ({ cvn, imk, pan, psn, tx }, { field, index, delta }) => {
      const mk = await deriveAesIccMasterKey(imk, pan, psn);
      const arqc = await generateAesArqc(cvn, mk, tx);
      assert.equal(await verifyAesArqc(cvn, mk, tx, arqc), true);
      const target = Uint8Array.from(field === 'arqc' ? arqc : tx[field as '9F02' | '9F37' | '9F36']);
      target[index % target.length]! ^= delta;
      const ok = field === 'arqc' ? await verifyAesArqc(cvn, mk, tx, target) : await verifyAesArqc(cvn, mk, { ...tx, [field]: target }, arqc);
      assert.equal(ok, false);
    }),
    { numRuns: 100 },
  );
});

test('different networks, cards and PSNs get different keys', async () => {
  const imk = h(V.imk);
  const a = await deriveAesIccMasterKey(imk, '378282246310005', '00');
  assert.notDeepEqual(a, await deriveAesIccMasterKey(imk, '378282246310005', '01'));
  assert.notDeepEqual(a, await deriveAesIccMasterKey(imk, '0378282246310005', '00')); // PAN length is bound in
  assert.notDeepEqual(await deriveAesSessionKey('A1', a, h('0001')), await deriveAesSessionKey('D1', a, h('0001')));
});

test('AES cryptogram errors are typed and echo no values', async () => {
  const mk = await deriveAesIccMasterKey(h(V.imk), V.pan);
  await assert.rejects(generateAesArqc('A1', mk, input('0601D103A0B800')), (e: unknown) => e instanceof ProtocolError && e.code === 'emv_cvn_mismatch');
  await assert.rejects(generateAesArqc('A1', mk, input('0601A1')), (e: unknown) => e instanceof ProtocolError && e.code === 'emv_bad_iad');
  await assert.rejects(generateAesArqc('B1' as AesCvn, mk, input('0601A103A0B800')), (e: unknown) => e instanceof ProtocolError && e.code === 'emv_unsupported_cvn');
  await assert.rejects(generateAesArqc('A1', mk.subarray(0, 8), input('0601A103A0B800')), (e: unknown) => e instanceof ProtocolError && e.code === 'emv_bad_key_length');
  await assert.rejects(deriveAesIccMasterKey(h(V.imk), '4111-1111'), (e: unknown) => e instanceof ProtocolError && e.code === 'emv_bad_pan' && !e.message.includes('4111'));
  await assert.rejects(deriveAesIccMasterKey(h(V.imk).subarray(0, 10), V.pan), (e: unknown) => e instanceof ProtocolError && e.code === 'aes_bad_key_length');
  assert.equal(await verifyAesArqc('A1', mk, input('0601A103A0B800'), new Uint8Array(7)), false);
});
