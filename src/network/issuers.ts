import { issuerIdForPan, SANDBOX_ISSUERS } from '../issuer/sandbox-cards.js';
import type { Secret } from '../protocol/secret.js';

/**
 * What the network needs from the issuers (docs/provisioning.md, "Issuer API"): the issuer module's
 * typed client (src/issuer/client.ts) satisfies it; unit tests give a stub. The issuer is picked per
 * call by its id (routes `/issuer/<issuer id>/v1/...`).
 */
export interface VerificationMethod {
  id: string;
  type: string;
  destination: string;
}

export interface CardVerificationRequest {
  pan: string;
  exp_month: number;
  exp_year: number;
  cvv: string;
  name?: string;
  network: string;
  token_requestor_id: string;
  token_ref: string;
  device: { id: string; kind: 'phone' | 'watch' };
  device_score: number;
}

export interface CardVerification {
  id: string;
  decision: 'green' | 'yellow' | 'red';
  reasons: string[];
  methods: VerificationMethod[];
  card: { last4: string; product: 'credit' | 'debit' | 'prepaid'; par_seed?: string; account_id?: string; issuer_name?: string };
}

export interface IssuerMessage {
  channel: string;
  destination: string;
  body: string;
  created_at: string;
}

export interface IssuerGateway {
  /** POST /card-verifications (the issuer answers a retry for the same token_ref with the same verification). */
  createCardVerification(issuerId: string, body: CardVerificationRequest): Promise<CardVerification>;
  /** POST /card-verifications/:id/otp */
  sendVerificationOtp(issuerId: string, verificationId: string, methodId: string): Promise<{ sent: boolean; expires_at: string }>;
  /** POST /card-verifications/:id/confirm */
  confirmVerification(issuerId: string, verificationId: string, code: string): Promise<{ decision: 'green' }>;
  /** GET /card-verifications/:id/messages */
  verificationMessages(issuerId: string, verificationId: string): Promise<{ data: IssuerMessage[] } | IssuerMessage[]>;
}

/** How the network finds a card's issuer: its BIN table. */
export interface IssuerDirectory {
  issuerIdForPan(pan: Secret): string | undefined;
  issuerName(issuerId: string): string | undefined;
}

/** The sandbox's BIN table (the issuer module's, which both sides read). */
export const sandboxIssuerDirectory: IssuerDirectory = {
  issuerIdForPan: (pan) => issuerIdForPan(pan),
  issuerName: (id) => SANDBOX_ISSUERS.find((i) => i.id === id)?.name,
};
