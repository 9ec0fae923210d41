import { errorEntry, lookupError, registerErrors } from '../../infra/errors.js';

/** The payment PKI's codes of the catalogue, registered once at import. Messages never echo values. */
export const PKI_ERRORS = {
  csr_invalid: errorEntry(
    'invalid_request_error',
    400,
    'The certificate signing request is not valid: not a PEM PKCS#10 request, its self-signature does not verify, or its key is not EC P-256 or RSA 2048.',
  ),
  merchant_certificate_invalid: errorEntry(
    'invalid_request_error',
    400,
    'The merchant certificate is not a payment-processing certificate issued by this platform, is outside its validity, or has been revoked.',
  ),
  merchant_key_in_use: errorEntry('invalid_request_error', 409, 'This public key is already certified for this merchant; rotate to a new key.'),
} as const;

for (const [code, e] of Object.entries(PKI_ERRORS)) {
  if (!lookupError(code)) registerErrors({ [code]: e });
}
