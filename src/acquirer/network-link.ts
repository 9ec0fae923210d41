import { ProtocolError } from '../protocol/errors.js';
import { unpackMessage, type IsoMessage } from '../protocol/iso8583/iso8583.js';
import type { Network } from '../protocol/cards/index.js';
import { PartyUnavailable, type Transport } from '../infra/transport.js';

/**
 * What came of sending one message to a network:
 * - `answer`: a parsable ISO 8583 message came back (its MTI and keys are the caller's to check);
 * - `no_answer`: nothing usable in time (timeout, connection refused, a 5xx, bytes that do not parse):
 *   the network may or may not have acted on it, so an authorization must be reversed;
 * - `refused`: a 4xx: the network did not take the message at all (nothing to reverse).
 */
export type NetworkOutcome =
  | { kind: 'answer'; message: IsoMessage; raw: Uint8Array }
  | { kind: 'no_answer'; reason: 'timeout' | 'unavailable' | 'server_error' | 'unreadable' }
  | { kind: 'refused'; status: number; code: string | undefined };

/** The acquirer's host link to the card networks: `POST /network/:brand/v1/iso8583`, octet-stream. */
export class NetworkLink {
  constructor(
    private readonly transport: Transport,
    private readonly apiKey: string | Partial<Record<Network, string>>,
    private readonly timeoutMs: number,
  ) {}

  #key(brand: Network): string {
    const key = typeof this.apiKey === 'string' ? this.apiKey : this.apiKey[brand];
    if (!key) throw new Error(`no API key configured for the ${brand} network`);
    return key;
  }

  async exchange(brand: Network, message: Uint8Array): Promise<NetworkOutcome> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    // The transport gets the timeout too (fetch aborts), but an in-process transport may ignore it:
    // the race makes the deadline hold whatever carries the message.
    const deadline = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), this.timeoutMs);
    });
    try {
      const call = this.transport.request({ method: 'POST', path: `/network/${brand}/v1/iso8583`, raw: message, apiKey: this.#key(brand), timeoutMs: this.timeoutMs });
      // A call that loses the race may still fail later: that rejection is expected and handled.
      call.catch(() => {});
      const res = await Promise.race([call, deadline]);
      if (res === 'timeout') return { kind: 'no_answer', reason: 'timeout' };
      if (res.status >= 500) return { kind: 'no_answer', reason: 'server_error' };
      if (res.status >= 400) {
        const body = res.body as { error?: { code?: unknown } } | undefined;
        return { kind: 'refused', status: res.status, code: typeof body?.error?.code === 'string' ? body.error.code : undefined };
      }
      if (!res.raw) return { kind: 'no_answer', reason: 'unreadable' };
      try {
        return { kind: 'answer', message: unpackMessage(res.raw), raw: res.raw };
      } catch (err) {
        if (err instanceof ProtocolError) return { kind: 'no_answer', reason: 'unreadable' };
        throw err;
      }
    } catch (err) {
      if (err instanceof PartyUnavailable) return { kind: 'no_answer', reason: err.message.endsWith('timeout') ? 'timeout' : 'unavailable' };
      // Any other failure of the transport (a reset socket, a bug below) leaves the outcome unknown too.
      return { kind: 'no_answer', reason: 'unavailable' };
    } finally {
      clearTimeout(timer);
    }
  }
}
