import { call, PartyError, type Transport } from '../infra/transport.js';
import type { ErrorBody } from '../infra/errors.js';
import type { Network } from '../protocol/cards/index.js';
import { Secret } from '../protocol/secret.js';
import type { AccountBalance, CardVerification, OtpConfirmed, OtpSent, SandboxCardView, SandboxMessage } from './service.js';

export type { AccountBalance, CardVerification, OtpConfirmed, OtpSent, SandboxCardView, SandboxMessage, VerificationMethod } from './service.js';

/** The body of POST /card-verifications; the card number and CVV may be passed as Secrets. */
export interface VerifyCardRequest {
  pan: string | Secret;
  exp_month: number;
  exp_year: number;
  cvv: string | Secret;
  name?: string;
  /** visa, mastercard, amex or discover (the issuer validates it). */
  network: Network | (string & {});
  token_requestor_id: string;
  token_ref: string;
  device: { id: string; kind: 'phone' | 'watch' };
  device_score: number;
}

export interface List<T> {
  object: 'list';
  data: T[];
  has_more: boolean;
}

export interface CallOptions {
  idempotencyKey?: string;
  timeoutMs?: number;
}

const reveal = (v: string | Secret): string => (v instanceof Secret ? v.reveal() : v);

/**
 * How the networks call an issuing bank (docs/provisioning.md, "Issuer API"), in process or over HTTP.
 * Non-2xx answers throw PartyError carrying the issuer's catalogue error (code, decline_code).
 * Which issuer a card belongs to: issuerIdForPan in ./sandbox-cards.ts.
 */
export class IssuerClient {
  constructor(
    private readonly transport: Transport,
    private readonly apiKey: string,
  ) {}

  #path(issuerId: string, rest: string): string {
    return `/issuer/${encodeURIComponent(issuerId)}/v1${rest}`;
  }

  #options(o: CallOptions | undefined): { idempotencyKey?: string; timeoutMs?: number } {
    return { ...(o?.idempotencyKey ? { idempotencyKey: o.idempotencyKey } : {}), ...(o?.timeoutMs ? { timeoutMs: o.timeoutMs } : {}) };
  }

  verifyCard(issuerId: string, body: VerifyCardRequest, options?: CallOptions): Promise<CardVerification> {
    return call<CardVerification>(this.transport, `issuer:${issuerId}`, {
      method: 'POST',
      path: this.#path(issuerId, '/card-verifications'),
      apiKey: this.apiKey,
      body: { ...body, pan: reveal(body.pan), cvv: reveal(body.cvv) },
      ...this.#options(options),
    });
  }

  sendOtp(issuerId: string, verificationId: string, methodId: string, options?: CallOptions): Promise<OtpSent> {
    return call<OtpSent>(this.transport, `issuer:${issuerId}`, {
      method: 'POST',
      path: this.#path(issuerId, `/card-verifications/${encodeURIComponent(verificationId)}/otp`),
      apiKey: this.apiKey,
      body: { method_id: methodId },
      ...this.#options(options),
    });
  }

  confirmOtp(issuerId: string, verificationId: string, code: string, options?: CallOptions): Promise<OtpConfirmed> {
    return call<OtpConfirmed>(this.transport, `issuer:${issuerId}`, {
      method: 'POST',
      path: this.#path(issuerId, `/card-verifications/${encodeURIComponent(verificationId)}/confirm`),
      apiKey: this.apiKey,
      body: { code },
      ...this.#options(options),
    });
  }

  messages(issuerId: string, verificationId: string, options?: CallOptions): Promise<List<SandboxMessage>> {
    return call<List<SandboxMessage>>(this.transport, `issuer:${issuerId}`, {
      method: 'GET',
      path: this.#path(issuerId, `/card-verifications/${encodeURIComponent(verificationId)}/messages`),
      apiKey: this.apiKey,
      ...this.#options(options),
    });
  }

  // The same calls under the names of the network's IssuerGateway (src/network/issuers.ts), so this
  // client can be handed to the network as it is.
  createCardVerification(issuerId: string, body: VerifyCardRequest): Promise<CardVerification> {
    return this.verifyCard(issuerId, body);
  }

  sendVerificationOtp(issuerId: string, verificationId: string, methodId: string): Promise<OtpSent> {
    return this.sendOtp(issuerId, verificationId, methodId);
  }

  confirmVerification(issuerId: string, verificationId: string, code: string): Promise<OtpConfirmed> {
    return this.confirmOtp(issuerId, verificationId, code);
  }

  verificationMessages(issuerId: string, verificationId: string): Promise<List<SandboxMessage>> {
    return this.messages(issuerId, verificationId);
  }

  sandboxCards(issuerId: string, options?: CallOptions): Promise<List<SandboxCardView>> {
    return call<List<SandboxCardView>>(this.transport, `issuer:${issuerId}`, {
      method: 'GET',
      path: this.#path(issuerId, '/sandbox/cards'),
      ...this.#options(options),
    });
  }

  /**
   * POST /iso8583: a packed 0100, 0400 or 0420 (DE2 = the card number, DE48 = the token context) →
   * the packed 0110, 0410 or 0430 (docs/authorization.md). A decline is an answer, not an error; a
   * non-2xx answer (not a message, not allowed) throws PartyError.
   */
  async iso8583(issuerId: string, message: Uint8Array, options?: CallOptions): Promise<Uint8Array> {
    const res = await this.transport.request<ErrorBody | undefined>({
      method: 'POST',
      path: this.#path(issuerId, '/iso8583'),
      apiKey: this.apiKey,
      raw: message,
      ...this.#options(options),
    });
    if (res.status >= 200 && res.status < 300 && res.raw) return res.raw;
    throw new PartyError(res.status, res.body, `issuer:${issuerId}`, `POST ${this.#path(issuerId, '/iso8583')}`);
  }

  /** GET /accounts/:id (the issuer's own key or an admin key): posted, holds, available. */
  account(issuerId: string, accountId: string, options?: CallOptions): Promise<AccountBalance> {
    return call<AccountBalance>(this.transport, `issuer:${issuerId}`, {
      method: 'GET',
      path: this.#path(issuerId, `/accounts/${encodeURIComponent(accountId)}`),
      apiKey: this.apiKey,
      ...this.#options(options),
    });
  }
}
