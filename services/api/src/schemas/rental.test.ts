import fc from 'fast-check';
import { timeBands } from './rental';

const paths = (value: unknown) => {
  const result = timeBands.safeParse(value);
  return result.success ? [] : [...new Set(result.error.issues.map((issue) => issue.path.join('.')))].sort();
};

describe('the time bands of a pricing plan', () => {
  it.each([
    [[{ fromHour: 22, toHour: 6, perMinuteFen: 10 }], []],
    // The whole day is the plan's own per-minute rate, not a band.
    [[{ fromHour: 0, toHour: 24, perMinuteFen: 10 }], ['0.toHour']],
    [
      [
        { fromHour: 7, toHour: 10, perMinuteFen: 30 },
        { fromHour: 9, toHour: 12, perMinuteFen: 20 },
      ],
      ['1.fromHour'],
    ],
    [[{ fromHour: 5, toHour: 5, perMinuteFen: 10 }], ['0.toHour']],
    // Hours out of range are reported as such, not by the overlap check (which once built an
    // array of that length and answered 500).
    [[{ fromHour: -2716432845590117, toHour: 0, perMinuteFen: 0 }], ['0.fromHour']],
    [[{ fromHour: 1.5, toHour: 1e300, perMinuteFen: 0 }], ['0.fromHour', '0.toHour']],
  ])('%j -> issues at %j', (bands, expected) => {
    expect(paths(bands)).toEqual(expected);
  });

  it('never throws, whatever the numbers', () => {
    const hour = fc.oneof(fc.integer({ min: -30, max: 30 }), fc.double(), fc.integer());
    fc.assert(
      fc.property(fc.array(fc.record({ fromHour: hour, toHour: hour, perMinuteFen: fc.nat() }), { maxLength: 30 }), (bands) => {
        expect(() => timeBands.safeParse(bands)).not.toThrow();
      }),
      { seed: 20261204, numRuns: 500 },
    );
  });
});
