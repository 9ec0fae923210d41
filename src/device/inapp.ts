/**
 * Paying in apps and on the web, the wallet's side (docs/inapp.md, C3): the cards that may pay a
 * payment request, and one payment: Secure Enclave authorization → the platform's one-time nonce → the
 * SE's online cryptogram and encrypted payment → the platform's PKPaymentToken for the merchant.
 * Wallet exposes it (inAppCards, inAppChallenge, payInApp, payInAppWithAuthorization).
 */
import { toHex } from '../protocol/bytes.js';
import { currencyByAlpha, parseAmount } from '../protocol/currency.js';
import type { Network } from '../protocol/cards/index.js';
import { fromHex, isHex } from '../protocol/bytes.js';
import { DeviceError } from './errors.js';
import { isNoAnswer, type InAppPaymentRequest, type PaymentMethodInfo, type PaymentToken, type WalletPlatformApi } from './platform-api.js';
import type { Authorization } from './pairing.js';
import type { SecureElement } from './secure-element.js';
import type { AuthorizationMethod, AuthorizeResult, SecureEnclave } from './secure-enclave.js';

/** A card that may pay a payment request. */
export interface InAppCard {
  cardId: string;
  tokenRef: string;
  network: Network;
  isDefault: boolean;
  /** What the sheet shows and the token carries. */
  paymentMethod: PaymentMethodInfo;
}

export interface InAppPaymentInput {
  /** The merchant session object the page passed to completeMerchantValidation. */
  merchantSession: unknown;
  request: InAppPaymentRequest;
  /** The chosen card; the default card (when it may pay) if absent. */
  cardId?: string;
}

export type InAppPaymentResult =
  | { ok: true; token: PaymentToken; cardId: string }
  | { ok: false; verification: Extract<AuthorizeResult, { ok: false }> };

/** The network names of PKPaymentToken.paymentMethod.network and of supportedNetworks. */
export const PAYMENT_NETWORK_NAMES: Readonly<Record<Network, string>> = { visa: 'Visa', mastercard: 'MasterCard', amex: 'AmEx', discover: 'Discover' };

/** The wallet functions this module needs (Wallet implements them). */
export interface InAppWalletView {
  cards(): Promise<Array<{ id: string; token_ref: string; network: Network; last4: string; card_type: string; on_device: boolean; wallet_status: string; is_default: boolean }>>;
}

export class InAppPayments {
  constructor(
    private readonly api: WalletPlatformApi,
    private readonly se: SecureElement,
    private readonly enclave: SecureEnclave,
    private readonly wallet: InAppWalletView,
    private readonly random: (n: number) => Uint8Array,
  ) {}

  /** Cards on this device, active, of a network the request supports; the default card first. */
  async cards(request?: Pick<InAppPaymentRequest, 'supportedNetworks'>): Promise<InAppCard[]> {
    const supported = request?.supportedNetworks;
    if (supported !== undefined && (!Array.isArray(supported) || supported.some((n) => typeof n !== 'string'))) {
      throw new DeviceError('wallet_request_invalid', 'supportedNetworks must be a list of network names');
    }
    const wanted = supported === undefined ? null : new Set(supported.map((n) => n.toLowerCase()));
    const cards = (await this.wallet.cards()).filter((c) => c.on_device && c.wallet_status === 'active' && (wanted === null || wanted.has(c.network)));
    cards.sort((a, b) => Number(b.is_default) - Number(a.is_default));
    return cards.map((c) => ({
      cardId: c.id,
      tokenRef: c.token_ref,
      network: c.network,
      isDefault: c.is_default,
      paymentMethod: { displayName: `${PAYMENT_NETWORK_NAMES[c.network]} ${c.last4}`, network: PAYMENT_NETWORK_NAMES[c.network], type: c.card_type },
    }));
  }

  challenge(): Promise<Uint8Array> {
    return this.se.newChallenge('inapp');
  }

  /** Verifies the user (Secure Enclave, purpose inapp) and pays. */
  async pay(input: InAppPaymentInput, method: AuthorizationMethod): Promise<InAppPaymentResult> {
    // Checked before the user is asked: a request that cannot be paid never costs an attempt.
    this.#check(input);
    const challenge = await this.challenge();
    const result = await this.enclave.authorize({ purpose: 'inapp', challenge, method });
    if (!result.ok) return { ok: false, verification: result };
    const paid = await this.payWithAuthorization(input, result.authorization);
    return { ok: true, ...paid };
  }

  async payWithAuthorization(input: InAppPaymentInput, authorization: Authorization): Promise<{ token: PaymentToken; cardId: string }> {
    const { session, amount, currency } = this.#check(input);
    if (!this.api.paymentNonce || !this.api.submitPayment) throw new DeviceError('wallet_request_invalid', 'this wallet platform API does not take in-app payments');
    const eligible = await this.cards(input.request);
    const card = input.cardId === undefined ? eligible[0] : eligible.find((c) => c.cardId === input.cardId);
    if (!card) throw new DeviceError('wallet_card_not_on_device', 'no card on this device may pay this request');

    const nonce = await retryOnce(() => this.api.paymentNonce!({ merchant_session_identifier: session.merchantSessionIdentifier }));
    if (typeof nonce?.nonce !== 'string' || !isHex(nonce.nonce) || nonce.nonce.length < 32 || nonce.nonce.length > 128 || typeof nonce.encryption_key !== 'object') {
      throw new DeviceError('wallet_response_invalid', 'payment nonce answer is malformed');
    }
    const { encryptedPayment } = await this.se.makeInAppPayment(
      card.tokenRef,
      { nonce: fromHex(nonce.nonce), amount, currency, merchantIdentifier: session.merchantIdentifier, encryptionKey: nonce.encryption_key },
      authorization,
    );
    const idempotencyKey = toHex(this.random(16)).toLowerCase();
    const submitted = await retryOnce(() =>
      this.api.submitPayment!({ card_id: card.cardId, merchant_session: input.merchantSession, request: input.request, encrypted_payment: encryptedPayment }, idempotencyKey),
    );
    const token = submitted?.token;
    if (typeof token?.transactionIdentifier !== 'string' || typeof token.paymentData?.data !== 'string' || typeof token.paymentMethod?.network !== 'string') {
      throw new DeviceError('wallet_response_invalid', 'payment answer is malformed');
    }
    return { token, cardId: card.cardId };
  }

  #check(input: InAppPaymentInput): { session: { merchantIdentifier: string; merchantSessionIdentifier: string }; amount: number; currency: string } {
    if (typeof input !== 'object' || input === null) throw new DeviceError('wallet_request_invalid', 'payment input must be an object');
    const s = input.merchantSession as { merchantIdentifier?: unknown; merchantSessionIdentifier?: unknown } | null;
    if (typeof s !== 'object' || s === null || typeof s.merchantIdentifier !== 'string' || typeof s.merchantSessionIdentifier !== 'string') {
      throw new DeviceError('wallet_request_invalid', 'merchant session must be the object from merchant validation');
    }
    if (s.merchantIdentifier.length === 0 || s.merchantIdentifier.length > 255 || s.merchantSessionIdentifier.length === 0 || s.merchantSessionIdentifier.length > 255) {
      throw new DeviceError('wallet_request_invalid', 'merchant session identifiers must be 1 to 255 characters');
    }
    const r = input.request;
    if (typeof r !== 'object' || r === null) throw new DeviceError('wallet_request_invalid', 'payment request must be an object');
    const currency = typeof r.currencyCode === 'string' ? currencyByAlpha(r.currencyCode) : undefined;
    if (!currency) throw new DeviceError('wallet_request_invalid', 'payment request currencyCode is not a supported ISO 4217 code');
    const amount = typeof r.total?.amount === 'string' ? parseAmount(r.total.amount, currency) : undefined;
    if (amount === undefined || amount <= 0) throw new DeviceError('wallet_request_invalid', 'payment request total amount must be a positive decimal in the currency');
    if (!Array.isArray(r.merchantCapabilities) || !r.merchantCapabilities.includes('supports3DS')) {
      throw new DeviceError('wallet_request_invalid', 'payment request merchantCapabilities must include supports3DS');
    }
    if (input.cardId !== undefined && (typeof input.cardId !== 'string' || !/^[A-Za-z0-9_-]{1,100}$/.test(input.cardId))) {
      throw new DeviceError('wallet_request_invalid', 'card id is malformed');
    }
    return { session: { merchantIdentifier: s.merchantIdentifier, merchantSessionIdentifier: s.merchantSessionIdentifier }, amount, currency: currency.numeric };
  }
}

/** Calls `fn`; when no answer arrived, calls it once more, unchanged (platform-api.ts error contract). */
async function retryOnce<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (!isNoAnswer(err)) throw err;
    return fn();
  }
}
