import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import fc from 'fast-check';
import { CompactEncrypt, importJWK } from 'jose';
import { createTestEnv, type TestEnv } from '../../test/helpers/env.js';
import { fuzzRuns } from '../../test/helpers/fuzz.js';
import { migrate } from '../infra/db/index.js';
import { AppError } from '../infra/errors.js';
import { KeyEncryptionKeys } from '../infra/keys/kek.js';
import { CARD_JWE_ALG, CARD_JWE_ENC, EncryptionKeys } from './encryption-keys.js';
// Registers the network's error codes, as the network module does when the platform starts.
import './errors.js';

/**
 * The network's JWE parser (encrypted_card): whatever a device sends, decrypt() answers the
 * plaintext or AppError encrypted_card_invalid, nothing else.
 */
let env: TestEnv;
let keys: EncryptionKeys;
const seeds: string[] = [];
const RUNS = fuzzRuns(1000);

const b64url = (s: string | Uint8Array) => Buffer.from(s).toString('base64url');

before(async () => {
  env = await createTestEnv();
  await migrate(env.db, [
    { module: 'infra', dir: new URL('../infra/migrations/', import.meta.url) },
    { module: 'network', dir: new URL('./migrations/', import.meta.url) },
  ]);
  keys = new EncryptionKeys(env.db, KeyEncryptionKeys.random());
  for (const brand of ['mastercard', 'visa'] as const) {
    const pub = await keys.publicKey(brand);
    const key = await importJWK(pub.jwk, CARD_JWE_ALG);
    const card = new TextEncoder().encode(JSON.stringify({ pan: '5555555555554444', exp_month: 12, exp_year: 2030, cvv: '123' }));
    seeds.push(await new CompactEncrypt(card).setProtectedHeader({ alg: CARD_JWE_ALG, enc: CARD_JWE_ENC, cty: 'card+json', kid: pub.kid }).encrypt(key));
    seeds.push(await new CompactEncrypt(card).setProtectedHeader({ alg: CARD_JWE_ALG, enc: CARD_JWE_ENC }).encrypt(key));
  }
});
after(() => env.close());

const segment = fc.oneof(fc.base64String({ maxLength: 200 }).map((s) => s.replace(/=/g, '').replace(/\+/g, '-').replace(/\//g, '_')), fc.string({ maxLength: 40 }));

/** Protected headers of every shape: the right algorithms with odd kids, epks and types, or arbitrary JSON. */
const header = fc.oneof(
  fc.record(
    {
      alg: fc.oneof(fc.constant(CARD_JWE_ALG), fc.constantFrom('ECDH-ES', 'RSA-OAEP', 'dir', 'none', 'A256KW'), fc.jsonValue({ maxDepth: 1 })),
      enc: fc.oneof(fc.constant(CARD_JWE_ENC), fc.constantFrom('A128GCM', 'A256CBC-HS512', 'x'), fc.jsonValue({ maxDepth: 1 })),
      kid: fc.oneof(fc.constantFrom('mastercard-enc-00000000', 'visa-enc-aaaaaaaaaaaa', '__proto__', 'constructor', ''), fc.string({ maxLength: 80 }), fc.jsonValue({ maxDepth: 1 })),
      cty: fc.oneof(fc.constant('card+json'), fc.string({ maxLength: 20 }), fc.jsonValue({ maxDepth: 1 })),
      epk: fc.oneof(
        fc.record({ kty: fc.constantFrom('EC', 'OKP', 'RSA'), crv: fc.constantFrom('P-256', 'P-384', 'X25519', 'x'), x: segment, y: segment }, { requiredKeys: [] }),
        fc.jsonValue({ maxDepth: 2 }),
      ),
      zip: fc.constantFrom('DEF', 'x'),
      crit: fc.jsonValue({ maxDepth: 1 }),
    },
    { requiredKeys: ['alg', 'enc'] },
  ),
  fc.jsonValue({ maxDepth: 3 }),
);

function mutate(jwe: string, parts: string[], edits: [number, number, string][]): string {
  const p = jwe.split('.');
  for (const [i, at, ch] of edits) {
    const k = i % p.length;
    const s = p[k]!;
    const pos = at % (s.length + 1);
    p[k] = s.slice(0, pos) + ch + s.slice(pos + 1);
  }
  return [...p, ...parts].join('.');
}

const inputs = fc.oneof(
  // Random text and dot-separated garbage.
  fc.string({ maxLength: 300 }),
  fc.array(segment, { minLength: 1, maxLength: 7 }).map((s) => s.join('.')),
  // A real JWE under another header (its signature-less integrity is the GCM tag over the header).
  fc.tuple(fc.nat(), header).map(([i, h]) => {
    const p = seeds[i % seeds.length]!.split('.');
    p[0] = b64url(JSON.stringify(h) ?? 'null');
    return p.join('.');
  }),
  // A real JWE with characters changed, a segment replaced, parts added or cut.
  fc.tuple(fc.nat(), fc.array(segment, { maxLength: 2 }), fc.array(fc.tuple(fc.nat(), fc.nat(), fc.constantFrom('A', '_', '-', '.', '=', '', '\u0000', 'é')), { maxLength: 4 })).map(([i, extra, edits]) => mutate(seeds[i % seeds.length]!, extra, edits)),
  fc.tuple(fc.nat(), fc.nat()).map(([i, cut]) => seeds[i % seeds.length]!.slice(0, cut % seeds[i % seeds.length]!.length)),
);

test(`network JWE parser: ${RUNS} random and mutated compact JWEs give the plaintext or encrypted_card_invalid, nothing else`, { timeout: 1_800_000 }, async () => {
  let decrypted = 0;
  let refused = 0;
  await fc.assert(
    fc.asyncProperty(fc.constantFrom('mastercard', 'visa'), inputs, async (brand, jwe) => {
      try {
        const plain = await keys.decrypt(brand, jwe);
        assert.ok(plain instanceof Uint8Array);
        decrypted++;
      } catch (err) {
        if (!(err instanceof AppError) || err.code !== 'encrypted_card_invalid') throw new Error(`threw ${err instanceof Error ? `${err.name}: ${err.message.slice(0, 100)}` : typeof err}`);
        refused++;
      }
    }),
    { numRuns: RUNS },
  );
  console.log(`  jwe: ${RUNS} runs, ${decrypted} decrypted, ${refused} refused`);
  assert.ok(refused > 0);
  // The seeds themselves decrypt (to their own brand): the fuzzing starts from real ciphertexts.
  for (const [i, brand] of [[0, 'mastercard'], [2, 'visa']] as const) assert.ok((await keys.decrypt(brand, seeds[i]!)).length > 0);
});
