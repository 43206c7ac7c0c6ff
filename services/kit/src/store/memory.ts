import type { KeyValueStore, SetOptions } from './types';

interface Entry {
  value: string | Set<string>;
  /** Epoch ms after which the key no longer exists; undefined = no expiry. */
  expiresAt: number | undefined;
}

/** How often expired keys nobody reads again are dropped. */
const SWEEP_INTERVAL_MS = 10_000;

function wrongType(): Error {
  return new Error('WRONGTYPE Operation against a key holding the wrong kind of value');
}

/**
 * The in-process store of the embedded default: Redis semantics (types, expiry, NX, counters)
 * in one Map. Every method runs synchronously inside its promise, so each is atomic like a
 * Redis command.
 */
export function createMemoryStore(): KeyValueStore {
  const entries = new Map<string, Entry>();
  let closed = false;

  const sweep = setInterval(() => {
    const now = Date.now();
    for (const [key, entry] of entries) {
      if (entry.expiresAt !== undefined && entry.expiresAt <= now) entries.delete(key);
    }
  }, SWEEP_INTERVAL_MS);
  sweep.unref();

  /** Expires lazily, so a read never sees a key past its deadline whatever the sweep did. */
  function live(key: string): Entry | undefined {
    const entry = entries.get(key);
    if (entry && entry.expiresAt !== undefined && entry.expiresAt <= Date.now()) {
      entries.delete(key);
      return undefined;
    }
    return entry;
  }

  function liveSet(key: string): Set<string> | undefined {
    const entry = live(key);
    if (entry === undefined) return undefined;
    if (typeof entry.value === 'string') throw wrongType();
    return entry.value;
  }

  /** Wraps each method so it fails after close() like a closed Redis connection does. */
  function op<A extends unknown[], R>(fn: (...args: A) => R): (...args: A) => Promise<R> {
    return async (...args: A) => {
      if (closed) throw new Error('memory store is closed');
      return fn(...args);
    };
  }

  return {
    kind: 'memory',
    get: op((key: string) => {
      const entry = live(key);
      if (entry === undefined) return null;
      if (typeof entry.value !== 'string') throw wrongType();
      return entry.value;
    }),
    set: op((key: string, value: string, options: SetOptions = {}) => {
      if (options.onlyIfAbsent && options.onlyIfPresent) throw new Error('set: onlyIfAbsent and onlyIfPresent exclude each other');
      if (options.onlyIfAbsent && live(key) !== undefined) return false;
      if (options.onlyIfPresent && live(key) === undefined) return false;
      entries.set(key, { value, expiresAt: options.ttlMs === undefined ? undefined : Date.now() + options.ttlMs });
      return true;
    }),
    del: op((key: string) => {
      const existed = live(key) !== undefined;
      entries.delete(key);
      return existed ? 1 : 0;
    }),
    expire: op((key: string, ttlMs: number) => {
      const entry = live(key);
      if (entry === undefined) return false;
      // As in Redis, a non-positive time to live deletes the key.
      if (ttlMs <= 0) entries.delete(key);
      else entry.expiresAt = Date.now() + ttlMs;
      return true;
    }),
    pttl: op((key: string) => {
      const entry = live(key);
      if (entry === undefined) return -2;
      if (entry.expiresAt === undefined) return -1;
      return entry.expiresAt - Date.now();
    }),
    incr: op((key: string, ttlMs: number, by = 1) => {
      if (!Number.isSafeInteger(by)) throw new Error('ERR value is not an integer or out of range');
      const entry = live(key);
      if (entry === undefined) {
        entries.set(key, { value: String(by), expiresAt: Date.now() + ttlMs });
        return by;
      }
      if (typeof entry.value !== 'string') throw wrongType();
      if (!/^-?\d+$/.test(entry.value)) throw new Error('ERR value is not an integer or out of range');
      const next = Number(entry.value) + by;
      entry.value = String(next);
      return next;
    }),
    sadd: op((key: string, member: string, ttlMs?: number) => {
      const existing = liveSet(key);
      if (existing === undefined) {
        entries.set(key, { value: new Set([member]), expiresAt: ttlMs === undefined ? undefined : Date.now() + ttlMs });
        return;
      }
      existing.add(member);
      // Extend, never shorten, and never add an expiry to a set that has none: the index must
      // outlive every session it lists (same rule as the Redis script).
      const entry = entries.get(key);
      if (ttlMs !== undefined && entry?.expiresAt !== undefined) entry.expiresAt = Math.max(entry.expiresAt, Date.now() + ttlMs);
    }),
    srem: op((key: string, member: string) => {
      const existing = liveSet(key);
      if (existing === undefined) return;
      existing.delete(member);
      if (existing.size === 0) entries.delete(key);
    }),
    smembers: op((key: string) => [...(liveSet(key) ?? [])]),
    ping: op(() => undefined),
    close: async () => {
      closed = true;
      clearInterval(sweep);
      entries.clear();
    },
  };
}
