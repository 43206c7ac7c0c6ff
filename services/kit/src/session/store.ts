import type { Bus } from '../bus/types';
import { sessionRevokedSchema, type SessionRevoked } from '../bus/contracts';
import { SUBJECTS } from '../bus/subjects';
import type { Logger } from '../logger';
import type { KeyValueStore } from '../store/types';
import { hashSessionKey, isWellFormedSessionKey, newSessionKey } from './key';
import { parseSessionRecord, touchSession, type SessionRecord } from './record';

export interface SessionStoreOptions {
  store: KeyValueStore;
  bus: Bus;
  log?: Logger;
  /** Sliding expiry: a session unused this long is gone. */
  ttlMs?: number;
  /** How often an active session's last-access time and expiry are written back (15 s, at most a quarter of ttlMs). */
  touchIntervalMs?: number;
  /**
   * How long an instance may answer from its own memory. A revocation is also broadcast, so it
   * normally takes effect in milliseconds; this bound keeps it under a second even if the
   * broadcast is lost.
   */
  cacheTtlMs?: number;
  cacheMax?: number;
}

export interface SessionStore {
  create(input: { memberId: string; role: SessionRecord['role']; address: string; appId?: string }): Promise<{ key: string; record: SessionRecord }>;
  /** The live session for a key, recording the access; null for an unknown, expired or malformed key. */
  resolve(key: string, access?: { address?: string; appId?: string }): Promise<SessionRecord | null>;
  revoke(sessionHash: string, reason: SessionRevoked['reason']): Promise<boolean>;
  /** Ends every session of a member (password change, suspension), optionally but one. */
  revokeMember(memberId: string, reason: SessionRevoked['reason'], exceptHash?: string): Promise<number>;
  sessionsOf(memberId: string): Promise<SessionRecord[]>;
  /** Called with every revocation seen on the bus (the push channel closes its sockets). */
  onRevoked(listener: (event: SessionRevoked) => void): () => void;
  close(): void;
}

const sessionKey = (hash: string) => `sess:${hash}`;
const memberIndexKey = (memberId: string) => `msess:${memberId}`;

export function createSessionStore(options: SessionStoreOptions): SessionStore {
  const { store, bus, log } = options;
  const ttlMs = options.ttlMs ?? 30 * 60_000;
  // A session must be refreshed well before it expires, whatever its time to live.
  const touchIntervalMs = options.touchIntervalMs ?? Math.min(15_000, Math.floor(ttlMs / 4));
  const cacheTtlMs = options.cacheTtlMs ?? 500;
  const cacheMax = options.cacheMax ?? 50_000;
  const cache = new Map<string, { record: SessionRecord; until: number }>();
  const listeners = new Set<(event: SessionRevoked) => void>();
  // Sessions revoked lately, by hash: a lookup that read the record just before the revocation
  // must not put it back into the cache (or answer) after the revocation was seen here.
  const revokedLately = new Map<string, number>();
  const tombstone = (hash: string, now = Date.now()) => {
    cache.delete(hash);
    if (revokedLately.size >= cacheMax) revokedLately.delete(revokedLately.keys().next().value!);
    revokedLately.set(hash, now + cacheTtlMs * 2);
  };
  const isRevokedLately = (hash: string, now: number) => {
    const until = revokedLately.get(hash);
    if (until === undefined) return false;
    if (until > now) return true;
    revokedLately.delete(hash);
    return false;
  };

  const unsubscribe = bus.subscribe(SUBJECTS.sessionRevoked, (data) => {
    const parsed = sessionRevokedSchema.safeParse(data);
    if (!parsed.success) return;
    tombstone(parsed.data.sessionHash);
    for (const listener of listeners) listener(parsed.data);
  });

  const remember = (record: SessionRecord, now: number) => {
    if (cache.size >= cacheMax) cache.delete(cache.keys().next().value!);
    cache.set(record.sessionHash, { record, until: now + cacheTtlMs });
  };

  const write = async (record: SessionRecord) => {
    await store.set(sessionKey(record.sessionHash), JSON.stringify(record), { ttlMs });
  };

  /**
   * The sliding refresh: conditional (SET XX), so an access racing a logout or a revocation cannot
   * bring the session back, and it keeps the member's index alive as long as the session, so a
   * password change or a suspension after hours of use still finds every session.
   */
  const refresh = async (record: SessionRecord) => {
    const alive = await store.set(sessionKey(record.sessionHash), JSON.stringify(record), { ttlMs, onlyIfPresent: true });
    if (!alive) {
      cache.delete(record.sessionHash);
      return;
    }
    await store.sadd(memberIndexKey(record.memberId), record.sessionHash, ttlMs * 2);
  };

  const revoke = async (sessionHash: string, reason: SessionRevoked['reason']) => {
    tombstone(sessionHash);
    const record = parseSessionRecord(await store.get(sessionKey(sessionHash)));
    const existed = (await store.del(sessionKey(sessionHash))) > 0;
    if (record) await store.srem(memberIndexKey(record.memberId), sessionHash);
    if (existed && record) bus.publish(SUBJECTS.sessionRevoked, { sessionHash, memberId: record.memberId, reason } satisfies SessionRevoked);
    return existed;
  };

  return {
    async create({ memberId, role, address, appId }) {
      const key = newSessionKey();
      const now = Date.now();
      const record: SessionRecord = {
        sessionHash: hashSessionKey(key),
        memberId,
        role,
        address,
        createdAt: now,
        lastAccessAt: now,
        apps: appId ? [appId] : [],
      };
      await write(record);
      await store.sadd(memberIndexKey(memberId), record.sessionHash, ttlMs * 2);
      return { key, record };
    },

    async resolve(key, access = {}) {
      if (!isWellFormedSessionKey(key)) return null;
      const hash = hashSessionKey(key);
      const now = Date.now();
      const cached = cache.get(hash);
      let record: SessionRecord | null;
      if (cached && cached.until > now) record = cached.record;
      else {
        record = parseSessionRecord(await store.get(sessionKey(hash)));
        if (!record) {
          cache.delete(hash);
          return null;
        }
      }
      if (isRevokedLately(hash, Date.now())) return null;
      const touched = touchSession(record, { now, ...access }, touchIntervalMs);
      if (touched.write) {
        // Refreshing the expiry must not slow the request; a failed write is retried at the next access.
        refresh(touched.record).catch((error: unknown) => log?.warn({ err: error }, 'session touch failed'));
      }
      remember(touched.record, now);
      return touched.record;
    },

    revoke,

    async revokeMember(memberId, reason, exceptHash) {
      const hashes = await store.smembers(memberIndexKey(memberId));
      let count = 0;
      for (const hash of hashes) {
        if (hash === exceptHash) continue;
        if (await revoke(hash, reason)) count++;
        else await store.srem(memberIndexKey(memberId), hash);
      }
      return count;
    },

    async sessionsOf(memberId) {
      const hashes = await store.smembers(memberIndexKey(memberId));
      const records = await Promise.all(hashes.map(async (hash) => parseSessionRecord(await store.get(sessionKey(hash)))));
      return records.filter((r): r is SessionRecord => r !== null);
    },

    onRevoked(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },

    close() {
      unsubscribe();
      listeners.clear();
      cache.clear();
    },
  };
}
