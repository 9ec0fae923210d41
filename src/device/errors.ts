/**
 * The one error type device code throws. Like ProtocolError, a message names the problem and never
 * the value: no card number, CVV, key, token number or one-time code ever reaches a message.
 */
export type DeviceErrorCode =
  // Secure Element
  | 'se_payload_invalid'
  | 'se_card_unknown'
  | 'se_certificate_invalid'
  | 'se_not_paired'
  | 'se_authorization_invalid'
  | 'se_authorization_mismatch'
  | 'se_authorization_expired'
  | 'se_authorization_replayed'
  | 'se_storage_corrupt'
  | 'se_request_invalid'
  // Secure Enclave
  | 'enclave_locked'
  | 'enclave_passcode_required'
  | 'enclave_biometric_not_enrolled'
  | 'enclave_not_set_up'
  | 'enclave_setup_invalid'
  | 'enclave_request_invalid'
  | 'enclave_storage_corrupt'
  // device set-up
  | 'device_already_set_up'
  // wallet app
  | 'wallet_card_invalid'
  | 'wallet_card_expired'
  | 'wallet_request_invalid'
  | 'wallet_network_key_invalid'
  | 'wallet_response_invalid'
  | 'wallet_card_not_on_device'
  | 'wallet_transaction_invalid';

export class DeviceError extends Error {
  override readonly name = 'DeviceError';
  readonly code: DeviceErrorCode;
  /** A finer, value-free reason where the code has several (e.g. `bad_luhn` for wallet_card_invalid). */
  readonly reason?: string;

  constructor(code: DeviceErrorCode, message: string, reason?: string) {
    super(message);
    this.code = code;
    if (reason !== undefined) this.reason = reason;
  }
}
