import type { IncomingHttpHeaders } from 'node:http';

/**
 * What the push service reads from an upgrade request besides the session key: the member's
 * address and whether a browser's cookie may be used from the page's origin.
 */

/**
 * TRUST_PROXY: how many proxies in front of the service append to X-Forwarded-For (`false`/0:
 * none, the socket address is the client; `true`/1: the gateway or the ingress; n: a chain).
 */
export function parseTrustProxy(value: string): number | undefined {
  const v = value.trim().toLowerCase();
  if (v === 'false' || v === 'no') return 0;
  if (v === 'true' || v === 'yes') return 1;
  return /^\d{1,2}$/.test(v) ? Number(v) : undefined;
}

/**
 * The client address, as express computes it for a numeric `trust proxy`: walking from the socket
 * towards the client through X-Forwarded-For, trusting `trustedHops` proxies and no more, so a
 * client cannot choose its address by sending its own X-Forwarded-For.
 */
export function clientAddress(socketAddress: string | undefined, forwardedFor: string | string[] | undefined, trustedHops: number): string {
  const header = Array.isArray(forwardedFor) ? forwardedFor.join(',') : (forwardedFor ?? '');
  const chain = [
    socketAddress ?? '',
    ...header
      .split(',')
      .map((part) => part.trim())
      .filter(Boolean)
      .reverse(),
  ];
  return chain[Math.min(trustedHops, chain.length - 1)] ?? '';
}

/**
 * Whether a cookie-authenticated upgrade comes from an allowed page. Browsers send the cookie with
 * a WebSocket handshake from any site, so without this a foreign page could read a member's
 * notifications (cross-site WebSocket hijacking). No Origin (not a browser) is allowed; otherwise
 * the origin must be listed, or with an empty list be the host the request was addressed to.
 */
export function originAllowed(headers: IncomingHttpHeaders, allowedOrigins: string[], trustProxy: boolean): boolean {
  const origin = headers.origin;
  if (origin === undefined) return true;
  let parsed: URL;
  try {
    parsed = new URL(origin);
  } catch {
    return false;
  }
  if (allowedOrigins.length > 0) return allowedOrigins.includes('*') || allowedOrigins.some((allowed) => sameOrigin(allowed, parsed));
  const forwardedHost = trustProxy ? headers['x-forwarded-host'] : undefined;
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
