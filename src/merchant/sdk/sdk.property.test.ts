import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { hostileToken } from '../../protocol/paytoken/arbitraries.test-helper.js';
import { decryptPaymentToken, MemoryReplayCache, PAYMENT_TOKEN_ERROR_REASONS, PaymentTokenError, verifyAndDecrypt, verifyPaymentToken } from './index.js';
import { APPLE_ROOT, DECRYPTABLE, FIXTURES, clone, paymentDataOf } from './fixtures.test-helper.js';

// Each case runs the whole pipeline (CMS parse, chain, ECDSA/RSA, ECDH, GCM): a fraction of the
// parser-level FUZZ_RUNS (100,000 by default → 1,000 here, ~10 s; the protocol-level property runs them all).
const RUNS = Math.max(100, Math.floor(Number(process.env.FUZZ_RUNS ?? 100000) / 100));
const KEYS = DECRYPTABLE.map((f) => ({ certificatePem: f.certificatePem!, privateKeyPem: f.privateKeyPem! }));
const REASONS: readonly string[] = PAYMENT_TOKEN_ERROR_REASONS;

/** A fixture with bytes of its signature, data or key changed (still valid base64: the deep checks run). */
function byteFlips(json: Record<string, unknown>): fc.Arbitrary<unknown> {
  const fields = ['signature', 'data', 'key'] as const;
  return fc.array(fc.tuple(fc.constantFrom(...fields), fc.nat(), fc.integer({ min: 1, max: 255 })), { minLength: 1, maxLength: 3 }).map((flips) => {
    const copy = clone(json);
    const pd = paymentDataOf(copy) as Record<string, unknown> & { header: Record<string, string> };
    for (const [field, at, x] of flips) {
      const holder = (field === 'key' ? pd.header : pd) as Record<string, string>;
      const name = field === 'key' ? ('ephemeralPublicKey' in pd.header ? 'ephemeralPublicKey' : 'wrappedKey') : field;
      const bytes = Buffer.from(holder[name]!, 'base64');
      bytes[at % bytes.length]! ^= x;
      holder[name] = bytes.toString('base64');
    }
    return copy;
  });
}

function assertPaymentTokenError(err: unknown): void {
  if (!(err instanceof PaymentTokenError)) throw new Error(`threw ${err instanceof Error ? `${err.name}: ${err.message}` : typeof err}, not a PaymentTokenError`);
  assert.ok(REASONS.includes(err.reason));
  assert.ok(!err.message.includes('\n'));
}

test('random and mutated token JSON: verifyAndDecrypt / verifyPaymentToken / decryptPaymentToken throw nothing but PaymentTokenError', async () => {
  const seen = new Map<string, number>();
  let accepted = 0;
  await fc.assert(
    fc.asyncProperty(fc.nat({ max: FIXTURES.length - 1 }), fc.nat({ max: FIXTURES.length - 1 }).chain((i) => fc.oneof(hostileToken([FIXTURES[i]!.json]), byteFlips(FIXTURES[i]!.json))), async (clockOf, token) => {
      const f = FIXTURES[clockOf]!;
      const options = { roots: [APPLE_ROOT], now: f.signingTime, seenTransactionIds: new MemoryReplayCache(), keys: KEYS };
      for (const run of [() => verifyAndDecrypt(token, options), () => verifyPaymentToken(token, options), () => decryptPaymentToken(token, options)]) {
        try {
          await run();
          accepted++;
        } catch (err) {
          assertPaymentTokenError(err);
          const reason = (err as PaymentTokenError).reason;
          seen.set(reason, (seen.get(reason) ?? 0) + 1);
        }
      }
    }),
    { numRuns: RUNS },
  );
  // The mutations reach the deep checks, not just the parser.
  for (const reason of ['malformed', 'signature', 'signing_time']) assert.ok((seen.get(reason) ?? 0) > 0, `no ${reason} seen: ${JSON.stringify([...seen])}`);
  assert.ok(accepted > 0);
});
