import { ambientReading } from './ambient';

describe('ambientReading', () => {
  it.each([
    [{ current: { temperature_2m: 7.4 } }, 7.4],
    [{ current: { temperature_2m: -3.06 } }, -3.1],
    [{ current: { temperature_2m: 60 } }, 60],
    [{ current: { temperature_2m: -50 } }, -50],
    [{ current: { temperature_2m: 60.1 } }, undefined],
    [{ current: { temperature_2m: -51 } }, undefined],
    [{ current: { temperature_2m: '7' } }, undefined],
    [{ current: { temperature_2m: null } }, undefined],
    [{ current: {} }, undefined],
    [{ current: 7 }, undefined],
    [{ temperature_2m: 7 }, undefined],
    [[7], undefined],
    [null, undefined],
    ['7', undefined],
  ])('%j reads %p', (body, expected) => {
    expect(ambientReading(body)).toBe(expected);
  });
});
