/**
 * The one client retry rule, shared by the web UI (a browser build: this module imports nothing
 * and uses only what browsers and Node both have), the member simulator and the bench drivers:
 *
 * - A 503, or a 429 with Retry-After, means the server did no work (admission refused it, or the
 *   gateway had no instance): any request may be sent again, after Retry-After (or a backoff)
 *   stretched by a random [1x, 1.5x) so refused clients do not return together.
 * - A network failure, 502 or 504 may have left work done: only an idempotent request (GET, HEAD,
 *   PUT, DELETE, OPTIONS, or one carrying an Idempotency-Key) is sent again, after a backoff.
 * - At most `attempts` sends, and never a wait longer than `maxDelayMs` (a throttle's 15 minutes is
 *   the member's to see, not the client's to sit out).
 */

export interface RetryPolicy {
  /** Sends in all, the first included. */
  attempts: number;
  /** The first backoff without Retry-After; it doubles per attempt (full jitter). */
  baseDelayMs: number;
  /** The longest wait the client sits out before giving up. */
  maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { attempts: 6, baseDelayMs: 250, maxDelayMs: 60_000 };

const IDEMPOTENT = new Set(['GET', 'HEAD', 'PUT', 'DELETE', 'OPTIONS']);

export function isIdempotent(method: string, headers?: Record<string, string>): boolean {
  if (IDEMPOTENT.has(method.toUpperCase())) return true;
  return headers !== undefined && Object.keys(headers).some((name) => name.toLowerCase() === 'idempotency-key');
}

/** Retry-After as milliseconds from `now`: delta-seconds or an HTTP date; anything else undefined. */
export function retryAfterMs(header: string | null | undefined, now: number): number | undefined {
  if (!header) return undefined;
  const text = header.trim();
  if (/^\d{1,9}$/.test(text)) return Number(text) * 1000;
  if (!/^[A-Za-z]{3}, \d{2} [A-Za-z]{3} \d{4} \d{2}:\d{2}:\d{2} GMT$/.test(text)) return undefined;
  const at = Date.parse(text);
  return Number.isFinite(at) ? Math.max(0, at - now) : undefined;
}

export interface Failure {
  /** The send that failed, 1 for the first. */
  attempt: number;
  /** The answer's status; undefined for a network failure (reset, timeout, refused). */
  status?: number;
  retryAfter?: string | null;
  idempotent: boolean;
}

/** Pure: whether to send again, and after how long. `random` is in [0, 1). */
export function retryDecision(failure: Failure, policy: RetryPolicy, now: number, random: number): { retry: false } | { retry: true; delayMs: number } {
  if (failure.attempt >= policy.attempts) return { retry: false };
  const { status } = failure;
  const noWorkDone = status === 503 || (status === 429 && failure.retryAfter != null);
  const maybeDone = status === undefined || status === 502 || status === 504;
  if (!noWorkDone && !(maybeDone && failure.idempotent)) return { retry: false };
  const told = retryAfterMs(failure.retryAfter, now);
  if (told !== undefined && told > policy.maxDelayMs) return { retry: false };
  const delayMs = told !== undefined ? told * (1 + 0.5 * random) : Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (failure.attempt - 1)) * random;
  return { retry: true, delayMs: Math.round(Math.min(delayMs, policy.maxDelayMs)) };
}

/** What `fetchWithRetry` needs of a response (the browser's and Node's fetch both give it). */
interface Answer {
  status: number;
  headers: { get(name: string): string | null };
  /** A fetch body: cancelled before a retry, so the connection is free again. */
  body?: { cancel(): Promise<void> } | null;
}

export interface RetryOptions {
  policy?: RetryPolicy;
  random?: () => number;
  sleep?: (ms: number) => Promise<void>;
  /** Called before each wait (for counters and logs). */
  onRetry?: (failure: Failure, delayMs: number) => void;
}

const wait = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Sends `send()` until an answer that is not retried under the rule above, which it returns (the
 * last answer when attempts run out); a network failure that is not retried is thrown.
 */
export async function withRetry<R extends Answer>(
  send: () => Promise<R>,
  request: { method: string; headers?: Record<string, string> },
  options: RetryOptions = {},
): Promise<R> {
  const policy = options.policy ?? DEFAULT_RETRY;
  const random = options.random ?? Math.random;
  const sleep = options.sleep ?? wait;
  const idempotent = isIdempotent(request.method, request.headers);
  for (let attempt = 1; ; attempt++) {
    let answer: R | undefined;
    let failure: Failure;
    try {
      answer = await send();
      failure = { attempt, status: answer.status, retryAfter: answer.headers.get('retry-after'), idempotent };
    } catch (error) {
      failure = { attempt, idempotent };
      const decision = retryDecision(failure, policy, Date.now(), random());
      if (!decision.retry) throw error;
      options.onRetry?.(failure, decision.delayMs);
      await sleep(decision.delayMs);
      continue;
    }
    if (answer.status < 400) return answer;
    const decision = retryDecision(failure, policy, Date.now(), random());
    if (!decision.retry) return answer;
    await answer.body?.cancel().catch(() => undefined);
    options.onRetry?.(failure, decision.delayMs);
    await sleep(decision.delayMs);
  }
}
