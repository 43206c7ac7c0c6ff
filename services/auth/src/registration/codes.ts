import { createHash, randomInt, timingSafeEqual } from 'node:crypto';
import type { KeyValueStore } from '@evshare/kit';
import { addressBucket } from '../throttle';

export interface CodeLimits {
  /** How long a code is valid. */
  ttlMs: number;
  /** Least time between two codes for one phone. */
  intervalMs: number;
  perDay: number;
  /** Wrong guesses before a code is void. */
  attempts: number;
  /** Codes one client address (IPv6: its /64) may ask for per hour, whatever the phones. */
  perAddressPerHour: number;
  /** Codes sent per minute for all phones together: the bound on what SMS pumping can cost. */
  globalPerMinute: number;
}

const DAY_MS = 24 * 3600_000;
const HOUR_MS = 3600_000;
const MINUTE_MS = 60_000;

// Phones are hashed in keys so the login-state database holds no phone numbers.
const phoneKey = (phone: string) => createHash('sha256').update(phone).digest('base64url').slice(0, 22);
const hashCode = (phone: string, code: string) => createHash('sha256').update(`${phone}:${code}`).digest();

export type IssueResult = { issued: true; code: string } | { issued: false; retryAfterSeconds: number; window: 'minute' | 'day' | 'address' | 'global' };
export type VerifyResult = { ok: true } | { ok: false; reason: 'expired' } | { ok: false; reason: 'wrong'; attemptsLeft: number };

const seconds = (ms: number) => Math.max(1, Math.ceil(ms / 1000));

/** Pure: a fresh six-digit code (leading zeros kept). */
export function newCode(): string {
  return String(randomInt(0, 1_000_000)).padStart(6, '0');
}

/**
 * Registration codes in the login-state database: only a hash of each code is stored, with its
 * expiry; the per-minute gap, the daily count and the wrong guesses are counters beside it.
 * SMS pumping (codes to many premium-rate numbers, paid by us) is bounded per client address and
 * globally: the address is counted first, so one client hammering burns only its own budget;
 * the global budget counts only codes that will really be sent.
 */
export function createCodeStore(store: KeyValueStore, limits: CodeLimits) {
  const keys = (phone: string) => {
    const h = phoneKey(phone);
    return { code: `reg:code:${h}`, tries: `reg:try:${h}`, gap: `reg:gap:${h}`, day: `reg:day:${h}` };
  };
  return {
    async issue(phone: string, address: string): Promise<IssueResult> {
      const k = keys(phone);
      const over = async (key: string, limit: number, windowMs: number) => {
        if ((await store.incr(key, windowMs)) <= limit) return undefined;
        const ttl = await store.pttl(key);
        return seconds(ttl > 0 ? ttl : windowMs);
      };
      const addressWait = await over(`reg:addr:${phoneKey(addressBucket(address))}`, limits.perAddressPerHour, HOUR_MS);
      if (addressWait !== undefined) return { issued: false, retryAfterSeconds: addressWait, window: 'address' };
      if (!(await store.set(k.gap, '1', { ttlMs: limits.intervalMs, onlyIfAbsent: true }))) {
        return { issued: false, retryAfterSeconds: seconds(await store.pttl(k.gap)), window: 'minute' };
      }
      const dayWait = await over(k.day, limits.perDay, DAY_MS);
      if (dayWait !== undefined) return { issued: false, retryAfterSeconds: dayWait, window: 'day' };
      const globalWait = await over('reg:global', limits.globalPerMinute, MINUTE_MS);
      if (globalWait !== undefined) return { issued: false, retryAfterSeconds: globalWait, window: 'global' };
      const code = newCode();
      // A new code voids the previous one and its count of wrong guesses.
      await store.del(k.tries);
      await store.set(k.code, hashCode(phone, code).toString('base64'), { ttlMs: limits.ttlMs });
      return { issued: true, code };
    },

    async verify(phone: string, code: string): Promise<VerifyResult> {
      const k = keys(phone);
      const stored = await store.get(k.code);
      if (!stored) return { ok: false, reason: 'expired' };
      const tries = await store.incr(k.tries, limits.ttlMs);
      if (tries > limits.attempts) {
        await store.del(k.code);
        return { ok: false, reason: 'expired' };
      }
      if (!timingSafeEqual(Buffer.from(stored, 'base64'), hashCode(phone, code))) {
        if (tries >= limits.attempts) await store.del(k.code);
        return { ok: false, reason: 'wrong', attemptsLeft: limits.attempts - tries };
      }
      await Promise.all([store.del(k.code), store.del(k.tries)]);
      return { ok: true };
    },
  };
}
export type CodeStore = ReturnType<typeof createCodeStore>;
