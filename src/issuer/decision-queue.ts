import { Batcher } from '../infra/db/batcher.js';

/** What the queue reads of a 0100 waiting for its decision. */
export interface QueuedRequest {
  issuerId: string;
  req: { key: string; fingerprint: Buffer | null };
}

/**
 * The issuer's group commit for 0100s, on the shared batcher (infra/db/batcher.ts). A request is sent at
 * once when no batch is in flight; requests that arrive meanwhile wait for it and then go together, in one
 * transaction (AuthorizationEngine#decideBatch): a quiet issuer decides each alone with no added delay, a
 * busy one pays the round trips, locks and commit once per batch. A batch never holds two requests with
 * the same transaction key or the same card (the decisions are made from the rows as read): the later one
 * waits for the next batch, where it finds the earlier one's record (a retransmission) or the card's new
 * velocity and held total. A batch is handed over in card-fingerprint order, so every batch locks card
 * rows in one order. A batch that fails (its transaction rolled back, or answered busy) is decided again
 * one request at a time, so one request's trouble reaches its own caller only.
 */
export class DecisionQueue<I extends QueuedRequest, D> {
  readonly #batcher: Batcher<I, D>;

  constructor(decide: (batch: readonly I[]) => Promise<D[]>, maxBatch = 32, maxInFlight = 2) {
    this.#batcher = new Batcher<I, D>(
      async (items) => {
        const order = items.map((_, i) => i).sort((a, b) => compareFingerprints(items[a]!.req.fingerprint, items[b]!.req.fingerprint));
        const decided = await decide(order.map((i) => items[i]!));
        if (decided.length !== items.length) throw new Error(`a batch of ${items.length} answered ${decided.length} decisions`);
        const out = new Array<D>(items.length);
        order.forEach((i, at) => (out[i] = decided[at]!));
        return out;
      },
      async (item) => (await decide([item]))[0]!,
      {
        maxBatch,
        maxInFlight,
        keys: (item) => [`key:${item.issuerId}:${item.req.key}`, ...(item.req.fingerprint ? [`card:${item.req.fingerprint.toString('base64')}`] : [])],
        retryAlone: () => true,
      },
    );
  }

  submit(item: I): Promise<D> {
    return this.#batcher.submit(item);
  }
}

function compareFingerprints(a: Buffer | null, b: Buffer | null): number {
  if (a === null || b === null) return a === b ? 0 : a === null ? -1 : 1;
  return Buffer.compare(a, b);
}
