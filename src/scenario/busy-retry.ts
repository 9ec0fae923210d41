import { BUSY_RETRY, type Transport, type TransportRequest, type TransportResponse } from '../infra/transport.js';

function isBusy(res: TransportResponse<unknown>): boolean {
  if (res.status !== 409 || typeof res.body !== 'object' || res.body === null) return false;
  return (res.body as { error?: { code?: unknown } }).error?.code === 'busy_retry';
}

/**
 * The simulated clients' transport (scenarios' phones, readers and operators; the benches'): a request
 * answered `busy_retry` (409: it met concurrent work and changed nothing; the API tells clients to retry)
 * is sent again, the same body and Idempotency-Key, after a growing, jittered pause, at most
 * `policy.attempts` times in all (BUSY_RETRY, as the wallet's client); any other answer, or the last busy
 * one, goes to the caller as it came. Wrap it around a tracing transport so each attempt is traced.
 */
export class BusyRetryTransport implements Transport {
  /** Requests sent again after a busy answer (benches report it). */
  retried = 0;

  constructor(
    private readonly inner: Transport,
    private readonly policy: { attempts: number; baseMs: number } = BUSY_RETRY,
    private readonly sleep: (ms: number) => Promise<void> = (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  ) {}

  async request<T>(req: TransportRequest): Promise<TransportResponse<T>> {
    for (let attempt = 1; ; attempt++) {
      const res = await this.inner.request<T>(req);
      if (!isBusy(res) || attempt >= this.policy.attempts) return res;
      this.retried++;
      await this.sleep(this.policy.baseMs * 2 ** (attempt - 1) * (0.5 + Math.random()));
    }
  }
}
