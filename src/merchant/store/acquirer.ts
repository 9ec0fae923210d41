import { PartyError, type Transport } from '../../infra/transport.js';

/** The body of `POST /acquirer/v1/ecommerce/authorizations` (docs/inapp.md). */
export interface EcommerceAuthorizationRequest {
  orderReference: string;
  /** Minor units. */
  amount: number;
  /** ISO 4217 alphabetic. */
  currency: string;
  paymentDataType: '3DSecure';
  applicationPrimaryAccountNumber: string;
  /** YYMMDD. */
  applicationExpirationDate: string;
  /** base64 of the 20-byte online payment cryptogram. */
  onlinePaymentCryptogram: string;
  eciIndicator?: string;
  /** header.transactionId, hex. */
  transactionId?: string;
}

export interface EcommerceAuthorization {
  id: string;
  status: 'approved' | 'declined';
  /** DE 39. */
  responseCode: string;
  authCode?: string;
  declineReason?: string;
  amount: number;
  currency: string;
  tokenLast4: string;
}

/**
 * The store's side of the acquirer's e-commerce authorization API, with its acquirer merchant API key.
 * A decline is an answer, never an exception; what is not an answer throws PartyError (or
 * PartyUnavailable from the transport).
 */
export class EcommerceAcquirerClient {
  constructor(
    private readonly transport: Transport,
    private readonly apiKey: () => string | undefined,
  ) {}

  async authorize(body: EcommerceAuthorizationRequest, idempotencyKey: string): Promise<EcommerceAuthorization> {
    const key = this.apiKey();
    if (!key) throw new Error('the store has no acquirer API key yet');
    const res = await this.transport.request<EcommerceAuthorization>({
      method: 'POST',
      path: '/acquirer/v1/ecommerce/authorizations',
      body,
      apiKey: key,
      idempotencyKey,
      timeoutMs: 15_000,
    });
    if (res.status === 200 || res.status === 201) return res.body;
    throw new PartyError(res.status, res.body as never, 'acquirer');
  }
}
