import type { Database } from '../infra/db/database.js';
import { AppError } from '../infra/errors.js';
import type { EnvelopeCipher } from '../infra/keys/envelope.js';
import { enqueue } from '../infra/outbox.js';
import { last4 } from '../protocol/cards/index.js';
import type { Brand } from './brands.js';
import { enqueueIssuerTokenEvent } from './issuer-events.js';
import { TOKEN_EVENT_TOPIC, type Run, type TokenEvent } from './lifecycle.js';
import { keyRefreshRepo, networkRepo as repo, switchRepo } from './repository.js';
import { vaultContext, type NetworkService } from './service.js';
import type { TokenDirectory } from './token-directory.js';

/** Who may refresh a token's keys: its card's issuer, or the operator (admin key). */
export type KeyRefreshCaller = { actor: 'issuer'; issuerId: string } | { actor: 'admin' };

export interface KeyRefreshView {
  object: 'token_key_refresh';
  token_ref: string;
  status: string;
  /** The token's last four digits (new ones when the number changed). */
  token_last4: string;
  token_number_changed: boolean;
  refreshed_at: string;
}

/**
 * Token key refresh (flow 4): the network gives a live token a new per-token master key in its HSM
 * (a new PSN: the HSM derives another key from its master key), by policy also a new token number,
 * and builds the new provisioning payload exactly as provisioning does, encrypted to the device SE's
 * certificate. The change and its `network.token` event (keys_refreshed, with that payload: only the
 * SE can open it) commit together; the token requestor relays the payload to the device, whose SE
 * installs it over the old keys. From the commit on, a cryptogram made with the old key is declined
 * (88: the switch derives the key from the token's new PSN); with a new number the old one is unknown (14).
 */
export class TokenKeyRefresh {
  constructor(
    private readonly deps: { db: Database; vault: EnvelopeCipher; service: NetworkService; tokens?: TokenDirectory | undefined; clock: () => Date },
  ) {}

  async refresh(brand: Brand, caller: KeyRefreshCaller, tokenRef: string, input: { new_token_number?: boolean | undefined; reason?: string | undefined }, run: Run): Promise<KeyRefreshView> {
    const { db, vault, service } = this.deps;
    const row = tokenRef.startsWith('tok_') ? await repo.tokenByRef(db, tokenRef) : undefined;
    if (!row || row.brand !== brand || (caller.actor === 'issuer' && row.issuer_id !== caller.issuerId)) throw new AppError('resource_missing', { param: 'token_ref' });
    if (row.status !== 'active' && row.status !== 'suspended') {
      throw new AppError('resource_conflict', { param: 'token_ref', message: `This token is ${row.status}; only an active or suspended token has keys to refresh.` });
    }
    const psn = String((Number(row.psn) + 1) % 100).padStart(2, '0');
    let tokenPan: { encrypted: Buffer; fingerprint: Buffer; last4: string } | undefined;
    if (input.new_token_number) {
      const number = service.newTokenNumber(brand);
      tokenPan = { encrypted: await vault.encrypt(number.reveal(), vaultContext.tokenPan(tokenRef)), fingerprint: await vault.fingerprint(number.reveal()), last4: last4(number.reveal()) };
    }
    const oldFingerprint = await switchRepo.tokenFingerprintOf(db, tokenRef);
    // The payload is made before the transaction (it needs the vault and the HSM), for the state the transaction writes.
    const payload = await service.provisioningPayloadFor(tokenRef, { psn, ...(tokenPan ? { token_pan_encrypted: tokenPan.encrypted } : {}) });
    const at = this.deps.clock().toISOString();
    const reason = input.reason ?? 'key_refresh';
    const view = await run(async (tx) => {
      if (!(await keyRefreshRepo.refresh(tx, tokenRef, { fromPsn: row.psn, psn, tokenPan }))) throw new AppError('busy_retry');
      const fresh = (await repo.tokenByRef(tx, tokenRef))!;
      const event: TokenEvent & { keys_refreshed: true; provisioning_payload: string; token_last4: string } = {
        token_ref: tokenRef,
        brand,
        status: fresh.status,
        reason,
        actor: 'issuer',
        occurred_at: at,
        pan_updated: false,
        keys_refreshed: true,
        provisioning_payload: payload,
        token_last4: fresh.token_last4,
      };
      await enqueue(tx, { topic: TOKEN_EVENT_TOPIC, aggregateId: tokenRef, payload: event });
      await enqueueIssuerTokenEvent(tx, fresh, { type: 'token.keys_refreshed', status: fresh.status, reason, actor: caller.actor === 'issuer' ? 'issuer' : 'network', occurred_at: at });
      const out: KeyRefreshView = { object: 'token_key_refresh', token_ref: tokenRef, status: fresh.status, token_last4: fresh.token_last4, token_number_changed: tokenPan !== undefined, refreshed_at: at };
      return out;
    });
    // The switch's cache: the old number's entry (and the token's current one) go at once.
    if (tokenPan && oldFingerprint) await this.deps.tokens?.invalidateFingerprint(oldFingerprint);
    await this.deps.tokens?.invalidate(tokenRef);
    return view;
  }
}
