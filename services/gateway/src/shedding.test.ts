import fc from 'fast-check';
import { DRAIN_TIME_CONSTANT_MS, DrainRate, expectedWaitMs, queuePosition, retryAfterSeconds, shedDecision, type ShedInput } from './shedding';

const seed = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : 20261204;
const t0 = 1_790_000_000_000;

/** A rate fed one completion every `everyMs` from t0 until `untilMs` after it. */
function fed(everyMs: number, untilMs: number): DrainRate {
  const rate = new DrainRate();
  for (let t = 0; t <= untilMs; t += everyMs) rate.observe(t0 + t, 40);
  return rate;
}

describe('DrainRate', () => {
  it('is unknown before any completion, and what a full pool would do during the first quarter second', () => {
    const rate = new DrainRate();
    expect(rate.perSecond(t0, 8)).toBeUndefined();
    rate.observe(t0, 100);
    expect(rate.perSecond(t0 + 100, 8)).toBe(80);
    rate.observe(t0 + 100, 200);
    expect(rate.perSecond(t0 + 150, 8)).toBe(8000 / 110);
    rate.observe(t0 + 160, 0);
    expect(rate.perSecond(t0 + 160, 8)).toBeLessThan(Infinity);
  });

  it.each([
    [10, 300, 100],
    [10, 5000, 100],
    [2, 3000, 500],
    [50, 2000, 20],
    [1, 1000, 1000],
  ])('one completion every %p ms for %p ms reads about %p per second', (everyMs, untilMs, expected) => {
    const value = fed(everyMs, untilMs).perSecond(t0 + untilMs, 1000)!;
    expect(value).toBeGreaterThan(expected * 0.85);
    expect(value).toBeLessThan(expected * 1.15);
  });

  it('never reads more than a full pool can do: its slots over the service time', () => {
    expect(fed(1, 1000).perSecond(t0 + 1000, 4)).toBe(100);
  });

  it('falls towards 0 when completions stop, so a stalled pool stops admitting', () => {
    const rate = fed(10, 2000);
    const during = rate.perSecond(t0 + 2000, 1000)!;
    const later = rate.perSecond(t0 + 2000 + DRAIN_TIME_CONSTANT_MS, 1000)!;
    expect(later).toBeLessThan(during / Math.E);
    expect(later).toBeGreaterThan((0.8 * during) / Math.E);
    expect(rate.perSecond(t0 + 2000 + 10 * DRAIN_TIME_CONSTANT_MS, 1000)!).toBeLessThan(0.01);
  });

  it('follows a change of rate within about a time constant', () => {
    const rate = fed(10, 3000);
    for (let t = 3000; t <= 6000; t += 2) rate.observe(t0 + t, 40);
    expect(rate.perSecond(t0 + 6000, 1000)!).toBeGreaterThan(450);
  });

  it('starts afresh after an idle spell instead of reading the idle time as a slow pool', () => {
    const rate = fed(10, 1000);
    const woke = t0 + 60_000;
    rate.observe(woke, 40);
    // Until a quarter second has passed, a full pool of 4 slots at 40 ms: 100/s.
    expect(rate.perSecond(woke + 10, 4)).toBe(100);
    for (let t = 0; t <= 300; t += 5) rate.observe(woke + t, 40);
    expect(rate.perSecond(woke + 300, 1000)!).toBeGreaterThan(170);
  });
});

describe('queuePosition', () => {
  it.each([
    [{ length: 0, clients: 0, own: 0 }, 1],
    [{ length: 100, clients: 1, own: 0 }, 2],
    [{ length: 100, clients: 1, own: 100 }, 101],
    [{ length: 10, clients: 10, own: 0 }, 11],
    [{ length: 10, clients: 10, own: 1 }, 11],
    [{ length: 30, clients: 3, own: 1 }, 6],
    [{ length: 5, clients: 5, own: 1 }, 6],
  ])('%p is served within %p dequeues', (view, expected) => {
    expect(queuePosition(view)).toBe(expected);
  });
});

describe('expectedWaitMs', () => {
  it.each([
    [0, 0, 0],
    [1, 100, 10],
    [50, 100, 500],
    [1, 0, Infinity],
  ])('%p dequeues at %p/s wait %p ms', (dequeues, perSecond, expected) => {
    expect(expectedWaitMs(dequeues, perSecond)).toBe(expected);
  });
});

describe('retryAfterSeconds', () => {
  it.each([
    [0, 0, 30, 1],
    [400, 0.99, 30, 1],
    [4000, 0.5, 30, 4],
    [4000, 0, 30, 2],
    [4000, 0.99, 30, 6],
    [600_000, 0.5, 30, 30],
    [Infinity, 0.2, 20, 20],
  ])('%p ms to drain, random %p, cap %p: %p s', (drainMs, random, maxS, expected) => {
    expect(retryAfterSeconds(drainMs, random, maxS)).toBe(expected);
  });
});

describe('shedDecision', () => {
  const base: ShedInput = { now: t0, deadline: t0 + 10_000, queueTimeoutMs: 5000, queue: { length: 0, clients: 0, own: 0 }, drainPerSecond: 100, marginMs: 0 };
  it.each<[string, Partial<ShedInput>, boolean]>([
    ['an empty queue', {}, true],
    ['a wait that fits', { queue: { length: 400, clients: 400, own: 0 } }, true],
    ['a wait past QUEUE_TIMEOUT_MS', { queue: { length: 600, clients: 600, own: 0 } }, false],
    ['a wait past the deadline', { deadline: t0 + 1000, queue: { length: 200, clients: 200, own: 0 } }, false],
    ['a polite address behind a flood', { queue: { length: 1000, clients: 1, own: 0 } }, true],
    ['the flooding address itself', { queue: { length: 1000, clients: 1, own: 1000 } }, false],
    ['a deadline already past', { deadline: t0 - 1 }, false],
    ['an unknown rate', { drainPerSecond: undefined, queue: { length: 1000, clients: 1000, own: 0 } }, true],
    ['an unknown rate and a past deadline', { drainPerSecond: undefined, deadline: t0 }, false],
    ['a pool that stopped draining', { drainPerSecond: 0 }, false],
    ['a wait that fits only without the headroom', { queue: { length: 495, clients: 495, own: 0 }, marginMs: 100 }, false],
    ['a wait that fits with the headroom', { queue: { length: 300, clients: 300, own: 0 }, marginMs: 100 }, true],
  ])('%s: admit %p', (_, change, admit) => {
    expect(shedDecision({ ...base, ...change }).admit).toBe(admit);
  });

  it('never admits a request whose expected wait exceeds its budget, and refuses with a Retry-After in [1, cap]', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: -1000, max: 20_000 }),
        fc.integer({ min: 1, max: 60_000 }),
        fc.record({ length: fc.integer({ min: 0, max: 5000 }), clients: fc.integer({ min: 0, max: 5000 }), own: fc.integer({ min: 0, max: 64 }) }),
        fc.option(fc.double({ min: 0, max: 10_000, noNaN: true }), { nil: undefined }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        fc.integer({ min: 1, max: 120 }),
        fc.integer({ min: 0, max: 2000 }),
        (left, queueTimeoutMs, raw, drainPerSecond, random, maxS, marginMs) => {
          const clients = Math.min(raw.clients, raw.length);
          const queue = { length: raw.length, clients, own: clients === 0 ? 0 : Math.min(raw.own, raw.length) };
          const decision = shedDecision({ now: t0, deadline: t0 + left, queueTimeoutMs, queue, drainPerSecond, marginMs });
          const budget = Math.min(queueTimeoutMs, left);
          if (decision.admit) {
            expect(budget).toBeGreaterThan(0);
            if (drainPerSecond !== undefined) expect(expectedWaitMs(queuePosition(queue), drainPerSecond) + marginMs).toBeLessThanOrEqual(budget);
          } else {
            const seconds = retryAfterSeconds(expectedWaitMs(queue.length, drainPerSecond ?? 0), random, maxS);
            expect(Number.isInteger(seconds)).toBe(true);
            expect(seconds).toBeGreaterThanOrEqual(1);
            expect(seconds).toBeLessThanOrEqual(maxS);
          }
        },
      ),
      { seed, numRuns: 3000 },
    );
  });

  it('places a request no later than the round-robin would serve it', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 20 }), { minLength: 0, maxLength: 30 }), fc.nat(30), (lengths, pick) => {
        // Simulate the round-robin: which dequeue serves one more request of address `pick`?
        const index = lengths.length === 0 ? 0 : pick % (lengths.length + 1);
        const own = lengths[index] ?? 0;
        const queues = [...lengths];
        if (index === lengths.length) queues.push(1);
        else queues[index]! += 1;
        let served = 0;
        let turn = -1;
        for (let round = 0; turn < 0; round++)
          queues.forEach((length, address) => {
            if (turn >= 0 || length <= round) return;
            served++;
            if (address === index && round === own) turn = served;
          });
        const view = { length: lengths.reduce((sum, n) => sum + n, 0), clients: lengths.length, own };
        expect(queuePosition(view)).toBeGreaterThanOrEqual(turn);
      }),
      { seed, numRuns: 1000 },
    );
  });
});
