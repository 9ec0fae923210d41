import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { createTestEnv, type TestEnv } from '../../test/helpers/env.js';
import { migrate } from '../infra/db/index.js';
import { KeyEncryptionKeys } from '../infra/keys/kek.js';
import { fromHex, toHex } from '../protocol/bytes.js';
import { generateToken } from '../protocol/cards/index.js';
import {
  aesKeyCheckValue,
  cryptogramInput,
  generateAesArqc,
  generateArqc,
  keyCheckValue,
  verifyAesArpc,
  verifyArpc,
  type CryptogramInput,
} from '../protocol/emv/index.js';
import { EMV_VECTORS } from '../protocol/emv/test-vectors.js';
import { Secret } from '../protocol/secret.js';
import { BRAND_PROFILES, BRANDS, type Brand } from './brands.js';
import { Hsm } from './hsm.js';

let env: TestEnv;
let kek: KeyEncryptionKeys;
let hsm: Hsm;

const MIGRATIONS = [
  { module: 'infra', dir: new URL('../infra/migrations/', import.meta.url) },
  { module: 'network', dir: new URL('./migrations/', import.meta.url) },
];

/** A transaction's cryptogram input with the IAD (9F10) the brand's CVN uses. */
function txInput(brand: Brand, atc = '001C'): CryptogramInput {
  const tags = brand === 'mastercard' ? EMV_VECTORS.mastercard.icc : EMV_VECTORS.visa.icc;
  const iad = { visa: '06011203A0B800', mastercard: '0114A000032200000000', amex: '0601A103A0B800', discover: '0601D103A0B800' }[brand];
  const map = new Map<string, Uint8Array>();
  for (const [tag, hex] of Object.entries(tags)) map.set(tag, fromHex(hex));
  map.set('9F36', fromHex(atc));
  map.set('9F10', fromHex(iad));
  return cryptogramInput(map);
}

const tokenPan = (brand: Brand) => Secret.pan(generateToken(brand, (n) => randomBytes(n)));

before(async () => {
  env = await createTestEnv();
  await migrate(env.db, MIGRATIONS);
  kek = KeyEncryptionKeys.random();
  hsm = new Hsm(env.db, kek);
});

after(async () => {
  await env.close();
});

describe('network HSM', () => {
  it('creates one wrapped master key per brand and token range, idempotently', async () => {
    for (const brand of BRANDS) {
      const first = await hsm.generateMasterKey(brand);
      const again = await hsm.generateMasterKey(brand);
      assert.deepEqual(again, first);
      assert.equal(first.alg, BRAND_PROFILES[brand].keyAlg);
      assert.match(first.kcv, /^[0-9A-F]{4}$/);
    }
    const { rows } = await env.db.query<{ brand: string; token_bin: string; alg: string; kek_id: string; wrapped: Buffer; id: string; kcv: string }>(
      'SELECT id, brand, token_bin, alg, kek_id, wrapped, kcv FROM network.hsm_keys ORDER BY brand',
    );
    assert.equal(rows.length, 4);
    for (const r of rows) {
      assert.equal(r.kek_id, kek.currentId);
      assert.equal(r.token_bin, BRAND_PROFILES[r.brand as Brand].tokenBin);
      // Only wrapped: the stored bytes never contain the key itself.
      const key = kek.unwrap(r.kek_id, r.wrapped, Hsm.wrapContext(r.id));
      assert.equal(key.length, 16);
      assert.equal(Buffer.from(r.wrapped).includes(key), false);
      const kcv = r.alg === '3des' ? toHex(keyCheckValue(key)) : toHex(await aesKeyCheckValue(key));
      assert.equal(kcv, r.kcv);
    }
  });

  it('a second HSM instance on the same database (another process) uses the same keys', async () => {
    const other = new Hsm(env.db, kek);
    for (const brand of BRANDS) {
      const pan = tokenPan(brand);
      assert.equal(await other.masterKeyCheckValue(brand), await hsm.masterKeyCheckValue(brand));
      const a = await hsm.deriveTokenKey(brand, pan, '00');
      const b = await other.deriveTokenKey(brand, pan, '00');
      assert.deepEqual(a, b);
    }
  });

  it('two HSMs racing to create the first keys end with one key per brand', async () => {
    const env2 = await createTestEnv();
    try {
      await migrate(env2.db, MIGRATIONS);
      const k = KeyEncryptionKeys.random();
      const [h1, h2] = [new Hsm(env2.db, k), new Hsm(env2.db, k)];
      const results = await Promise.all(BRANDS.flatMap((b) => [h1.generateMasterKey(b), h2.generateMasterKey(b)]));
      for (let i = 0; i < results.length; i += 2) assert.deepEqual(results[i], results[i + 1]);
      const { rows } = await env2.db.query<{ n: number }>('SELECT count(*)::int AS n FROM network.hsm_keys');
      assert.equal(rows[0]!.n, 4);
    } finally {
      await env2.close();
    }
  });

  for (const brand of BRANDS) {
    it(`${brand}: the derived token key makes ARQCs the HSM verifies, and ARPCs the card verifies`, async () => {
      const profile = BRAND_PROFILES[brand];
      const pan = tokenPan(brand);
      const key = await hsm.deriveTokenKey(brand, pan, '00');
      assert.equal(key.alg, profile.keyAlg);
      assert.equal(key.mk.length, 16);
      assert.equal(key.kcv, key.alg === '3des' ? toHex(keyCheckValue(key.mk)) : toHex(await aesKeyCheckValue(key.mk)));
      // Different tokens, different keys.
      assert.notDeepEqual((await hsm.deriveTokenKey(brand, tokenPan(brand), '00')).mk, key.mk);

      const input = txInput(brand);
      const cvn = profile.cvn;
      const arqc = cvn === 'A1' || cvn === 'D1' ? await generateAesArqc(cvn, key.mk, input) : generateArqc(cvn, key.mk, input);
      assert.equal(await hsm.verifyArqc(brand, pan, '00', cvn, input, arqc), true);

      // Any change is refused: another cryptogram, another ATC, another token, another PSN.
      const bad = Uint8Array.from(arqc);
      bad[0]! ^= 1;
      assert.equal(await hsm.verifyArqc(brand, pan, '00', cvn, input, bad), false);
      assert.equal(await hsm.verifyArqc(brand, pan, '00', cvn, txInput(brand, '001D'), arqc), false);
      assert.equal(await hsm.verifyArqc(brand, tokenPan(brand), '00', cvn, input, arqc), false);
      assert.equal(await hsm.verifyArqc(brand, pan, '01', cvn, input, arqc), false);

      if (cvn === 'A1' || cvn === 'D1') {
        const csu = fromHex('00820000');
        const arpc = await hsm.generateArpc(brand, pan, '00', cvn, input, arqc, { csu });
        assert.equal(arpc.length, 4);
        assert.equal(await verifyAesArpc(cvn, key.mk, input, arqc, arpc, csu), true);
      } else {
        const response = cvn === 18 ? { csu: fromHex('00000000') } : { arc: fromHex('3030') };
        const arpc = await hsm.generateArpc(brand, pan, '00', cvn, input, arqc, response);
        assert.equal(arpc.length, cvn === 18 ? 4 : 8);
        assert.equal(verifyArpc(cvn, key.mk, input, arqc, response, arpc), true);
      }
    });
  }

  it('refuses another brand\'s cryptogram version and numbers outside the token range, without echoing them', async () => {
    const pan = tokenPan('visa');
    await assert.rejects(hsm.verifyArqc('visa', pan, '00', 20, txInput('mastercard'), new Uint8Array(8)), /cryptogram version/);
    await assert.rejects(hsm.deriveTokenKey('visa', Secret.pan('4111111111111111'), '00'), (err: Error) => !err.message.includes('4111111111111111'));
    await assert.rejects(hsm.deriveTokenKey('mastercard', pan, '00'), (err: Error) => !err.message.includes(pan.reveal()));
  });

  it('re-wraps its master keys under a new KEK without changing them', async () => {
    const env2 = await createTestEnv();
    try {
      await migrate(env2.db, MIGRATIONS);
      const oldRaw = randomBytes(32);
      const newRaw = randomBytes(32);
      const first = new Hsm(env2.db, new KeyEncryptionKeys(oldRaw));
      const kcv = (await first.generateMasterKey('visa')).kcv;
      const pan = tokenPan('visa');
      const mk = (await first.deriveTokenKey('visa', pan, '00')).mk;
      // After a KEK rotation: the new KEK current, the old one still configured as previous.
      assert.equal(await new Hsm(env2.db, new KeyEncryptionKeys(newRaw, [oldRaw])).rewrapAll(), 1);
      // Now the new KEK alone is enough.
      const later = new Hsm(env2.db, new KeyEncryptionKeys(newRaw));
      assert.equal(await later.masterKeyCheckValue('visa'), kcv);
      assert.deepEqual((await later.deriveTokenKey('visa', pan, '00')).mk, mk);
    } finally {
      await env2.close();
    }
  });
});
