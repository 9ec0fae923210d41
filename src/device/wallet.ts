/**
 * The wallet app: registers the device, adds cards (card data encrypted on the device to the card
 * network's key, relayed unread by the platform, the network's payload installed in the SE), shows
 * the cards, keeps the default card and a local transaction log.
 *
 * A card number and CVV exist only inside addCard, in Secret wrappers, and in the JWE it sends;
 * nothing the wallet persists or returns carries them.
 */
import { CompactEncrypt, importJWK } from 'jose';
import { toHex, utf8 } from '../protocol/bytes.js';
import { validatePan, type Network } from '../protocol/cards/index.js';
import { Secret } from '../protocol/secret.js';
import { DeviceError } from './errors.js';
import {
  isNoAnswer,
  type Card,
  type CodeSent,
  type Device,
  type DeviceKind,
  type DeviceSession,
  type NetworkEncryptionKey,
  type PlatformCardStatus,
  type Provisioning,
  type SandboxMessage,
  type VerificationMethod,
  type WalletPlatformApi,
  type InAppPaymentRequest,
  type PaymentToken,
} from './platform-api.js';
import { SerialQueue } from './sealed.js';
import type { SecureElement } from './secure-element.js';
import type { AuthorizationMethod, AuthorizeResult, EnclaveState, SecureEnclave } from './secure-enclave.js';
import type { DeviceStorage } from './storage.js';
import { WalletSync } from './wallet-sync.js';
import { InAppPayments, type InAppCard, type InAppPaymentInput, type InAppPaymentResult } from './inapp.js';
import type { Authorization } from './pairing.js';

export interface CardInput {
  /** Digits; spaces and dashes as typed are ignored. */
  pan: string | Secret;
  expMonth: number;
  /** Four digits. */
  expYear: number;
  cvv: string | Secret;
  /** Cardholder name as on the card. */
  name: string;
}

export interface AddCardOptions {
  /** Sandbox only: device score 1..5 passed to the issuer's ID&V (<= 2 asks for a one-time code). */
  sandboxDeviceScore?: number;
}

export type AddCardResult =
  | { state: 'active'; card: Card }
  | { state: 'needs_verification'; card: Card; methods: VerificationMethod[] };

export interface WalletCard extends Card {
  /** The card's token is in this device's SE. */
  on_device: boolean;
  /** What to show: the platform status, or not_on_device when the SE lacks the token, or suspended when the SE has it suspended. */
  wallet_status: PlatformCardStatus | 'not_on_device';
  is_default: boolean;
}

export type TransactionStatus = 'pending' | 'approved' | 'declined' | 'reversed' | 'refunded';

export interface TransactionEntry {
  id: string;
  cardId: string;
  /** Minor units (cents), integer. */
  amount: number;
  /** ISO 4217 alphabetic code. */
  currency: string;
  merchant: string;
  status: TransactionStatus;
  /** ISO-8601 timestamp. */
  at: string;
  /** The platform's type (nfc, inapp, web, refund, reversal), when known. */
  type?: string;
  /** A refund's or reversal's original transaction. */
  originalId?: string | null;
}

/** What preparePayment answers: the card armed for the next tap, or the failed verification attempt. */
export type PreparePaymentResult =
  | { ok: true; cardId: string; tokenRef: string; cdcvm: boolean }
  | { ok: false; verification: Extract<AuthorizeResult, { ok: false }> };

export interface WalletOptions {
  api: WalletPlatformApi;
  se: SecureElement;
  enclave: SecureEnclave;
  storage: DeviceStorage;
  /** Milliseconds since the epoch; injected in tests. */
  clock?: () => number;
  /** Random bytes (idempotency keys); injected in tests. */
  random?: (n: number) => Uint8Array;
}

export const MAX_TRANSACTIONS = 500;
const TRANSACTION_STATUSES: readonly TransactionStatus[] = ['pending', 'approved', 'declined', 'reversed', 'refunded'];
const SLOT_DEFAULT = 'wallet:default';
const SLOT_TRANSACTIONS = 'wallet:transactions';
const SLOT_DEVICE = 'wallet:device';

export class Wallet {
  readonly #api: WalletPlatformApi;
  readonly #se: SecureElement;
  readonly #enclave: SecureEnclave;
  readonly #storage: DeviceStorage;
  readonly #clock: () => number;
  readonly #random: (n: number) => Uint8Array;
  readonly #queue = new SerialQueue();
  /** The push channel and history reconcile (card events to the SE, transactions to the local log). */
  readonly sync: WalletSync;
  readonly #inapp: InAppPayments;

  constructor(options: WalletOptions) {
    this.#api = options.api;
    this.#se = options.se;
    this.#enclave = options.enclave;
    this.#storage = options.storage;
    this.#clock = options.clock ?? Date.now;
    this.#random = options.random ?? ((n) => globalThis.crypto.getRandomValues(new Uint8Array(n)));
    this.sync = new WalletSync(this.#api, this.#se, this.#storage, this);
    this.#inapp = new InAppPayments(this.#api, this.#se, this.#enclave, this, this.#random);
  }

  // --- Device ------------------------------------------------------------------------------------

  /**
   * Registers this device with the platform: sends the SE public key, keeps the certificate the
   * device CA issued for it in the SE. Answers the device and the new device-bound session, which the
   * caller's api object must use from now on.
   */
  async register(input: { kind: DeviceKind; name: string }): Promise<{ device: Device; session: DeviceSession }> {
    if (input.kind !== 'phone' && input.kind !== 'watch') throw new DeviceError('wallet_request_invalid', 'device kind must be phone or watch');
    if (typeof input.name !== 'string' || input.name.trim().length === 0 || input.name.length > 100) {
      throw new DeviceError('wallet_request_invalid', 'device name must be 1 to 100 characters');
    }
    const registration = await this.#api.registerDevice({ kind: input.kind, name: input.name.trim(), se_public_key: await this.#se.publicKeyJwk() });
    if (typeof registration?.device?.id !== 'string' || typeof registration.se_certificate_pem !== 'string' || typeof registration.device_ca_pem !== 'string') {
      throw new DeviceError('wallet_response_invalid', 'device registration answer is malformed');
    }
    await this.#se.setCertificate(registration.se_certificate_pem, registration.device_ca_pem);
    await this.#storage.put(SLOT_DEVICE, { id: registration.device.id, kind: registration.device.kind, name: registration.device.name });
    return { device: registration.device, session: registration.session };
  }

  /** The id of the platform device this wallet registered as, or null. */
  async deviceId(): Promise<string | null> {
    const value = (await this.#storage.get(SLOT_DEVICE)) as { id?: unknown } | undefined;
    return typeof value?.id === 'string' ? value.id : null;
  }

  /** The Secure Enclave's counters: whether to offer or require the passcode. */
  async verificationState(): Promise<EnclaveState> {
    return this.#enclave.state();
  }

  // --- Provisioning ------------------------------------------------------------------------------

  /**
   * Adds a card: validates it locally, encrypts the card data to its network's key (compact JWE,
   * ECDH-ES+A256KW / A256GCM, cty card+json), asks the platform to provision it, and installs the
   * payload in the SE when the issuer approves at once. A call that gets no answer is retried once
   * with the same Idempotency-Key and the same JWE, so the platform sees one request.
   */
  async addCard(input: CardInput, options: AddCardOptions = {}): Promise<AddCardResult> {
    const card = checkCard(input, this.#clock());
    const score = options.sandboxDeviceScore;
    if (score !== undefined && (!Number.isInteger(score) || score < 1 || score > 5)) {
      throw new DeviceError('wallet_request_invalid', 'sandbox device score must be an integer 1 to 5');
    }
    const networkKey = await retryOnce(() => this.#api.networkEncryptionKey(card.network));
    const encrypted_card = await encryptCard(card, networkKey);
    const request = { network: card.network, encrypted_card, ...(score !== undefined ? { sandbox_device_score: score } : {}) };
    const idempotencyKey = this.#idempotencyKey();
    const provisioning = await retryOnce(() => this.#api.provision(request, idempotencyKey));
    return this.#settle(provisioning);
  }

  /** Asks the issuer to send a one-time code by one of the verification methods addCard answered. */
  async sendCode(cardId: string, methodId: string): Promise<CodeSent> {
    checkId(cardId, 'card id');
    checkId(methodId, 'method id');
    return this.#api.sendCode(cardId, methodId);
  }

  /** Confirms the one-time code; on success the payload is installed in the SE. */
  async confirmCode(cardId: string, code: string): Promise<AddCardResult> {
    checkId(cardId, 'card id');
    if (typeof code !== 'string' || !/^\d{6}$/.test(code)) throw new DeviceError('wallet_request_invalid', 'code must be 6 digits');
    const idempotencyKey = this.#idempotencyKey();
    const provisioning = await retryOnce(() => this.#api.confirmCode(cardId, code, idempotencyKey));
    return this.#settle(provisioning);
  }

  /** Sandbox: the messages the issuer "sent" for a card's verification (to read the code from). */
  async verificationMessages(cardId: string): Promise<SandboxMessage[]> {
    checkId(cardId, 'card id');
    const list = await this.#api.messages(cardId);
    return Array.isArray(list?.data) ? list.data : [];
  }

  async #settle(provisioning: Provisioning): Promise<AddCardResult> {
    if (!isProvisioning(provisioning)) throw new DeviceError('wallet_response_invalid', 'provisioning answer is malformed');
    const { card } = provisioning;
    if (provisioning.status === 'inactive') {
      return { state: 'needs_verification', card, methods: provisioning.verification?.methods ?? [] };
    }
    if (typeof provisioning.provisioning_payload !== 'string') {
      throw new DeviceError('wallet_response_invalid', 'an active provisioning carries no payload');
    }
    await this.#se.install(provisioning.provisioning_payload, { tokenRef: card.token_ref });
    await this.#queue.run(async () => {
      if ((await this.#storedDefault()) === null) await this.#storage.put(SLOT_DEFAULT, { cardId: card.id, tokenRef: card.token_ref });
    });
    return { state: 'active', card };
  }

  // --- Cards -------------------------------------------------------------------------------------

  /** The platform's cards for this device, each marked with its presence in this SE. */
  async cards(): Promise<WalletCard[]> {
    const [platformCards, seCards, stored] = await Promise.all([this.#api.cards(), this.#se.listCards(), this.#storedDefault()]);
    const inSe = new Map(seCards.map((c) => [c.tokenRef, c]));
    return platformCards.map((card) => {
      const local = inSe.get(card.token_ref);
      let wallet_status: WalletCard['wallet_status'] = card.status;
      if (card.status !== 'deleted' && card.status !== 'inactive') {
        if (!local) wallet_status = 'not_on_device';
        else if (local.status === 'suspended') wallet_status = 'suspended';
      }
      return { ...card, on_device: local !== undefined, wallet_status, is_default: stored?.cardId === card.id };
    });
  }

  /** The default card (the one a tap pays with), when it is still in the SE. */
  async defaultCard(): Promise<{ cardId: string; tokenRef: string } | null> {
    const stored = await this.#storedDefault();
    if (!stored) return null;
    const present = (await this.#se.listCards()).some((c) => c.tokenRef === stored.tokenRef);
    return present ? stored : null;
  }

  async setDefaultCard(cardId: string): Promise<void> {
    checkId(cardId, 'card id');
    const card = await this.#api.card(cardId);
    const present = (await this.#se.listCards()).some((c) => c.tokenRef === card.token_ref);
    if (!present || card.status === 'deleted') throw new DeviceError('wallet_card_not_on_device', 'that card is not on this device');
    await this.#queue.run(() => this.#storage.put(SLOT_DEFAULT, { cardId: card.id, tokenRef: card.token_ref }));
  }

  /** Removes a token from this device's SE only (the platform's card stays; it shows as not_on_device). */
  async removeLocal(tokenRef: string): Promise<void> {
    await this.#se.deleteCard(tokenRef);
    await this.#queue.run(async () => {
      if ((await this.#storedDefault())?.tokenRef === tokenRef) await this.#storage.delete(SLOT_DEFAULT);
    });
  }

  async #storedDefault(): Promise<{ cardId: string; tokenRef: string } | null> {
    const value = (await this.#storage.get(SLOT_DEFAULT)) as { cardId?: unknown; tokenRef?: unknown } | undefined;
    return typeof value?.cardId === 'string' && typeof value.tokenRef === 'string' ? { cardId: value.cardId, tokenRef: value.tokenRef } : null;
  }

  // --- Paying ------------------------------------------------------------------------------------

  /**
   * Double-click to pay: verifies the user with the Secure Enclave (over a challenge the SE issued,
   * purpose contactless) and arms the SE with the default card and that authorization, so the next tap
   * within 60 s signals consumer-device CVM. `method: null` arms the card without verification (no
   * CDCVM: the reader's CVM limit applies). A failed attempt answers ok: false with what to offer next.
   */
  async preparePayment(method: AuthorizationMethod | null): Promise<PreparePaymentResult> {
    const card = await this.defaultCard();
    if (!card) throw new DeviceError('wallet_card_not_on_device', 'there is no default card on this device');
    let authorization = null;
    if (method !== null) {
      const challenge = await this.#se.newChallenge('contactless');
      const result = await this.#enclave.authorize({ purpose: 'contactless', challenge, method });
      if (!result.ok) return { ok: false, verification: result };
      authorization = result.authorization;
    }
    const armed = await this.#se.prepareContactless(card.tokenRef, authorization);
    return { ok: true, cardId: card.cardId, tokenRef: card.tokenRef, cdcvm: armed.cdcvm };
  }

  // --- Paying in apps and on the web (docs/inapp.md) ---------------------------------------------

  /** The cards that may pay this payment request (on this device, active, a supported network), the default first. */
  inAppCards(request?: Pick<InAppPaymentRequest, 'supportedNetworks'>): Promise<InAppCard[]> {
    return this.#inapp.cards(request);
  }

  /** A Secure Enclave challenge for an in-app payment (purpose inapp), for payInAppWithAuthorization. */
  inAppChallenge(): Promise<Uint8Array> {
    return this.#inapp.challenge();
  }

  /** Verifies the user and pays: the PKPaymentToken for the page, or the failed verification attempt. */
  payInApp(input: InAppPaymentInput, method: AuthorizationMethod): Promise<InAppPaymentResult> {
    return this.#inapp.pay(input, method);
  }

  /** Pays with an authorization the caller got from the Secure Enclave over inAppChallenge(). */
  payInAppWithAuthorization(input: InAppPaymentInput, authorization: Authorization): Promise<{ token: PaymentToken; cardId: string }> {
    return this.#inapp.payWithAuthorization(input, authorization);
  }

  // --- Local transaction log ---------------------------------------------------------------------

  /** Records a transaction (an entry with the same id replaces the earlier one: a status update). Keeps the newest 500. */
  async recordTransaction(entry: TransactionEntry): Promise<void> {
    const clean = checkTransaction(entry);
    await this.#queue.run(async () => {
      const list = (await this.#transactions()).filter((t) => t.id !== clean.id);
      list.push(clean);
      // Stable sort, newest first; among equal times the later recorded comes first.
      const sorted = list.map((t, i) => ({ t, i })).sort((a, b) => Date.parse(b.t.at) - Date.parse(a.t.at) || b.i - a.i).map((x) => x.t);
      await this.#storage.put(SLOT_TRANSACTIONS, sorted.slice(0, MAX_TRANSACTIONS));
    });
  }

  /** The local log, newest first; optionally one card's. */
  async transactions(filter: { cardId?: string } = {}): Promise<TransactionEntry[]> {
    const list = await this.#transactions();
    return filter.cardId === undefined ? list : list.filter((t) => t.cardId === filter.cardId);
  }

  async #transactions(): Promise<TransactionEntry[]> {
    const value = await this.#storage.get(SLOT_TRANSACTIONS);
    return Array.isArray(value) ? (value as TransactionEntry[]) : [];
  }

  #idempotencyKey(): string {
    const bytes = this.#random(16);
    if (!(bytes instanceof Uint8Array) || bytes.length !== 16) throw new Error('random source gave the wrong number of bytes');
    return toHex(bytes).toLowerCase();
  }
}

// --- Helpers ------------------------------------------------------------------------------------

interface CheckedCard {
  network: Network;
  pan: Secret;
  cvv: Secret;
  expMonth: number;
  expYear: number;
  name: string;
}

/** Local validation, before anything leaves the device. Errors name the problem, never the value. */
function checkCard(input: CardInput, now: number): CheckedCard {
  const rawPan = input.pan instanceof Secret ? input.pan.reveal() : input.pan;
  if (typeof rawPan !== 'string') throw new DeviceError('wallet_card_invalid', 'card number is missing', 'not_digits');
  const pan = Secret.pan(rawPan.replace(/[\s-]/g, ''));
  const validation = validatePan(pan.reveal());
  if (!validation.ok) throw new DeviceError('wallet_card_invalid', panMessage(validation.reason), validation.reason);
  const network = validation.network;

  const { expMonth, expYear } = input;
  if (!Number.isInteger(expMonth) || expMonth < 1 || expMonth > 12 || !Number.isInteger(expYear) || expYear < 2000 || expYear > 2099) {
    throw new DeviceError('wallet_card_invalid', 'expiry must be a month 1 to 12 and a four-digit year', 'bad_expiry');
  }
  const today = new Date(now);
  const thisMonth = today.getUTCFullYear() * 12 + today.getUTCMonth();
  const expiry = expYear * 12 + (expMonth - 1);
  if (expiry < thisMonth) throw new DeviceError('wallet_card_expired', 'the card has expired');
  if (expiry > thisMonth + 12 * 20) throw new DeviceError('wallet_card_invalid', 'expiry is too far in the future', 'bad_expiry');

  const cvv = input.cvv instanceof Secret ? input.cvv : typeof input.cvv === 'string' ? new Secret(input.cvv) : null;
  const cvvLength = network === 'amex' ? 4 : 3;
  if (cvv === null || !new RegExp(`^\\d{${cvvLength}}$`).test(cvv.reveal())) {
    throw new DeviceError('wallet_card_invalid', `security code must be ${cvvLength} digits`, 'bad_cvv');
  }

  const name = typeof input.name === 'string' ? input.name.trim().replace(/\s+/g, ' ') : '';
  // eslint-disable-next-line no-control-regex
  if (name.length === 0 || name.length > 64 || /[\u0000-\u001f\u007f]/.test(name)) {
    throw new DeviceError('wallet_card_invalid', 'cardholder name must be 1 to 64 printable characters', 'bad_name');
  }
  return { network, pan, cvv, expMonth, expYear, name };
}

function panMessage(reason: string): string {
  switch (reason) {
    case 'bad_luhn':
      return 'card number is not valid (check digit)';
    case 'unknown_bin':
      return 'card number is not from a supported network';
    case 'bad_length':
      return 'card number has the wrong number of digits';
    default:
      return 'card number must be digits only';
  }
}

/** The card data as the network expects it (docs/provisioning.md), as a compact JWE to its key. */
async function encryptCard(card: CheckedCard, networkKey: NetworkEncryptionKey): Promise<string> {
  const { kid, alg, enc, jwk } = networkKey ?? ({} as Partial<NetworkEncryptionKey>);
  if (
    alg !== 'ECDH-ES+A256KW' ||
    enc !== 'A256GCM' ||
    typeof kid !== 'string' ||
    kid.length === 0 ||
    kid.length > 255 ||
    typeof jwk !== 'object' ||
    jwk === null ||
    jwk.kty !== 'EC' ||
    jwk.crv !== 'P-256' ||
    typeof jwk.x !== 'string' ||
    typeof jwk.y !== 'string' ||
    'd' in jwk
  ) {
    throw new DeviceError('wallet_network_key_invalid', 'the network encryption key is not a P-256 ECDH-ES+A256KW / A256GCM public key');
  }
  let key: CryptoKey;
  try {
    key = (await importJWK({ kty: 'EC', crv: 'P-256', x: jwk.x, y: jwk.y }, 'ECDH-ES+A256KW')) as CryptoKey;
  } catch {
    throw new DeviceError('wallet_network_key_invalid', 'the network encryption key does not import');
  }
  const plaintext = utf8.encode(
    JSON.stringify({ pan: card.pan.reveal(), exp_month: card.expMonth, exp_year: card.expYear, cvv: card.cvv.reveal(), name: card.name }),
  );
  try {
    return await new CompactEncrypt(plaintext).setProtectedHeader({ alg, enc, kid, cty: 'card+json' }).encrypt(key);
  } finally {
    plaintext.fill(0);
  }
}

/** Calls `fn`; when no answer arrived (platform-api.ts error contract), calls it once more, unchanged. */
async function retryOnce<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (!isNoAnswer(err)) throw err;
    return fn();
  }
}

function checkId(id: unknown, what: string): void {
  if (typeof id !== 'string' || !/^[A-Za-z0-9_-]{1,100}$/.test(id)) throw new DeviceError('wallet_request_invalid', `${what} is malformed`);
}

function isProvisioning(value: unknown): value is Provisioning {
  if (typeof value !== 'object' || value === null) return false;
  const p = value as Partial<Provisioning>;
  return (
    (p.status === 'active' || p.status === 'inactive') &&
    typeof p.card === 'object' &&
    p.card !== null &&
    typeof p.card.id === 'string' &&
    typeof p.card.token_ref === 'string'
  );
}

function checkTransaction(entry: TransactionEntry): TransactionEntry {
  const bad = (what: string) => new DeviceError('wallet_transaction_invalid', `transaction ${what}`);
  if (typeof entry !== 'object' || entry === null) throw bad('must be an object');
  const { id, cardId, amount, currency, merchant, status, at } = entry;
  if (typeof id !== 'string' || id.length === 0 || id.length > 100) throw bad('id must be 1 to 100 characters');
  if (typeof cardId !== 'string' || cardId.length === 0 || cardId.length > 100) throw bad('cardId must be 1 to 100 characters');
  if (!Number.isSafeInteger(amount)) throw bad('amount must be an integer in minor units');
  if (typeof currency !== 'string' || !/^[A-Z]{3}$/.test(currency)) throw bad('currency must be an ISO 4217 code');
  if (typeof merchant !== 'string' || merchant.length > 200) throw bad('merchant must be at most 200 characters');
  if (!TRANSACTION_STATUSES.includes(status)) throw bad('status is unknown');
  if (typeof at !== 'string' || !Number.isFinite(Date.parse(at))) throw bad('at must be an ISO-8601 time');
  const extra: Pick<TransactionEntry, 'type' | 'originalId'> = {};
  if (entry.type !== undefined) {
    if (typeof entry.type !== 'string' || entry.type.length > 20) throw bad('type must be at most 20 characters');
    extra.type = entry.type;
  }
  if (entry.originalId !== undefined) {
    if (entry.originalId !== null && (typeof entry.originalId !== 'string' || entry.originalId.length > 100)) throw bad('originalId must be at most 100 characters');
    extra.originalId = entry.originalId;
  }
  return { id, cardId, amount, currency, merchant, status, at: new Date(Date.parse(at)).toISOString(), ...extra };
}
