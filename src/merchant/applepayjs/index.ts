export {
  ApplePayCancelEvent,
  ApplePayCouponCodeChangedEvent,
  ApplePayError,
  ApplePayPaymentAuthorizedEvent,
  ApplePayPaymentMethodSelectedEvent,
  ApplePayShippingContactSelectedEvent,
  ApplePayShippingMethodSelectedEvent,
  ApplePayValidateMerchantEvent,
  createApplePaySession,
  isMerchantSession,
  PROTOCOL,
  RESPONSE_TIMEOUT_MS,
  type ApplePayEnvironment,
  type ApplePaySessionClass,
  type SheetMessage,
  type SheetPort,
} from './session.js';
export { MAX_VERSION, validatePaymentRequest, type PaymentRequest, type SheetUpdate } from './request.js';
