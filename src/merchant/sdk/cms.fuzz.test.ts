import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { fuzzRuns, mutatedBytes } from '../../../test/helpers/fuzz.js';
import { ProtocolError } from '../../protocol/errors.js';
import { certificateExtensions, merchantIdHashFromCertificate, subjectPublicKeyInfoFromCertificate } from '../../protocol/paytoken/index.js';
import { parseDetachedSignature } from './cms.js';
import { PaymentTokenError } from './errors.js';
import { FIXTURES, paymentDataOf } from './fixtures.test-helper.js';

// The real tokens' CMS signatures (BER, indefinite lengths) and the certificates they carry.
const SIGNATURES = FIXTURES.map((f) => new Uint8Array(Buffer.from(paymentDataOf(f.json).signature as string, 'base64')));
const CERTIFICATES = SIGNATURES.flatMap((s) => parseDetachedSignature(s).certificates);
const RUNS = fuzzRuns(1000);

function describeThrown(err: unknown): string {
  return err instanceof Error ? `${err.constructor.name}: ${err.message.slice(0, 120)}` : typeof err;
}

test(`CMS SignedData parser: ${RUNS} random and mutated signatures give a signature or a PaymentTokenError, nothing else`, { timeout: 1_800_000 }, () => {
  const seen = new Map<string, number>();
  let parsed = 0;
  fc.assert(
    fc.property(fc.oneof({ arbitrary: mutatedBytes(SIGNATURES), weight: 4 }, { arbitrary: fc.uint8Array({ maxLength: 512 }), weight: 1 }), (bytes) => {
      try {
        const sig = parseDetachedSignature(bytes);
        assert.ok(sig.signerIndex >= 0 && sig.signerIndex < sig.certificates.length);
        parsed++;
      } catch (err) {
        if (!(err instanceof PaymentTokenError)) throw new Error(`threw ${describeThrown(err)}, not a PaymentTokenError`);
        assert.ok(['malformed', 'signature'].includes(err.reason), err.reason);
        seen.set(err.reason, (seen.get(err.reason) ?? 0) + 1);
      }
    }),
    { numRuns: RUNS },
  );
  console.log(`  cms: ${RUNS} runs, ${parsed} parsed, ${JSON.stringify(Object.fromEntries(seen))}`);
  // The mutations reach past the outer BER into the SignedData's structure.
  assert.ok((seen.get('signature') ?? 0) > 0 && (seen.get('malformed') ?? 0) > 0 && parsed > 0);
});

test(`X.509 certificate reader: ${RUNS} mutated certificates of real tokens give only ProtocolErrors`, { timeout: 1_800_000 }, () => {
  const codes = ['paytoken_certificate_malformed', 'paytoken_no_merchant_id'];
  let read = 0;
  fc.assert(
    fc.property(fc.oneof({ arbitrary: mutatedBytes(CERTIFICATES), weight: 4 }, { arbitrary: fc.uint8Array({ maxLength: 512 }), weight: 1 }), (der) => {
      for (const run of [() => certificateExtensions(der), () => subjectPublicKeyInfoFromCertificate(der), () => merchantIdHashFromCertificate(der)]) {
        try {
          run();
          read++;
        } catch (err) {
          if (!(err instanceof ProtocolError) || !codes.includes(err.code)) throw new Error(`threw ${describeThrown(err)}, not a certificate ProtocolError`);
        }
      }
    }),
    { numRuns: RUNS },
  );
  assert.ok(read > 0);
});
