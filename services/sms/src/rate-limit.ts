import { createHash } from 'node:crypto';
import type { KeyValueStore } from '@evshare/kit';

export interface SmsRateLimits {
  perMinute: number;
  perDay: number;
  /** Verification codes per minute, all phones together. */
  codesPerMinute: number;
}

/** Pure: whether one more SMS may go to a phone, given the counts including this one. */
export function rateDecision(
  counts: { minute: number; day: number },
  limits: Pick<SmsRateLimits, 'perMinute' | 'perDay'>,
): { allowed: true } | { allowed: false; window: 'minute' | 'day' } {
  if (counts.day > limits.perDay) return { allowed: false, window: 'day' };
  if (counts.minute > limits.perMinute) return { allowed: false, window: 'minute' };
  return { allowed: true };
}

// Phones are hashed in keys so the store holds no phone numbers.
const phoneHash = (phone: string) => createHash('sha256').update(phone).digest('base64url').slice(0, 22);

/** Per-phone counters in fixed windows starting at the first message, shared by every SMS instance. */
export function createSmsRateLimiter(store: KeyValueStore, limits: SmsRateLimits) {
  return {
    async take(phone: string) {
      const hash = phoneHash(phone);
      const [minute, day] = await Promise.all([store.incr(`smsrl:m:${hash}`, 60_000), store.incr(`smsrl:d:${hash}`, 24 * 3600_000)]);
      return rateDecision({ minute, day }, limits);
    },
    async takeCode(): Promise<{ allowed: true } | { allowed: false; window: 'codes' }> {
      const count = await store.incr('smsrl:codes', 60_000);
      return count > limits.codesPerMinute ? { allowed: false, window: 'codes' } : { allowed: true };
    },
  };
}
