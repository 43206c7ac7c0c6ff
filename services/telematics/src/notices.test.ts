import { stationsText, type NearbyStation } from './notices';

const station = (name: string, distanceM: number): NearbyStation => ({ id: name, name, distanceM, freeSpaces: 1, freeChargers: 1 });

describe('stationsText', () => {
  it.each<[string, NearbyStation[], string]>([
    ['none', [], '-'],
    ['one', [station('People’s Square', 1_234)], 'People’s Square 1.2 km'],
    ['nearest first, as given', [station('A', 100), station('B', 2_050)], 'A 0.1 km, B 2.1 km'],
    [
      'as many as fit 300 characters',
      [station('x'.repeat(100), 1), station('y'.repeat(100), 2), station('z'.repeat(100), 3)],
      `${'x'.repeat(100)} 0.0 km, ${'y'.repeat(100)} 0.0 km`,
    ],
    ['a first one too long for the text', [station('x'.repeat(300), 1)], '-'],
  ])('%s', (_name, stations, expected) => {
    expect(stationsText(stations)).toBe(expected);
    expect(stationsText(stations).length).toBeLessThanOrEqual(300);
  });
});
