import { errorEntry, registerErrors } from '../infra/errors.js';

/**
 * The card and provisioning codes of the catalogue, registered once at import. The network answers
 * with the same codes as the issuers (it passes an issuer's decline on), so both import this module;
 * registering them anywhere else would throw "registered twice". Messages never carry a card number,
 * a CVV or a one-time code.
 */
export const CARD_ERRORS = {
  // Shared by the networks and the issuers.
  card_not_supported: errorEntry('card_error', 402, 'This card is not supported: no issuer takes part for this card number.'),
  card_expired: errorEntry('card_error', 402, 'The card has expired, or the expiry date does not match the card.'),
  card_cvv_incorrect: errorEntry('card_error', 402, "The card's security code is incorrect."),
  provisioning_declined: errorEntry('card_error', 402, 'The card issuer declined to add this card.'),
  verification_code_incorrect: errorEntry('card_error', 402, 'The verification code is incorrect.'),
  verification_locked: errorEntry('card_error', 402, 'Too many incorrect verification codes: this verification is locked. Start again.'),
  verification_expired: errorEntry('card_error', 402, 'The verification code has expired; request a new one.'),
  // The issuers' own.
  verification_code_limit: errorEntry('invalid_request_error', 409, 'No more verification codes can be sent for this verification; start again.'),
  verification_not_pending: errorEntry('invalid_request_error', 409, 'This verification is not waiting for a verification code.'),
  // The issuers' ISO 8583 endpoint: what is not a message (a decline is a 0110 with its DE 39, never an HTTP error).
  issuer_message_invalid: errorEntry('invalid_request_error', 400, 'The body is not an ISO 8583 0100, 0400 or 0420 of the profile in docs/authorization.md.'),
} as const;

export type CardErrorCode = keyof typeof CARD_ERRORS;

registerErrors(CARD_ERRORS);
