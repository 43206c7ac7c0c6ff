/**
 * A work queue of keys (namespace/name), like client-go's rate-limited queue:
 * - a key is processed by one worker at a time; adding it while it runs marks it to run once
 *   more afterwards, and adding it while it waits does nothing (events coalesce);
 * - distinct keys run in parallel up to `concurrency`;
 * - a failed key is retried after a per-key exponential backoff (base x 2^(failures-1), capped),
 *   itself held under an overall token bucket so a storm of failures cannot flood the API
 *   server; a success resets the key's backoff.
 */
export interface WorkQueueOptions {
  process: (key: string) => Promise<void>;
  concurrency?: number;
  baseRetryDelayMs?: number;
  maxRetryDelayMs?: number;
  /** Retries allowed per second over all keys, and the burst above it. */
  retriesPerSecond?: number;
  retryBurst?: number;
  onError?: (key: string, error: unknown, failures: number, retryInMs: number) => void;
  now?: () => number;
}

export interface WorkQueue {
  add(key: string): void;
  /** Adds the key after a delay (the earliest pending delay wins). */
  addAfter(key: string, delayMs: number): void;
  /** Whether the key waits for a delayed add (e.g. a retry after a failure). */
  isDelayed(key: string): boolean;
  /** Stops taking work, drops what waits, and resolves once running keys are done. */
  shutDown(): Promise<void>;
  readonly pending: number;
  readonly running: number;
}

export function createWorkQueue(options: WorkQueueOptions): WorkQueue {
  const concurrency = options.concurrency ?? 2;
  const base = options.baseRetryDelayMs ?? 50;
  const cap = options.maxRetryDelayMs ?? 60_000;
  const now = options.now ?? Date.now;
  const bucket = tokenBucket(options.retriesPerSecond ?? 10, options.retryBurst ?? 100, now);
  const queue: string[] = [];
  const queued = new Set<string>();
  const running = new Set<string>();
  const dirty = new Set<string>();
  const failures = new Map<string, number>();
  const delayed = new Map<string, { timer: NodeJS.Timeout; at: number }>();
  let shuttingDown = false;
  let drained: (() => void) | undefined;

  function add(key: string): void {
    if (shuttingDown) return;
    if (running.has(key)) {
      dirty.add(key);
      return;
    }
    if (queued.has(key)) return;
    queued.add(key);
    queue.push(key);
    pump();
  }

  function addAfter(key: string, delayMs: number): void {
    if (shuttingDown) return;
    if (delayMs <= 0) return add(key);
    const at = now() + delayMs;
    const existing = delayed.get(key);
    if (existing && existing.at <= at) return;
    if (existing) clearTimeout(existing.timer);
    const timer = setTimeout(() => {
      delayed.delete(key);
      add(key);
    }, delayMs);
    delayed.set(key, { timer, at });
  }

  function pump(): void {
    while (!shuttingDown && running.size < concurrency && queue.length > 0) {
      const key = queue.shift()!;
      queued.delete(key);
      running.add(key);
      void run(key);
    }
  }

  async function run(key: string): Promise<void> {
    try {
      await options.process(key);
      failures.delete(key);
    } catch (error) {
      const count = (failures.get(key) ?? 0) + 1;
      failures.set(key, count);
      const delay = Math.max(Math.min(cap, base * 2 ** (count - 1)), bucket.take());
      options.onError?.(key, error, count, delay);
      addAfter(key, delay);
    } finally {
      running.delete(key);
      if (dirty.delete(key)) add(key);
      pump();
      if (shuttingDown && running.size === 0) drained?.();
    }
  }

  return {
    add,
    addAfter,
    isDelayed: (key) => delayed.has(key),
    async shutDown() {
      shuttingDown = true;
      for (const { timer } of delayed.values()) clearTimeout(timer);
      delayed.clear();
      queue.length = 0;
      queued.clear();
      dirty.clear();
      if (running.size > 0) await new Promise<void>((resolve) => (drained = resolve));
    },
    get pending() {
      return queue.length + delayed.size;
    },
    get running() {
      return running.size;
    },
  };
}

/** Milliseconds until the next token; taking it reserves it (the wait can grow past zero). */
function tokenBucket(perSecond: number, burst: number, now: () => number): { take(): number } {
  let tokens = burst;
  let last = now();
  return {
    take() {
      const t = now();
      tokens = Math.min(burst, tokens + ((t - last) / 1000) * perSecond);
      last = t;
      tokens -= 1;
      return tokens >= 0 ? 0 : Math.ceil((-tokens / perSecond) * 1000);
    },
  };
}
