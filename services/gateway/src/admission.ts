export type Admission = 'queued' | 'queue-full' | 'client-full';

/**
 * The wait room used when every APP instance is at its concurrency limit: one FIFO per client
 * address, served round-robin, so one busy address (a script, a NAT with many members) cannot
 * starve the others. Who may wait is decided by queue time (shedding.ts); the total and the
 * per-address length are hard caps besides, so memory is bounded by `maxTotal` entries whatever
 * the load; the caller answers 503 to what does not fit.
 *
 * Pure: the caller owns timers and decides when a slot is free.
 */
export class FairQueue<T> {
  // A Map keeps insertion order: the first key is the next address to serve, and re-inserting a
  // key after serving it moves it to the back. That is the round-robin, with O(1) steps.
  private readonly byClient = new Map<string, T[]>();
  private count = 0;

  constructor(
    readonly maxTotal: number,
    readonly maxPerClient: number,
  ) {}

  get length(): number {
    return this.count;
  }

  /** Addresses with at least one waiting request. */
  get clients(): number {
    return this.byClient.size;
  }

  /** Requests of `client` waiting. */
  waitingOf(client: string): number {
    return this.byClient.get(client)?.length ?? 0;
  }

  push(client: string, item: T): Admission {
    if (this.count >= this.maxTotal) return 'queue-full';
    const queue = this.byClient.get(client);
    if (queue === undefined) {
      this.byClient.set(client, [item]);
    } else {
      if (queue.length >= this.maxPerClient) return 'client-full';
      queue.push(item);
    }
    this.count++;
    return 'queued';
  }

  /** The next request in round-robin order across addresses, FIFO within one. */
  shift(): T | undefined {
    const next = this.byClient.entries().next();
    if (next.done) return undefined;
    const [client, queue] = next.value;
    const item = queue.shift()!;
    this.byClient.delete(client);
    if (queue.length > 0) this.byClient.set(client, queue);
    this.count--;
    return item;
  }

  /** Takes out a request that gave up (timeout, client gone). */
  remove(client: string, item: T): boolean {
    const queue = this.byClient.get(client);
    const index = queue ? queue.indexOf(item) : -1;
    if (index < 0) return false;
    queue!.splice(index, 1);
    if (queue!.length === 0) this.byClient.delete(client);
    this.count--;
    return true;
  }

  /** Empties the queue (shutdown), returning what was waiting. */
  drain(): T[] {
    const all: T[] = [];
    for (const queue of this.byClient.values()) all.push(...queue);
    this.byClient.clear();
    this.count = 0;
    return all;
  }
}
