import { createHash, randomBytes } from 'node:crypto';

/** 256 random bits, URL-safe; a fresh one at every login, never reused. */
export function newSessionKey(): string {
  return randomBytes(32).toString('base64url');
}

const KEY_SHAPE = /^[A-Za-z0-9_-]{43}$/;

/** A string that could be a session key (cheap check before any lookup). */
export function isWellFormedSessionKey(key: string): boolean {
  return KEY_SHAPE.test(key);
}

/**
 * The login-state database stores only the SHA-256 of a session key, so a copy of Redis (or a
 * log line, or a revocation message) never holds a usable credential.
 */
export function hashSessionKey(key: string): string {
  return createHash('sha256').update(key).digest('base64url');
}
