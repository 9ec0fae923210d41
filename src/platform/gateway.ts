/**
 * What the wallet platform needs from the card networks' token services (docs/provisioning.md),
 * one per brand. The composition root implements it with each network's client and the platform's
 * token-requestor API key for that network.
 */
export type Network = 'visa' | 'mastercard' | 'amex' | 'discover';
export const NETWORKS: readonly Network[] = ['visa', 'mastercard', 'amex', 'discover'];

export interface NetworkKey {
  kid: string;
  alg: string;
  enc: string;
  jwk: JsonWebKey;
}

export interface VerificationMethod {
  id: string;
  type: string;
  destination: string;
}

export interface ProvisioningResult {
  object: 'provisioning';
  token_ref: string;
  status: 'active' | 'inactive';
  card: { last4: string; exp_month: number; exp_year: number; product: 'credit' | 'debit' | 'prepaid'; issuer_id: string; issuer_name: string; par: string };
  token: { last4: string; exp_month: number; exp_year: number };
  verification: { id: string; methods: VerificationMethod[] } | null;
  provisioning_payload: string | null;
}

export interface SandboxMessage {
  channel: string;
  destination: string;
  body: string;
  created_at: string;
}

export interface NetworkGateway {
  registerTokenRequestor(network: Network, body: { name: string; device_ca_pem: string }): Promise<{ id: string }>;
  encryptionKey(network: Network): Promise<NetworkKey>;
  createToken(
    network: Network,
    body: {
      token_requestor_id: string;
      encrypted_card: string;
      device: { id: string; kind: 'phone' | 'watch'; se_certificate_pem: string };
      wallet_account_id: string;
      device_score: number;
    },
    idempotencyKey: string,
  ): Promise<ProvisioningResult>;
  sendOtp(network: Network, verificationId: string, methodId: string): Promise<{ sent: boolean; expires_at: string }>;
  confirm(network: Network, verificationId: string, code: string, idempotencyKey: string): Promise<ProvisioningResult>;
  sandboxMessages(network: Network, verificationId: string): Promise<{ data: SandboxMessage[] }>;
  /**
   * Cancels a token request by the Idempotency-Key it was sent with: whatever it made is ended (an
   * active token deleted), and the request makes nothing later. Answers every token it made.
   */
  cancelTokenRequest(network: Network, requestKey: string): Promise<{ token_refs: string[] }>;
  /** Flow 4: suspend, resume or delete a token at its network (the platform as token requestor). */
  changeTokenStatus(network: Network, tokenRef: string, action: 'suspend' | 'resume' | 'delete', reason: string, idempotencyKey?: string): Promise<TokenStatusView>;
}

export interface TokenStatusView {
  token_ref: string;
  status: 'inactive' | 'active' | 'suspended' | 'deleted';
  suspended_by: 'platform' | 'issuer' | 'network' | null;
  reason: string | null;
  /** When the network set this status (its event's occurred_at). */
  changed_at?: string | null;
}
