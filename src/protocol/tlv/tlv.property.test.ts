import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { toHex } from '../bytes.js';
import { ProtocolError, MAX_INPUT_BYTES } from '../errors.js';
import { parseTlv, buildTlv, MAX_TLV_DEPTH, type TlvNode } from './tlv.js';
import { parseDol, buildDolData, splitDolData } from './dol.js';
import { maskTlv } from './tags.js';

const FUZZ_RUNS = Number(process.env.FUZZ_RUNS ?? 100000);
const ROUND_TRIP_RUNS = 2000;

// ---- Generators of valid, canonically encoded TLV ----

interface Tree {
  tag: Uint8Array;
  value?: Uint8Array;
  children?: Tree[];
}

const FIRST_MULTI = [0x1f, 0x3f, 0x5f, 0x7f, 0x9f, 0xbf, 0xdf]; // low 5 bits set; FF is padding
const byteIn = (lo: number, hi: number) => fc.integer({ min: lo, max: hi });

function tagArb(constructed: boolean): fc.Arbitrary<Uint8Array> {
  const ok = (b: number) => ((b & 0x20) !== 0) === constructed;
  const single = byteIn(0x01, 0xfe).filter((b) => (b & 0x1f) !== 0x1f && ok(b)).map((b) => Uint8Array.of(b));
  const first = fc.constantFrom(...FIRST_MULTI.filter(ok));
  const double = fc.tuple(first, byteIn(0x00, 0x7f)).map(([a, b]) => Uint8Array.of(a, b));
  const triple = fc.tuple(first, byteIn(0x80, 0xff), byteIn(0x00, 0x7f)).map(([a, b, c]) => Uint8Array.of(a, b, c));
  return fc.oneof({ weight: 3, arbitrary: single }, { weight: 2, arbitrary: double }, { weight: 1, arbitrary: triple });
}

const valueArb = fc.oneof(
  { weight: 8, arbitrary: fc.uint8Array({ maxLength: 40 }) },
  { weight: 1, arbitrary: fc.uint8Array({ minLength: 120, maxLength: 300 }) },
);

const treeArb: fc.Arbitrary<Tree[]> = fc.letrec<{ node: Tree; nodes: Tree[] }>((tie) => ({
  node: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.record({ tag: tagArb(false), value: valueArb }),
    fc.record({ tag: tagArb(true), children: tie('nodes') }),
  ) as fc.Arbitrary<Tree>,
  nodes: fc.array(tie('node'), { maxLength: 5 }),
})).nodes;

/** Reference encoder, written independently of tlv.ts. */
function encodeRef(trees: Tree[]): Uint8Array {
  const out: number[] = [];
  for (const t of trees) {
    const value = t.children ? encodeRef(t.children) : t.value!;
    out.push(...t.tag);
    const n = value.length;
    if (n < 0x80) out.push(n);
    else if (n < 0x100) out.push(0x81, n);
    else if (n < 0x10000) out.push(0x82, n >> 8, n & 0xff);
    else out.push(0x83, n >> 16, (n >> 8) & 0xff, n & 0xff);
    out.push(...value);
  }
  return Uint8Array.from(out);
}

function depth(trees: Tree[]): number {
  return trees.reduce((d, t) => Math.max(d, 1 + (t.children ? depth(t.children) : 0)), 0);
}

function sameShape(nodes: TlvNode[], trees: Tree[]): void {
  assert.equal(nodes.length, trees.length);
  nodes.forEach((node, k) => {
    const t = trees[k]!;
    assert.equal(node.tag, toHex(t.tag));
    if (t.children) {
      assert.ok(node.children, `children of ${node.tag}`);
      sameShape(node.children, t.children);
    } else {
      assert.equal(toHex(node.value), toHex(t.value!));
      assert.equal(node.length, t.value!.length);
    }
  });
}

/** Runs fn; a ProtocolError is an accepted outcome, anything else fails the property. Returns true when fn succeeded. */
const onlyProtocolErrors = (fn: () => unknown): boolean => {
  try {
    fn();
    return true;
  } catch (err) {
    if (!(err instanceof ProtocolError)) throw err;
    return false;
  }
};

// ---- Properties ----

test('round trip: parse(encode(tree)) has the tree\'s shape and build(parse(x)) === x', () => {
  fc.assert(
    fc.property(treeArb.filter((t) => depth(t) <= MAX_TLV_DEPTH), (trees) => {
      const bytes = encodeRef(trees);
      const nodes = parseTlv(bytes);
      sameShape(nodes, trees);
      assert.equal(toHex(buildTlv(nodes)), toHex(bytes));
      // Masking never changes the encoded length.
      assert.equal(buildTlv(maskTlv(nodes)).length, bytes.length);
    }),
    { numRuns: ROUND_TRIP_RUNS },
  );
});

test('round trip: DOL build ∘ split is the identity on DOL-sized data', () => {
  const entryArb = fc.tuple(tagArb(false), fc.integer({ min: 0, max: 32 }));
  fc.assert(
    fc.property(fc.array(entryArb, { maxLength: 12 }), fc.uint8Array({ maxLength: 400 }), (entries, pool) => {
      const dolBytes = Uint8Array.from(entries.flatMap(([tag, len]) => [...tag, len]));
      const dol = parseDol(dolBytes);
      assert.equal(dol.length, entries.length);
      const total = dol.reduce((s, e) => s + e.length, 0);
      const data = new Uint8Array(total).map((_, k) => pool[k % Math.max(pool.length, 1)] ?? 0);
      const split = splitDolData(dol, data);
      // Duplicate tags get the first value back, so compare by rebuilding only when tags are unique.
      if (new Set(dol.map((e) => e.tag)).size === dol.length) assert.equal(toHex(buildDolData(dol, split)), toHex(data));
    }),
    { numRuns: ROUND_TRIP_RUNS },
  );
});

test(`robustness: ${FUZZ_RUNS} random inputs give nodes or a ProtocolError, nothing else`, { timeout: 600_000 }, () => {
  const started = performance.now();
  let parsed = 0;
  fc.assert(
    fc.property(
      fc.oneof(
        fc.uint8Array({ maxLength: 64 }),
        fc.uint8Array({ maxLength: 600 }),
        // biased towards structure: constructed tags, long-length markers, padding
        fc.array(fc.constantFrom(0x00, 0xff, 0x1f, 0x5f, 0x9f, 0xbf, 0x70, 0x77, 0xe1, 0x80, 0x81, 0x82, 0x83, 0x84, 0x01, 0x02), { maxLength: 200 })
          .map((a) => Uint8Array.from(a)),
      ),
      (bytes) => {
        if (
          onlyProtocolErrors(() => {
            const nodes = parseTlv(bytes);
            buildTlv(nodes); // whatever parses must also encode
            maskTlv(nodes);
          })
        ) parsed++;
      },
    ),
    { numRuns: FUZZ_RUNS },
  );
  console.log(`  tlv random: ${FUZZ_RUNS} runs (${parsed} parsed) in ${Math.round(performance.now() - started)} ms`);
});

const mutationArb = fc.array(
  fc.record({
    kind: fc.constantFrom('flip', 'set', 'delete', 'insert', 'truncate'),
    at: fc.nat(),
    byte: byteIn(0, 255),
  }),
  { minLength: 1, maxLength: 4 },
);

function mutate(input: Uint8Array, ops: { kind: string; at: number; byte: number }[]): Uint8Array {
  const b = [...input];
  for (const op of ops) {
    const at = b.length === 0 ? 0 : op.at % b.length;
    if (op.kind === 'flip' && b.length) b[at] = b[at]! ^ (1 << (op.byte & 7));
    else if (op.kind === 'set' && b.length) b[at] = op.byte;
    else if (op.kind === 'delete') b.splice(at, 1);
    else if (op.kind === 'insert') b.splice(at, 0, op.byte);
    else if (op.kind === 'truncate') b.length = at;
  }
  return Uint8Array.from(b);
}

test(`robustness: ${FUZZ_RUNS} mutated valid encodings give nodes or a ProtocolError`, { timeout: 600_000 }, () => {
  const started = performance.now();
  let parsed = 0;
  // A pool of valid encodings, then cheap mutations of them (generating a tree per run would dominate the time).
  const pool = fc.sample(treeArb.filter((t) => depth(t) <= MAX_TLV_DEPTH), { numRuns: 500, seed: 42 }).map(encodeRef);
  fc.assert(
    fc.property(fc.nat({ max: pool.length - 1 }), mutationArb, (k, ops) => {
      if (
        onlyProtocolErrors(() => {
          const nodes = parseTlv(mutate(pool[k]!, ops));
          buildTlv(nodes);
        })
      ) parsed++;
    }),
    { numRuns: FUZZ_RUNS },
  );
  console.log(`  tlv mutated: ${FUZZ_RUNS} runs (${parsed} parsed) in ${Math.round(performance.now() - started)} ms`);
});

test('robustness: hostile 64 KiB inputs are bounded in time; above 64 KiB is input_too_large', () => {
  const deep = new Uint8Array(MAX_INPUT_BYTES);
  for (let k = 0; k + 4 <= deep.length; k += 4) deep.set([0xe1, 0x82, ((deep.length - k - 4) >> 8) & 0xff, (deep.length - k - 4) & 0xff], k);
  const many = new Uint8Array(MAX_INPUT_BYTES);
  for (let k = 0; k + 2 <= many.length; k += 2) many.set([0x61, 0x00], k);
  const started = performance.now();
  assert.throws(() => parseTlv(deep), (e: unknown) => e instanceof ProtocolError);
  assert.equal(parseTlv(many).length, MAX_INPUT_BYTES / 2);
  // A safety net against a hang or a blow-up, not a speed limit.
  assert.ok(performance.now() - started < 60_000);
  assert.throws(() => parseTlv(new Uint8Array(MAX_INPUT_BYTES + 1)), { code: 'input_too_large' });
  assert.throws(() => parseDol(new Uint8Array(MAX_INPUT_BYTES + 1)), { code: 'input_too_large' });
});
