import { ProtocolError } from '../protocol/errors.js';
import { unpackMessage, type IsoMessage } from '../protocol/iso8583/iso8583.js';
import { PartyUnavailable, type Transport } from './transport.js';

/**
 * What came of sending one ISO 8583 message to another party:
 * - `answer`: a parsable message came back (whether it answers this request is the caller's to check);
 * - `no_answer`: nothing usable in time (timeout, unreachable, a 5xx, bytes that do not parse): the
 *   other party may have acted on it, so an authorization must be reversed;
 * - `refused`: a 4xx: the message was not taken at all (nothing to reverse).
 */
export type IsoOutcome =
  | { kind: 'answer'; message: IsoMessage; raw: Uint8Array }
  | { kind: 'no_answer'; reason: 'timeout' | 'unavailable' | 'server_error' | 'unreadable' }
  | { kind: 'refused'; status: number; code: string | undefined };

/** POSTs packed bytes (octet-stream) and classifies the outcome, with a deadline that always holds. */
export async function exchangeIso(transport: Transport, path: string, apiKey: string, message: Uint8Array, timeoutMs: number): Promise<IsoOutcome> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  // The transport gets the timeout too (fetch aborts), but an in-process transport may ignore it:
  // the race makes the deadline hold whatever carries the message.
  const deadline = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), timeoutMs);
  });
  try {
    const call = transport.request({ method: 'POST', path, raw: message, apiKey, timeoutMs });
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
