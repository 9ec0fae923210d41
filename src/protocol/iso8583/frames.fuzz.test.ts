import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { toHex } from '../bytes.js';
import { ProtocolError } from '../errors.js';
import { messageArb } from './arbitraries.test-helper.js';
import { frameMessage, packMessage, unframeMessages, unpackMessage } from './iso8583.js';

// npm run fuzz sets FUZZ_RUNS (100,000); npm test runs fewer.
const RUNS = Number(process.env.FUZZ_RUNS ?? 3000);

/**
 * The ISO 8583 stream reader (2-byte big-endian length prefix, as on a TCP host link): a byte stream
 * of framed messages, framed garbage and stray bytes, arriving in chunks cut anywhere, always yields
 * the same frames as the whole stream read at once, never throws, and every frame it yields unpacks
 * to a message or a ProtocolError.
 */
test(`ISO 8583 frame reader: ${RUNS} streams cut at random give the same frames as read whole, and only ProtocolErrors`, { timeout: 1_800_000 }, () => {
  const pool = fc.sample(messageArb(), { numRuns: 200, seed: 16 }).map(packMessage);
  const frame = fc.oneof(
    { weight: 4, arbitrary: fc.nat({ max: pool.length - 1 }).map((i) => frameMessage(pool[i]!)) },
    { weight: 2, arbitrary: fc.uint8Array({ maxLength: 120 }).map((b) => frameMessage(b)) },
    { weight: 1, arbitrary: fc.tuple(fc.nat({ max: pool.length - 1 }), fc.nat(), fc.integer({ min: 1, max: 255 })).map(([i, at, x]) => {
      const f = frameMessage(pool[i]!);
      f[2 + (at % (f.length - 2))]! ^= x;
      return f;
    }) },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 6 }) },
  );
  let frames = 0;
  let unpacked = 0;
  fc.assert(
    fc.property(fc.array(frame, { maxLength: 8 }), fc.array(fc.nat({ max: 400 }), { maxLength: 10 }), (parts, cuts) => {
      const stream = Uint8Array.from(parts.flatMap((p) => [...p]));
      const whole = unframeMessages(stream);
      // The same stream in chunks: what is left over is carried into the next read.
      const got: Uint8Array[] = [];
      let rest: Uint8Array = new Uint8Array(0);
      let offset = 0;
      for (const cut of [...cuts, stream.length]) {
        const end = Math.min(stream.length, offset + cut);
        const r = unframeMessages(Uint8Array.from([...rest, ...stream.subarray(offset, end)]));
        got.push(...r.messages);
        rest = r.rest;
        offset = end;
      }
      assert.deepEqual(got.map(toHex), whole.messages.map(toHex));
      assert.equal(toHex(rest), toHex(whole.rest));
      for (const m of got) {
        frames++;
        try {
          unpackMessage(m);
          unpacked++;
        } catch (err) {
          if (!(err instanceof ProtocolError)) throw err;
        }
      }
    }),
    { numRuns: RUNS },
  );
  console.log(`  iso8583 frames: ${RUNS} streams, ${frames} frames, ${unpacked} unpacked`);
  assert.ok(unpacked > 0 && frames > unpacked);
});
