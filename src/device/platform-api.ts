/**
 * The wallet platform calls the device makes: exactly the routes of the "Wallet platform API" table
 * in docs/provisioning.md (prefix /platform/v1), with its Device / Card / Provisioning types. The
 * platform implements it over HTTP (src/platform/client.ts); tests implement it in memory. Sign-up
 * and sign-in are not part of it: the wallet is handed an api object already holding a session.
 *
 * Error contract for implementations: an answer from the platform that is an error is thrown as an
 * error carrying the HTTP status in a numeric `status` property (and the catalogue code in `code`),
 * as PartyError does; an error without a numeric `status` means no answer arrived (timeout,
 * connection refused, a browser's failed fetch), and the wallet retries such a call once, with the
 * same Idempotency-Key and the same body.
 */
import type { Network } from '../protocol/cards/index.js';

export type DeviceKind = 'phone' | 'watch';
export type DeviceStatus = 'active' | 'lost' | 'erased';
export type CardType = 'credit' | 'debit' | 'prepaid';
export type PlatformCardStatus = 'inactive' | 'active' | 'suspended' | 'deleted';

export interface Device {
  id: string;
  object: 'device';
  kind: DeviceKind;
  name: string;
  status: DeviceStatus;
  created_at: string;
}

export interface DeviceSession {
  id: string;
  /** Bearer secret of the new, device-bound session. */
  token: string;
  expires_at: string;
  /** The registered device's id (null only for sessions that are not device-bound, which registration never answers). */
  device_id: string | null;
}

export interface RegisterDeviceInput {
  kind: DeviceKind;
  name: string;
  /** The SE's P-256 public key (SecureElement.publicKeyJwk()). */
  se_public_key: JsonWebKey;
}

/** POST /devices → 201. */
export interface DeviceRegistration {
  device: Device;
  se_certificate_pem: string;
  device_ca_pem: string;
  session: DeviceSession;
}

/** GET /networks/:network/encryption-key: the network's card-data encryption key, relayed. */
export interface NetworkEncryptionKey {
  kid: string;
  alg: string;
  enc: string;
  jwk: JsonWebKey;
}

export interface Card {
  id: string;
  object: 'card';
  device_id: string;
  token_ref: string;
  network: Network;
  last4: string;
  card_type: CardType;
  issuer_name: string;
  art_url: string;
  status: PlatformCardStatus;
  token_last4: string;
  exp_month: number;
  exp_year: number;
  created_at: string;
}

export interface VerificationMethod {
  id: string;
  type: string;
  /** Masked, e.g. "•••• 1234". */
  destination: string;
}

export interface Provisioning {
  object: 'provisioning';
  card: Card;
  status: 'active' | 'inactive';
  verification: { id: string; methods: VerificationMethod[] } | null;
  /** Compact JWE to the SE key; the platform relays it unread. */
  provisioning_payload: string | null;
}

export interface ProvisionInput {
  network: Network;
  /** Compact JWE of the card data to the network's key (cty card+json). */
  encrypted_card: string;
  /** Sandbox only: the device score the network passes to the issuer's ID&V, 1..5. */
  sandbox_device_score?: number;
}

/** POST /provisioning/:card_id/otp. */
export interface CodeSent {
  sent: boolean;
  expires_at: string;
}

/** A simulated SMS / e-mail the sandbox issuer "sent". */
export interface SandboxMessage {
  channel: string;
  destination: string;
  body: string;
  created_at: string;
}

/** A PKPaymentToken's paymentMethod. */
export interface PaymentMethodInfo {
  displayName: string;
  /** 'Visa' | 'MasterCard' | 'AmEx' | 'Discover'. */
  network: string;
  type: string;
}

/** The PKPaymentToken the page receives (paymentData as produced by the platform: EC_v1 or RSA_v1). */
export interface PaymentToken {
  paymentData: { version: string; data: string; signature: string; header: Record<string, string> };
  paymentMethod: PaymentMethodInfo;
  transactionIdentifier: string;
}

/** The parts of an ApplePayJS.ApplePayPaymentRequest the wallet and the platform use. */
export interface InAppPaymentRequest {
  countryCode: string;
  currencyCode: string;
  supportedNetworks: string[];
  merchantCapabilities: string[];
  total: { label: string; amount: string; type?: 'final' | 'pending' };
  /** Base64; its SHA-256 goes in the token's header.applicationData. */
  applicationData?: string;
}

/** POST /payments/nonces → 201. */
export interface PaymentNonce {
  object: 'payment_nonce';
  /** 32 bytes, hex. */
  nonce: string;
  expires_at: string;
  encryption_key: { kid: string; alg: string; enc: string; jwk: JsonWebKey };
}

export interface SubmitPaymentInput {
  card_id: string;
  /** The merchant session object exactly as the page passed it to completeMerchantValidation. */
  merchant_session: unknown;
  request: InAppPaymentRequest;
  /** The SE's compact JWE to the platform's payment key. */
  encrypted_payment: string;
}

/** POST /payments → 201. */
export interface SubmittedPayment {
  object: 'payment';
  id: string;
  token: PaymentToken;
}

export interface WalletPlatformApi {
  /** POST /devices (session). */
  registerDevice(input: RegisterDeviceInput): Promise<DeviceRegistration>;
  /** GET /devices (session): the user's devices (the list body; `data` is what the device reads). */
  devices(): Promise<{ data: Device[] }>;
  /** GET /networks/:network/encryption-key (device session). */
  networkEncryptionKey(network: Network): Promise<NetworkEncryptionKey>;
  /** POST /provisioning (device session, Idempotency-Key) → 201. */
  provision(input: ProvisionInput, idempotencyKey: string): Promise<Provisioning>;
  /** POST /provisioning/:card_id/otp (device session). */
  sendCode(cardId: string, methodId: string): Promise<CodeSent>;
  /** POST /provisioning/:card_id/confirm (device session, Idempotency-Key) → 200. */
  confirmCode(cardId: string, code: string, idempotencyKey: string): Promise<Provisioning>;
  /** GET /provisioning/:card_id/messages (device session): the sandbox messages of that verification (the list body). */
  messages(cardId: string): Promise<{ data: SandboxMessage[] }>;
  /** GET /cards (session; a device session: that device's cards). All of them: the implementation follows has_more. */
  cards(): Promise<Card[]>;
  /** GET /cards/:card_id (session). */
  card(id: string): Promise<Card>;
  /** POST /payments/nonces (device session): a one-time nonce for an in-app payment, and the platform's payment key (docs/inapp.md). */
  paymentNonce?(input: { merchant_session_identifier: string }): Promise<PaymentNonce>;
  /** POST /payments (device session, Idempotency-Key) → 201: the platform turns the SE's payment into the merchant's token. */
  submitPayment?(input: SubmitPaymentInput, idempotencyKey: string): Promise<SubmittedPayment>;
  /** GET /events/list?after= (device session): the push channel as pages, oldest first (Wallet.syncEvents). */
  events?(after: string, limit?: number): Promise<{ data: DeviceEventItem[]; has_more: boolean }>;
  /** GET /transactions (session): the platform's history, newest first, cursor pages (Wallet.reconcileTransactions). */
  transactions?(query: { limit?: number; starting_after?: string; ending_before?: string }): Promise<{ data: PlatformTransaction[]; has_more: boolean }>;
}

/** One event of the push channel (GET /events/list): its id is the cursor. */
export interface DeviceEventItem {
  id: string;
  type: string;
  data: unknown;
  created_at: string;
}

/** A transaction as the platform's history shows it. */
export interface PlatformTransaction {
  id: string;
  card_id: string;
  type: string;
  status: string;
  amount: number;
  currency: string;
  merchant_name: string;
  occurred_at: string;
  original_id?: string | null;
}

/** True when `err` means the platform gave no answer (see the error contract above): safe to retry with the same key. */
export function isNoAnswer(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  if ((err as { name?: unknown }).name === 'DeviceError') return false;
  return typeof (err as { status?: unknown }).status !== 'number';
}
