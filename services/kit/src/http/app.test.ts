import http from 'node:http';
import { Writable } from 'node:stream';
import { createHttpApp, refuseNul } from './app';
import { parseTrustProxy } from './trust-proxy';
import { createHealth } from './health';
import { createMetrics } from './metrics';
import { listen, type RunningServer } from './server';
import { createLogger } from '../logger';

// The request hooks feed the APP's in-flight count (load reports, the balancer's choice): every
// start must meet an end, also when the client gives up before the answer.
describe('createHttpApp request hooks', () => {
  let server: RunningServer;
  let inflight = 0;
  let ended = 0;
  let release: () => void = () => undefined;

  beforeAll(async () => {
    const silent = new Writable({ write: (_c, _e, done) => done() });
    const app = createHttpApp({
      log: createLogger('test', 'silent', silent),
      metrics: createMetrics('test'),
      health: createHealth(),
      hooks: {
        start: () => inflight++,
        end: () => {
          inflight--;
          ended++;
        },
      },
      routes: (a) => {
        a.get('/slow', async (_req, res) => {
          await new Promise<void>((resolve) => (release = resolve));
          res.json({ ok: true });
        });
        a.get('/fast', (_req, res) => {
          res.json({ ok: true });
        });
      },
    });
    server = await listen(app, 0);
  });
  afterAll(() => server.close(1000));

  it('ends a request that completes', async () => {
    const before = ended;
    expect((await fetch(`${server.url}/fast`)).status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(ended).toBe(before + 1);
    expect(inflight).toBe(0);
  });

  it('ends a request the client abandons before the answer', async () => {
    const req = http.get(`${server.url}/slow`);
    req.on('error', () => undefined);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(inflight).toBe(1);
    req.destroy();
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(inflight).toBe(0);
    release();
  });
});

describe('refuseNul', () => {
  it.each([
    ['a plain body', { displayName: 'Ann' }, undefined],
    ['a NUL in a field', { displayName: 'A\u0000' }, 'body.displayName'],
    ['a NUL in a nested field', { body: { note: ['ok', 'x\u0000'] } }, 'body.body.note.1'],
    ['a NUL in a key', { ['k\u0000']: 1 }, 'body.k\u0000'],
    ['a NUL as the whole body', '\u0000', 'body'],
    ['numbers and nulls', { a: 1, b: null, c: [true] }, undefined],
  ])('%s', (_name, value, field) => {
    const problem = refuseNul(value, 'body');
    expect(problem?.extra.invalidParams?.map((p) => p.name)[0]).toBe(field);
    if (field) expect(problem?.status).toBe(400);
  });

  it('walks a body nested far deeper than the stack', () => {
    const deep = JSON.parse('['.repeat(100_000) + '"\\u0000"' + ']'.repeat(100_000)) as unknown;
    expect(refuseNul(deep, 'body')?.status).toBe(400);
  });
});

describe('trust proxy', () => {
  // One reading of TRUST_PROXY (trust-proxy.ts) reaches express: "true" is one hop, not every hop.
  it.each([
    ['1', '203.0.113.7'],
    ['true', '203.0.113.7'],
    ['2', '6.6.6.6'],
    ['false', '127.0.0.1'],
    ['loopback', '203.0.113.7'],
    ['10.0.0.0/8', '127.0.0.1'],
  ])('with TRUST_PROXY=%j req.ip is %s', async (setting, ip) => {
    const silent = new Writable({ write: (_c, _e, done) => done() });
    const app = createHttpApp({
      log: createLogger('test', 'silent', silent),
      metrics: createMetrics('test'),
      health: createHealth(),
      trustProxy: parseTrustProxy(setting),
      routes: (a) => a.get('/ip', (req, res) => res.json({ ip: req.ip })),
    });
    const server = await listen(app, 0);
    try {
      const body = await new Promise<string>((resolve, reject) => {
        http
          .get(`${server.url}/ip`, { headers: { 'x-forwarded-for': '6.6.6.6, 203.0.113.7' } }, (res) => {
            let text = '';
            res.on('data', (c: Buffer) => (text += c.toString()));
            res.on('end', () => resolve(text));
          })
          .on('error', reject);
      });
      expect(JSON.parse(body)).toEqual({ ip });
    } finally {
      await server.close();
    }
  });
});

// Admission by queue time over real HTTP: a request that cannot be served before its deadline is
// refused at once with 503 + Retry-After, and one whose client left while it waited never runs.
describe('createHttpApp admission', () => {
  let server: RunningServer;
  let ran = 0;
  let release: () => void = () => undefined;

  beforeAll(async () => {
    const silent = new Writable({ write: (_c, _e, done) => done() });
    const app = createHttpApp({
      log: createLogger('test', 'silent', silent),
      metrics: createMetrics('test'),
      health: createHealth(),
      trustProxy: parseTrustProxy('loopback'),
      admission: { tier: 'test', slots: 1, deadlineCapMs: 30_000 },
      routes: (a) => {
        a.get('/held', async (_req, res) => {
          ran++;
          await new Promise<void>((resolve) => (release = resolve));
          res.json({ ok: true });
        });
      },
    });
    server = await listen(app, 0);
  });
  afterAll(() => server.close(1000));

  const settle = () => new Promise((resolve) => setTimeout(resolve, 50));

  it('refuses at once, with Retry-After, what would wait past its deadline', async () => {
    const holder = fetch(`${server.url}/held`);
    await settle();
    const started = Date.now();
    const refused = await fetch(`${server.url}/held`, { headers: { 'X-Request-Deadline': String(Date.now() + 5) } });
    expect(refused.status).toBe(503);
    expect(refused.headers.get('content-type')).toContain('application/problem+json');
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(Date.now() - started).toBeLessThan(1000);
    release();
    expect((await holder).status).toBe(200);
  });

  it('drops without work a queued request whose client went away', async () => {
    const before = ran;
    const holder = fetch(`${server.url}/held`);
    await settle();
    const abort = new AbortController();
    const queued = fetch(`${server.url}/held`, { signal: abort.signal }).catch(() => 'aborted');
    await settle();
    abort.abort();
    expect(await queued).toBe('aborted');
    await settle();
    release();
    expect((await holder).status).toBe(200);
    await settle();
    expect(ran).toBe(before + 1);
  });
});
