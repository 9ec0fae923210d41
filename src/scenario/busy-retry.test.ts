import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Transport, TransportRequest, TransportResponse } from '../infra/transport.js';
import { AcquirerClient } from '../acquirer/client.js';
import { BusyRetryTransport } from './busy-retry.js';

const busy = { status: 409, body: { error: { type: 'invalid_request_error', code: 'busy_retry', message: 'Retry.' } }, headers: {} };

/** A transport answering from a script, recording every request it was sent. */
function scripted(answers: TransportResponse<unknown>[]): Transport & { seen: TransportRequest[] } {
  const seen: TransportRequest[] = [];
  return {
    seen,
    async request<T>(req: TransportRequest) {
      seen.push(req);
      return (answers.shift() ?? answers.at(-1) ?? busy) as TransportResponse<T>;
    },
  };
}

describe('BusyRetryTransport (the simulated clients of scenarios and benches)', () => {
  it('a busy_retry answer then a success: the request is sent again, the same body and Idempotency-Key, after a pause', async () => {
    const inner = scripted([busy, { status: 200, body: { ok: true }, headers: {} }]);
    const pauses: number[] = [];
    const t = new BusyRetryTransport(inner, { attempts: 4, baseMs: 10 }, async (ms) => void pauses.push(ms));
    const res = await t.request({ method: 'POST', path: '/platform/v1/cards', body: { a: 1 }, idempotencyKey: 'k1', apiKey: 'tss_x' });
    assert.equal(res.status, 200);
    assert.equal(inner.seen.length, 2);
    assert.deepEqual(inner.seen[1], inner.seen[0]);
    assert.equal(inner.seen[1]!.idempotencyKey, 'k1');
    assert.equal(pauses.length, 1);
    assert.ok(pauses[0]! >= 5 && pauses[0]! <= 15, String(pauses[0]));
    assert.equal(t.retried, 1);
  });

  it('bounded: always busy gives the busy answer back after the last attempt, with growing pauses', async () => {
    const inner = scripted([busy]);
    const pauses: number[] = [];
    const t = new BusyRetryTransport(inner, { attempts: 4, baseMs: 10 }, async (ms) => void pauses.push(ms));
    const res = await t.request({ method: 'POST', path: '/x', body: {} });
    assert.equal(res.status, 409);
    assert.equal(inner.seen.length, 4);
    assert.equal(pauses.length, 3);
    // Base 10 ms doubling, each with jitter in [0.5, 1.5): the third is always longer than the first.
    assert.ok(pauses[2]! > pauses[0]!);
  });

  it('other answers, a 409 with another code among them, are the caller’s at once', async () => {
    for (const answer of [
      { status: 409, body: { error: { code: 'idempotency_in_flight' } }, headers: {} },
      { status: 400, body: { error: { code: 'parameter_invalid' } }, headers: {} },
      { status: 201, body: {}, headers: {} },
    ]) {
      const inner = scripted([answer, { status: 200, body: {}, headers: {} }]);
      const res = await new BusyRetryTransport(inner, { attempts: 4, baseMs: 1 }, async () => {}).request({ method: 'POST', path: '/x' });
      assert.equal(res.status, answer.status);
      assert.equal(inner.seen.length, 1);
    }
  });

  it("a bench client (the reader's acquirer client) gets its answer through one busy_retry", async () => {
    const answer = new Uint8Array([0x30, 0x31]);
    const inner = scripted([busy, { status: 200, body: undefined, raw: answer, headers: {} }]);
    const acquirer = new AcquirerClient(new BusyRetryTransport(inner, { attempts: 4, baseMs: 1 }, async () => {}), 'tsk_terminal_x');
    assert.deepEqual(await acquirer.authorize(new Uint8Array([1, 2, 3])), answer);
    assert.equal(inner.seen.length, 2);
  });
});
