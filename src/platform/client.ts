// Every call repeats a `busy_retry` answer as the API tells clients to (the wallet's calls are idempotent
// or keyed).
import { callRetryingBusy as call, type Transport } from '../infra/transport.js';

/** Types of the wallet platform API (docs/provisioning.md), as the device sees them. */
export interface DeviceInfo {
  id: string;
  object: 'device';
  kind: 'phone' | 'watch';
  name: string;
  status: 'active' | 'lost' | 'erased';
  created_at: string;
}

export interface CardInfo {
  id: string;
  object: 'card';
  device_id: string;
  token_ref: string;
  network: 'visa' | 'mastercard' | 'amex' | 'discover';
  last4: string;
  card_type: 'credit' | 'debit' | 'prepaid';
  issuer_name: string;
  art_url: string;
  status: 'inactive' | 'active' | 'suspended' | 'deleted';
  token_last4: string;
  exp_month: number;
  exp_year: number;
  created_at: string;
}

export interface ProvisioningInfo {
  object: 'provisioning';
  card: CardInfo;
  status: 'active' | 'inactive';
  verification: { id: string; methods: { id: string; type: string; destination: string }[] } | null;
  provisioning_payload: string | null;
}

export interface TransactionInfo {
  id: string;
  object: 'transaction';
  card_id: string;
  device_id: string;
  network: string;
  type: string;
  status: string;
  amount: number;
  currency: string;
  merchant_name: string;
  response_code: string | null;
  auth_code: string | null;
  decline_reason: string | null;
  original_id?: string | null;
  occurred_at: string;
}

export interface SessionInfo {
  id: string;
  token: string;
  expires_at: string;
  device_id: string | null;
}

/**
 * The wallet platform's API for a device, over any transport (HTTP from the CLI, the browser and other
 * processes; inject inside one process). Holds the session secret; everything else is stateless.
 */
export class WalletPlatformClient {
  constructor(
    private readonly transport: Transport,
    private session: string,
  ) {}

  static async signUp(transport: Transport, body: { email: string; password: string; name: string }): Promise<{ client: WalletPlatformClient; user: { id: string; email: string }; session: SessionInfo }> {
    const r = await call<{ user: { id: string; email: string }; session: SessionInfo }>(transport, 'platform', { method: 'POST', path: '/platform/v1/users', body });
    return { client: new WalletPlatformClient(transport, r.session.token), ...r };
  }

  static async signIn(transport: Transport, body: { email: string; password: string; device_id?: string }): Promise<{ client: WalletPlatformClient; session: SessionInfo }> {
    const r = await call<{ session: SessionInfo }>(transport, 'platform', { method: 'POST', path: '/platform/v1/sessions', body });
    return { client: new WalletPlatformClient(transport, r.session.token), session: r.session };
  }

  /** Registers the device; from then on this client uses the session bound to it. */
  async registerDevice(input: { kind: 'phone' | 'watch'; name: string; se_public_key: JsonWebKey }): Promise<{ device: DeviceInfo; se_certificate_pem: string; device_ca_pem: string; session: SessionInfo }> {
    const r = await call<{ device: DeviceInfo; se_certificate_pem: string; device_ca_pem: string; session: SessionInfo }>(this.transport, 'platform', {
      method: 'POST',
      path: '/platform/v1/devices',
      body: input,
      apiKey: this.session,
    });
    this.session = r.session.token;
    return r;
  }

  get sessionToken(): string {
    return this.session;
  }

  devices(): Promise<{ data: DeviceInfo[] }> {
    return call(this.transport, 'platform', { method: 'GET', path: '/platform/v1/devices', apiKey: this.session });
  }

  networkEncryptionKey(network: string): Promise<{ kid: string; alg: string; enc: string; jwk: JsonWebKey }> {
    return call(this.transport, 'platform', { method: 'GET', path: `/platform/v1/networks/${encodeURIComponent(network)}/encryption-key`, apiKey: this.session });
  }

  provision(input: { network: string; encrypted_card: string; sandbox_device_score?: number }, idempotencyKey: string): Promise<ProvisioningInfo> {
    return call(this.transport, 'platform', { method: 'POST', path: '/platform/v1/provisioning', body: input, apiKey: this.session, idempotencyKey });
  }

  sendCode(cardId: string, methodId: string): Promise<{ sent: boolean; expires_at: string }> {
    return call(this.transport, 'platform', { method: 'POST', path: `/platform/v1/provisioning/${encodeURIComponent(cardId)}/otp`, body: { method_id: methodId }, apiKey: this.session });
  }

  confirmCode(cardId: string, code: string, idempotencyKey: string): Promise<ProvisioningInfo> {
    return call(this.transport, 'platform', { method: 'POST', path: `/platform/v1/provisioning/${encodeURIComponent(cardId)}/confirm`, body: { code }, apiKey: this.session, idempotencyKey });
  }

  messages(cardId: string): Promise<{ data: { channel: string; destination: string; body: string; created_at: string }[] }> {
    return call(this.transport, 'platform', { method: 'GET', path: `/platform/v1/provisioning/${encodeURIComponent(cardId)}/messages`, apiKey: this.session });
  }

  /** Every card, following the cursor pages. */
  async cards(): Promise<CardInfo[]> {
    const all: CardInfo[] = [];
    let after = '';
    for (;;) {
      const r = await call<{ data: CardInfo[]; has_more: boolean }>(this.transport, 'platform', { method: 'GET', path: `/platform/v1/cards?limit=100${after}`, apiKey: this.session });
      all.push(...r.data);
      if (!r.has_more || r.data.length === 0) return all;
      after = `&starting_after=${encodeURIComponent(r.data[r.data.length - 1]!.id)}`;
    }
  }

  transactions(query: { limit?: number; card_id?: string; starting_after?: string; ending_before?: string } = {}): Promise<{ data: TransactionInfo[]; has_more: boolean }> {
    const qs = new URLSearchParams(Object.entries(query).map(([k, v]) => [k, String(v)])).toString();
    return call(this.transport, 'platform', { method: 'GET', path: `/platform/v1/transactions${qs ? `?${qs}` : ''}`, apiKey: this.session });
  }

  /** The push channel as pages: the events after `after` (an event id; '0' for all), oldest first. */
  events(after: string, limit = 50): Promise<{ data: { id: string; type: string; data: unknown; created_at: string }[]; has_more: boolean }> {
    return call(this.transport, 'platform', { method: 'GET', path: `/platform/v1/events/list?after=${encodeURIComponent(after)}&limit=${limit}`, apiKey: this.session });
  }

  card(id: string): Promise<CardInfo> {
    return call(this.transport, 'platform', { method: 'GET', path: `/platform/v1/cards/${encodeURIComponent(id)}`, apiKey: this.session });
  }

  /** In-app payments (docs/inapp.md): a one-time nonce bound to this device and the merchant session, and the platform's payment key. */
  paymentNonce(input: { merchant_session_identifier: string }): Promise<{ object: 'payment_nonce'; nonce: string; expires_at: string; encryption_key: { kid: string; alg: string; enc: string; jwk: JsonWebKey } }> {
    return call(this.transport, 'platform', { method: 'POST', path: '/platform/v1/payments/nonces', body: input, apiKey: this.session });
  }

  /** In-app payments: the Secure Element's encrypted payment → the merchant's PKPaymentToken. */
  submitPayment(
    input: { card_id: string; merchant_session: unknown; request: unknown; encrypted_payment: string },
    idempotencyKey: string,
  ): Promise<{ object: 'payment'; id: string; token: { paymentData: { version: string; data: string; signature: string; header: Record<string, string> }; paymentMethod: { displayName: string; network: string; type: string }; transactionIdentifier: string } }> {
    return call(this.transport, 'platform', { method: 'POST', path: '/platform/v1/payments', body: input, apiKey: this.session, idempotencyKey });
  }
}
