import type { Database, Sql } from '../infra/db/database.js';
import { AppError } from '../infra/errors.js';
import type { Principal } from '../infra/http/route.js';
import type { EnvelopeCipher } from '../infra/keys/envelope.js';
import { enqueue } from '../infra/outbox.js';
import { isTokenBin, last4, validatePan } from '../protocol/cards/index.js';
import { Secret } from '../protocol/secret.js';
import { BRAND_PROFILES, type Brand } from './brands.js';
import type { IssuerDirectory } from './issuers.js';
import { enqueueIssuerTokenEvent, type IssuerTokenEvent } from './issuer-events.js';
import { issuerEventRepo, networkRepo as repo, type TokenRow, type TokenStatus } from './repository.js';
import { vaultContext } from './service.js';
import type { TokenDirectory } from './token-directory.js';

/** The outbox topic of every token lifecycle change (aggregate: the token ref). */
export const TOKEN_EVENT_TOPIC = 'network.token';
export type LifecycleAction = 'suspend' | 'resume' | 'delete';
export type { Actor } from './issuer-events.js';
import type { Actor } from './issuer-events.js';

/** Who asks: the token requestor (the wallet platform, by its platform key) or the card's issuer (its issuer key). */
export type LifecycleCaller = { actor: 'platform'; requestorId: string } | { actor: 'issuer'; issuerId: string };

export interface TokenLifecycleView {
  object: 'token';
  token_ref: string;
  status: TokenStatus;
  suspended_by: Actor | null;
  reason: string | null;
  /** The token's last four digits. */
  last4: string;
  /** When this status was set (the network's clock; the occurred_at of its event): a token requestor ignores older events. */
  changed_at: string | null;
}

/** The payload of a `network.token` event. */
export interface TokenEvent {
  token_ref: string;
  brand: Brand;
  status: TokenStatus;
  reason: string;
  actor: Actor;
  occurred_at: string;
  /** True when the issuer re-mapped the token to a reissued card (status unchanged); `card` then says what the wallet shows. */
  pan_updated: boolean;
  card?: { last4: string; exp_month: number; exp_year: number };
}

/** Runs the change in one transaction (the route's recovery point, or a plain transaction). */
export type Run = <T>(fn: (tx: Sql) => Promise<T>) => Promise<T>;

export function lifecycleCallerOf(principal: Principal | null): LifecycleCaller {
  if (principal?.kind === 'apiKey' && principal.role === 'platform') return { actor: 'platform', requestorId: principal.ownerId };
  if (principal?.kind === 'apiKey' && principal.role === 'issuer') return { actor: 'issuer', issuerId: principal.ownerId };
  throw new AppError('permission_denied');
}

const forbidden = (message: string) => new AppError('token_transition_forbidden', { message });

/**
 * The allowed changes (the database trigger tokens_status_transition enforces the same):
 * suspend: active → suspended; resume: suspended → active, only by the party that suspended it or the
 * issuer; delete: inactive, active or suspended → deleted (final).
 */
export function planTransition(
  status: TokenStatus,
  suspendedBy: Actor | null,
  actor: Actor,
  action: LifecycleAction,
): { to: TokenStatus; suspendedBy: Actor | null; resume: boolean } {
  if (status === 'deleted') throw forbidden('This token is deleted; a deleted token is final.');
  switch (action) {
    case 'suspend':
      if (status !== 'active') throw forbidden(`Only an active token can be suspended; this one is ${status}.`);
      return { to: 'suspended', suspendedBy: actor, resume: false };
    case 'resume':
      if (status !== 'suspended') throw forbidden(`Only a suspended token can be resumed; this one is ${status}.`);
      if (actor !== 'issuer' && suspendedBy !== actor) throw forbidden(`This token was suspended by the ${suspendedBy ?? 'issuer'}; only it or the issuer can resume it.`);
      return { to: 'active', suspendedBy: null, resume: true };
    case 'delete':
      return { to: 'deleted', suspendedBy: null, resume: false };
  }
}

export interface TokenLifecycleDeps {
  db: Database;
  vault: EnvelopeCipher;
  directory: IssuerDirectory;
  clock: () => Date;
  tokens?: TokenDirectory;
}

/**
 * Flow 4 at the network, the source of truth for a token's state: suspend, resume and delete by the
 * token requestor or the issuer, the issuer's card events (closed, blocked, unblocked) over all the
 * card's tokens, and PAN updates after a reissue. Each change is written with its `network.token`
 * outbox event in one transaction and followed by the switch's cache invalidation before it returns.
 */
export class TokenLifecycle {
  constructor(private readonly deps: TokenLifecycleDeps) {}

  run: Run = (fn) => this.deps.db.tx(fn);

  async #invalidate(refs: string[]): Promise<void> {
    for (const ref of refs) await this.deps.tokens?.invalidate(ref);
  }

  /** POST /tokens/:token_ref/suspend|resume|delete. Another requestor's or issuer's token is "no such object". */
  async change(brand: Brand, caller: LifecycleCaller, tokenRef: string, action: LifecycleAction, reason: string, run: Run = this.run): Promise<TokenLifecycleView> {
    const view = await run(async (tx) => {
      const row = tokenRef.startsWith('tok_') ? await repo.tokenByRef(tx, tokenRef, true) : undefined;
      const mine = row && row.brand === brand && (caller.actor === 'platform' ? row.token_requestor_id === caller.requestorId : row.issuer_id === caller.issuerId);
      // A reservation that never became a token (red, failed) is nothing the caller can act on.
      if (!row || !mine || (row.status === 'deleted' && row.idv !== 'green' && row.idv !== 'verified')) throw new AppError('resource_missing', { param: 'token_ref' });
      return this.#apply(tx, row, caller.actor, action, reason);
    });
    await this.#invalidate([view.token_ref]);
    return view;
  }

  /**
   * POST /token-requests/cancel: the token requestor lost a provisioning request (its process died
   * before it recorded the answer) and cancels it by its Idempotency-Key. Whatever the request made is
   * ended: a reservation or a step-up as abandoned, an active token deleted like any other (with its
   * events); and the key is remembered, so the request resumed or arriving late makes no token.
   * Idempotent; answers every token the request made.
   */
  async cancelRequest(brand: Brand, requestorId: string, requestKey: string): Promise<{ object: 'token_request_cancellation'; request_key: string; token_refs: string[] }> {
    const { refs, changed } = await this.deps.db.tx(async (tx) => {
      await repo.cancelRequest(tx, requestorId, requestKey);
      const refs: string[] = [];
      const changed: string[] = [];
      for (const row of await repo.tokensOfRequest(tx, requestorId, requestKey)) {
        if (row.brand !== brand) continue;
        refs.push(row.token_ref);
        if (row.status === 'deleted') continue;
        if (row.status === 'inactive') {
          await repo.failVerificationOf(tx, row.token_ref);
          await repo.recordFailure(tx, row.token_ref, 'failed', 'abandoned');
        } else {
          await this.#apply(tx, row, 'platform', 'delete', 'provisioning_abandoned');
        }
        changed.push(row.token_ref);
      }
      return { refs, changed };
    });
    await this.#invalidate(changed);
    return { object: 'token_request_cancellation', request_key: requestKey, token_refs: refs };
  }

  /**
   * The network's own suspension of a token (repeated cryptogram failures: docs/authorization.md): an
   * active token becomes suspended by the network, told to the requestor and the issuer like any change;
   * only the issuer resumes it. Undefined when the token is no longer active (nothing to do).
   */
  async suspendByNetwork(tokenRef: string, reason: string): Promise<TokenLifecycleView | undefined> {
    const view = await this.run(async (tx) => {
      const row = await repo.tokenByRef(tx, tokenRef, true);
      if (!row || row.status !== 'active') return undefined;
      return this.#apply(tx, row, 'network', 'suspend', reason);
    });
    if (view) await this.#invalidate([view.token_ref]);
    return view;
  }

  /**
   * The issuer's card events over every live token of the card at this network: `delete` (card
   * closed), `suspend` (fraud block: the active tokens), `resume` (unblock: only the tokens the issuer
   * suspended; a device reported lost stays suspended).
   */
  async changeCard(brand: Brand, issuerId: string, pan: string, action: LifecycleAction, reason: string, run: Run = this.run, eventId?: string): Promise<TokenLifecycleView[]> {
    this.#ownCard(brand, issuerId, pan, 'pan');
    const fingerprint = await this.deps.vault.fingerprint(pan);
    const views = await run(async (tx) => {
      const out: TokenLifecycleView[] = [];
      // The issuer's outbox event again (at least once delivery): already applied.
      if (eventId !== undefined && !(await issuerEventRepo.claim(tx, { eventId, issuerId, kind: 'card_lifecycle' }))) return out;
      for (const row of await repo.liveTokensOfCard(tx, brand, fingerprint, true)) {
        if (row.issuer_id !== issuerId) continue;
        const life = await repo.lifecycleOf(tx, row.token_ref);
        if (action === 'suspend' && row.status !== 'active') continue;
        if (action === 'resume' && (row.status !== 'suspended' || life?.suspended_by !== 'issuer')) continue;
        out.push(await this.#apply(tx, row, 'issuer', action, reason));
      }
      return out;
    });
    await this.#invalidate(views.map((v) => v.token_ref));
    return views;
  }

  /**
   * The issuer reissued the card (new number and/or expiry): every live token of the old number now
   * stands for the new one. The token number and its keys do not change, so the device goes on paying
   * with it; the switch forwards the new number from now on.
   */
  async panUpdate(
    brand: Brand,
    issuerId: string,
    input: { old_pan: string; new_pan?: string | undefined; exp_month: number; exp_year: number; event_id?: string | undefined },
    run: Run = this.run,
  ): Promise<{ object: 'pan_update'; tokens: TokenLifecycleView[]; duplicate?: boolean }> {
    const { vault } = this.deps;
    this.#ownCard(brand, issuerId, input.old_pan, 'old_pan');
    const newPan = input.new_pan ?? input.old_pan;
    if (input.new_pan !== undefined) this.#ownCard(brand, issuerId, newPan, 'new_pan');
    const oldFingerprint = await vault.fingerprint(input.old_pan);
    const newFingerprint = await vault.fingerprint(newPan);
    // Encrypted outside the transaction (the cipher may use the database itself), one ciphertext per token.
    const candidates = await repo.liveTokensOfCard(this.deps.db, brand, oldFingerprint);
    const encrypted = new Map<string, Buffer>();
    for (const t of candidates) encrypted.set(t.token_ref, await vault.encrypt(newPan, vaultContext.pan(t.token_ref)));
    let duplicate = false;
    const views = await run(async (tx) => {
      const out: TokenLifecycleView[] = [];
      if (input.event_id !== undefined && !(await issuerEventRepo.claim(tx, { eventId: input.event_id, issuerId, kind: 'pan_update' }))) {
        duplicate = true;
        return out;
      }
      if (!oldFingerprint.equals(newFingerprint)) await repo.carryPar(tx, oldFingerprint, newFingerprint);
      for (const row of await repo.liveTokensOfCard(tx, brand, oldFingerprint, true)) {
        const panEncrypted = encrypted.get(row.token_ref);
        if (!panEncrypted || row.issuer_id !== issuerId) continue;
        await repo.remapPan(tx, row.token_ref, { panEncrypted, panFingerprint: newFingerprint, cardLast4: last4(newPan), cardExpMonth: input.exp_month, cardExpYear: input.exp_year });
        const life = await repo.lifecycleOf(tx, row.token_ref);
        const card = { last4: last4(newPan), exp_month: input.exp_month, exp_year: input.exp_year };
        await this.#event(tx, row, row.status, 'pan_update', 'issuer', card, undefined, 'token.pan_updated');
        out.push(view(row, row.status, life?.suspended_by ?? null, life?.status_reason ?? null));
      }
      return out;
    });
    await this.#invalidate(views.map((v) => v.token_ref));
    return { object: 'pan_update', tokens: views, ...(duplicate ? { duplicate } : {}) };
  }

  async #apply(tx: Sql, row: TokenRow, actor: Actor, action: LifecycleAction, reason: string): Promise<TokenLifecycleView> {
    const life = await repo.lifecycleOf(tx, row.token_ref);
    const next = planTransition(row.status, life?.suspended_by ?? null, actor, action);
    if (!(await repo.setLifecycleStatus(tx, row.token_ref, { from: row.status, to: next.to, suspendedBy: next.suspendedBy, reason, resume: next.resume }))) {
      throw new AppError('busy_retry');
    }
    const at = this.deps.clock().toISOString();
    const type = next.to === 'deleted' ? 'token.deleted' : next.to === 'suspended' ? 'token.suspended' : 'token.resumed';
    await this.#event(tx, row, next.to, reason, actor, undefined, at, type);
    return view(row, next.to, next.suspendedBy, reason, at);
  }

  async #event(tx: Sql, row: TokenRow, status: TokenStatus, reason: string, actor: Actor, card: TokenEvent['card'] | undefined, at: string | undefined, type: IssuerTokenEvent['type']): Promise<void> {
    const payload: TokenEvent = {
      token_ref: row.token_ref,
      brand: row.brand,
      status,
      reason,
      actor,
      occurred_at: at ?? this.deps.clock().toISOString(),
      pan_updated: card !== undefined,
      ...(card ? { card } : {}),
    };
    await enqueue(tx, { topic: TOKEN_EVENT_TOPIC, aggregateId: row.token_ref, payload });
    await enqueueIssuerTokenEvent(tx, row, { type, status, reason, actor, occurred_at: payload.occurred_at });
  }

  /** A card number of this brand in the calling issuer's ranges (else: not found, nothing confirmed). */
  #ownCard(brand: Brand, issuerId: string, pan: string, param: string): void {
    const v = validatePan(pan);
    if (!v.ok || v.network !== brand || isTokenBin(pan)) {
      throw new AppError('parameter_invalid', { param, message: `Invalid body parameter '${param}': not a ${BRAND_PROFILES[brand].name} card number.` });
    }
    if (this.deps.directory.issuerIdForPan(Secret.pan(pan)) !== issuerId) throw new AppError('resource_missing', { param, message: "No such card among this issuer's." });
  }
}

function view(row: TokenRow, status: TokenStatus, suspendedBy: Actor | null, reason: string | null, changedAt: string | null = null): TokenLifecycleView {
  return { object: 'token', token_ref: row.token_ref, status, suspended_by: suspendedBy, reason, last4: row.token_last4, changed_at: changedAt };
}
