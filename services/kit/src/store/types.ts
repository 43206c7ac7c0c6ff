/**
 * The narrow key-value interface behind the login-state database and the data cache.
 * Implemented by Redis (single, Sentinel or Cluster through ioredis) and by an in-process
 * store for the embedded default; both pass the same contract suite (store.contract.ts).
 * Every multi-key operation is avoided on purpose so the Redis Cluster mode needs no hash tags.
 */
export interface SetOptions {
  /** Expire the key after this many milliseconds. */
  ttlMs?: number;
  /** Only set when the key does not exist (SET NX); the result says whether it was set. */
  onlyIfAbsent?: boolean;
  /**
   * Only set when the key exists (SET XX); the result says whether it was set. A refresh written
   * this way cannot bring back a key deleted meanwhile (a revoked session).
   */
  onlyIfPresent?: boolean;
}

export interface KeyValueStore {
  readonly kind: 'redis' | 'memory';
  get(key: string): Promise<string | null>;
  set(key: string, value: string, options?: SetOptions): Promise<boolean>;
  /** Deletes the keys; resolves to how many existed. */
  del(key: string): Promise<number>;
  /** Sets a new time to live; resolves false when the key does not exist. */
  expire(key: string, ttlMs: number): Promise<boolean>;
  /** Remaining time to live in ms; -1 for a key without expiry, -2 for a missing key. */
  pttl(key: string): Promise<number>;
  /**
   * Atomically adds `by` (default 1, may be negative) to an integer counter; a new counter gets
   * ttlMs as its expiry, an existing one keeps its own.
   */
  incr(key: string, ttlMs: number, by?: number): Promise<number>;
  /** Set operations, used for a member's index of session keys. */
  sadd(key: string, member: string, ttlMs?: number): Promise<void>;
  srem(key: string, member: string): Promise<void>;
  smembers(key: string): Promise<string[]>;
  /** Rejects when the store cannot be reached (used by /readyz). */
  ping(): Promise<void>;
  close(): Promise<void>;
}
