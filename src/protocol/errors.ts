/**
 * The one error type protocol code throws. Messages name the field and the problem, never the
 * field's value: a parse failure on a PAN or a key must not put that PAN or key into a log.
 */
export class ProtocolError extends Error {
  override readonly name = 'ProtocolError';
  /** Stable machine code, e.g. `tlv_truncated`, `iso8583_bad_bitmap`, `emv_bad_key_length`. */
  readonly code: string;
  /** Byte offset or field where the problem was found, when there is one. */
  readonly at?: string | number;

  constructor(code: string, message: string, at?: string | number) {
    super(message);
    this.code = code;
    if (at !== undefined) this.at = at;
  }
}

/** Largest input any protocol parser accepts: bounds memory and time on hostile input. */
export const MAX_INPUT_BYTES = 64 * 1024;

export function assertInputSize(bytes: Uint8Array, what: string): void {
  if (bytes.length > MAX_INPUT_BYTES) {
    throw new ProtocolError('input_too_large', `${what} exceeds ${MAX_INPUT_BYTES} bytes`);
  }
}
