/**
 * Pure: which deductions in hand go into the next transaction. Each deduction locks its member's
 * row, so one member's deductions must apply in delivery order and never in two transactions at
 * once; different members' may run in parallel.
 */

export interface BatchPlan<T> {
  batch: T[];
  /** What stays queued, still in arrival order. */
  rest: T[];
}

/**
 * Takes up to `maxBatch` items in arrival order, skipping every item whose key is busy (in a
 * running batch) or behind a skipped item of the same key, so a key's items are taken in order
 * and never overtake one another. Several items of one key may share a batch (in order).
 */
export function planBatch<T>(pending: readonly T[], keyOf: (item: T) => string, busy: ReadonlySet<string>, maxBatch: number): BatchPlan<T> {
  const batch: T[] = [];
  const rest: T[] = [];
  const blocked = new Set(busy);
  for (const item of pending) {
    const key = keyOf(item);
    if (batch.length < maxBatch && !blocked.has(key)) batch.push(item);
    else {
      blocked.add(key);
      rest.push(item);
    }
  }
  return { batch, rest };
}

export interface Dispatcher<T> {
  /** Queues an item behind the others. */
  enqueue(item: T): void;
  /** The next batch to run, or undefined: `maxRunning` batches are running or nothing may start. */
  take(): T[] | undefined;
  /** A batch finished (applied or failed): its keys are free again. */
  done(batch: readonly T[]): void;
  readonly pending: number;
  readonly running: number;
}

/**
 * Pure state (no I/O, no timers): a queue of items and the keys of the running batches. A batch
 * starts as soon as a slot is free, with whatever may go, so at low load a batch is one item (no
 * waiting for company) and under load batches grow while earlier ones run.
 */
export function createDispatcher<T>(options: { keyOf: (item: T) => string; maxRunning: number; maxBatch: number }): Dispatcher<T> {
  const { keyOf, maxRunning, maxBatch } = options;
  let queue: T[] = [];
  const busy = new Map<string, number>();
  let running = 0;
  return {
    enqueue(item) {
      queue.push(item);
    },
    take() {
      if (running >= maxRunning || queue.length === 0) return undefined;
      const { batch, rest } = planBatch(queue, keyOf, new Set(busy.keys()), maxBatch);
      if (batch.length === 0) return undefined;
      queue = rest;
      running += 1;
      for (const item of batch) busy.set(keyOf(item), (busy.get(keyOf(item)) ?? 0) + 1);
      return batch;
    },
    done(batch) {
      running -= 1;
      for (const item of batch) {
        const key = keyOf(item);
        const left = (busy.get(key) ?? 1) - 1;
        if (left > 0) busy.set(key, left);
        else busy.delete(key);
      }
    },
    get pending() {
      return queue.length;
    },
    get running() {
      return running;
    },
  };
}
