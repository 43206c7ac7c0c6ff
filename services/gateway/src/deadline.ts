/**
 * The deadline a request is forwarded under (X-Request-Deadline, epoch ms, read by the services'
 * admission in the kit): now plus the client's X-Request-Timeout (milliseconds), clamped to the
 * gateway's budget, and never later than a deadline a trusted proxy in front already set. Pure.
 */
export const DEADLINE_HEADER = 'X-Request-Deadline';

const MILLISECONDS = /^[1-9]\d{0,8}$/;
const EPOCH_MS = /^\d{13}$/;

export type Deadline = { deadline: number } | { malformed: string };

export function requestDeadline(timeout: string | undefined, trusted: string | undefined, now: number, budgetMs: number): Deadline {
  let ms = budgetMs;
  if (timeout !== undefined) {
    const value = timeout.trim();
    if (!MILLISECONDS.test(value)) return { malformed: 'X-Request-Timeout must be one whole number of milliseconds, at least 1' };
    ms = Math.min(Number(value), budgetMs);
  }
  let deadline = now + ms;
  // A trusted hop's deadline can only shorten ours; a malformed one is that hop's bug, not the client's: ignored.
  if (trusted !== undefined && EPOCH_MS.test(trusted.trim())) deadline = Math.min(deadline, Number(trusted.trim()));
  return { deadline };
}
