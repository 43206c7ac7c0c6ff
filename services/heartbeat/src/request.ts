import type { IncomingHttpHeaders } from 'node:http';
import type { TrustProxy } from '@evshare/kit';

/**
 * What the push service reads from an upgrade request besides the session key: the member's
 * address and whether a browser's cookie may be used from the page's origin.
 */

/**
 * The client address, computed as express computes `req.ip`: walking from the socket towards the
 * client through X-Forwarded-For while the current hop is a trusted proxy, so a client cannot
 * choose its address by sending its own X-Forwarded-For.
 */
export function clientAddress(socketAddress: string | undefined, forwardedFor: string | string[] | undefined, trust: TrustProxy): string {
  const header = Array.isArray(forwardedFor) ? forwardedFor.join(',') : (forwardedFor ?? '');
  const chain = [
    socketAddress ?? '',
    ...header
      .split(',')
      .map((part) => part.trim())
      .filter(Boolean)
      .reverse(),
  ];
  let hop = 0;
  while (hop < chain.length - 1 && trust.trusts(chain[hop] ?? '', hop)) hop++;
  return chain[hop] ?? '';
}

/**
 * Whether a cookie-authenticated upgrade comes from an allowed page. Browsers send the cookie with
 * a WebSocket handshake from any site, so without this a foreign page could read a member's
 * notifications (cross-site WebSocket hijacking). No Origin (not a browser) is allowed; otherwise
 * the origin must be listed, or with an empty list be the host the request was addressed to.
 */
export function originAllowed(headers: IncomingHttpHeaders, allowedOrigins: string[], trustForwardedHost: boolean): boolean {
  const origin = headers.origin;
  if (origin === undefined) return true;
  let parsed: URL;
  try {
    parsed = new URL(origin);
  } catch {
    return false;
  }
  if (allowedOrigins.length > 0) return allowedOrigins.includes('*') || allowedOrigins.some((allowed) => sameOrigin(allowed, parsed));
  const forwardedHost = trustForwardedHost ? headers['x-forwarded-host'] : undefined;
  const host = (typeof forwardedHost === 'string' ? forwardedHost.split(',')[0]?.trim() : undefined) ?? headers.host;
  return host !== undefined && parsed.host.toLowerCase() === host.toLowerCase();
}

function sameOrigin(allowed: string, origin: URL): boolean {
  try {
    return new URL(allowed).origin === origin.origin;
  } catch {
    return false;
  }
}
