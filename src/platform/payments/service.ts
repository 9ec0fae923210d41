import { createHash, randomBytes } from 'node:crypto';
import { compactDecrypt } from 'jose';
import type { Database, Sql } from '../../infra/db/database.js';
import { AppError } from '../../infra/errors.js';
import { newId } from '../../infra/ids.js';
import { bytesEqual, fromHex } from '../../protocol/bytes.js';
import { detectNetwork, isTokenBin, validatePan, type Network } from '../../protocol/cards/index.js';
import { currencyByAlpha, parseAmount } from '../../protocol/currency.js';
import { merchantBinding, onlineUnpredictableNumber, parseOnlineCryptogram } from '../../protocol/emv/index.js';
import type { PaymentData } from '../../protocol/paytoken/index.js';
import { Secret } from '../../protocol/secret.js';
import type { MerchantSessionClaims } from '../merchants/index.js';
import { buildPayload, type PaymentPki } from '../pki/index.js';
import { cardRepo } from '../repository.js';
import './errors.js';
import type { PaymentEncryptionKey, PlatformPaymentKeys } from './keys.js';
import { merchantTokenFields, merchantTokenRequestOf, type MerchantTokenRequest } from './merchant-token.js';
import { paymentRepo } from './repository.js';

/** How long a payment nonce is valid. */
export const PAYMENT_NONCE_TTL_MS = 120_000;
/** deviceManufacturerIdentifier of the tokens this platform makes (hex, as real tokens carry). */
export const DEVICE_MANUFACTURER_IDENTIFIER = '040010030273';
const NETWORK_NAMES: Readonly<Record<Network, string>> = { visa: 'Visa', mastercard: 'MasterCard', amex: 'AmEx', discover: 'Discover' };
const MAX_JWE_CHARS = 8192;

/** What the payment service needs of the merchant registry (C1). */
export interface PaymentMerchants {
  redeemSession(session: unknown, now?: Date, sql?: Sql): Promise<MerchantSessionClaims>;
  processingCertificatePem(merchantIdentifier: string, keyType?: 'ec_p256' | 'rsa_2048'): Promise<string>;
}

export interface PaymentRequestInput {
  countryCode: string;
  currencyCode: string;
  supportedNetworks: string[];
  merchantCapabilities: string[];
  total: { label: string; amount: string; type?: 'final' | 'pending' | undefined };
  applicationData?: string | undefined;
}

export interface PayInput {
  card_id: string;
  merchant_session: unknown;
  request: PaymentRequestInput;
  encrypted_payment: string;
}

export interface PaymentTokenView {
  paymentData: PaymentData;
  paymentMethod: { displayName: string; network: string; type: string };
  transactionIdentifier: string;
}

/** The SE's payment, decrypted and checked against the card and the request (holds the token number: never stored). */
interface OpenedPayment {
  cardId: string;
  network: Network;
  paymentMethod: { displayName: string; network: string; type: string };
  tokenPan: Secret;
  tokenExp: string;
  cryptogram: string;
  eci: string | undefined;
  amount: number;
  currency: string;
  nonce: string;
  merchantBinding: Uint8Array;
  applicationData: Uint8Array | undefined;
  /** A recurring, deferred or automatic-reload request: the token carries a merchant token. */
  merchantToken: MerchantTokenRequest | undefined;
}

/** What the redeem step records (JSON-safe, nothing secret). */
export interface Redeemed {
  merchantIdentifier: string;
  nonceId: string;
}

/**
 * In-app and web payments on the platform (flow 3, docs/inapp.md): one-time nonces for devices, and
 * the payment itself: the device's encrypted payment opened with the platform's payment key, checked
 * (card, request, nonce, cryptogram bindings), the merchant session redeemed and the nonce used up in one
 * transaction, then the PKPaymentToken made for the merchant's processing certificate.
 */
export class PaymentService {
  constructor(
    private readonly db: Database,
    private readonly merchants: PaymentMerchants,
    private readonly pki: PaymentPki,
    private readonly keys: PlatformPaymentKeys,
    private readonly clock: () => Date,
  ) {}

  get encryptionKey(): PaymentEncryptionKey {
    return this.keys.publicKey;
  }

  async issueNonce(userId: string, deviceId: string, merchantSessionIdentifier: string): Promise<{ object: 'payment_nonce'; nonce: string; expires_at: string; encryption_key: PaymentEncryptionKey }> {
    const now = this.clock();
    const nonce = randomBytes(32).toString('hex');
    const expiresAt = new Date(now.getTime() + PAYMENT_NONCE_TTL_MS);
    await paymentRepo.insertNonce(this.db, { id: newId('pnc', now.getTime()), userId, deviceId, nonce, merchantSessionIdentifier, expiresAt });
    return { object: 'payment_nonce', nonce, expires_at: expiresAt.toISOString(), encryption_key: this.keys.publicKey };
  }

  /** Decrypts and checks the device's payment (no writes). */
  async open(userId: string, deviceId: string, input: PayInput): Promise<OpenedPayment> {
    const card = await cardRepo.ownedBy(this.db, input.card_id, userId);
    if (!card || card.device_id !== deviceId) throw new AppError('resource_missing', { param: 'card_id' });
    if (card.status !== 'active') throw new AppError('payment_card_inactive', { param: 'card_id' });
    const network = card.network as Network;
    const request = checkRequest(input.request);
    const merchantToken = merchantTokenRequestOf(input.request as unknown as Record<string, unknown>);
    if (!request.networks.has(network)) throw new AppError('payment_network_not_supported', { param: 'request.supportedNetworks' });

    const p = await this.#decrypt(input.encrypted_payment);
    const invalid = (message: string) => new AppError('payment_invalid', { message: `The encrypted payment ${message}.`, param: 'encrypted_payment' });
    if (p.token_ref !== card.token_ref || p.token_pan.slice(-4) !== card.token_last4 || detectNetwork(p.token_pan) !== network) throw invalid('is for another card');
    if (p.amount !== request.amount || p.currency !== request.currency) throw invalid('is for another amount or currency than the payment request');
    const cryptogramBytes = new Uint8Array(Buffer.from(p.online_payment_cryptogram, 'base64'));
    let parsed;
    try {
      parsed = parseOnlineCryptogram(cryptogramBytes);
    } catch {
      throw invalid('carries no online cryptogram');
    }
    // The cryptogram must carry this nonce (its unpredictable number) and the merchant binding the SE says it used.
    if (!bytesEqual(parsed.un, await onlineUnpredictableNumber(fromHex(p.nonce)))) throw invalid('cryptogram does not carry its nonce');
    const binding = fromHex(p.merchant_binding);
    if (!bytesEqual(parsed.merchant, binding)) throw invalid('cryptogram does not carry its merchant binding');
    return {
      cardId: card.id,
      network,
      paymentMethod: { displayName: `${NETWORK_NAMES[network]} ${card.last4}`, network: NETWORK_NAMES[network], type: card.card_type },
      tokenPan: Secret.pan(p.token_pan),
      tokenExp: p.token_exp,
      cryptogram: p.online_payment_cryptogram,
      eci: p.eci_indicator,
      amount: p.amount,
      currency: p.currency,
      nonce: p.nonce,
      merchantBinding: binding,
      applicationData: request.applicationData,
      merchantToken,
    };
  }

  /**
   * In the caller's transaction: redeems the merchant session (single use), checks the nonce (this
   * device, this merchant session, unexpired, unused), that the cryptogram is bound to the session's
   * merchant, and uses the nonce up. Any failure rolls all of it back.
   */
  async redeem(tx: Sql, deviceId: string, merchantSession: unknown, opened: OpenedPayment): Promise<Redeemed> {
    const now = this.clock();
    const claims = await this.merchants.redeemSession(merchantSession, now, tx);
    const row = await paymentRepo.lockNonce(tx, opened.nonce);
    if (!row || row.device_id !== deviceId) throw new AppError('payment_nonce_invalid');
    if (row.used_at !== null) throw new AppError('payment_nonce_used');
    if (row.merchant_session_identifier !== claims.merchantSessionIdentifier) throw new AppError('payment_nonce_invalid');
    if (now.getTime() >= new Date(row.expires_at).getTime()) throw new AppError('payment_nonce_expired');
    // The SE bound the merchant session's merchantIdentifier field (SHA-256 of the identifier, upper-case hex).
    const sessionHash = createHash('sha256').update(claims.merchantIdentifier, 'utf8').digest('hex').toUpperCase();
    if (!bytesEqual(await merchantBinding(sessionHash), opened.merchantBinding)) {
      throw new AppError('payment_invalid', { message: 'The encrypted payment is bound to another merchant than the merchant session.', param: 'encrypted_payment' });
    }
    const used = await paymentRepo.useNonce(tx, row.id, { at: now, cardId: opened.cardId, merchantIdentifier: claims.merchantIdentifier, amount: opened.amount, currency: opened.currency });
    if (!used) throw new AppError('payment_nonce_used');
    return { merchantIdentifier: claims.merchantIdentifier, nonceId: row.id };
  }

  /** The PKPaymentToken for the merchant's newest processing certificate (EC_v1, or RSA_v1 for an RSA certificate). */
  async produce(redeemed: Redeemed, opened: OpenedPayment): Promise<PaymentTokenView> {
    const certificatePem = await this.merchants.processingCertificatePem(redeemed.merchantIdentifier);
    const payload = buildPayload({
      applicationPrimaryAccountNumber: opened.tokenPan,
      applicationExpirationDate: lastDayOf(opened.tokenExp),
      currencyCode: opened.currency,
      transactionAmount: opened.amount,
      deviceManufacturerIdentifier: DEVICE_MANUFACTURER_IDENTIFIER,
      paymentDataType: '3DSecure',
      paymentData: { onlinePaymentCryptogram: opened.cryptogram, ...(opened.eci !== undefined ? { eciIndicator: opened.eci } : {}) },
      ...(opened.merchantToken ? merchantTokenFields(opened.merchantToken, opened.cardId, redeemed.merchantIdentifier) : {}),
    });
    const paymentData = await this.pki.produceToken({ payload, merchantCertificatePem: certificatePem, ...(opened.applicationData ? { applicationData: opened.applicationData } : {}) });
    return { paymentData, paymentMethod: opened.paymentMethod, transactionIdentifier: paymentData.header.transactionId };
  }

  async #decrypt(jwe: string): Promise<DevicePayment> {
    const invalid = (message: string) => new AppError('payment_invalid', { message: `The encrypted payment ${message}.`, param: 'encrypted_payment' });
    if (typeof jwe !== 'string' || jwe.length === 0 || jwe.length > MAX_JWE_CHARS) throw invalid('is not a compact JWE of acceptable size');
    let plaintext: Uint8Array;
    try {
      const result = await compactDecrypt(jwe, await this.keys.privateKey(), { keyManagementAlgorithms: ['ECDH-ES+A256KW'], contentEncryptionAlgorithms: ['A256GCM'] });
      if (result.protectedHeader.cty !== 'inapp-payment+json') throw new Error('content type');
      plaintext = result.plaintext;
    } catch {
      throw invalid("does not decrypt with the platform's payment key");
    }
    try {
      return checkDevicePayment(JSON.parse(new TextDecoder().decode(plaintext)));
    } catch {
      throw invalid('is not a payment of docs/inapp.md');
    } finally {
      plaintext.fill(0);
    }
  }
}

/** The SE's plaintext (secure-element.ts makeInAppPayment). */
interface DevicePayment {
  v: 1;
  token_ref: string;
  token_pan: string;
  token_exp: string;
  online_payment_cryptogram: string;
  eci_indicator?: string;
  amount: number;
  currency: string;
  merchant_binding: string;
  nonce: string;
}

function checkDevicePayment(v: unknown): DevicePayment {
  const p = v as Partial<DevicePayment>;
  const ok =
    typeof p === 'object' &&
    p !== null &&
    p.v === 1 &&
    typeof p.token_ref === 'string' &&
    typeof p.token_pan === 'string' &&
    validatePan(p.token_pan).ok &&
    isTokenBin(p.token_pan) &&
    typeof p.token_exp === 'string' &&
    /^\d{2}(0[1-9]|1[0-2])$/.test(p.token_exp) &&
    typeof p.online_payment_cryptogram === 'string' &&
    /^[A-Za-z0-9+/]{27}=$/.test(p.online_payment_cryptogram) &&
    (p.eci_indicator === undefined || (typeof p.eci_indicator === 'string' && /^\d{1,2}$/.test(p.eci_indicator))) &&
    Number.isSafeInteger(p.amount) &&
    typeof p.currency === 'string' &&
    /^\d{3}$/.test(p.currency) &&
    typeof p.merchant_binding === 'string' &&
    /^[0-9A-Fa-f]{8}$/.test(p.merchant_binding) &&
    typeof p.nonce === 'string' &&
    /^[0-9a-f]{64}$/.test(p.nonce);
  if (!ok) throw new Error('malformed');
  return p as DevicePayment;
}

/** Checks the ApplePayPaymentRequest the page made: amount in minor units, currency numeric, networks, applicationData. */
function checkRequest(r: PaymentRequestInput): { amount: number; currency: string; networks: Set<Network>; applicationData: Uint8Array | undefined } {
  const currency = currencyByAlpha(r.currencyCode);
  if (!currency) throw new AppError('parameter_invalid', { param: 'request.currencyCode', message: 'request.currencyCode is not a supported ISO 4217 code.' });
  const amount = parseAmount(r.total.amount, currency);
  if (amount === undefined || amount <= 0) throw new AppError('parameter_invalid', { param: 'request.total.amount', message: 'request.total.amount must be a positive decimal amount in the currency.' });
  if (!r.merchantCapabilities.includes('supports3DS')) throw new AppError('parameter_invalid', { param: 'request.merchantCapabilities', message: 'request.merchantCapabilities must include supports3DS.' });
  const networks = new Set<Network>();
  for (const n of r.supportedNetworks) {
    const k = n.toLowerCase();
    if (k === 'visa' || k === 'mastercard' || k === 'amex' || k === 'discover') networks.add(k);
  }
  let applicationData: Uint8Array | undefined;
  if (r.applicationData !== undefined) {
    const bytes = Buffer.from(r.applicationData, 'base64');
    if (bytes.toString('base64') !== r.applicationData) throw new AppError('parameter_invalid', { param: 'request.applicationData', message: 'request.applicationData must be base64.' });
    applicationData = new Uint8Array(bytes);
  }
  return { amount, currency: currency.numeric, networks, applicationData };
}

/** YYMM → YYMMDD, the last day of that month. */
function lastDayOf(yymm: string): string {
  const day = new Date(Date.UTC(2000 + Number(yymm.slice(0, 2)), Number(yymm.slice(2, 4)), 0)).getUTCDate();
  return `${yymm}${String(day).padStart(2, '0')}`;
}

