import { addressBucket, throttleDecision } from './throttle';

const limits = { windowMs: 900_000, maxFailuresPerAccount: 10, maxFailuresPerAddress: 50 };

describe('throttleDecision (counters include the attempt being decided)', () => {
  it.each([
    ['first attempt', { accountFailures: 1, accountTtlMs: 900_000, addressFailures: 1, addressTtlMs: 900_000 }, { allowed: true }],
    ['tenth attempt', { accountFailures: 10, accountTtlMs: 5_000, addressFailures: 10, addressTtlMs: 5_000 }, { allowed: true }],
    [
      'eleventh attempt waits',
      { accountFailures: 11, accountTtlMs: 4_200, addressFailures: 11, addressTtlMs: 4_200 },
      { allowed: false, retryAfterSeconds: 5 },
    ],
    ['address limit only', { accountFailures: 1, accountTtlMs: 1_000, addressFailures: 51, addressTtlMs: 60_000 }, { allowed: false, retryAfterSeconds: 60 }],
    [
      'both: the longer wait wins',
      { accountFailures: 12, accountTtlMs: 10_000, addressFailures: 51, addressTtlMs: 3_000 },
      { allowed: false, retryAfterSeconds: 10 },
    ],
    [
      'counter without expiry falls back to the window',
      { accountFailures: 11, accountTtlMs: -1, addressFailures: 0, addressTtlMs: -2 },
      { allowed: false, retryAfterSeconds: 900 },
    ],
    [
      'sub-second remainder still asks for one second',
      { accountFailures: 11, accountTtlMs: 20, addressFailures: 0, addressTtlMs: -2 },
      { allowed: false, retryAfterSeconds: 1 },
    ],
  ])('%s', (_name, counters, expected) => {
    expect(throttleDecision(counters, limits)).toEqual(expected);
  });
});

describe('addressBucket', () => {
  it.each([
    ['203.0.113.7', '203.0.113.7'],
    ['::ffff:203.0.113.7', '203.0.113.7'],
    ['2001:db8:1:2:3:4:5:6', '2001:db8:1:2::/64'],
    ['2001:db8:1:2::ffff', '2001:db8:1:2::/64'],
    ['2001:DB8:0001:0002:aaaa::1', '2001:db8:1:2::/64'],
    ['2001:db8::1', '2001:db8:0:0::/64'],
    ['::1', '0:0:0:0::/64'],
    ['fe80::1:2:3:4', 'fe80:0:0:0::/64'],
    ['unknown', 'unknown'],
  ])('%s → %s', (address, bucket) => {
    expect(addressBucket(address)).toBe(bucket);
  });
});
