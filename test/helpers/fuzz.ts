import fc from 'fast-check';

/**
 * How many cases a fuzz property runs: FUZZ_RUNS when set (`npm run fuzz` sets 100,000), else the
 * smaller number given, which `npm test` runs (these parsers are slower than the protocol ones).
 */
export function fuzzRuns(inTest: number): number {
  const env = Number(process.env.FUZZ_RUNS);
  return Number.isSafeInteger(env) && env > 0 ? env : inTest;
}

/** Bytes near a valid encoding: a few bytes flipped (mostly in the headers), cut short, a chunk cut out or repeated, or bytes appended. */
export function mutatedBytes(seeds: readonly Uint8Array[]): fc.Arbitrary<Uint8Array> {
  return fc
    .tuple(
      fc.nat({ max: seeds.length - 1 }),
      fc.array(fc.tuple(fc.oneof(fc.nat({ max: 64 }), fc.nat()), fc.integer({ min: 1, max: 255 })), { maxLength: 4 }),
      fc.constantFrom('none', 'cut', 'drop', 'repeat', 'append'),
      fc.nat(),
      fc.nat({ max: 64 }),
      fc.uint8Array({ maxLength: 16 }),
    )
    .map(([s, flips, edit, at, span, extra]) => {
      const seed = seeds[s]!;
      const out = Uint8Array.from(seed);
      for (const [i, x] of flips) out[i % out.length]! ^= x;
      const i = at % (out.length + 1);
      switch (edit) {
        case 'cut':
          return out.subarray(0, i);
        case 'drop':
          return Uint8Array.from([...out.subarray(0, i), ...out.subarray(i + span)]);
        case 'repeat':
          return Uint8Array.from([...out.subarray(0, i + span), ...out.subarray(i)]);
        case 'append':
          return Uint8Array.from([...out, ...extra]);
        default:
          return out;
      }
    });
}
