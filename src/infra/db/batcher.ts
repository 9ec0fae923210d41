/**
 * Many callers' writes of one shape as one statement: the application's group commit. A caller
 * submits its item and gets its own result back; items that arrive while a statement of the same shape
 * is in flight wait for it and then go together, so a quiet system sends each item at once (no added
 * delay) and a busy one sends fewer, larger statements: the per-statement costs (a round trip, the
 * executor's start-up, the table's CHECK constraints prepared again, a commit) are paid once per batch.
 *
 * Only for independent autocommit writes (each item one row of its own, correct alone). A batch is
 * one statement: when the database refuses it for its data (SQLSTATE class 22 or 23: nothing was
 * written), each item is tried alone, so only the failing one's caller sees an error; any other failure
 * (a lost connection: the outcome is unknown) reaches every caller, as it would have without batching.
 */
export interface BatcherOptions {
  /** Items per statement at most. */
  maxBatch?: number;
  /** Statements of this shape in flight at once (each holds a connection). */
  maxInFlight?: number;
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
  #inFlight = 0;

  constructor(
    /** One statement for all the items; its results in the items' order. */
    private readonly runMany: (items: I[]) => Promise<O[]>,
    /** One item alone (a batch of one, and each item again when its batch failed). */
    private readonly runOne: (item: I) => Promise<O>,
    options: BatcherOptions = {},
  ) {
    this.#maxBatch = options.maxBatch ?? 64;
    this.#maxInFlight = options.maxInFlight ?? 2;
  }

  submit(item: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      this.#queue.push({ item, resolve, reject });
      this.#pump();
    });
  }

  #pump(): void {
    while (this.#inFlight < this.#maxInFlight && this.#queue.length > 0) {
      const batch = this.#queue.splice(0, this.#maxBatch);
      this.#inFlight++;
      void this.#run(batch).finally(() => {
        this.#inFlight--;
        this.#pump();
      });
    }
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
        if (!refusedForData(err)) {
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

/** A statement the database refused for its data: a data exception (22) or an integrity violation (23). */
function refusedForData(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^2[23][0-9A-Z]{3}$/.test(code);
}
