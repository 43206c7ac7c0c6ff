import { createHash } from 'node:crypto';
import type { KeyValueStore } from '@evshare/kit';

/**
 * Failed-login throttling, per account and per client address, in a fixed window that starts at
 * the first failure. The address limit is higher because many members share one address behind
 * NAT; the account limit stops guessing one member's password from many addresses.
 */
export interface ThrottleLimits {
  windowMs: number;
  maxFailuresPerAccount: number;
  maxFailuresPerAddress: number;
}

export interface ThrottleCounters {
  accountFailures: number;
  accountTtlMs: number;
  addressFailures: number;
  addressTtlMs: number;
}

/** Pure: allowed, or how long to wait (whole seconds, at least 1) before the next attempt. */
export function throttleDecision(counters: ThrottleCounters, limits: ThrottleLimits): { allowed: true } | { allowed: false; retryAfterSeconds: number } {
  const waits: number[] = [];
  if (counters.accountFailures >= limits.maxFailuresPerAccount) waits.push(counters.accountTtlMs);
  if (counters.addressFailures >= limits.maxFailuresPerAddress) waits.push(counters.addressTtlMs);
  if (waits.length === 0) return { allowed: true };
  const waitMs = Math.max(...waits.map((ttl) => (ttl > 0 ? ttl : limits.windowMs)));
  return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil(waitMs / 1000)) };
}

// Accounts are hashed in keys so the throttle store holds no phone numbers.
const accountKey = (account: string) => `thr:acct:${createHash('sha256').update(account.trim().toLowerCase()).digest('base64url')}`;
const addressKey = (address: string) => `thr:addr:${address}`;

export function createLoginThrottle(store: KeyValueStore, limits: ThrottleLimits) {
  const read = async (key: string) => {
    const [value, ttl] = await Promise.all([store.get(key), store.pttl(key)]);
    return { failures: Number(value ?? 0), ttlMs: ttl };
  };
  return {
    async check(account: string, address: string) {
      const [acct, addr] = await Promise.all([read(accountKey(account)), read(addressKey(address))]);
      return throttleDecision({ accountFailures: acct.failures, accountTtlMs: acct.ttlMs, addressFailures: addr.failures, addressTtlMs: addr.ttlMs }, limits);
    },
    async recordFailure(account: string, address: string) {
      await Promise.all([store.incr(accountKey(account), limits.windowMs), store.incr(addressKey(address), limits.windowMs)]);
    },
    async recordSuccess(account: string) {
      await store.del(accountKey(account));
    },
  };
}
