import http from 'node:http';
import { Writable } from 'node:stream';
import fc from 'fast-check';
import { createHealth, createHttpApp, createLogger, createMetrics, listen, parseTrustProxy, type RunningServer } from '@evshare/kit';
import { checkProperty, fuzzTimeout } from '../support/fuzz';

/**
 * X-Request-Deadline faces whatever sits in front of a service: a value that is not one plain
 * epoch-milliseconds number is treated as absent (the deadline is now + REQUEST_DEADLINE_MS), a
 * value never lengthens the cap, and no value makes the service fail.
 */

const CAP_MS = 20_000;

function start(trustProxy: string) {
  const silent = new Writable({ write: (_c, _e, done) => done() });
  const app = createHttpApp({
    log: createLogger('test', 'silent', silent),
    metrics: createMetrics('test'),
    health: createHealth(),
    trustProxy: parseTrustProxy(trustProxy),
    admission: { tier: 'test', slots: 4, deadlineCapMs: CAP_MS },
    routes: (a) => {
      a.get('/deadline', (req, res) => {
        res.json({ leftMs: req.deadline - Date.now() });
      });
    },
  });
  return listen(app, 0);
}

/** A raw GET with one header value exactly as given (fetch would normalise or refuse it). */
function get(port: number, value: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ port, host: '127.0.0.1', path: '/deadline', headers: { 'X-Request-Deadline': value }, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

const headerValue = fc.stringMatching(/^[\x21-\x7e]([\x20-\x7e]{0,30}[\x21-\x7e])?$/);
const notPlainMillis = headerValue.filter((v) => !/^\d{13}$/.test(v));

describe('X-Request-Deadline from a trusted hop', () => {
  let trusted: RunningServer;
  let untrusted: RunningServer;
  beforeAll(async () => {
    trusted = await start('loopback');
    untrusted = await start('false');
  });
  afterAll(async () => {
    await trusted.close(1000);
    await untrusted.close(1000);
  });

  it(
    'a hostile value is treated as absent',
    async () => {
      await checkProperty('admission: hostile deadline', 200, notPlainMillis, async (value) => {
        const { status, body } = await get(trusted.port, value);
        expect(status).toBe(200);
        const { leftMs } = JSON.parse(body) as { leftMs: number };
        expect(leftMs).toBeGreaterThan(CAP_MS - 2000);
        expect(leftMs).toBeLessThanOrEqual(CAP_MS);
      });
    },
    fuzzTimeout(60_000),
  );

  it(
    'a well-formed value shortens the deadline, never lengthens it, and an expired one is refused without work',
    async () => {
      await checkProperty('admission: plain deadline', 200, fc.integer({ min: -60_000, max: 120_000 }), async (offsetMs) => {
        const { status, body } = await get(trusted.port, String(Date.now() + offsetMs));
        if (offsetMs <= 0) {
          expect(status).toBe(503);
          expect(JSON.parse(body)).toMatchObject({ type: expect.stringContaining('unavailable') });
          return;
        }
        if (offsetMs < 50) return;
        expect(status).toBe(200);
        const { leftMs } = JSON.parse(body) as { leftMs: number };
        expect(leftMs).toBeLessThanOrEqual(Math.min(offsetMs, CAP_MS));
        expect(leftMs).toBeGreaterThan(Math.min(offsetMs, CAP_MS) - 2000);
      });
    },
    fuzzTimeout(60_000),
  );

  it('is ignored from a hop that is not trusted', async () => {
    const { status, body } = await get(untrusted.port, String(Date.now() + 1000));
    expect(status).toBe(200);
    expect((JSON.parse(body) as { leftMs: number }).leftMs).toBeGreaterThan(CAP_MS - 2000);
  });
});
