import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createCipheriv } from 'node:crypto';
import fc from 'fast-check';
import { AesCmac, aesCmac, aesEncryptBlock, importAesKey, useSyncAesCbc } from './aes.js';
import { installNodeAes } from '../../infra/node-aes.js';
import { fromHex as h, toHex } from '../bytes.js';
import { ProtocolError } from '../errors.js';

/** Each test twice: on WebCrypto (the browser's path) and on Node's synchronous AES (the server's). */
function both(name: string, fn: () => Promise<void>): void {
  test(`${name} [WebCrypto]`, async () => {
    useSyncAesCbc(null);
    await fn();
  });
  test(`${name} [node:crypto]`, async () => {
    installNodeAes();
    try {
      await fn();
    } finally {
      useSyncAesCbc(null);
    }
  });
}

const RFC4493_KEY = h('2B7E151628AED2A6ABF7158809CF4F3C');
const RFC4493_MESSAGE = h(
  '6BC1BEE22E409F96E93D7E117393172A' + 'AE2D8A571E03AC9C9EB76FAC45AF8E51' + '30C81C46A35CE411E5FBC1191A0A52EF' + 'F69F2445DF4F9B17AD2B417BE66C3710',
);

both('RFC 4493 subkey step: AES-128(K, 0) (the L of section 4)', async () => {
  assert.equal(toHex(await aesEncryptBlock(RFC4493_KEY, new Uint8Array(16))), '7DF76B0C1AB899B33E42F047B91B546F');
});

both('FIPS-197 appendix C.1 (AES-128) block', async () => {
  const key = h('000102030405060708090A0B0C0D0E0F');
  assert.equal(toHex(await aesEncryptBlock(key, h('00112233445566778899AABBCCDDEEFF'))), '69C4E0D86A7B0430D8CDB78070B4C55A');
});

both('RFC 4493 examples 1-4 (message lengths 0, 16, 40, 64)', async () => {
  const cases: [number, string][] = [
    [0, 'BB1D6929E95937287FA37D129B756746'],
    [16, '070A16B46B4D4144F79BDD9DD04A287C'],
    [40, 'DFA66747DE9AE63030CA32611497C827'],
    [64, '51F0BEBF7E3B9D92FC49741779363CFE'],
  ];
  const cmac = await AesCmac.create(RFC4493_KEY);
  for (const [length, expected] of cases) {
    assert.equal(toHex(await cmac.mac(RFC4493_MESSAGE.subarray(0, length))), expected, `length ${length}`);
    assert.equal(toHex(await aesCmac(RFC4493_KEY, RFC4493_MESSAGE.subarray(0, length))), expected, `length ${length}`);
  }
});

/** An independent CMAC on OpenSSL's AES-ECB, straight from SP 800-38B, for differential testing. */
function referenceCmac(key: Uint8Array, message: Uint8Array): Uint8Array {
  const ecb = (block: Uint8Array): Buffer => {
    const c = createCipheriv(`aes-${key.length * 8}-ecb`, key, null);
    c.setAutoPadding(false);
    return Buffer.concat([c.update(block), c.final()]);
  };
  const dbl = (b: Uint8Array): Uint8Array => {
    const v = (BigInt('0x' + Buffer.from(b).toString('hex')) << 1n) & ((1n << 128n) - 1n);
    const r = b[0]! & 0x80 ? v ^ 0x87n : v;
    return Buffer.from(r.toString(16).padStart(32, '0'), 'hex');
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
      const complete = part.length === 16;
      if (!complete) block[part.length] = 0x80;
      const k = complete ? k1 : k2;
      for (let j = 0; j < 16; j++) block[j]! ^= k[j]!;
    }
    for (let j = 0; j < 16; j++) block[j]! ^= x[j]!;
    x = ecb(block);
  }
  return new Uint8Array(x);
}

both('AES-CMAC agrees with an independent SP 800-38B implementation for 128/192/256-bit keys (property)', async () => {
  assert.equal(toHex(referenceCmac(RFC4493_KEY, RFC4493_MESSAGE.subarray(0, 40))), 'DFA66747DE9AE63030CA32611497C827');
  await fc.assert(
    fc.asyncProperty(
      fc.constantFrom(16, 24, 32).chain((n) => fc.uint8Array({ minLength: n, maxLength: n })),
      fc.uint8Array({ maxLength: 100 }),
      async (key, message) => {
        assert.deepEqual(await aesCmac(key, message), referenceCmac(key, message));
      },
    ),
    { numRuns: 200 },
  );
});

both('bad key lengths are typed errors that do not echo the key', async () => {
  await assert.rejects(importAesKey(h('00112233445566778899')), (err: unknown) => err instanceof ProtocolError && err.code === 'aes_bad_key_length' && !err.message.includes('0011'));
  await assert.rejects(aesEncryptBlock(RFC4493_KEY, new Uint8Array(8)), (err: unknown) => err instanceof ProtocolError && err.code === 'aes_bad_block');
});
