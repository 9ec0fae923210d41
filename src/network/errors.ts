// The shared card and provisioning codes are registered by the issuer module; importing it first keeps
// the catalogue one list (registering them here too would throw "registered twice").
import { CARD_ERRORS } from '../issuer/card-errors.js';
import { AppError, errorEntry, lookupError, registerErrors } from '../infra/errors.js';
import { PartyError, PartyUnavailable } from '../infra/transport.js';

/** The card networks' own codes (docs/provisioning.md). */
export const NETWORK_ERRORS = {
  card_number_invalid: errorEntry('card_error', 400, 'The card number is not valid: check its digits.'),
  card_already_provisioned: errorEntry('invalid_request_error', 409, 'This card is already added, or being added, on this device.'),
  encrypted_card_invalid: errorEntry('invalid_request_error', 400, 'The encrypted card data could not be decrypted or is not valid card data.'),
  device_certificate_invalid: errorEntry(
    'invalid_request_error',
    400,
    "The device's Secure Element certificate is not valid: not issued by the token requestor's device CA, outside its validity, or not a P-256 key for this device.",
  ),
  token_transition_forbidden: errorEntry(
    'invalid_request_error',
    409,
    "This change of the token's status is not allowed: a deleted token is final, only an active token can be suspended, and a suspended token is resumed only by the party that suspended it or by the issuer.",
  ),
  // Shared with the acquirer's and issuers' ISO 8583 endpoints (same meaning): whoever is imported first registers it.
  iso8583_invalid: errorEntry('invalid_request_error', 400, 'The body is not an ISO 8583 message of the profile in docs/authorization.md.'),
} as const;

// Another module (the issuers') may register one of these codes itself later; whoever is first owns it.
for (const [code, e] of Object.entries(NETWORK_ERRORS)) {
  if (!lookupError(code)) registerErrors({ [code]: e });
}

/** Issuer answers the network passes on to the token requestor unchanged (code, status, message). */
const PASS_THROUGH = new Set<string>([...Object.keys(CARD_ERRORS), 'card_number_invalid']);

/**
 * Maps a failed call to an issuer onto the catalogue: the issuer's card errors go through unchanged;
 * an issuer that did not answer, or answered with anything else (its own 4xx/5xx), is `downstream_failed`.
 * Anything that is not a party error is rethrown as it is.
 */
export function issuerFailure(err: unknown): AppError {
  if (err instanceof PartyUnavailable) return new AppError('downstream_failed');
  if (err instanceof PartyError) {
    const code = err.code;
    if (code && PASS_THROUGH.has(code) && lookupError(code)) {
      const message = err.body?.error?.message;
      const declineCode = err.declineCode;
      return new AppError(code, { ...(message ? { message } : {}), ...(declineCode ? { declineCode } : {}) });
    }
    return new AppError('downstream_failed');
  }
  throw err;
}
