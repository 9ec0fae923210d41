import type { Cache } from '../infra/cache/index.js';
import type { Database, Sql } from '../infra/db/database.js';
import { AppError, errorEntry, lookupError, registerErrors } from '../infra/errors.js';
import type { Network, NetworkGateway, TokenStatusView } from './gateway.js';
import { recordDeviceEvent } from './push.js';
import { cardRepo, deviceRepo, type CardRow, type DeviceRow } from './repository.js';
import { fromParty, publicCard, publicDevice } from './wallet-service.js';

/** The push-channel event of a card change: its new state (and why), for every device of the user. */
export async function recordCardEvent(tx: Sql, row: CardRow, type: 'card.status_changed' | 'card.updated', extra: { reason?: string | null } = {}): Promise<string> {
  const life = await cardRepo.lifecycleOf(tx, row.id);
  return recordDeviceEvent(tx, {
    userId: row.user_id,
    type,
    payload: { ...publicCard(row), reason: extra.reason ?? life?.status_reason ?? null, suspended_by: life?.suspended_by ?? null },
  });
}

// The networks' answer to a change that is not allowed, passed on to the device as it is. Registered by
// whichever module loads first (the networks register the same entry when they run in this process).
if (!lookupError('token_transition_forbidden')) {
  registerErrors({
    token_transition_forbidden: errorEntry(
      'invalid_request_error',
      409,
      "This change of the token's status is not allowed: a deleted token is final, only an active token can be suspended, and a suspended token is resumed only by the party that suspended it or by the issuer.",
    ),
  });
}

/** What a network tells its token requestor after each change of a token (outbox topic `network.token`). */
export interface NetworkTokenEvent {
  token_ref: string;
  brand: Network;
  status: 'inactive' | 'active' | 'suspended' | 'deleted';
  reason: string;
  actor: 'platform' | 'issuer' | 'network';
  occurred_at: string;
  pan_updated?: boolean;
  card?: { last4: string; exp_month: number; exp_year: number };
  /** A key refresh: the new provisioning payload (a JWE only the device SE opens), and the token's last four digits. */
  keys_refreshed?: boolean;
  provisioning_payload?: string;
  token_last4?: string;
}

type Action = 'suspend' | 'resume' | 'delete';

/**
 * Flow 4 on the wallet platform: the user suspends, resumes or removes a card; a device is reported
 * lost (its tokens suspended at the networks, its sessions stop), found (those tokens resumed) or erased
 * (its tokens deleted). All of it server-side: the device need not be online. The network is the source
 * of truth; the platform mirrors its answers at once and its `network.token` events afterwards.
 */
export class CardLifecycle {
  constructor(
    private readonly db: Database,
    private readonly cache: Cache,
    private readonly networks: NetworkGateway,
    /** Told after a change of the user's cards committed (wakes the user's open event streams). */
    private readonly onChange: (userId: string) => void = () => {},
  ) {}

  async #card(userId: string, cardId: string): Promise<CardRow> {
    const card = cardId.startsWith('card_') ? await cardRepo.ownedBy(this.db, cardId, userId) : undefined;
    if (!card) throw new AppError('resource_missing', { param: 'card_id' });
    return card;
  }

  async #device(userId: string, deviceId: string): Promise<DeviceRow> {
    const device = deviceId.startsWith('dev_') ? await deviceRepo.ownedBy(this.db, deviceId, userId) : undefined;
    if (!device) throw new AppError('resource_missing', { param: 'device_id' });
    return device;
  }

  /** Calls the network, then mirrors its answer (the token's state there) into the card. */
  async #change(card: CardRow, action: Action, reason: string, idempotencyKey?: string): Promise<CardRow> {
    const answer: TokenStatusView = await this.networks.changeTokenStatus(card.network as Network, card.token_ref, action, reason, idempotencyKey).catch(fromParty);
    // The mirror and its push event commit together: a device never misses a change it could see in the list.
    const row = await this.db.tx(async (tx) => {
      const mirrored = await cardRepo.mirrorStatus(tx, card.id, { status: answer.status, reason: answer.reason ?? reason, suspendedBy: answer.suspended_by, at: answer.changed_at });
      if (mirrored) await recordCardEvent(tx, mirrored, 'card.status_changed');
      return mirrored;
    });
    await this.cache.del(`cards:${card.user_id}`);
    this.onChange(card.user_id);
    return row ?? card;
  }

  /** POST /cards/:card_id/suspend|resume, DELETE /cards/:card_id (removing a card deletes its token). */
  async changeCard(userId: string, cardId: string, action: Action, idempotencyKey?: string) {
    const card = await this.#card(userId, cardId);
    const reason = action === 'delete' ? 'user_removed' : 'user_request';
    return publicCard(await this.#change(card, action, reason, idempotencyKey));
  }

  /** Drops the cached principals of the device's sessions: the resolver then sees the device's status. */
  async #forgetSessions(deviceId: string): Promise<void> {
    for (const hash of await deviceRepo.sessionHashesOf(this.db, deviceId)) await this.cache.del(`session:${hash.toString('hex')}`);
  }

  /**
   * "Find My": the device is lost. Its sessions stop at once; every active token on it is suspended at
   * its network (reason device_lost). Reporting it again finishes what a failure left undone.
   */
  async reportLost(userId: string, deviceId: string) {
    let device = await this.#device(userId, deviceId);
    if (device.status === 'erased') throw new AppError('resource_conflict', { param: 'device_id', message: 'This device is erased.' });
    if (device.status !== 'lost') device = await deviceRepo.setStatus(this.db, device.id, 'lost');
    await this.#forgetSessions(device.id);
    const cards = [];
    for (const card of await cardRepo.liveOnDevice(this.db, device.id)) {
      if (card.status !== 'active') {
        cards.push(card);
        continue;
      }
      try {
        cards.push(await this.#change(card, 'suspend', 'device_lost'));
      } catch (err) {
        // Suspended or deleted meanwhile (by the issuer): nothing to do for it.
        if (!(err instanceof AppError && err.code === 'token_transition_forbidden')) throw err;
        cards.push(card);
      }
    }
    await this.cache.del(`cards:${userId}`);
    return { device: publicDevice(device), cards: cards.map((c) => publicCard(c)) };
  }

  /** The lost device is found: the tokens the platform suspended for it are resumed (an issuer's suspension stays). */
  async reportFound(userId: string, deviceId: string) {
    let device = await this.#device(userId, deviceId);
    if (device.status === 'erased') throw new AppError('resource_conflict', { param: 'device_id', message: 'This device is erased.' });
    const cards = [];
    for (const card of await cardRepo.liveOnDevice(this.db, device.id)) {
      if (card.status !== 'suspended' || card.status_reason !== 'device_lost' || card.suspended_by !== 'platform') {
        cards.push(card);
        continue;
      }
      try {
        cards.push(await this.#change(card, 'resume', 'device_found'));
      } catch (err) {
        if (!(err instanceof AppError && err.code === 'token_transition_forbidden')) throw err;
        cards.push(card);
      }
    }
    // The device comes back only once its tokens are resumed (a failure above leaves it lost: report it found again).
    if (device.status !== 'active') device = await deviceRepo.setStatus(this.db, device.id, 'active');
    await this.#forgetSessions(device.id);
    await this.cache.del(`cards:${userId}`);
    return { device: publicDevice(device), cards: cards.map((c) => publicCard(c)) };
  }

  /** Erase: the device's tokens are deleted at their networks, its sessions revoked; final. */
  async erase(userId: string, deviceId: string) {
    let device = await this.#device(userId, deviceId);
    if (device.status !== 'erased') device = await deviceRepo.setStatus(this.db, device.id, 'lost');
    await deviceRepo.revokeSessionsOf(this.db, device.id);
    await this.#forgetSessions(device.id);
    const cards = [];
    for (const card of await cardRepo.liveOnDevice(this.db, device.id)) {
      try {
        cards.push(await this.#change(card, 'delete', 'device_erased'));
      } catch (err) {
        if (!(err instanceof AppError && err.code === 'token_transition_forbidden')) throw err;
        const row = await this.db.tx(async (tx) => {
          const mirrored = await cardRepo.mirrorStatus(tx, card.id, { status: 'deleted', reason: 'device_erased', suspendedBy: null });
          if (mirrored) await recordCardEvent(tx, mirrored, 'card.status_changed');
          return mirrored;
        });
        this.onChange(userId);
        cards.push(row ?? card);
      }
    }
    device = await deviceRepo.setStatus(this.db, device.id, 'erased');
    await this.cache.del(`cards:${userId}`);
    return { device: publicDevice(device), cards: cards.map((c) => publicCard(c)) };
  }

  /** POST /network-events/tokens: a network's `network.token` event, mirrored into the card (in order per token), in the route's transaction. */
  async recordTokenEvent(tx: Sql, e: NetworkTokenEvent): Promise<{ card_id: string | null; applied: boolean; user_id?: string }> {
    const card = await cardRepo.byTokenRef(tx, e.brand, e.token_ref);
    if (!card) return { card_id: null, applied: false };
    if (card.status === 'deleted') return { card_id: card.id, applied: false };
    // A key refresh: the payload goes to the card's device on its push channel (the platform cannot read it).
    if (e.keys_refreshed && e.provisioning_payload) {
      if (e.token_last4) await cardRepo.updateTokenLast4(tx, card.id, e.token_last4);
      const row = (await cardRepo.ownedBy(tx, card.id, card.user_id)) ?? card;
      await recordDeviceEvent(tx, { userId: card.user_id, deviceId: card.device_id, type: 'card.keys_refreshed', payload: { card: publicCard(row), provisioning_payload: e.provisioning_payload } });
      return { card_id: card.id, applied: true, user_id: card.user_id };
    }
    // A PAN update leaves the status as it is (and why it is so); it changes what the wallet shows.
    if (e.pan_updated) {
      if (e.card) {
        await cardRepo.updateCardDetails(tx, card.id, { last4: e.card.last4, expMonth: e.card.exp_month, expYear: e.card.exp_year });
        const row = await cardRepo.ownedBy(tx, card.id, card.user_id);
        if (row) await recordCardEvent(tx, row, 'card.updated', { reason: e.reason });
      }
    } else {
      const suspendedBy = e.status === 'suspended' ? e.actor : null;
      const before = await cardRepo.lifecycleOf(tx, card.id);
      // Events arrive late (at least once, in order per token): one no newer than the state the platform
      // already mirrored (its own change's answer, or a later event) is history, not news.
      if (before?.network_status_at && Date.parse(e.occurred_at) <= new Date(before.network_status_at).getTime()) return { card_id: card.id, applied: false, user_id: card.user_id };
      const row = await cardRepo.mirrorStatus(tx, card.id, { status: e.status, reason: e.reason, suspendedBy, at: e.occurred_at });
      // The platform's own change came back as the network's event: the device has heard of it already.
      const same = row && card.status === e.status && before?.status_reason === e.reason && (before?.suspended_by ?? null) === suspendedBy;
      if (row && !same) await recordCardEvent(tx, row, 'card.status_changed');
    }
    return { card_id: card.id, applied: true, user_id: card.user_id };
  }

  /** After a token event's transaction committed: the user's cached card lists go, their open streams wake. */
  async committed(userId: string): Promise<void> {
    await this.cache.del(`cards:${userId}`);
    this.onChange(userId);
  }
}
