import type { KeyValueStore } from './store/types';

/**
 * The version of everything a member's periodic poll returns (the poll's ETag), kept in the data
 * cache. Any service that changes what a member sees advances it, so the next poll answers 200.
 */
const SYNC_VERSION_TTL_MS = 30 * 24 * 3600_000;

export const syncVersionKey = (memberId: string) => `syncv:${memberId}`;

/**
 * The member's current sync version. A version that has expired starts again from the clock
 * rather than from 1, so a new version can never equal an ETag a client still holds.
 */
export async function ensureSyncVersion(cache: KeyValueStore, memberId: string): Promise<string> {
  const key = syncVersionKey(memberId);
  const current = await cache.get(key);
  if (current) return current;
  await cache.set(key, String(Date.now()), { ttlMs: SYNC_VERSION_TTL_MS, onlyIfAbsent: true });
  return (await cache.get(key)) ?? '0';
}

export async function bumpSyncVersion(cache: KeyValueStore, memberId: string): Promise<void> {
  await ensureSyncVersion(cache, memberId);
  await cache.incr(syncVersionKey(memberId), SYNC_VERSION_TTL_MS);
}
