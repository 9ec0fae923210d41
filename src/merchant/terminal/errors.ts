/**
 * The one error type the terminal kernel throws. Like ProtocolError, a message names the problem and
 * never a value: no card number, track data or cryptogram reaches a message. `sw` is the status word
 * the card answered, when the problem is one.
 */
export type KernelErrorCode =
  /** The kernel's configuration is unusable (checked when it is built). */
  | 'config_invalid'
  /** The transaction asked for is not one the kernel makes (amount, type). */
  | 'request_invalid'
  /** The link to the card failed (the phone left the field, the transport threw). */
  | 'link_failed'
  /** No application both the card and the terminal support could be selected. */
  | 'no_application'
  /** The card answered a command with an error status word, or with bytes that are not a valid answer. */
  | 'card_read_failed'
  /** The card's answers parse but lack data the transaction needs, or carry inconsistent data. */
  | 'card_data_invalid'
  /** An authorization response that is not a usable answer to the request. */
  | 'response_invalid';

export class KernelError extends Error {
  override readonly name = 'KernelError';
  readonly code: KernelErrorCode;
  /** The card's status word, when the card answered one. */
  readonly sw?: number;

  constructor(code: KernelErrorCode, message: string, options: { sw?: number; cause?: unknown } = {}) {
    super(message, options.cause !== undefined ? { cause: options.cause } : undefined);
    this.code = code;
    if (options.sw !== undefined) this.sw = options.sw;
  }
}
