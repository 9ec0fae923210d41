import type { ErrorBody } from '../infra/errors.js';
import { call, PartyError, type Transport } from '../infra/transport.js';
import type { Brand } from './brands.js';
import type { PublicEncryptionKey } from './encryption-keys.js';
import type { IssuerMessage } from './issuers.js';
import type { LifecycleAction, TokenLifecycleView } from './lifecycle.js';
import type { CreateTokenInput, ProvisioningResult, TokenView } from './service.js';

/**
 * The typed client of the card networks' token service (docs/provisioning.md, "Network API"), for the
 * wallet platform. Failures throw `PartyError` (the network's catalogue error: code, status, message,
 * decline_code) or `PartyUnavailable`.
 *
 * Keys: the platform is a token requestor with each network separately (one token requestor id, hence
 * one platform API key, per brand), so `apiKey` is either one key for every brand or a key per brand.
 * `registerTokenRequestor` is an operator call: it uses the admin key given per call, else
 * `options.adminKey`.
 *
 * The acquirer uses `authorizeIso` with its acquirer API key(s) (role 'acquirer') in place of the
 * platform's: packed ISO 8583 in, packed ISO 8583 out.
 */
export class NetworkClient {
  constructor(
    private readonly transport: Transport,
    private readonly apiKey: string | Partial<Record<Brand, string>>,
    private readonly options: { adminKey?: string } = {},
  ) {}

  #key(brand: Brand): string {
    const key = typeof this.apiKey === 'string' ? this.apiKey : this.apiKey[brand];
    if (!key) throw new Error(`no API key configured for the ${brand} network`);
    return key;
  }

  #path(brand: Brand, rest: string): string {
    return `/network/${encodeURIComponent(brand)}/v1${rest}`;
  }

  encryptionKey(brand: Brand): Promise<PublicEncryptionKey> {
    return call(this.transport, `network:${brand}`, { method: 'GET', path: this.#path(brand, '/encryption-key'), apiKey: this.#key(brand) });
  }

  registerTokenRequestor(brand: Brand, body: { name: string; device_ca_pem: string }, adminKey?: string): Promise<{ id: string; object: 'token_requestor'; name: string }> {
    const key = adminKey ?? this.options.adminKey;
    if (!key) throw new Error('registerTokenRequestor needs an admin API key');
    return call(this.transport, `network:${brand}`, { method: 'POST', path: this.#path(brand, '/token-requestors'), apiKey: key, body });
  }

  createToken(brand: Brand, body: CreateTokenInput, idempotencyKey: string): Promise<ProvisioningResult> {
    return call(this.transport, `network:${brand}`, { method: 'POST', path: this.#path(brand, '/tokens'), apiKey: this.#key(brand), body, idempotencyKey });
  }

  sendOtp(brand: Brand, verificationId: string, methodId: string): Promise<{ id: string; object: 'verification'; sent: true; expires_at: string }> {
    return call(this.transport, `network:${brand}`, {
      method: 'POST',
      path: this.#path(brand, `/verifications/${encodeURIComponent(verificationId)}/otp`),
      apiKey: this.#key(brand),
      body: { method_id: methodId },
    });
  }

  confirm(brand: Brand, verificationId: string, code: string, idempotencyKey: string): Promise<ProvisioningResult> {
    return call(this.transport, `network:${brand}`, {
      method: 'POST',
      path: this.#path(brand, `/verifications/${encodeURIComponent(verificationId)}/confirm`),
      apiKey: this.#key(brand),
      body: { code },
      idempotencyKey,
    });
  }

  sandboxMessages(brand: Brand, verificationId: string): Promise<{ object: 'list'; data: IssuerMessage[]; has_more: boolean }> {
    return call(this.transport, `network:${brand}`, {
      method: 'GET',
      path: this.#path(brand, `/verifications/${encodeURIComponent(verificationId)}/sandbox-messages`),
      apiKey: this.#key(brand),
    });
  }

  /**
   * POST /network/:brand/v1/iso8583 (acquirer keys): a packed 0100 / 0400 / 0420, the packed 0110 / 0410 /
   * 0430. A decline is an answer (DE 39), never an exception; what is not a message (400 iso8583_invalid,
   * 401, 403) throws `PartyError`; no answer throws `PartyUnavailable` (from the transport). An in-process
   * transport may ignore `timeoutMs`: race it if a deadline matters (the acquirer's NetworkLink does).
   */
  async authorizeIso(brand: Brand, packed: Uint8Array, options: { timeoutMs?: number } = {}): Promise<Uint8Array> {
    const res = await this.transport.request<ErrorBody | undefined>({
      method: 'POST',
      path: this.#path(brand, '/iso8583'),
      raw: packed,
      apiKey: this.#key(brand),
      ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
    });
    if (res.status === 200 && res.raw) return res.raw;
    throw new PartyError(res.status, res.body, `network:${brand}`);
  }

  getToken(brand: Brand, tokenRef: string): Promise<TokenView> {
    return call(this.transport, `network:${brand}`, { method: 'GET', path: this.#path(brand, `/tokens/${encodeURIComponent(tokenRef)}`), apiKey: this.#key(brand) });
  }

  /** POST /tokens/:token_ref/suspend|resume|delete (flow 4): 409 token_transition_forbidden when not allowed. */
  /** Cancels a provisioning request by the Idempotency-Key it was sent with (the platform lost its answer). */
  cancelTokenRequest(brand: Brand, requestKey: string): Promise<{ object: 'token_request_cancellation'; request_key: string; token_refs: string[] }> {
    return call(this.transport, `network:${brand}`, { method: 'POST', path: this.#path(brand, '/token-requests/cancel'), apiKey: this.#key(brand), body: { request_key: requestKey } });
  }

  changeTokenStatus(brand: Brand, tokenRef: string, action: LifecycleAction, reason: string, idempotencyKey?: string): Promise<TokenLifecycleView> {
    return call(this.transport, `network:${brand}`, {
      method: 'POST',
      path: this.#path(brand, `/tokens/${encodeURIComponent(tokenRef)}/${action}`),
      apiKey: this.#key(brand),
      body: { reason },
      ...(idempotencyKey ? { idempotencyKey } : {}),
    });
  }
}
