import './errors.js';

export { PAYMENT_ERRORS } from './errors.js';
export { PlatformPaymentKeys, type PaymentEncryptionKey } from './keys.js';
export { PaymentService, PAYMENT_NONCE_TTL_MS, DEVICE_MANUFACTURER_IDENTIFIER, type PaymentMerchants, type PayInput, type PaymentRequestInput, type PaymentTokenView, type Redeemed } from './service.js';
