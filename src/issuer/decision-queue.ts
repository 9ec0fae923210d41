import { batchStats } from '../infra/db/batcher.js';

/** What the queue reads of a 0100 waiting for its decision. */
export interface QueuedRequest {
  issuerId: string;
  req: { key: string; fingerprint: Buffer | null };
}

interface Waiting<I, D> {
  item: I;
  resolve: (d: D) => void;
  reject: (err: unknown) => void;
}

/**
 * The issuer's group commit for 0100s. A request is sent at once when no batch is in flight; requests that
 * arrive meanwhile wait for it and then go together, in one transaction (AuthorizationEngine#decideBatch):
 * a quiet issuer decides each alone with no added delay, a busy one pays the round trips, locks and
 * commit once per batch. A batch never holds two requests with the same transaction key or the same card
 * (the decisions are made from the rows as read): the later one waits for the next batch, where it finds
 * the earlier one's record (a retransmission) or the card's new velocity and held total.
 */
export class DecisionQueue<I extends QueuedRequest, D> {
  readonly #queue: Waiting<I, D>[] = [];
  #inFlight = 0;

  constructor(
    private readonly decide: (batch: readonly I[]) => Promise<D[]>,
    private readonly maxBatch = 32,
    private readonly maxInFlight = 2,
  ) {}

  submit(item: I): Promise<D> {
    return new Promise<D>((resolve, reject) => {
      this.#queue.push({ item, resolve, reject });
      this.#pump();
    });
  }

  #pump(): void {
    while (this.#inFlight < this.maxInFlight && this.#queue.length > 0) {
      const batch: Waiting<I, D>[] = [];
      const keys = new Set<string>();
      const cards = new Set<string>();
      for (let i = 0; i < this.#queue.length && batch.length < this.maxBatch; ) {
        const p = this.#queue[i]!;
        const key = `${p.item.issuerId}:${p.item.req.key}`;
        const card = p.item.req.fingerprint?.toString('base64');
        if (keys.has(key) || (card !== undefined && cards.has(card))) {
          i++;
          continue;
        }
        keys.add(key);
        if (card !== undefined) cards.add(card);
        batch.push(p);
        this.#queue.splice(i, 1);
      }
      // Card rows are locked in the order of the batch: the same order in every batch.
      batch.sort((a, b) => compareFingerprints(a.item.req.fingerprint, b.item.req.fingerprint));
      if (batch.length > 1) {
        batchStats.statements++;
        batchStats.items += batch.length;
      }
      this.#inFlight++;
      void this.decide(batch.map((p) => p.item))
        .then(
          (decisions) => batch.forEach((p, i) => p.resolve(decisions[i]!)),
          (err: unknown) => batch.forEach((p) => p.reject(err)),
        )
        .finally(() => {
          this.#inFlight--;
          this.#pump();
        });
    }
  }
}

function compareFingerprints(a: Buffer | null, b: Buffer | null): number {
  if (a === null || b === null) return a === b ? 0 : a === null ? -1 : 1;
  return Buffer.compare(a, b);
}
