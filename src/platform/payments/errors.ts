import { errorEntry, lookupError, registerErrors } from '../../infra/errors.js';

/** The in-app payment codes of the catalogue (docs/inapp.md), registered once at import. Messages never echo values. */
export const PAYMENT_ERRORS = {
  payment_nonce_invalid: errorEntry('invalid_request_error', 400, 'The payment nonce is unknown, belongs to another device, or was issued for another merchant session.'),
  payment_nonce_expired: errorEntry('invalid_request_error', 400, 'The payment nonce has expired (nonces are valid for 2 minutes); ask for a new one.'),
  payment_nonce_used: errorEntry('invalid_request_error', 409, 'The payment nonce has already been used; each nonce serves one payment.'),
  payment_invalid: errorEntry(
    'invalid_request_error',
    400,
    "The encrypted payment does not decrypt with the platform's payment key, or does not match the card, the payment request, the nonce or the merchant session.",
  ),
  payment_card_inactive: errorEntry('invalid_request_error', 409, 'This card cannot pay now (it is not active on this device).'),
  payment_network_not_supported: errorEntry('invalid_request_error', 400, "The payment request's supportedNetworks does not include this card's network."),
} as const;

for (const [code, e] of Object.entries(PAYMENT_ERRORS)) {
  if (!lookupError(code)) registerErrors({ [code]: e });
}
