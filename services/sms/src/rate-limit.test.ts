import { createMemoryStore } from '@evshare/kit';
import { createSmsRateLimiter, rateDecision } from './rate-limit';

const limits = { perMinute: 5, perDay: 20, codesPerMinute: 3 };

describe('rateDecision', () => {
  it.each([
    [{ minute: 1, day: 1 }, { allowed: true }],
    [{ minute: 5, day: 5 }, { allowed: true }],
    [
      { minute: 6, day: 6 },
      { allowed: false, window: 'minute' },
    ],
    [{ minute: 1, day: 20 }, { allowed: true }],
    [
      { minute: 1, day: 21 },
      { allowed: false, window: 'day' },
    ],
    [
      { minute: 9, day: 30 },
      { allowed: false, window: 'day' },
    ],
  ])('%j', (counts, expected) => {
    expect(rateDecision(counts, limits)).toEqual(expected);
  });
});

describe('createSmsRateLimiter', () => {
  it('counts per phone', async () => {
    const limiter = createSmsRateLimiter(createMemoryStore(), limits);
    const verdicts = [];
    for (let i = 0; i < 6; i++) verdicts.push(await limiter.take('13800000001'));
    expect(verdicts.map((v) => v.allowed)).toEqual([true, true, true, true, true, false]);
    expect((await limiter.take('13800000002')).allowed).toBe(true);
  });

  it('SMS pumping global: verification codes for any phones stop at the global budget per minute', async () => {
    const limiter = createSmsRateLimiter(createMemoryStore(), limits);
    const verdicts = await Promise.all(Array.from({ length: 5 }, () => limiter.takeCode()));
    expect(verdicts.map((v) => v.allowed)).toEqual([true, true, true, false, false]);
    expect(verdicts[4]).toEqual({ allowed: false, window: 'codes' });
    // The per-phone counters are separate.
    expect((await limiter.take('13800000003')).allowed).toBe(true);
  });
});
