/**
 * The wallet's side of the platform's push channel and history (docs/lifecycle.md): it applies the
 * events the platform records for this device (card suspended, resumed, deleted, re-issued, keys
 * refreshed; transactions recorded or updated) to the Secure Element, the local card list and the
 * local transaction log, and reconciles the log with the platform's history. Each event is applied at
 * most once in effect: the cursor is stored after it, and applying one again changes nothing.
 */
import { DeviceError } from './errors.js';
import type { Card, DeviceEventItem, PlatformCardStatus, PlatformTransaction, WalletPlatformApi } from './platform-api.js';
import { SerialQueue } from './sealed.js';
import type { SecureElement } from './secure-element.js';
import type { DeviceStorage } from './storage.js';
import type { TransactionEntry, TransactionStatus } from './wallet.js';

const SLOT_EVENTS_CURSOR = 'wallet:events-cursor';
const SLOT_HISTORY_CURSOR = 'wallet:history-cursor';
const SLOT_CARDS = 'wallet:cards';

/** What the wallet needs of itself (its own queue-guarded log and SE removal). */
export interface WalletLog {
  recordTransaction(entry: TransactionEntry): Promise<void>;
  transactions(): Promise<TransactionEntry[]>;
  removeLocal(tokenRef: string): Promise<void>;
}

export interface AppliedEvent {
  id: string;
  type: string;
  /** What the event did on this device: 'se_suspended', 'se_resumed', 'se_deleted', 'se_keys_replaced', 'card_updated', 'logged', or 'ignored'. */
  effect: string;
}

/** A card as the wallet last heard of it (the list shown offline). */
export type LocalCard = Pick<Card, 'id' | 'token_ref' | 'network' | 'last4' | 'status' | 'exp_month' | 'exp_year' | 'issuer_name' | 'art_url'> & { reason: string | null };

const CARD_STATUSES: readonly PlatformCardStatus[] = ['inactive', 'active', 'suspended', 'deleted'];

export class WalletSync {
  readonly #queue = new SerialQueue();

  constructor(
    private readonly api: WalletPlatformApi,
    private readonly se: SecureElement,
    private readonly storage: DeviceStorage,
    private readonly log: WalletLog,
  ) {}

  /** The id of the last event applied ('0' before the first). */
  async cursor(): Promise<string> {
    const v = await this.storage.get(SLOT_EVENTS_CURSOR);
    return typeof v === 'string' && /^\d{1,18}$/.test(v) ? v : '0';
  }

  /** The card list as the events left it (what the wallet shows without the network), newest change last. */
  async localCards(): Promise<LocalCard[]> {
    const v = await this.storage.get(SLOT_CARDS);
    return Array.isArray(v) ? (v as LocalCard[]) : [];
  }

  /**
   * Fetches the events after the stored cursor, page by page, and applies each in order; the cursor
   * moves past an event only once it is applied. Answers what each did.
   */
  async syncEvents(): Promise<AppliedEvent[]> {
    const events = this.api.events?.bind(this.api);
    if (!events) throw new DeviceError('wallet_request_invalid', 'this platform connection has no event pages');
    return this.#queue.run(async () => {
      const applied: AppliedEvent[] = [];
      for (let pages = 0; pages < 1000; pages++) {
        const page = await events(await this.cursor(), 100);
        if (!page || !Array.isArray(page.data)) throw new DeviceError('wallet_response_invalid', 'event page is malformed');
        for (const e of page.data) {
          applied.push(await this.#apply(e));
          await this.storage.put(SLOT_EVENTS_CURSOR, e.id);
        }
        if (!page.has_more || page.data.length === 0) break;
      }
      return applied;
    });
  }

  /** Applies one event (from the stream, or a page); safe to apply again. */
  async applyEvent(e: DeviceEventItem): Promise<AppliedEvent> {
    return this.#queue.run(() => this.#apply(e));
  }

  async #apply(e: DeviceEventItem): Promise<AppliedEvent> {
    if (typeof e !== 'object' || e === null || typeof e.id !== 'string' || typeof e.type !== 'string') {
      throw new DeviceError('wallet_response_invalid', 'event is malformed');
    }
    const data = (typeof e.data === 'object' && e.data !== null ? e.data : {}) as Record<string, unknown>;
    const done = (effect: string): AppliedEvent => ({ id: e.id, type: e.type, effect });
    switch (e.type) {
      case 'card.status_changed':
      case 'card.updated':
        return done(await this.#card(data));
      case 'card.keys_refreshed': {
        const card = data.card as Record<string, unknown> | undefined;
        const payload = data.provisioning_payload;
        if (typeof card?.token_ref !== 'string' || typeof payload !== 'string') throw new DeviceError('wallet_response_invalid', 'key refresh event is malformed');
        if (!(await this.#inSe(card.token_ref))) return done('ignored');
        // The SE checks the payload is for this token and replaces the card's keys (and number) with it.
        await this.se.install(payload, { tokenRef: card.token_ref });
        await this.#card(card);
        return done('se_keys_replaced');
      }
      case 'transaction.recorded':
      case 'transaction.updated':
        await this.log.recordTransaction(toEntry(data as unknown as PlatformTransaction));
        return done('logged');
      default:
        return done('ignored');
    }
  }

  /** A card's new state: the SE follows the platform (suspend, resume, delete), the local list too. */
  async #card(data: Record<string, unknown>): Promise<string> {
    const { id, token_ref: tokenRef, status } = data;
    if (typeof id !== 'string' || typeof tokenRef !== 'string' || !CARD_STATUSES.includes(status as PlatformCardStatus)) {
      throw new DeviceError('wallet_response_invalid', 'card event is malformed');
    }
    await this.#remember(data);
    const local = (await this.se.listCards()).find((c) => c.tokenRef === tokenRef);
    if (!local) return 'card_updated';
    if (status === 'deleted') {
      await this.log.removeLocal(tokenRef);
      return 'se_deleted';
    }
    if (status === 'suspended' && local.status !== 'suspended') {
      await this.se.setStatus(tokenRef, 'suspended');
      return 'se_suspended';
    }
    if (status === 'active' && local.status !== 'active') {
      await this.se.setStatus(tokenRef, 'active');
      return 'se_resumed';
    }
    return 'card_updated';
  }

  async #inSe(tokenRef: string): Promise<boolean> {
    return (await this.se.listCards()).some((c) => c.tokenRef === tokenRef);
  }

  async #remember(data: Record<string, unknown>): Promise<void> {
    const pick = (k: string) => data[k];
    const card: LocalCard = {
      id: String(pick('id')),
      token_ref: String(pick('token_ref')),
      network: pick('network') as LocalCard['network'],
      last4: String(pick('last4') ?? ''),
      status: pick('status') as PlatformCardStatus,
      exp_month: Number(pick('exp_month') ?? 0),
      exp_year: Number(pick('exp_year') ?? 0),
      issuer_name: String(pick('issuer_name') ?? ''),
      art_url: String(pick('art_url') ?? ''),
      reason: typeof pick('reason') === 'string' ? (pick('reason') as string) : null,
    };
    const list = (await this.localCards()).filter((c) => c.id !== card.id);
    if (card.status !== 'deleted') list.push(card);
    await this.storage.put(SLOT_CARDS, list);
  }

  /**
   * Reconciles the local log with the platform's history: the pages newer than the last transaction
   * seen (ending_before the stored cursor), merged by transaction id, so a transaction the device logged
   * itself or heard of by push is updated in place (its status), never duplicated. Answers how many
   * entries were added and how many changed.
   */
  async reconcileTransactions(): Promise<{ added: number; updated: number; cursor: string | null }> {
    const list = this.api.transactions?.bind(this.api);
    if (!list) throw new DeviceError('wallet_request_invalid', 'this platform connection has no transaction history');
    return this.#queue.run(async () => {
      const stored = await this.storage.get(SLOT_HISTORY_CURSOR);
      let cursor = typeof stored === 'string' ? stored : null;
      const known = new Map((await this.log.transactions()).map((t) => [t.id, t]));
      let added = 0;
      let updated = 0;
      for (let pages = 0; pages < 1000; pages++) {
        // With a cursor: the oldest page newer than it first (ending_before), then onwards to the newest.
        const page = await list(cursor ? { limit: 100, ending_before: cursor } : { limit: 100 });
        if (!page || !Array.isArray(page.data)) throw new DeviceError('wallet_response_invalid', 'history page is malformed');
        // Oldest first, so the log's order of recording follows the platform's.
        for (const t of [...page.data].reverse()) {
          const entry = toEntry(t);
          const before = known.get(entry.id);
          if (before && sameEntry(before, entry)) continue;
          await this.log.recordTransaction(entry);
          known.set(entry.id, entry);
          if (before) updated++;
          else added++;
        }
        const newest = page.data[0]?.id;
        if (newest && (!cursor || newest > cursor)) {
          cursor = newest;
          await this.storage.put(SLOT_HISTORY_CURSOR, cursor);
        }
        // Without a cursor the first page is the newest: older ones are history the log need not hold.
        if (!page.has_more || page.data.length === 0 || stored === undefined) break;
      }
      return { added, updated, cursor };
    });
  }
}

function sameEntry(a: TransactionEntry, b: TransactionEntry): boolean {
  return a.status === b.status && a.amount === b.amount && a.at === b.at && (a.type ?? null) === (b.type ?? null) && (a.originalId ?? null) === (b.originalId ?? null);
}

const STATUS_MAP: Record<string, TransactionStatus> = { approved: 'approved', declined: 'declined', timed_out: 'declined', reversed: 'reversed', refunded: 'refunded', pending: 'pending' };

/** A platform transaction as a local log entry. */
export function toEntry(t: PlatformTransaction): TransactionEntry {
  if (typeof t !== 'object' || t === null || typeof t.id !== 'string') throw new DeviceError('wallet_response_invalid', 'transaction is malformed');
  return {
    id: t.id,
    cardId: t.card_id,
    amount: t.amount,
    currency: t.currency,
    merchant: t.merchant_name,
    status: STATUS_MAP[t.status] ?? 'declined',
    at: t.occurred_at,
    type: t.type,
    originalId: t.original_id ?? null,
  };
}
