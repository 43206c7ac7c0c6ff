import type { IncomingHttpHeaders } from 'node:http';

/** The cookie that carries the session key for browsers (HttpOnly, SameSite=Lax). */
export const SESSION_COOKIE = 'evs_session';

/** The session key from `Authorization: Bearer …` (apps) or the session cookie (browsers). */
export function sessionKeyFrom(headers: IncomingHttpHeaders): string | undefined {
  const authorization = headers.authorization;
  if (authorization?.startsWith('Bearer ')) return authorization.slice(7).trim();
  const cookie = headers.cookie;
  if (!cookie) return undefined;
  for (const part of cookie.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === SESSION_COOKIE) {
      // A malformed percent-encoding is no key (URIError would be a 500).
      try {
        return decodeURIComponent(part.slice(eq + 1).trim());
      } catch {
        return undefined;
      }
    }
  }
  return undefined;
}
