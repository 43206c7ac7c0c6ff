import { Admission, Shed, requestDeadline } from './admission';

const NOW = 1_800_000_000_000;

describe('requestDeadline', () => {
  const cap = { now: NOW, capMs: 30_000, trusted: true };
  it.each([
    ['absent', undefined, NOW + 30_000],
    ['sooner than the cap', String(NOW + 5_000), NOW + 5_000],
    ['later than the cap', String(NOW + 60_000), NOW + 30_000],
    ['already past', String(NOW - 1_000), NOW - 1_000],
    ['before 2020', '1000000000000', NOW + 30_000],
    ['a list', [String(NOW + 5_000), String(NOW + 6_000)], NOW + 30_000],
    ['signed', `+${NOW + 5_000}`, NOW + 30_000],
    ['fractional', `${NOW + 5_000}.5`, NOW + 30_000],
    ['an exponent', '1.8e12', NOW + 30_000],
    ['seconds, not ms', String(Math.floor((NOW + 5_000) / 1000)), NOW + 30_000],
    ['padded', ` ${NOW + 5_000}`, NOW + 30_000],
  ])('%s', (_name, header, expected) => {
    expect(requestDeadline(header, cap)).toBe(expected);
  });
  it('ignores the header from a hop that is not trusted', () => {
    expect(requestDeadline(String(NOW + 5_000), { ...cap, trusted: false })).toBe(NOW + 30_000);
  });
});

/** A clock the test moves, and an admission on it with a fixed jitter. */
function setUp(slots: number, initialServiceMs = 100) {
  let now = NOW;
  const shed: string[] = [];
  const waits: number[] = [];
  const admission = new Admission({ slots, now: () => now, random: () => 0, initialServiceMs, onShed: (r) => shed.push(r), onAdmitted: (w) => waits.push(w) });
  return { admission, shed, waits, advance: (ms: number) => (now += ms), at: () => now };
}

const outcome = (promise: Promise<unknown>) =>
  promise.then(
    () => 'admitted',
    (error: unknown) => (error instanceof Shed ? error.reason : 'error'),
  );

describe('Admission', () => {
  it('admits at once while a slot is free', async () => {
    const { admission, waits } = setUp(2);
    await admission.admit(NOW + 1000);
    await admission.admit(NOW + 1000);
    expect(admission.busy).toBe(2);
    expect(waits).toEqual([0, 0]);
  });

  it('queues while the expected wait fits the deadline, refuses at once when it does not', async () => {
    const { admission, shed } = setUp(1, 100);
    const first = await admission.admit(NOW + 10_000);
    // One ahead in the slot, at 100 ms each: the second waits ~100 ms, the third ~200 ms.
    const second = outcome(admission.admit(NOW + 150));
    const third = outcome(admission.admit(NOW + 150));
    expect(await third).toBe('full');
    expect(shed).toEqual(['full']);
    first.release();
    expect(await second).toBe('admitted');
  });

  it('drops without work a waiter whose deadline passed or whose client went away', async () => {
    const { admission, shed, advance } = setUp(1, 10);
    const first = await admission.admit(NOW + 10_000);
    let gone = false;
    const late = outcome(admission.admit(NOW + 50));
    const abandoned = outcome(admission.admit(NOW + 10_000, () => gone));
    const kept = admission.admit(NOW + 10_000);
    advance(60);
    gone = true;
    first.release();
    expect(await late).toBe('expired');
    expect(await abandoned).toBe('abandoned');
    expect(await outcome(kept)).toBe('admitted');
    expect(shed).toEqual(['expired', 'abandoned']);
  });

  it('refuses a request that arrives past its deadline or from a client already gone', async () => {
    const { admission } = setUp(4);
    expect(await outcome(admission.admit(NOW))).toBe('expired');
    expect(await outcome(admission.admit(NOW + 1000, () => true))).toBe('abandoned');
    expect(admission.busy).toBe(0);
  });

  it('learns the service time from the slots held, and says to retry after the queue drains', async () => {
    const { admission, advance } = setUp(1, 10);
    for (let i = 0; i < 50; i += 1) {
      const ticket = await admission.admit(NOW + 1e9);
      advance(1000);
      ticket.release();
    }
    // Observed ~1 s per request: one in the slot, one queued, a third expected to wait ~2 s.
    const held = await admission.admit(Number.MAX_SAFE_INTEGER);
    void admission.admit(Number.MAX_SAFE_INTEGER);
    expect(admission.expectedWaitMs()).toBeGreaterThan(1800);
    expect(admission.retryAfterSeconds()).toBe(1);
    held.release();
  });

  it('a released ticket is released once', async () => {
    const { admission } = setUp(1);
    const ticket = await admission.admit(NOW + 1000);
    ticket.release();
    ticket.release();
    expect(admission.busy).toBe(0);
  });
});
