import { applyPollReply, cookieHeader, isLoopbackTarget, keepCookies, memberAddress, nextPollDelay, pollHeaders, startOffset, type PollState } from './poll';
import { seededRandom } from '@evshare/kit';

const member = '0f6f8a38-2f4b-4b8e-9a55-3b1e1c2d9e10';
const etag = (v: number) => `"${member}.${v}"`;

describe('applyPollReply', () => {
  const held: PollState = { sessionKey: 'k1', etag: etag(3), serverIntervalMs: 5000 };
  it.each<[string, PollState, { status: number; etag?: string; pollAfterMs?: unknown }, PollState, string]>([
    [
      'first 200 stores the ETag and interval',
      { sessionKey: 'k1' },
      { status: 200, etag: etag(1), pollAfterMs: 4000 },
      { sessionKey: 'k1', etag: etag(1), serverIntervalMs: 4000 },
      'ok',
    ],
    ['200 with a new version replaces the ETag', held, { status: 200, etag: etag(4), pollAfterMs: 5000 }, { ...held, etag: etag(4) }, 'ok'],
    ['200 without a usable pollAfterMs keeps the interval', held, { status: 200, etag: etag(4), pollAfterMs: 'soon' }, { ...held, etag: etag(4) }, 'ok'],
    ['304 keeps everything', held, { status: 304, etag: etag(3) }, held, 'not-modified'],
    ['401 drops the session and the ETag', held, { status: 401 }, { serverIntervalMs: 5000 }, 'unauthorized'],
    ['a 503 changes nothing', held, { status: 503 }, held, 'error'],
    ['a 500 changes nothing', held, { status: 500 }, held, 'error'],
  ])('%s', (_name, state, reply, next, outcome) => {
    expect(applyPollReply(state, reply)).toEqual({ state: next, outcome });
  });
});

describe('pollHeaders', () => {
  it.each<[PollState, Record<string, string>]>([
    [{}, {}],
    [{ sessionKey: 'k' }, { authorization: 'Bearer k' }],
    [
      { sessionKey: 'k', etag: etag(2) },
      { authorization: 'Bearer k', 'if-none-match': etag(2) },
    ],
  ])('%j', (state, headers) => expect(pollHeaders(state)).toEqual(headers));
});

describe('nextPollDelay', () => {
  it.each<[PollState, number | undefined, number, number, number]>([
    [{}, undefined, 0, 0.5, 5000],
    [{ serverIntervalMs: 3000 }, undefined, 0, 0.9, 3000],
    [{ serverIntervalMs: 3000 }, 1000, 0, 0.9, 1000],
    [{}, 1000, 0.1, 0, 900],
    [{}, 1000, 0.1, 0.5, 1000],
    [{}, 1000, 0.1, 0.999999, 1100],
    [{}, 0, 0.5, 0.3, 0],
  ])('%j configured %s jitter %s random %s → %s ms', (state, configured, jitter, random, expected) => {
    expect(nextPollDelay(state, configured, jitter, random)).toBe(expected);
  });

  it('is reproducible from the seed and spread over the jitter band', () => {
    const draw = (seed: number) => {
      const random = seededRandom(seed).next;
      return Array.from({ length: 200 }, () => nextPollDelay({}, 1000, 0.2, random()));
    };
    expect(draw(7)).toEqual(draw(7));
    expect(draw(7)).not.toEqual(draw(8));
    const delays = draw(7);
    expect(Math.min(...delays)).toBeGreaterThanOrEqual(800);
    expect(Math.max(...delays)).toBeLessThanOrEqual(1200);
    expect(new Set(delays).size).toBeGreaterThan(50);
  });
});

describe('startOffset, memberAddress, isLoopbackTarget', () => {
  it.each([
    [0, 10, 1000, 0],
    [5, 10, 1000, 500],
    [9, 10, 1000, 900],
    [0, 1, 1000, 0],
    [3, 4, 0, 0],
  ])('member %s of %s over %s ms starts at %s ms', (i, n, ramp, at) => expect(startOffset(i, n, ramp)).toBe(at));

  it.each([
    [0, 2, '127.2.0.1'],
    [249, 2, '127.2.0.250'],
    [250, 2, '127.2.1.1'],
    [1000, 3, '127.3.4.1'],
  ])('member %s in block %s binds %s', (i, block, address) => expect(memberAddress(i, block)).toBe(address));

  it.each([
    ['http://127.0.0.1:8080', true],
    ['http://localhost:8080/', true],
    ['http://127.5.6.7', true],
    ['http://evshare.local', false],
    ['https://10.96.0.10:443', false],
  ])('%s is local: %s', (url, local) => expect(isLoopbackTarget(url)).toBe(local));
});

describe('keepCookies', () => {
  it.each<[string, Array<[string, string]>, string[], string | undefined]>([
    ['keeps an affinity cookie', [], ['route=abc123; Path=/; HttpOnly'], 'route=abc123'],
    ['ignores the session cookie', [], ['evs_session=secret; Path=/; HttpOnly', 'INGRESSCOOKIE=9f; Path=/'], 'INGRESSCOOKIE=9f'],
    ['replaces a value', [['route', 'a']], ['route=b; Path=/'], 'route=b'],
    [
      'removes an expired cookie',
      [
        ['route', 'a'],
        ['x', '1'],
      ],
      ['route=; Max-Age=0'],
      'x=1',
    ],
    ['skips a malformed line', [], ['nonsense', '=v'], undefined],
    ['keeps a value with "="', [], ['t=a=b; Path=/'], 't=a=b'],
  ])('%s', (_name, start, setCookie, header) => {
    const jar = new Map(start);
    keepCookies(jar, setCookie, 'evs_session');
    expect(cookieHeader(jar)).toBe(header);
  });
});
