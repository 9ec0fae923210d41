import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { WalletPlatformClient } from '../platform/client.js';
import { callRetryingBusy, PartyError, type Transport, type TransportRequest, type TransportResponse } from './transport.js';

/** A transport that answers from a script, one answer per request, and records what it was sent. */
function scripted(answers: { status: number; code?: string }[]): Transport & { sent: TransportRequest[] } {
  const sent: TransportRequest[] = [];
  return {
    sent,
    async request<T>(req: TransportRequest): Promise<TransportResponse<T>> {
      sent.push(req);
      const a = answers[Math.min(sent.length - 1, answers.length - 1)]!;
      const body = a.code ? { error: { type: 'api_error', code: a.code, message: a.code } } : { ok: true };
      return { status: a.status, body: body as T, headers: {} };
    },
  };
}

const fast = { attempts: 4, baseMs: 1 };

describe('callRetryingBusy', () => {
  it('repeats a busy_retry answer with the same request until it succeeds', async () => {
    const t = scripted([{ status: 409, code: 'busy_retry' }, { status: 409, code: 'busy_retry' }, { status: 200 }]);
    const req: TransportRequest = { method: 'POST', path: '/x', body: { a: 1 }, idempotencyKey: 'k-1' };
    assert.deepEqual(await callRetryingBusy(t, 'platform', req, fast), { ok: true });
    assert.equal(t.sent.length, 3);
    for (const r of t.sent) assert.deepEqual(r, req);
  });

  it('gives up after the policy\'s attempts with the last busy answer', async () => {
    const t = scripted([{ status: 409, code: 'busy_retry' }]);
    await assert.rejects(callRetryingBusy(t, 'platform', { method: 'POST', path: '/x' }, fast), (err: unknown) => err instanceof PartyError && err.code === 'busy_retry');
    assert.equal(t.sent.length, 4);
  });

  it('does not repeat any other error, even another 409', async () => {
    for (const code of ['idempotency_in_flight', 'card_already_provisioned', 'parameter_invalid']) {
      const t = scripted([{ status: code === 'parameter_invalid' ? 400 : 409, code }, { status: 200 }]);
      await assert.rejects(callRetryingBusy(t, 'platform', { method: 'POST', path: '/x' }, fast), (err: unknown) => err instanceof PartyError && err.code === code);
      assert.equal(t.sent.length, 1, code);
    }
  });

  it('is what the wallet\'s platform client uses: a provisioning answered busy is sent again with its key', async () => {
    const t = scripted([{ status: 409, code: 'busy_retry' }, { status: 201 }]);
    const client = new WalletPlatformClient(t, 'session-secret');
    await client.provision({ network: 'visa', encrypted_card: 'jwe' }, 'idem-7');
    assert.equal(t.sent.length, 2);
    assert.deepEqual(t.sent.map((r) => r.idempotencyKey), ['idem-7', 'idem-7']);
  });
});
