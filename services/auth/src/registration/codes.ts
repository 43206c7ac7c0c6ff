import { createHash, randomInt, timingSafeEqual } from 'node:crypto';
import type { KeyValueStore } from '@evshare/kit';

export interface CodeLimits {
  /** How long a code is valid. */
  ttlMs: number;
  /** Least time between two codes for one phone. */
  intervalMs: number;
  perDay: number;
  /** Wrong guesses before a code is void. */
  attempts: number;
}

const DAY_MS = 24 * 3600_000;

// Phones are hashed in keys so the login-state database holds no phone numbers.
const phoneKey = (phone: string) => createHash('sha256').update(phone).digest('base64url').slice(0, 22);
const hashCode = (phone: string, code: string) => createHash('sha256').update(`${phone}:${code}`).digest();

export type IssueResult = { issued: true; code: string } | { issued: false; retryAfterSeconds: number; window: 'minute' | 'day' };
export type VerifyResult = { ok: true } | { ok: false; reason: 'expired' } | { ok: false; reason: 'wrong'; attemptsLeft: number };

const seconds = (ms: number) => Math.max(1, Math.ceil(ms / 1000));

/** Pure: a fresh six-digit code (leading zeros kept). */
export function newCode(): string {
  return String(randomInt(0, 1_000_000)).padStart(6, '0');
}

/**
 * Registration codes in the login-state database: only a hash of each code is stored, with its
 * expiry; the per-minute gap, the daily count and the wrong guesses are counters beside it.
 */
export function createCodeStore(store: KeyValueStore, limits: CodeLimits) {
  const keys = (phone: string) => {
    const h = phoneKey(phone);
    return { code: `reg:code:${h}`, tries: `reg:try:${h}`, gap: `reg:gap:${h}`, day: `reg:day:${h}` };
  };
  return {
    async issue(phone: string): Promise<IssueResult> {
      const k = keys(phone);
      if (!(await store.set(k.gap, '1', { ttlMs: limits.intervalMs, onlyIfAbsent: true }))) {
        return { issued: false, retryAfterSeconds: seconds(await store.pttl(k.gap)), window: 'minute' };
      }
      const today = await store.incr(k.day, DAY_MS);
      if (today > limits.perDay) {
        const ttl = await store.pttl(k.day);
        return { issued: false, retryAfterSeconds: seconds(ttl > 0 ? ttl : DAY_MS), window: 'day' };
      }
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
