import { fullBucket, takeToken, type Bucket } from './rate-limit';

const limit = { ratePerSecond: 5, burst: 3 };

function take(bucket: Bucket, now: number) {
  return takeToken(bucket, limit, now);
}

describe('takeToken', () => {
  it('allows a burst, then refuses until tokens are refilled at the rate', () => {
    let bucket = fullBucket(limit, 0);
    const allowed: boolean[] = [];
    for (let i = 0; i < 4; i++) {
      const result = take(bucket, 0);
      bucket = result.bucket;
      allowed.push(result.allowed);
    }
    expect(allowed).toEqual([true, true, true, false]);
    expect(take(bucket, 100).allowed).toBe(false);
    expect(take(bucket, 200).allowed).toBe(true);
  });

  it('never holds more than the burst, and survives a clock going backwards', () => {
    const idle = take(fullBucket(limit, 0), 60_000).bucket;
    expect(idle.tokens).toBe(limit.burst - 1);
    expect(take({ tokens: 0, updatedAt: 1000 }, 500)).toEqual({ bucket: { tokens: 0, updatedAt: 500 }, allowed: false });
  });
});
