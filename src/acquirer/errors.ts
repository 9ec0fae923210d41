import { errorEntry, lookupError, registerErrors } from '../infra/errors.js';

/**
 * The acquirer's codes of the catalogue, registered once at import. A declined payment is never one
 * of these: it is a 0110 with its DE 39 (docs/authorization.md). These are for what is not a message,
 * or not this terminal's message.
 */
export const ACQUIRER_ERRORS = {
  iso8583_invalid: errorEntry('invalid_request_error', 400, 'The body is not an ISO 8583 message of the profile in docs/authorization.md.'),
  terminal_mismatch: errorEntry('permission_error', 403, "DE 41 and DE 42 must be the terminal id and the merchant id of this API key's terminal."),
  terminal_inactive: errorEntry('permission_error', 403, 'This terminal or its merchant is not active.'),
  terminal_id_taken: errorEntry('invalid_request_error', 409, 'A terminal with this terminal id (DE 41) exists already.'),
  card_acceptor_id_taken: errorEntry('invalid_request_error', 409, 'A merchant with this card acceptor id (DE 42) exists already.'),
} as const;

// `iso8583_invalid` is also the natural code of the networks' and issuers' ISO 8583 endpoints; whichever
// party is imported first registers it, and the catalogue stays one list with one meaning per code.
for (const [code, entry] of Object.entries(ACQUIRER_ERRORS)) {
  if (!lookupError(code)) registerErrors({ [code]: entry });
}
