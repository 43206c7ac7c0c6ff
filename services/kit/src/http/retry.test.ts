import { DEFAULT_RETRY, isIdempotent, retryAfterMs, retryDecision, withRetry } from './retry';

const NOW = Date.parse('2026-12-02T12:00:00Z');
const policy = { attempts: 4, baseDelayMs: 100, maxDelayMs: 10_000 };

describe('retryAfterMs', () => {
  it.each([
    ['2', 2000],
    [' 0 ', 0],
    ['Wed, 02 Dec 2026 12:00:05 GMT', 5000],
    ['Wed, 02 Dec 2026 11:00:00 GMT', 0],
    ['-1', undefined],
    ['1.5', undefined],
    ['1e3', undefined],
    ['soon', undefined],
    ['9999999999', undefined],
    ['', undefined],
    [null, undefined],
  ])('%p -> %p', (header, expected) => {
    expect(retryAfterMs(header, NOW)).toBe(expected);
  });
});

describe('retryDecision', () => {
  it.each([
    ['503 with Retry-After, a POST', { status: 503, retryAfter: '2', idempotent: false }, 0.5, { retry: true, delayMs: 2500 }],
    ['503 without Retry-After: a backoff', { status: 503, idempotent: false }, 0.5, { retry: true, delayMs: 50 }],
    ['429 with Retry-After', { status: 429, retryAfter: '1', idempotent: false }, 0, { retry: true, delayMs: 1000 }],
    ['429 asking longer than the client waits', { status: 429, retryAfter: '900', idempotent: true }, 0, { retry: false }],
    ['429 without Retry-After', { status: 429, idempotent: true }, 0, { retry: false }],
    ['a network failure of a GET', { idempotent: true }, 1, { retry: true, delayMs: 100 }],
    ['a network failure of a POST', { idempotent: false }, 0.5, { retry: false }],
    ['502 of a GET', { status: 502, idempotent: true }, 0.5, { retry: true, delayMs: 50 }],
    ['502 of a POST', { status: 502, idempotent: false }, 0.5, { retry: false }],
    ['500', { status: 500, idempotent: true }, 0.5, { retry: false }],
    ['400', { status: 400, idempotent: true }, 0.5, { retry: false }],
  ])('%s', (_name, failure, random, expected) => {
    expect(retryDecision({ attempt: 1, ...failure }, policy, NOW, random)).toEqual(expected);
  });

  it('backs off exponentially, bounded, and stops after the attempts', () => {
    const delays = [1, 2, 3].map((attempt) => retryDecision({ attempt, status: 503, idempotent: true }, policy, NOW, 0.999));
    expect(delays).toEqual([
      { retry: true, delayMs: 100 },
      { retry: true, delayMs: 200 },
      { retry: true, delayMs: 400 },
    ]);
    expect(retryDecision({ attempt: 4, status: 503, idempotent: true }, policy, NOW, 0.5)).toEqual({ retry: false });
  });
});

describe('isIdempotent', () => {
  it.each([
    ['GET', undefined, true],
    ['delete', undefined, true],
    ['POST', undefined, false],
    ['POST', { 'Idempotency-Key': 'k' }, true],
  ])('%s %p', (method, headers, expected) => {
    expect(isIdempotent(method, headers)).toBe(expected);
  });
});

describe('withRetry', () => {
  const answer = (status: number, retryAfter?: string) => ({
    status,
    headers: { get: (name: string) => (name === 'retry-after' ? (retryAfter ?? null) : null) },
  });

  it('sends again after each shed answer, and returns the first that is not', async () => {
    const answers = [answer(503, '1'), answer(503, '1'), answer(200)];
    const slept: number[] = [];
    const result = await withRetry(async () => answers.shift()!, { method: 'POST' }, { policy, random: () => 0, sleep: async (ms) => void slept.push(ms) });
    expect(result.status).toBe(200);
    expect(slept).toEqual([1000, 1000]);
  });

  it('returns the last answer when the attempts run out', async () => {
    let sends = 0;
    const result = await withRetry(async () => (sends++, answer(503, '1')), { method: 'GET' }, { policy, random: () => 0, sleep: async () => undefined });
    expect(result.status).toBe(503);
    expect(sends).toBe(policy.attempts);
  });

  it('throws a network failure of a POST at once', async () => {
    let sends = 0;
    await expect(withRetry(async () => (sends++, Promise.reject(new Error('reset'))), { method: 'POST' }, { sleep: async () => undefined })).rejects.toThrow(
      'reset',
    );
    expect(sends).toBe(1);
  });

  it('uses the default policy', async () => {
    let sends = 0;
    await expect(withRetry(async () => (sends++, Promise.reject(new Error('reset'))), { method: 'GET' }, { sleep: async () => undefined })).rejects.toThrow(
      'reset',
    );
    expect(sends).toBe(DEFAULT_RETRY.attempts);
  });
});
