import { microTime } from './time';

describe('microTime', () => {
  it.each([
    ['2026-03-04T05:06:07.089Z', '2026-03-04T05:06:07.089000Z'],
    ['2026-03-04T05:06:07.000Z', '2026-03-04T05:06:07.000000Z'],
    ['1999-12-31T23:59:59.999Z', '1999-12-31T23:59:59.999000Z'],
  ])('writes %s with six fractional digits', (iso, expected) => {
    expect(microTime(Date.parse(iso))).toBe(expected);
  });
});
