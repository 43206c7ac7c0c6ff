/// <reference types="jest" />
import type { KeyValueStore } from './types';

/** Polls until check() is true; fails after timeoutMs instead of sleeping a fixed time. */
async function eventually(check: () => Promise<boolean>, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/**
 * The behaviour every KeyValueStore must have; each implementation's test file runs it.
 * make() returns a fresh store whose keys do not collide with any other test's.
 */
export function storeContract(name: string, make: () => Promise<KeyValueStore>): void {
  describe(`KeyValueStore contract: ${name}`, () => {
    let store: KeyValueStore;
    beforeEach(async () => {
      store = await make();
    });
    afterEach(async () => {
      await store.close();
    });

    it('gets what was set, null for a missing key', async () => {
      expect(await store.get('k')).toBeNull();
      expect(await store.set('k', 'v1')).toBe(true);
      expect(await store.get('k')).toBe('v1');
      expect(await store.set('k', 'v2')).toBe(true);
      expect(await store.get('k')).toBe('v2');
    });

    it('sets only when absent with onlyIfAbsent', async () => {
      expect(await store.set('nx', 'first', { onlyIfAbsent: true })).toBe(true);
      expect(await store.set('nx', 'second', { onlyIfAbsent: true })).toBe(false);
      expect(await store.get('nx')).toBe('first');
      expect(await store.set('nx-ttl', 'a', { onlyIfAbsent: true, ttlMs: 60_000 })).toBe(true);
      expect(await store.set('nx-ttl', 'b', { onlyIfAbsent: true, ttlMs: 60_000 })).toBe(false);
    });

    it('sets only when present with onlyIfPresent, never creating the key', async () => {
      expect(await store.set('xx', 'v', { onlyIfPresent: true, ttlMs: 60_000 })).toBe(false);
      expect(await store.get('xx')).toBeNull();
      expect(await store.pttl('xx')).toBe(-2);
      await store.set('xx', 'v1', { ttlMs: 1000 });
      expect(await store.set('xx', 'v2', { onlyIfPresent: true, ttlMs: 60_000 })).toBe(true);
      expect(await store.get('xx')).toBe('v2');
      expect(await store.pttl('xx')).toBeGreaterThan(50_000);
      await expect(store.set('xx', 'v3', { onlyIfPresent: true, onlyIfAbsent: true })).rejects.toThrow();
    });

    it('a refresh with onlyIfPresent racing a delete never brings the key back (session refresh vs logout)', async () => {
      for (let i = 0; i < 50; i++) {
        const key = `race-${i}`;
        await store.set(key, 'live', { ttlMs: 60_000 });
        const racers = [store.del(key), store.set(key, 'refreshed', { onlyIfPresent: true, ttlMs: 60_000 })];
        await Promise.all(i % 2 === 0 ? racers : racers.reverse());
        expect(await store.get(key)).toBeNull();
      }
      // An expired key is absent too.
      await store.set('gone', 'v', { ttlMs: 30 });
      await eventually(async () => (await store.pttl('gone')) === -2);
      expect(await store.set('gone', 'back', { onlyIfPresent: true })).toBe(false);
      expect(await store.get('gone')).toBeNull();
    });

    it('expires a key after its ttl', async () => {
      await store.set('short', 'v', { ttlMs: 60 });
      expect(await store.get('short')).toBe('v');
      await eventually(async () => (await store.get('short')) === null);
      expect(await store.pttl('short')).toBe(-2);
      // An expired key is absent: NX succeeds again.
      expect(await store.set('short', 'again', { onlyIfAbsent: true })).toBe(true);
    });

    it('a plain set clears a previous expiry', async () => {
      await store.set('k', 'v', { ttlMs: 60_000 });
      await store.set('k', 'w');
      expect(await store.pttl('k')).toBe(-1);
    });

    it('reports pttl: -2 missing, -1 no expiry, remaining ms otherwise', async () => {
      expect(await store.pttl('none')).toBe(-2);
      await store.set('forever', 'v');
      expect(await store.pttl('forever')).toBe(-1);
      await store.set('timed', 'v', { ttlMs: 5000 });
      const remaining = await store.pttl('timed');
      expect(remaining).toBeGreaterThan(4000);
      expect(remaining).toBeLessThanOrEqual(5000);
    });

    it('deletes and counts what existed', async () => {
      await store.set('d', 'v');
      expect(await store.del('d')).toBe(1);
      expect(await store.del('d')).toBe(0);
      expect(await store.get('d')).toBeNull();
    });

    it('expire sets a new ttl, false for a missing key', async () => {
      expect(await store.expire('missing', 1000)).toBe(false);
      await store.set('e', 'v');
      expect(await store.expire('e', 10_000)).toBe(true);
      expect(await store.pttl('e')).toBeGreaterThan(9000);
      expect(await store.expire('e', 50)).toBe(true);
      await eventually(async () => (await store.get('e')) === null);
    });

    it('incr counts atomically under 200 concurrent calls and sets the ttl once', async () => {
      const results = await Promise.all(Array.from({ length: 200 }, () => store.incr('counter', 10_000)));
      expect([...results].sort((a, b) => a - b)).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
      expect(await store.get('counter')).toBe('200');
      const ttl = await store.pttl('counter');
      expect(ttl).toBeGreaterThan(8000);
      expect(ttl).toBeLessThanOrEqual(10_000);
      // A later increment with another ttl neither extends nor resets the window.
      expect(await store.incr('counter', 60_000)).toBe(201);
      expect(await store.pttl('counter')).toBeLessThanOrEqual(10_000);
    });

    it('incr starts a new window after the counter expired', async () => {
      expect(await store.incr('window', 60)).toBe(1);
      expect(await store.incr('window', 60)).toBe(2);
      await eventually(async () => (await store.pttl('window')) === -2);
      expect(await store.incr('window', 60_000)).toBe(1);
      expect(await store.pttl('window')).toBeGreaterThan(50_000);
    });

    it('incr adds a given amount, negative too, and keeps the window', async () => {
      expect(await store.incr('by', 10_000, 5)).toBe(5);
      expect(await store.incr('by', 60_000, -2)).toBe(3);
      expect(await store.incr('by', 60_000)).toBe(4);
      expect(await store.get('by')).toBe('4');
      expect(await store.pttl('by')).toBeLessThanOrEqual(10_000);
      expect(await store.incr('new-negative', 10_000, -1)).toBe(-1);
      expect(await store.pttl('new-negative')).toBeGreaterThan(8000);
    });

    it('incr rejects a value that is not an integer', async () => {
      await store.set('text', 'abc');
      await expect(store.incr('text', 1000)).rejects.toThrow();
    });

    it('keeps set members, removes them, and drops an emptied set', async () => {
      expect(await store.smembers('s')).toEqual([]);
      await store.sadd('s', 'a');
      await store.sadd('s', 'b');
      await store.sadd('s', 'a');
      expect((await store.smembers('s')).sort()).toEqual(['a', 'b']);
      expect(await store.pttl('s')).toBe(-1);
      await store.srem('s', 'a');
      await store.srem('s', 'not-a-member');
      expect(await store.smembers('s')).toEqual(['b']);
      await store.srem('s', 'b');
      expect(await store.pttl('s')).toBe(-2);
    });

    it('sadd with a ttl extends the expiry of the set but never shortens it', async () => {
      await store.sadd('idx', 'a', 5000);
      const first = await store.pttl('idx');
      expect(first).toBeGreaterThan(4000);
      expect(first).toBeLessThanOrEqual(5000);
      await store.sadd('idx', 'b', 60_000);
      expect(await store.pttl('idx')).toBeGreaterThan(50_000);
      await store.sadd('idx', 'c', 1000);
      expect(await store.pttl('idx')).toBeGreaterThan(50_000);
      expect((await store.smembers('idx')).sort()).toEqual(['a', 'b', 'c']);
      await store.sadd('short-idx', 'a', 60);
      await eventually(async () => (await store.smembers('short-idx')).length === 0);
    });

    it('rejects set operations on a string key and get on a set', async () => {
      await store.set('str', 'v');
      await expect(store.sadd('str', 'm')).rejects.toThrow(/WRONGTYPE/);
      await store.sadd('set', 'm');
      await expect(store.get('set')).rejects.toThrow(/WRONGTYPE/);
    });

    it('pings while open and rejects after close', async () => {
      await expect(store.ping()).resolves.toBeUndefined();
      const other = await make();
      await other.close();
      await expect(other.ping()).rejects.toThrow();
    });
  });
}
