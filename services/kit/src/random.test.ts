import { seededRandom } from './random';

describe('seededRandom', () => {
  it('is deterministic per seed and differs between seeds', () => {
    const a = seededRandom(42);
    const b = seededRandom(42);
    const c = seededRandom(43);
    const seq = (r: ReturnType<typeof seededRandom>) => Array.from({ length: 5 }, () => r.next());
    const first = seq(a);
    expect(seq(b)).toEqual(first);
    expect(seq(c)).not.toEqual(first);
    expect(first.every((x) => x >= 0 && x < 1)).toBe(true);
  });

  it('gives integers in [0, n) and independent forks', () => {
    const r = seededRandom('fleet');
    const ints = Array.from({ length: 200 }, () => r.int(7));
    expect(ints.every((n) => Number.isInteger(n) && n >= 0 && n < 7)).toBe(true);
    expect(new Set(ints).size).toBe(7);
    const a = seededRandom(1).fork('car-1');
    const b = seededRandom(1).fork('car-2');
    expect(a.next()).not.toBe(b.next());
    expect(seededRandom(1).fork('car-1').next()).toBe(seededRandom(1).fork('car-1').next());
  });
});
