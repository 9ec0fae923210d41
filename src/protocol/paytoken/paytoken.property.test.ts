import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { ProtocolError } from '../errors.js';
import { hostileToken } from './arbitraries.test-helper.js';
import {
  certificateExtensions,
  fromBase64,
  merchantIdHashFromCertificate,
  parsePaymentPayload,
  parsePaymentToken,
  pemToDer,
  signedContent,
  toBase64,
} from './index.js';

const FUZZ_RUNS = Number(process.env.FUZZ_RUNS ?? 100000);
const DIR = fileURLToPath(new URL('../../../test/fixtures/apple-pay/', import.meta.url));
const NAMES = ['gala-mastercard', 'basistheory-ec-new', 'basistheory-ec-old', 'basistheory-rsa', 'processout-signature-only'];
const TOKENS = NAMES.map((n) => JSON.parse(readFileSync(`${DIR}${n}/token.json`, 'utf8')) as unknown);
const CERT = pemToDer(readFileSync(`${DIR}gala-mastercard/merchant-cert.pem`, 'utf8'));

function onlyProtocolErrors(codes: string[], fn: () => unknown): void {
  try {
    fn();
  } catch (err) {
    if (!(err instanceof ProtocolError)) throw new Error(`threw ${err instanceof Error ? err.name : typeof err}, not a ProtocolError`);
    if (!codes.includes(err.code)) throw new Error(`unexpected code ${err.code}`);
  }
}

test('parsePaymentToken: arbitrary and mutated tokens give a token or a paytoken ProtocolError, never anything else', () => {
  let accepted = 0;
  fc.assert(
    fc.property(hostileToken(TOKENS), (input) => {
      onlyProtocolErrors(['paytoken_malformed', 'paytoken_unsupported'], () => {
        const t = parsePaymentToken(input);
        accepted++;
        // What parses has a signed content (the bytes the signature must cover).
        assert.ok(signedContent(t.paymentData).length > 0);
        assert.equal(t.transactionId, t.paymentData.header.transactionId.toLowerCase());
      });
    }),
    { numRuns: FUZZ_RUNS },
  );
  assert.ok(accepted > 0, 'some mutations keep the token well formed');
});

test('base64: round trip of random bytes, and random text either decodes as Buffer does or is rejected', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
      assert.deepEqual(fromBase64(toBase64(bytes)), bytes);
      assert.equal(toBase64(bytes), Buffer.from(bytes).toString('base64'));
    }),
    { numRuns: Math.min(FUZZ_RUNS, 5000) },
  );
  fc.assert(
    fc.property(fc.string({ unit: fc.constantFrom(...'ABCDEFabcdef0123+/=!'.split('')), maxLength: 24 }), (text) => {
      let decoded: Uint8Array | undefined;
      onlyProtocolErrors(['paytoken_malformed'], () => {
        decoded = fromBase64(text);
      });
      if (decoded) assert.equal(toBase64(decoded).replace(/=+$/, ''), text.replace(/=+$/, ''));
    }),
    { numRuns: Math.min(FUZZ_RUNS, 20000) },
  );
});

test('certificate reader: random and mutated DER give only ProtocolErrors', () => {
  const mutated = fc.tuple(fc.nat({ max: CERT.length - 1 }), fc.integer({ min: 1, max: 255 }), fc.nat({ max: CERT.length })).map(([i, x, cut]) => {
    const c = Uint8Array.from(CERT);
    c[i]! ^= x;
    return c.subarray(0, cut === 0 ? CERT.length : cut);
  });
  fc.assert(
    fc.property(fc.oneof(fc.uint8Array({ maxLength: 300 }), mutated), (der) => {
      onlyProtocolErrors(['paytoken_certificate_malformed', 'paytoken_no_merchant_id'], () => merchantIdHashFromCertificate(der));
      onlyProtocolErrors(['paytoken_certificate_malformed'], () => certificateExtensions(der));
    }),
    { numRuns: Math.min(FUZZ_RUNS, 20000) },
  );
});

test('parsePaymentPayload: arbitrary JSON and bytes give a payload or paytoken_payload_malformed', () => {
  fc.assert(
    fc.property(fc.oneof(fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v) ?? ''), fc.uint8Array({ maxLength: 64 })), (input) => {
      onlyProtocolErrors(['paytoken_payload_malformed'], () => parsePaymentPayload(input));
    }),
    { numRuns: Math.min(FUZZ_RUNS, 20000) },
  );
});
