/** The payment terminal: the contactless kernel (browser-safe: no I/O, no node:* imports). */
export { KernelError, type KernelErrorCode } from './errors.js';
export {
  ContactlessKernel,
  KERNEL_AIDS,
  RESPONSE_CODES,
  DE55_TAGS,
  DE55_FORBIDDEN_TAGS,
  CVM_RESULTS_CDCVM,
  CVM_RESULTS_NO_CVM,
  type ApduLink,
  type ApduExchange,
  type AuthorizationResult,
  type CardSummary,
  type KernelConfig,
  type KernelOutcome,
  type TransactionRequest,
} from './kernel.js';
