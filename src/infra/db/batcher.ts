/**
 * Many callers' writes of one shape as one statement: the application's group commit. A caller
 * submits its item and gets its own result back; items that arrive while a statement of the same shape
 * is in flight wait for it and then go together, so a quiet system sends each item at once (no added
 * delay) and a busy one sends fewer, larger statements: the per-statement costs (a round trip, the
 * executor's start-up, the table's CHECK constraints prepared again, a commit) are paid once per batch.
 *
 * Only for independent autocommit writes (each item correct alone). A batch is one statement: when
 * the database refuses it for its data (SQLSTATE class 22 or 23) or as a deadlock's victim (40P01),
 * nothing was written and each item is tried alone, so only the failing one's caller sees an error;
 * any other failure (a lost connection: the outcome is unknown) reaches every caller, as it would have
 * without batching.
 */
export interface BatcherOptions<I = unknown> {
  /** Items per statement at most. */
  maxBatch?: number;
  /** Statements of this shape in flight at once (each holds a connection). */
  maxInFlight?: number;
  /**
   * Items that must not share a statement (say, two writes of one row, which one INSERT … ON CONFLICT
   * DO UPDATE refuses): an item with a key already in the batch being formed waits for a later one,
   * ahead of the items that came after it. An item without keys never waits.
   */
  keys?: (item: I) => readonly string[];
  /**
   * Whether a failed batch is tried again item by item (default: the database refused it without writing
   * anything, see `refusedForData`). A caller whose batch is one transaction, rolled back whatever the
   * failure, may retry after any.
   */
  retryAlone?: (err: unknown) => boolean;
}

/** Statements sent for batches of more than one item, and the items they carried (this process; benchmarks report them). */
export const batchStats = { statements: 0, items: 0 };

interface Pending<I, O> {
  item: I;
  resolve: (value: O) => void;
  reject: (err: unknown) => void;
}

export class Batcher<I, O> {
  readonly #queue: Pending<I, O>[] = [];
  readonly #maxBatch: number;
  readonly #maxInFlight: number;
  readonly #keys: ((item: I) => readonly string[]) | undefined;
  readonly #retryAlone: (err: unknown) => boolean;
  #inFlight = 0;

  constructor(
    /** One statement for all the items; its results in the items' order. */
    private readonly runMany: (items: I[]) => Promise<O[]>,
    /** One item alone (a batch of one, and each item again when its batch failed). */
    private readonly runOne: (item: I) => Promise<O>,
    options: BatcherOptions<I> = {},
  ) {
    this.#maxBatch = options.maxBatch ?? 64;
    this.#maxInFlight = options.maxInFlight ?? 2;
    this.#keys = options.keys;
    this.#retryAlone = options.retryAlone ?? refusedForData;
  }

  submit(item: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      this.#queue.push({ item, resolve, reject });
      this.#pump();
    });
  }

  #pump(): void {
    while (this.#inFlight < this.#maxInFlight && this.#queue.length > 0) {
      const batch = this.#take();
      this.#inFlight++;
      void this.#run(batch).finally(() => {
        this.#inFlight--;
        this.#pump();
      });
    }
  }

  /** The next batch: the queue's first items, up to maxBatch, none with a key already in it. */
  #take(): Pending<I, O>[] {
    if (!this.#keys) return this.#queue.splice(0, this.#maxBatch);
    const batch: Pending<I, O>[] = [];
    const taken = new Set<string>();
    let kept = 0;
    for (const p of this.#queue) {
      const keys = this.#keys(p.item);
      if (batch.length < this.#maxBatch && !keys.some((k) => taken.has(k))) {
        for (const k of keys) taken.add(k);
        batch.push(p);
      } else {
        this.#queue[kept++] = p;
      }
    }
    this.#queue.length = kept;
    return batch;
  }

  async #run(batch: Pending<I, O>[]): Promise<void> {
    if (batch.length > 1) {
      let results: O[];
      try {
        batchStats.statements++;
        batchStats.items += batch.length;
        results = await this.runMany(batch.map((p) => p.item));
        if (results.length !== batch.length) throw new Error(`a batch of ${batch.length} answered ${results.length} results`);
      } catch (err) {
        if (!this.#retryAlone(err)) {
          for (const p of batch) p.reject(err);
          return;
        }
        results = [];
      }
      if (results.length === batch.length) {
        batch.forEach((p, i) => p.resolve(results[i]!));
        return;
      }
    }
    await Promise.all(
      batch.map(async (p) => {
        try {
          p.resolve(await this.runOne(p.item));
        } catch (err) {
          p.reject(err);
        }
      }),
    );
  }
}

/**
 * A statement the database refused without writing anything, for its data (a data exception, 22; an
 * integrity violation, 23) or as a deadlock's victim (40P01: two batches locking rows of one table):
 * each item alone is the answer.
 */
function refusedForData(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && (/^2[23][0-9A-Z]{3}$/.test(code) || code === '40P01');
}
