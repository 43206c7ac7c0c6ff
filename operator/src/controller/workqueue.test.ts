import { createWorkQueue } from './workqueue';

const tick = (ms = 0) => new Promise((r) => setTimeout(r, ms));

async function until(check: () => boolean, what: string, timeoutMs = 2_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await tick(2);
  }
}

/** A process function whose calls the test completes by hand. */
function manual() {
  const calls: Array<{ key: string; done: () => void; fail: (e: Error) => void }> = [];
  const process = (key: string) => new Promise<void>((resolve, reject) => calls.push({ key, done: resolve, fail: reject }));
  return { calls, process };
}

describe('work queue', () => {
  it('never runs one key twice at once, and runs it once more if it was added meanwhile', async () => {
    const { calls, process } = manual();
    const queue = createWorkQueue({ process, concurrency: 4 });
    queue.add('ns/a');
    await until(() => calls.length === 1, 'first run');
    queue.add('ns/a');
    queue.add('ns/a');
    await tick(10);
    expect(calls).toHaveLength(1);
    calls[0]!.done();
    await until(() => calls.length === 2, 'the rerun');
    calls[1]!.done();
    await tick(10);
    expect(calls).toHaveLength(2);
    await queue.shutDown();
  });

  it('coalesces adds of a waiting key and runs distinct keys in parallel up to the concurrency', async () => {
    const { calls, process } = manual();
    const queue = createWorkQueue({ process, concurrency: 2 });
    for (const key of ['a', 'b', 'c', 'c', 'a']) queue.add(key);
    await until(() => calls.length === 2, 'two workers busy');
    expect(calls.map((c) => c.key)).toEqual(['a', 'b']);
    // "a" runs, so the second "a" waits for it; "c" was queued once.
    expect(queue.pending).toBe(1);
    calls[0]!.done();
    await until(() => calls.length === 3, 'c');
    calls[1]!.done();
    calls[2]!.done();
    await until(() => calls.length === 4, 'a again');
    expect(calls.map((c) => c.key)).toEqual(['a', 'b', 'c', 'a']);
    calls[3]!.done();
    await queue.shutDown();
  });

  it('retries a failing key with exponential backoff and resets it after a success', async () => {
    const times: number[] = [];
    let failuresLeft = 3;
    const retries: number[] = [];
    const queue = createWorkQueue({
      process: async () => {
        times.push(Date.now());
        if (failuresLeft-- > 0) throw new Error('conflict');
      },
      baseRetryDelayMs: 20,
      onError: (_key, _error, _failures, retryInMs) => retries.push(retryInMs),
    });
    queue.add('k');
    await until(() => times.length === 4, 'three retries');
    expect(retries).toEqual([20, 40, 80]);
    expect(times[3]! - times[0]!).toBeGreaterThanOrEqual(130);
    // After the success the next failure starts from the base delay again.
    failuresLeft = 1;
    queue.add('k');
    await until(() => retries.length === 4, 'a new failure');
    expect(retries[3]).toBe(20);
    await until(() => times.length === 6, 'its retry');
    await queue.shutDown();
  });

  it('caps the retry delay', async () => {
    const retries: number[] = [];
    const queue = createWorkQueue({
      process: async () => {
        throw new Error('down');
      },
      baseRetryDelayMs: 1,
      maxRetryDelayMs: 4,
      onError: (_k, _e, _f, retryInMs) => retries.push(retryInMs),
    });
    queue.add('k');
    await until(() => retries.length >= 6, 'six failures');
    expect(retries.slice(0, 6)).toEqual([1, 2, 4, 4, 4, 4]);
    await queue.shutDown();
  });

  it('holds retries of many keys under the overall rate', async () => {
    let clock = 0;
    const retries: number[] = [];
    const queue = createWorkQueue({
      process: async () => {
        throw new Error('down');
      },
      baseRetryDelayMs: 1,
      retriesPerSecond: 10,
      retryBurst: 2,
      now: () => clock,
      onError: (_k, _e, _f, retryInMs) => retries.push(retryInMs),
    });
    for (const key of ['a', 'b', 'c', 'd']) queue.add(key);
    await until(() => retries.length >= 4, 'four failures');
    // Two tokens of burst, then one token every 100 ms.
    expect(retries.slice(0, 4)).toEqual([1, 1, 100, 200]);
    clock = 10_000;
    await queue.shutDown();
  });

  it('addAfter keeps the earliest time', async () => {
    const seen: string[] = [];
    const queue = createWorkQueue({ process: async (k) => void seen.push(k) });
    queue.addAfter('x', 500);
    queue.addAfter('x', 10);
    queue.addAfter('x', 300);
    expect(queue.isDelayed('x')).toBe(true);
    await until(() => seen.length === 1, 'x');
    expect(queue.isDelayed('x')).toBe(false);
    await tick(50);
    expect(seen).toEqual(['x']);
    expect(queue.pending).toBe(0);
    await queue.shutDown();
  });

  it('shutDown drops waiting work and waits for running work', async () => {
    const { calls, process } = manual();
    const queue = createWorkQueue({ process, concurrency: 1 });
    queue.add('a');
    queue.add('b');
    queue.addAfter('c', 1_000);
    await until(() => calls.length === 1, 'a');
    let finished = false;
    const stopping = queue.shutDown().then(() => (finished = true));
    await tick(10);
    expect(finished).toBe(false);
    calls[0]!.done();
    await stopping;
    expect(calls.map((c) => c.key)).toEqual(['a']);
    queue.add('d');
    await tick(10);
    expect(calls).toHaveLength(1);
  });
});
