import type { IncomingHttpHeaders } from 'node:http';
import { sessionCredentialFrom } from '../session/credentials';

/**
 * Cross-site request forgery defence for cookie-authenticated requests (OWASP: Fetch Metadata,
 * then Origin). A browser attaches the session cookie to requests a foreign page makes; SameSite=Lax
 * stops most of them, not a same-site page (another subdomain) nor an older browser. A request
 * authenticated by `Authorization: Bearer` carries no ambient credential and is not checked.
 */

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Why a request is refused as cross-site, or undefined when it may proceed. `host` is the host the
 * request was addressed to (Host, or X-Forwarded-Host from a trusted hop); `allowedOrigins` lists
 * the pages that may use the cookie besides that host's own ('*' any).
 */
export function crossSiteRefusal(
  method: string,
  headers: IncomingHttpHeaders,
  host: string | undefined,
  allowedOrigins: readonly string[],
): string | undefined {
  if (SAFE_METHODS.has(method.toUpperCase())) return undefined;
  if (sessionCredentialFrom(headers)?.source !== 'cookie') return undefined;
  const origin = single(headers.origin);
  const listed = origin !== undefined && isListed(origin, allowedOrigins);
  const site = single(headers['sec-fetch-site']);
  if (site !== undefined) {
    if (site === 'same-origin' || site === 'none' || listed) return undefined;
    return `A ${site} request may not use the session cookie`;
  }
  // No Fetch Metadata (an older browser, or not a browser): the Origin decides; none is not a browser.
  if (origin === undefined || listed || sameHost(origin, host)) return undefined;
  return `The origin ${origin.slice(0, 100)} may not use the session cookie`;
}

function isListed(origin: string, allowedOrigins: readonly string[]): boolean {
  const parsed = parse(origin);
  return parsed !== undefined && allowedOrigins.some((allowed) => allowed === '*' || parse(allowed)?.origin === parsed.origin);
}

function sameHost(origin: string, host: string | undefined): boolean {
  const parsed = parse(origin);
  return parsed !== undefined && host !== undefined && parsed.host.toLowerCase() === host.trim().toLowerCase();
}

function parse(origin: string): URL | undefined {
  try {
    const url = new URL(origin);
    return url.protocol === 'http:' || url.protocol === 'https:' ? url : undefined;
  } catch {
    return undefined;
  }
}

function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
