import { errorEntry, lookupError, registerErrors } from '../../infra/errors.js';

/**
 * The store's codes of the catalogue, registered once at import (skipped when another module already
 * registered the same code with its own wording: the catalogue stays one list, one meaning per code).
 */
export const STORE_ERRORS = {
  product_unknown: errorEntry('invalid_request_error', 400, 'The order names a product the store does not sell.'),
  order_already_paid: errorEntry('invalid_request_error', 409, 'This order is already paid; it is paid once.'),
  payment_in_progress: errorEntry('invalid_request_error', 409, 'A payment for this order is being authorized; retry in a moment.'),
  payment_token_invalid: errorEntry('invalid_request_error', 400, 'The payment token did not verify or decrypt.'),
  payment_token_replayed: errorEntry('invalid_request_error', 400, 'This payment token was used before; a token pays once.'),
  payment_mismatch: errorEntry('invalid_request_error', 400, 'The payment token does not match the order (amount, currency or application data).'),
  validation_url_not_allowed: errorEntry('invalid_request_error', 400, 'The validation URL is not one of the configured payment platform.'),
  merchant_validation_failed: errorEntry('api_error', 424, 'The payment platform did not validate the merchant.'),
  store_not_ready: errorEntry('api_error', 503, 'The store has not finished setting itself up as a merchant; retry shortly.'),
} as const;

for (const [code, entry] of Object.entries(STORE_ERRORS)) {
  if (!lookupError(code)) registerErrors({ [code]: entry });
}
