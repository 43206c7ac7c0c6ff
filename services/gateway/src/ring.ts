import { hash32 } from './hash';

/** What the ring needs to know about an instance when placing a request. */
export interface Slot {
  /** Healthy, not draining, not withdrawn. */
  readonly available: boolean;
  /** Requests in flight on it (the gateway's own, plus other gateways' when known). */
  readonly load: number;
  /** Requests it serves at once; at this load it takes no more and requests queue. */
  readonly capacity: number;
}

/** pick() result when every available instance is at its concurrency limit. */
export const ALL_BUSY = Symbol('all-busy');

/**
 * Consistent hashing with bounded loads (Mirrokni, Thorup, Zadimoghaddam 2016; the same idea as
 * HAProxy's `hash-balance-factor` and Envoy's `hash_balance_factor`).
 *
 * Each member owns `vnodes` points on a 32-bit ring. A key goes to the first member clockwise
 * from its own point that is available and whose load is below
 * ceil(c x (total load + 1) / available members), the +1 being the request being placed. Because
 * c >= 1, at least one member is always below the bound, so nobody is ever above it. A key
 * therefore stays on "its" member while that member is healthy and not overloaded, spills to
 * the next member on the ring (the same one every time) when it is, and adding or removing a
 * member only moves the keys whose arc changes owner: about 1/N of them.
 *
 * Pure: no I/O, no clock. A new ring is built when membership changes; health and load are read
 * from the members at each pick, so they need no rebuild.
 */
export class HashRing<T extends Slot> {
  readonly members: readonly T[];
  private readonly points: Uint32Array;
  private readonly owners: Uint16Array;
  /** Per-member mark of the current walk, so visiting needs no Set per request. */
  private readonly seen: Uint32Array;
  private walk = 0;

  constructor(members: readonly T[], ids: readonly string[], vnodes: number) {
    if (members.length !== ids.length) throw new Error('one id per member');
    if (members.length > 0xffff) throw new Error('too many members for one ring');
    this.members = members;
    const count = members.length * vnodes;
    // point * 2^16 + owner stays below 2^48, exact in a double: one numeric typed-array sort
    // orders points and carries their owner along.
    const packed = new Float64Array(count);
    for (let m = 0; m < members.length; m++) {
      for (let v = 0; v < vnodes; v++) packed[m * vnodes + v] = hash32(`${ids[m]}#${v}`) * 65536 + m;
    }
    packed.sort();
    this.points = new Uint32Array(count);
    this.owners = new Uint16Array(count);
    for (let i = 0; i < count; i++) {
      const value = packed[i]!;
      this.points[i] = Math.floor(value / 65536);
      this.owners[i] = value % 65536;
    }
    this.seen = new Uint32Array(members.length);
  }

  /** Index of the first point at or after `hash`, wrapping to 0. */
  private start(hash: number): number {
    let lo = 0;
    let hi = this.points.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.points[mid]! < hash) lo = mid + 1;
      else hi = mid;
    }
    return lo === this.points.length ? 0 : lo;
  }

  /** The member owning `hash`, ignoring health and load (the plain consistent-hash choice). */
  owner(hash: number): T | undefined {
    if (this.points.length === 0) return undefined;
    return this.members[this.owners[this.start(hash)]!];
  }

  /**
   * Places one request for the key hashed to `hash`. `factor` is c (Infinity = plain consistent
   * hashing that only skips unavailable members). `minBound` is the lowest the bound may be: with
   * short requests a load of 2 against an average of 1 is noise, not overload, and spilling for it
   * would break stickiness (0 = the strict bound). `exclude` skips one member (a retry).
   * Returns the member, ALL_BUSY when every available member is at capacity, or undefined when
   * none is available. When capacities differ, a member under its capacity but above the bound is
   * still better than queueing, so the first such member on the walk is the fallback.
   */
  pick(hash: number, factor: number, exclude?: T, minBound = 0): T | typeof ALL_BUSY | undefined {
    const members = this.members;
    let available = 0;
    let total = 0;
    for (let m = 0; m < members.length; m++) {
      const member = members[m]!;
      if (member.available && member !== exclude) {
        available++;
        total += member.load;
      }
    }
    if (available === 0) return undefined;
    const bound = Math.max(minBound, Math.ceil((factor * (total + 1)) / available));
    if (++this.walk === 0xffffffff) {
      this.seen.fill(0);
      this.walk = 1;
    }
    const walk = this.walk;
    const points = this.points.length;
    let fallback: T | undefined;
    let visited = 0;
    for (let step = 0, i = this.start(hash); step < points && visited < available; step++, i = i + 1 === points ? 0 : i + 1) {
      const index = this.owners[i]!;
      if (this.seen[index] === walk) continue;
      this.seen[index] = walk;
      const member = members[index]!;
      if (!member.available || member === exclude) continue;
      visited++;
      if (member.load >= member.capacity) continue;
      if (member.load < bound) return member;
      fallback ??= member;
    }
    return fallback ?? ALL_BUSY;
  }

  /** Fraction of the hash space each member owns, in member order (sums to 1). */
  shares(): number[] {
    const shares = new Array<number>(this.members.length).fill(0);
    const n = this.points.length;
    if (n === 0) return shares;
    const space = 2 ** 32;
    for (let i = 0; i < n; i++) {
      // Point i owns the arc (previous point, point i]; the first point also owns the wrap-around.
      const previous = i === 0 ? this.points[n - 1]! - space : this.points[i - 1]!;
      shares[this.owners[i]!]! += (this.points[i]! - previous) / space;
    }
    return shares;
  }
}
