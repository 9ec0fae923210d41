import { errorEntry, lookupError, registerErrors } from '../../infra/errors.js';

/** The merchant registry's and merchant validation's codes of the catalogue. Messages never echo values. */
export const MERCHANT_ERRORS = {
  merchant_identifier_taken: errorEntry('invalid_request_error', 409, 'A merchant with this merchant identifier is already registered.'),
  merchant_not_found: errorEntry('not_found_error', 404, 'No such merchant.'),
  merchant_certificate_missing: errorEntry(
    'invalid_request_error',
    409,
    'The merchant has no active payment-processing certificate (of the requested key type); issue one first.',
  ),
  merchant_domain_invalid: errorEntry(
    'invalid_request_error',
    400,
    'The domain must be a host name (letters, digits, "-" and "."), without scheme or path; a port is allowed only for localhost and loopback addresses.',
  ),
  merchant_domain_taken: errorEntry('invalid_request_error', 409, 'This domain is already registered for this merchant.'),
  domain_verification_failed: errorEntry(
    'invalid_request_error',
    400,
    'The domain could not be verified: the association file was not served at /.well-known/apple-developer-merchantid-domain-association or its content does not match.',
  ),
  merchant_identity_required: errorEntry(
    'authentication_error',
    401,
    'Merchant validation needs an active merchant identity certificate issued by this platform as the TLS client certificate.',
  ),
  merchant_identity_mismatch: errorEntry('permission_error', 403, 'The client certificate is the identity certificate of another merchant identifier.'),
  merchant_domain_unverified: errorEntry('permission_error', 403, 'The domain (initiativeContext, or domainName in the original request shape) is not a verified domain of this merchant.'),
  merchant_session_invalid: errorEntry('invalid_request_error', 400, 'The merchant session object is malformed or its signature does not verify.'),
  merchant_session_expired: errorEntry('invalid_request_error', 400, 'The merchant session has expired (sessions are valid for 5 minutes); validate the merchant again.'),
  merchant_session_used: errorEntry('invalid_request_error', 409, 'The merchant session has already been used; each session serves one payment.'),
} as const;

for (const [code, e] of Object.entries(MERCHANT_ERRORS)) {
  if (!lookupError(code)) registerErrors({ [code]: e });
}
