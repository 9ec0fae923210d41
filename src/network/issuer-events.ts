import type { Sql } from '../infra/db/database.js';
import { enqueue } from '../infra/outbox.js';
import type { Brand } from './brands.js';
import type { TokenRow, TokenStatus } from './repository.js';

/** Who changed a token: its requestor (the wallet platform), its issuer, or the network itself (cryptogram failures). */
export type Actor = 'platform' | 'issuer' | 'network';

/** The outbox topic of the same changes told to the token's issuer (aggregate: the token ref). */
export const ISSUER_TOKEN_TOPIC = 'network.issuer_token';

/** What the issuer hears of its cards' tokens (POST /issuer/:issuer_id/v1/network-events/tokens). */
export interface IssuerTokenEvent {
  issuer_id: string;
  brand: Brand;
  token_ref: string;
  type: 'token.created' | 'token.suspended' | 'token.resumed' | 'token.deleted' | 'token.pan_updated' | 'token.keys_refreshed';
  status: TokenStatus;
  reason: string;
  actor: Actor;
  token_last4: string;
  /** The card's payment account reference: the issuer finds its card by it (no card number travels). */
  par: string | null;
  occurred_at: string;
}

/** Tells the token's issuer about a change of it, in the caller's transaction. */
export async function enqueueIssuerTokenEvent(tx: Sql, row: TokenRow, e: Pick<IssuerTokenEvent, 'type' | 'status' | 'reason' | 'actor' | 'occurred_at'>): Promise<void> {
  const payload: IssuerTokenEvent = { issuer_id: row.issuer_id, brand: row.brand, token_ref: row.token_ref, token_last4: row.token_last4, par: row.par ?? null, ...e };
  await enqueue(tx, { topic: ISSUER_TOKEN_TOPIC, aggregateId: row.token_ref, payload });
}

