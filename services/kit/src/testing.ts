import { randomBytes } from 'node:crypto';

/**
 * Test support: where the real servers are, and names that keep parallel test files apart
 * (each file gets its own key prefix, subject prefix and database).
 */
export const TEST_REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
export const TEST_NATS_URL = process.env.TEST_NATS_URL ?? 'nats://127.0.0.1:4222';
export const TEST_DATABASE_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

/** A short random token usable in Redis keys, NATS subjects/stream names and database names. */
export function uniqueName(label = 't'): string {
  return `${label}${Date.now().toString(36)}${randomBytes(3).toString('hex')}`.toLowerCase();
}
