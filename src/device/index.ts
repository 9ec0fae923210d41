/** The device: wallet app, Secure Element, Secure Enclave. Client-side: runs in Node and the browser. */
export { DeviceError, type DeviceErrorCode } from './errors.js';
export { MemoryStorage, type DeviceStorage } from './storage.js';
export {
  AUTHORIZATION_PURPOSES,
  AUTHORIZATION_TTL_MS,
  createPairingKey,
  authorizationMessage,
  type Authorization,
  type AuthorizationPurpose,
} from './pairing.js';
export { SecureElement, type SecureElementOptions, type InstalledCard, type SeCard, type CardStatus, type KeyScheme, type ContactlessArming, type TapRecord, type TransitPolicy } from './secure-element.js';
export { seLink, tracingLink, type ApduLink, type ApduResponder, type ApduTrace, type ApduParty } from './nfc.js';
export {
  SecureEnclave,
  PASSCODE_OFFERED_AFTER,
  PASSCODE_REQUIRED_AFTER,
  PASSCODE_MAX_FAILURES,
  type BiometricKind,
  type AuthorizationMethod,
  type AuthorizeRequest,
  type AuthorizeResult,
  type EnclaveState,
  type SecureEnclaveOptions,
  type SecureEnclaveSetup,
} from './secure-enclave.js';
export { setupDevice, openDevice, type DeviceSetupOptions, type DeviceChips } from './setup.js';
export * from './platform-api.js';
export {
  Wallet,
  MAX_TRANSACTIONS,
  type WalletOptions,
  type CardInput,
  type AddCardOptions,
  type AddCardResult,
  type WalletCard,
  type TransactionEntry,
  type TransactionStatus,
  type PreparePaymentResult,
} from './wallet.js';
export { WalletSync, type AppliedEvent, type LocalCard, type WalletLog } from './wallet-sync.js';
export { InAppPayments, PAYMENT_NETWORK_NAMES, type InAppCard, type InAppPaymentInput, type InAppPaymentResult } from './inapp.js';
export { INAPP_ECI, type InAppPaymentOutput, type PlatformPaymentKey } from './secure-element.js';
