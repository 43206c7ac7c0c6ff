/**
 * A per-connection token bucket: a client that floods frames is answered with an error and its
 * excess frames are dropped, so one misbehaving client cannot load the session store for all.
 */
export interface Bucket {
  tokens: number;
  updatedAt: number;
}

export interface RateLimit {
  /** Frames per second sustained. */
  ratePerSecond: number;
  /** Frames accepted in a burst. */
  burst: number;
}

export function fullBucket(limit: RateLimit, now: number): Bucket {
  return { tokens: limit.burst, updatedAt: now };
}

/** Takes one token if there is one; returns the bucket to keep and whether the frame may pass. */
export function takeToken(bucket: Bucket, limit: RateLimit, now: number): { bucket: Bucket; allowed: boolean } {
  const refilled = Math.min(limit.burst, bucket.tokens + (Math.max(0, now - bucket.updatedAt) / 1000) * limit.ratePerSecond);
  if (refilled < 1) return { bucket: { tokens: refilled, updatedAt: now }, allowed: false };
  return { bucket: { tokens: refilled - 1, updatedAt: now }, allowed: true };
}
