import { exchangeIso, type IsoOutcome } from '../infra/iso-exchange.js';
import type { Transport } from '../infra/transport.js';
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
export type IssuerOutcome = IsoOutcome;

export async function exchangeWithIssuer(link: IssuerIso, brand: Brand, issuerId: string, message: Uint8Array, timeoutMs: number): Promise<IssuerOutcome> {
  let apiKey: string;
  try {
    apiKey = link.apiKey(brand);
  } catch {
    // A configuration gap: nothing was sent.
    return { kind: 'refused', status: 0, code: 'no_api_key' };
  }
  return exchangeIso(link.transport, `/issuer/${encodeURIComponent(issuerId)}/v1/iso8583`, apiKey, message, timeoutMs);
}
