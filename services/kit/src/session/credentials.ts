import type { IncomingHttpHeaders } from 'node:http';

/** The cookie that carries the session key for browsers (HttpOnly, SameSite=Lax; Secure over TLS). */
export const SESSION_COOKIE = 'evs_session';

/** Where a request's session key came from: a browser's cookie needs the cross-site checks. */
export type CredentialSource = 'bearer' | 'cookie';

/**
 * The session key from `Authorization: Bearer …` (apps) or the session cookie (browsers). Header
 * values are the client's: a cookie that is not valid percent-encoding is no session, never an
 * exception (one thrown here in an upgrade listener once took the push service down).
 */
export function sessionKeyFrom(headers: IncomingHttpHeaders): string | undefined {
  return sessionCredentialFrom(headers)?.key;
}

export function sessionCredentialFrom(headers: IncomingHttpHeaders): { key: string; source: CredentialSource } | undefined {
  const authorization = headers.authorization;
  if (typeof authorization === 'string' && authorization.startsWith('Bearer ')) return { key: authorization.slice(7).trim(), source: 'bearer' };
  const value = sessionCookie(headers.cookie);
  return value === undefined ? undefined : { key: value, source: 'cookie' };
}

/** The first evs_session cookie's value, decoded; undefined when absent or malformed. */
export function sessionCookie(cookie: string | string[] | undefined): string | undefined {
  if (typeof cookie !== 'string' || cookie === '') return undefined;
  for (const part of cookie.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === SESSION_COOKIE) return safeDecode(part.slice(eq + 1).trim());
  }
  return undefined;
}

function safeDecode(value: string): string | undefined {
  try {
    return decodeURIComponent(value);
  } catch {
    return undefined;
  }
}
