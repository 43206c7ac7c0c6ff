import fc from 'fast-check';
import { requestDeadline } from './deadline';

const now = 1_790_000_000_000;

describe('requestDeadline', () => {
  it.each([
    [undefined, undefined, { deadline: now + 10_000 }],
    ['250', undefined, { deadline: now + 250 }],
    [' 250 ', undefined, { deadline: now + 250 }],
    ['1', undefined, { deadline: now + 1 }],
    ['60000', undefined, { deadline: now + 10_000 }],
    ['999999999', undefined, { deadline: now + 10_000 }],
    [undefined, String(now + 3000), { deadline: now + 3000 }],
    ['2000', String(now + 3000), { deadline: now + 2000 }],
    [undefined, String(now + 60_000), { deadline: now + 10_000 }],
    [undefined, 'soon', { deadline: now + 10_000 }],
    [undefined, `${now},${now}`, { deadline: now + 10_000 }],
  ])('timeout %p, trusted deadline %p', (timeout, trusted, expected) => {
    expect(requestDeadline(timeout, trusted, now, 10_000)).toEqual(expected);
  });

  it.each(['', '0', '-5', '1.5', '1e3', '0x10', '10s', '250,250', '1234567890', 'Infinity', ' '])('refuses X-Request-Timeout %p', (timeout) => {
    expect(requestDeadline(timeout, undefined, now, 10_000)).toHaveProperty('malformed');
  });

  it('never gives a deadline past the budget, whatever the headers', () => {
    const seed = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : 20261202;
    fc.assert(
      fc.property(
        fc.option(fc.string(), { nil: undefined }),
        fc.option(fc.string(), { nil: undefined }),
        fc.integer({ min: 1, max: 60_000 }),
        (timeout, trusted, budget) => {
          const result = requestDeadline(timeout, trusted, now, budget);
          if ('deadline' in result) expect(result.deadline).toBeLessThanOrEqual(now + budget);
          else expect(timeout).toBeDefined();
        },
      ),
      { seed, numRuns: 2000 },
    );
  });
});
