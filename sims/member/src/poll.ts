/**
 * Pure parts of one simulated member app: when to poll next, and what a reply to the poll means
 * for the member's session key and ETag.
 */

/** What the member holds between polls. */
export interface PollState {
  sessionKey?: string;
  etag?: string;
  /** The interval the server last suggested (`pollAfterMs` in a 200 body). */
  serverIntervalMs?: number;
}

export type PollOutcome = 'ok' | 'not-modified' | 'unauthorized' | 'error';

/** The If-None-Match header to send, if the member has a validator. */
export function pollHeaders(state: PollState): Record<string, string> {
  const headers: Record<string, string> = {};
  if (state.sessionKey) headers.authorization = `Bearer ${state.sessionKey}`;
  if (state.etag) headers['if-none-match'] = state.etag;
  return headers;
}

/**
 * Applies a reply to the poll: a 200 brings a new ETag and the server's interval, a 304 keeps
 * both, a 401 drops the session (and the ETag, which names the old member) so the app logs in again.
 */
export function applyPollReply(state: PollState, reply: { status: number; etag?: string; pollAfterMs?: unknown }): { state: PollState; outcome: PollOutcome } {
  if (reply.status === 200) {
    const serverIntervalMs = typeof reply.pollAfterMs === 'number' && reply.pollAfterMs > 0 ? reply.pollAfterMs : state.serverIntervalMs;
    return { state: { ...state, etag: reply.etag ?? state.etag, ...(serverIntervalMs ? { serverIntervalMs } : {}) }, outcome: 'ok' };
  }
  if (reply.status === 304) return { state: { ...state, etag: reply.etag ?? state.etag }, outcome: 'not-modified' };
  if (reply.status === 401) return { state: { serverIntervalMs: state.serverIntervalMs }, outcome: 'unauthorized' };
  return { state, outcome: 'error' };
}

/** Until the first 200, an app polls at the platform's default interval. */
export const DEFAULT_SERVER_INTERVAL_MS = 5000;

/**
 * The wait before the next poll: the configured interval if any, else the server's, spread by
 * ±jitter (a fraction) so members do not poll in lockstep. `random` is in [0, 1).
 */
export function nextPollDelay(state: PollState, configuredMs: number | undefined, jitter: number, random: number): number {
  const base = configuredMs ?? state.serverIntervalMs ?? DEFAULT_SERVER_INTERVAL_MS;
  return Math.max(0, Math.round(base * (1 - jitter + 2 * jitter * random)));
}

/** When member `index` of `count` starts: evenly over the ramp, so logins do not arrive at once. */
export function startOffset(index: number, count: number, rampMs: number): number {
  return count <= 1 ? 0 : Math.round((rampMs * index) / count);
}

/** A distinct loopback source address per member, 127.<block>.x.y, for a local target. */
export function memberAddress(index: number, block: number): string {
  return `127.${block}.${Math.floor(index / 250)}.${(index % 250) + 1}`;
}

/** Whether the target is on this machine, so members can bind their own loopback addresses. */
export function isLoopbackTarget(url: string): boolean {
  const host = new URL(url).hostname;
  return host === 'localhost' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/**
 * Keeps the cookies a reply sets (an ingress's affinity cookie, in cookie mode), except the
 * session cookie: the app authenticates with its bearer key. A Max-Age of 0 or less removes one.
 */
export function keepCookies(jar: Map<string, string>, setCookie: readonly string[] | undefined, ignore: string): void {
  for (const line of setCookie ?? []) {
    const [pair = '', ...attributes] = line.split(';');
    const at = pair.indexOf('=');
    if (at <= 0) continue;
    const name = pair.slice(0, at).trim();
    if (name === ignore) continue;
    const expired = attributes.some((a) => /^\s*max-age\s*=\s*(-\d+|0)\s*$/i.test(a));
    if (expired) jar.delete(name);
    else jar.set(name, pair.slice(at + 1).trim());
  }
}

/** The Cookie header for the jar, if it holds any. */
export function cookieHeader(jar: ReadonlyMap<string, string>): string | undefined {
  return jar.size ? [...jar].map(([name, value]) => `${name}=${value}`).join('; ') : undefined;
}
