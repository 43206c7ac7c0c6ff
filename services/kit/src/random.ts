/**
 * A seeded pseudo-random generator (mulberry32) for the simulators: the same seed reproduces a
 * run (cars, piles and members behave the same), which `Math.random` cannot.
 */
export interface Random {
  /** In [0, 1). */
  next(): number;
  /** An integer in [0, n). */
  int(n: number): number;
  /** An independent generator derived from this one (one per car, so cars do not share a stream). */
  fork(label: string): Random;
}

function hashString(text: string): number {
  let h = 2166136261;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 16777619);
  }
  return h >>> 0;
}

export function seededRandom(seed: number | string): Random {
  let state = (typeof seed === 'number' ? seed : hashString(seed)) >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (n) => Math.floor(next() * n),
    fork: (label) => seededRandom(hashString(`${state}:${label}`)),
  };
}
