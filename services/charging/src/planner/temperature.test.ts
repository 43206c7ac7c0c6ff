import { chargeEfficiency, powerDerate } from './temperature';

describe('temperature model', () => {
  test.each([
    [35, 1, 0.9],
    [10, 1, 0.9],
    [0, 0.75, 0.85],
    [-10, 0.5, 0.8],
    [-20, 0.25, 0.75],
    [-40, 0.25, 0.75],
  ])('%i °C: %f of the power, efficiency %f', (ambientC, derate, efficiency) => {
    expect(powerDerate(ambientC)).toBeCloseTo(derate, 10);
    expect(chargeEfficiency(ambientC)).toBeCloseTo(efficiency, 10);
  });

  test('colder never charges faster or more efficiently', () => {
    for (let t = 40; t > -60; t--) {
      expect(powerDerate(t - 1)).toBeLessThanOrEqual(powerDerate(t));
      expect(chargeEfficiency(t - 1)).toBeLessThanOrEqual(chargeEfficiency(t));
    }
  });
});
