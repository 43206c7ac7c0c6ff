import { createHash } from 'node:crypto';
import { isIPv4, isIPv6 } from 'node:net';
import type { KeyValueStore } from '@evshare/kit';

/**
 * Password-guess throttling, per account and per client address, in a fixed window that starts at
 * the first counted attempt. Every attempt is counted *before* the password is verified (one
 * atomic increment per counter), so parallel guesses cannot all pass a check made before any of
 * them failed; a correct password takes its own attempt back. The address limit is higher
 * because many members share one address behind NAT; the account limit stops guessing one
 * member's password from many addresses.
 */
export interface ThrottleLimits {
  windowMs: number;
  maxFailuresPerAccount: number;
  maxFailuresPerAddress: number;
}

export interface ThrottleCounters {
  /** Counted attempts in the window, this one included. */
  accountFailures: number;
  accountTtlMs: number;
  addressFailures: number;
  addressTtlMs: number;
}

/** Pure: allowed, or how long to wait (whole seconds, at least 1) before the next attempt. */
export function throttleDecision(counters: ThrottleCounters, limits: ThrottleLimits): { allowed: true } | { allowed: false; retryAfterSeconds: number } {
  const waits: number[] = [];
  if (counters.accountFailures > limits.maxFailuresPerAccount) waits.push(counters.accountTtlMs);
  if (counters.addressFailures > limits.maxFailuresPerAddress) waits.push(counters.addressTtlMs);
  if (waits.length === 0) return { allowed: true };
  const waitMs = Math.max(...waits.map((ttl) => (ttl > 0 ? ttl : limits.windowMs)));
  return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil(waitMs / 1000)) };
}

/**
 * The unit an address is limited by: an IPv4 address, or the /64 of an IPv6 one (a single
 * subscriber usually holds a whole /64, so per-address limits on IPv6 would be no limit).
 */
export function addressBucket(address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return mapped[1]!;
  if (isIPv4(address) || !isIPv6(address)) return address;
  const [head = '', tail = ''] = address.toLowerCase().split('::');
  const left = head ? head.split(':') : [];
  const right = address.includes('::') ? (tail ? tail.split(':') : []) : [];
  // An embedded IPv4 tail lies in the last 32 bits, never in the /64.
  const groups = [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right];
  return `${groups
    .slice(0, 4)
    .map((g) => Number.parseInt(g, 16).toString(16))
    .join(':')}::/64`;
}

// Accounts are hashed in keys so the throttle store holds no phone numbers.
const accountKey = (account: string) => `thr:acct:${createHash('sha256').update(account.trim().toLowerCase()).digest('base64url')}`;
const addressKey = (address: string) => `thr:addr:${addressBucket(address)}`;

export interface ThrottleAttempt {
  allowed: boolean;
  retryAfterSeconds: number;
  /** The password was right: this attempt is not a failure. */
  succeeded(): Promise<void>;
}

export function createLoginThrottle(store: KeyValueStore, limits: ThrottleLimits) {
  return {
    /** Counts the attempt, then decides; call before verifying the password. */
    async attempt(account: string, address: string): Promise<ThrottleAttempt> {
      const keys = [accountKey(account), addressKey(address)] as const;
      const [accountCount, addressCount] = await Promise.all(keys.map((key) => store.incr(key, limits.windowMs)));
      const over = accountCount! > limits.maxFailuresPerAccount || addressCount! > limits.maxFailuresPerAddress;
      const [accountTtlMs, addressTtlMs] = over ? await Promise.all(keys.map((key) => store.pttl(key))) : [limits.windowMs, limits.windowMs];
      const decision = throttleDecision(
        { accountFailures: accountCount!, accountTtlMs: accountTtlMs!, addressFailures: addressCount!, addressTtlMs: addressTtlMs! },
        limits,
      );
      return {
        allowed: decision.allowed,
        retryAfterSeconds: decision.allowed ? 0 : decision.retryAfterSeconds,
        async succeeded() {
          await Promise.all(keys.map((key) => store.incr(key, limits.windowMs, -1)));
        },
      };
    },
  };
}
export type LoginThrottle = ReturnType<typeof createLoginThrottle>;
