import './errors.js';

export { MERCHANT_ERRORS } from './errors.js';
export { ASSOCIATION_PATH } from './domains.js';
export { MERCHANT_SESSION_TTL_MS, type MerchantSessionObject } from './session-object.js';
export {
  MerchantService,
  certificateView,
  domainView,
  issuedView,
  merchantView,
  type CertificateView,
  type DomainView,
  type IssuedCertificateView,
  type MerchantDirectory,
  type MerchantServiceDeps,
  type MerchantSessionClaims,
  type MerchantView,
  type StartSessionRequest,
} from './service.js';
export { startValidationServer, VALIDATION_PATHS, type ValidationServer } from './validation-server.js';
