import { PartyUnavailable, type Transport } from '../infra/transport.js';
import { ProtocolError } from '../protocol/errors.js';
import { unpackMessage, type IsoMessage } from '../protocol/iso8583/iso8583.js';
import type { Brand } from './brands.js';

/**
 * How a network reaches the issuers' ISO 8583 endpoints (`POST /issuer/:issuer_id/v1/iso8583`,
 * octet-stream): a transport and each brand's network API key (role 'network', owner = the brand:
 * the same keys the provisioning IssuerClient uses).
 */
export interface IssuerIso {
  transport: Transport;
  apiKey(brand: Brand): string;
}

/**
 * What came of one message to an issuer:
 * - `answer`: a parsable message came back (whether it answers this request is the caller's to check);
 * - `no_answer`: nothing usable in time (timeout, unreachable, a 5xx, bytes that do not parse): the
 *   issuer may have acted on it, so an authorization must be reversed;
 * - `refused`: a 4xx (or no API key for the brand, status 0): the issuer did not take the message
 *   (nothing to reverse).
 */
export type IssuerOutcome =
  | { kind: 'answer'; message: IsoMessage }
  | { kind: 'no_answer'; reason: 'timeout' | 'unavailable' | 'server_error' | 'unreadable' }
  | { kind: 'refused'; status: number; code: string | undefined };

export async function exchangeWithIssuer(link: IssuerIso, brand: Brand, issuerId: string, message: Uint8Array, timeoutMs: number): Promise<IssuerOutcome> {
  let apiKey: string;
  try {
    apiKey = link.apiKey(brand);
  } catch {
    // A configuration gap: nothing was sent.
    return { kind: 'refused', status: 0, code: 'no_api_key' };
  }
  let timer: ReturnType<typeof setTimeout> | undefined;
  // The transport gets the deadline too (fetch aborts), but an in-process transport may ignore it: the
  // race makes the deadline hold whatever carries the message.
  const deadline = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), timeoutMs);
  });
  try {
    const call = link.transport.request({
      method: 'POST',
      path: `/issuer/${encodeURIComponent(issuerId)}/v1/iso8583`,
      raw: message,
      apiKey,
      timeoutMs,
    });
    // A call that loses the race may still fail later: that rejection is expected.
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
      return { kind: 'answer', message: unpackMessage(res.raw) };
    } catch (err) {
      if (err instanceof ProtocolError) return { kind: 'no_answer', reason: 'unreadable' };
      throw err;
    }
  } catch (err) {
    if (err instanceof PartyUnavailable) return { kind: 'no_answer', reason: err.message.endsWith('timeout') ? 'timeout' : 'unavailable' };
    // Any other failure below (a reset socket, a bug in the transport) leaves the outcome unknown too.
    return { kind: 'no_answer', reason: 'unavailable' };
  } finally {
    clearTimeout(timer);
  }
}
