import { throttleDecision } from './throttle';

const limits = { windowMs: 900_000, maxFailuresPerAccount: 10, maxFailuresPerAddress: 50 };

describe('throttleDecision', () => {
  it.each([
    ['no failures', { accountFailures: 0, accountTtlMs: -2, addressFailures: 0, addressTtlMs: -2 }, { allowed: true }],
    ['nine failures', { accountFailures: 9, accountTtlMs: 5_000, addressFailures: 9, addressTtlMs: 5_000 }, { allowed: true }],
    ['tenth failure reached: eleventh attempt waits', { accountFailures: 10, accountTtlMs: 4_200, addressFailures: 10, addressTtlMs: 4_200 }, { allowed: false, retryAfterSeconds: 5 }],
    ['address limit only', { accountFailures: 1, accountTtlMs: 1_000, addressFailures: 50, addressTtlMs: 60_000 }, { allowed: false, retryAfterSeconds: 60 }],
    ['both: the longer wait wins', { accountFailures: 12, accountTtlMs: 10_000, addressFailures: 50, addressTtlMs: 3_000 }, { allowed: false, retryAfterSeconds: 10 }],
    ['counter without expiry falls back to the window', { accountFailures: 10, accountTtlMs: -1, addressFailures: 0, addressTtlMs: -2 }, { allowed: false, retryAfterSeconds: 900 }],
    ['sub-second remainder still asks for one second', { accountFailures: 10, accountTtlMs: 20, addressFailures: 0, addressTtlMs: -2 }, { allowed: false, retryAfterSeconds: 1 }],
  ])('%s', (_name, counters, expected) => {
    expect(throttleDecision(counters, limits)).toEqual(expected);
  });
});
