import type { ErrorBody } from '../infra/errors.js';
import { PartyError, type Transport } from '../infra/transport.js';

/**
 * The typed client of the acquirer's host interface, for terminals (the in-store terminal and the
 * merchant's checkout server): packed ISO 8583 in, packed ISO 8583 out. A decline is an answer (DE 39),
 * never an exception; what is not a message (400 iso8583_invalid, 401, 403) throws `PartyError`; no
 * answer throws `PartyUnavailable` (the terminal then sends its own 0400).
 */
export class AcquirerClient {
  constructor(
    private readonly transport: Transport,
    private readonly terminalApiKey: string,
    private readonly options: { timeoutMs?: number } = {},
  ) {}

  /** A packed 0100: the packed 0110. */
  authorize(packed0100: Uint8Array): Promise<Uint8Array> {
    return this.#send(packed0100);
  }

  /** A packed 0400 (DE 90 naming the terminal's 0100): the packed 0410. */
  reverse(packed0400: Uint8Array): Promise<Uint8Array> {
    return this.#send(packed0400);
  }

  async #send(raw: Uint8Array): Promise<Uint8Array> {
    const res = await this.transport.request<ErrorBody | undefined>({
      method: 'POST',
      path: '/acquirer/v1/authorizations',
      raw,
      apiKey: this.terminalApiKey,
      ...(this.options.timeoutMs !== undefined ? { timeoutMs: this.options.timeoutMs } : {}),
    });
    if (res.status === 200 && res.raw) return res.raw;
    throw new PartyError(res.status, res.body, 'acquirer', 'POST /acquirer/v1/authorizations');
  }
}
