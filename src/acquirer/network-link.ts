import type { Network } from '../protocol/cards/index.js';
import { exchangeIso, type IsoOutcome } from '../infra/iso-exchange.js';
import type { Transport } from '../infra/transport.js';

/** What came of sending one message to a network (see IsoOutcome). */
export type NetworkOutcome = IsoOutcome;

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

  exchange(brand: Network, message: Uint8Array): Promise<NetworkOutcome> {
    return exchangeIso(this.transport, `/network/${brand}/v1/iso8583`, this.#key(brand), message, this.timeoutMs);
  }
}
