import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { describe, it } from 'node:test';
import { signPayload, verifySignature, WebhookSignatureError, type VerifyFailure } from './webhooks.js';

const body = '{"id":"evt_1","type":"authorization.approved"}';
const now = new Date('2025-03-01T12:00:00Z');
const t = Math.floor(now.getTime() / 1000);

function rejects(fn: () => unknown, reason: VerifyFailure) {
  assert.throws(fn, (err: unknown) => err instanceof WebhookSignatureError && err.reason === reason);
}

describe('webhook signatures', () => {
  it('signs t.raw_body with HMAC-SHA256 in the documented header format', () => {
    const header = signPayload('whsec_a', body, now);
    const expected = createHmac('sha256', 'whsec_a').update(`${t}.${body}`).digest('hex');
    assert.equal(header, `t=${t},v1=${expected}`);
    assert.deepEqual(verifySignature(header, body, ['whsec_a'], { now }), { timestamp: t });
    assert.deepEqual(verifySignature(header, Buffer.from(body), ['whsec_a'], { now }), { timestamp: t });
  });

  it('accepts any of several v1 values and any of several receiver secrets (rotation)', () => {
    const both = signPayload(['whsec_new', 'whsec_old'], body, now);
    assert.equal(both.split(',').length, 3);
    verifySignature(both, body, ['whsec_old'], { now });
    verifySignature(both, body, ['whsec_new'], { now });
    verifySignature(signPayload('whsec_old', body, now), body, ['whsec_new', 'whsec_old'], { now });
    rejects(() => verifySignature(both, body, ['whsec_other'], { now }), 'signature_mismatch');
  });

  it('rejects a changed body, another secret, and a missing or malformed header', () => {
    const header = signPayload('whsec_a', body, now);
    rejects(() => verifySignature(header, `${body} `, ['whsec_a'], { now }), 'signature_mismatch');
    rejects(() => verifySignature(header, body, ['whsec_b'], { now }), 'signature_mismatch');
    rejects(() => verifySignature(header, body, [], { now }), 'signature_mismatch');
    rejects(() => verifySignature(undefined, body, ['whsec_a'], { now }), 'header_missing');
    for (const bad of ['', 'garbage', `t=${t}`, 'v1=00', `t=abc,v1=${'0'.repeat(64)}`, `t=${t},t=${t},v1=${'0'.repeat(64)}`, `t=${t},v1=xyz`]) {
      rejects(() => verifySignature(bad, body, ['whsec_a'], { now }), 'header_invalid');
    }
    // The timestamp is signed: moving it breaks the signature.
    const moved = header.replace(`t=${t}`, `t=${t + 1}`);
    rejects(() => verifySignature(moved, body, ['whsec_a'], { now }), 'signature_mismatch');
  });

  it('rejects timestamps outside the tolerance (5 minutes by default), both ways', () => {
    const header = signPayload('whsec_a', body, now);
    verifySignature(header, body, ['whsec_a'], { now: new Date(now.getTime() + 300_000) });
    rejects(() => verifySignature(header, body, ['whsec_a'], { now: new Date(now.getTime() + 301_000) }), 'timestamp_outside_tolerance');
    rejects(() => verifySignature(header, body, ['whsec_a'], { now: new Date(now.getTime() - 301_000) }), 'timestamp_outside_tolerance');
    verifySignature(header, body, ['whsec_a'], { now: new Date(now.getTime() + 3_600_000), toleranceSeconds: 3600 });
  });

  it('ignores unknown schemes next to a valid v1', () => {
    const header = signPayload('whsec_a', body, now);
    verifySignature(`${header},v0=abc,v2=${'f'.repeat(64)}`, body, ['whsec_a'], { now });
  });
});
