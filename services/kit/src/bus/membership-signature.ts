import { createHmac, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';

/**
 * APP membership messages (app.announce, app.load.<id>, app.withdraw) signed with a key the APP
 * instances, the gateway and the operator share (MEMBERSHIP_SIGNING_KEY). The NATS permissions
 * already let only the `app` user publish them; the signature keeps a rogue announcement out on a
 * bus without users too (processes mode on an open NATS, a misconfigured production NATS). The
 * MAC covers the subject and a signing time, so a signed load report is not a withdrawal, and a
 * captured message is refused after MEMBERSHIP_SIGNATURE_MAX_AGE_MS.
 */
export const MEMBERSHIP_SIGNATURE_MAX_AGE_MS = 30_000;

/** The variable's schema; at least 32 characters (the chart generates 32 random ones). */
export const membershipKeyEnv = { MEMBERSHIP_SIGNING_KEY: z.string().min(32, 'must be at least 32 characters').optional() };

/** JSON with object keys sorted at every level, so signer and verifier hash the same bytes. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

function mac(key: string, subject: string, body: Record<string, unknown>): string {
  return createHmac('sha256', key).update(subject).update('\n').update(canonical(body)).digest('base64url');
}

/** The payload with `signedAt` and `sig` added; unchanged without a key. */
export function signMembership<T extends object>(subject: string, payload: T, key: string | undefined, now = Date.now()): T {
  if (!key) return payload;
  const body = { ...payload, signedAt: new Date(now).toISOString() } as Record<string, unknown>;
  return { ...body, sig: mac(key, subject, body) } as T;
}

/** Whether a received membership message may be acted on: always without a key, else a valid, fresh signature. */
export function verifyMembership(subject: string, data: unknown, key: string | undefined, now = Date.now()): boolean {
  if (!key) return true;
  if (data === null || typeof data !== 'object' || Array.isArray(data)) return false;
  const { sig, ...body } = data as Record<string, unknown>;
  if (typeof sig !== 'string' || typeof body.signedAt !== 'string') return false;
  const signedAt = Date.parse(body.signedAt);
  if (!Number.isFinite(signedAt) || Math.abs(now - signedAt) > MEMBERSHIP_SIGNATURE_MAX_AGE_MS) return false;
  const expected = Buffer.from(mac(key, subject, body));
  const given = Buffer.from(sig);
  return given.length === expected.length && timingSafeEqual(given, expected);
}
