import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createLogger, parseConfig, type RunningService } from '@evshare/kit';
import { CONTENT_SECURITY_POLICY, startWeb, webConfigSchema } from './index';

/** The web server on a throw-away build folder: what it serves, with which headers and caching. */
describe('web server', () => {
  let dir: string;
  let web: RunningService;
  const log = createLogger('web-test', 'silent');
  const get = (p: string, init?: RequestInit) => fetch(`${web.url}${p}`, init);

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'evshare-web-'));
    mkdirSync(path.join(dir, 'assets'));
    writeFileSync(path.join(dir, 'index.html'), '<!doctype html><title>evshare</title><script type="module" src="/assets/app-1a2b3c.js"></script>');
    writeFileSync(path.join(dir, 'assets', 'app-1a2b3c.js'), 'console.log(1)');
    writeFileSync(path.join(dir, 'favicon.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>');
    web = await startWeb({ config: parseConfig(webConfigSchema, { PORT: '0', PUBLIC_DIR: dir }), log });
  });
  afterAll(async () => {
    await web?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('answers every client route with index.html, never cached, under the strict CSP', async () => {
    for (const route of ['/', '/trip', '/console/cluster', '/console/members?x=1']) {
      const res = await get(route);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^text\/html/);
      expect(res.headers.get('cache-control')).toBe('no-cache');
      expect(res.headers.get('content-security-policy')).toBe(CONTENT_SECURITY_POLICY);
      expect(res.headers.get('x-frame-options')).toBe('DENY');
      expect(await res.text()).toContain('<title>evshare</title>');
    }
    expect(CONTENT_SECURITY_POLICY).not.toMatch(/unsafe|\*|https?:/);
  });

  it('serves hashed assets for a year and immutable; a missing asset or file is a 404, not the page', async () => {
    const asset = await get('/assets/app-1a2b3c.js');
    expect(asset.status).toBe(200);
    expect(asset.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect((await get('/favicon.svg')).headers.get('cache-control')).toBe('no-cache');
    for (const missing of ['/assets/gone-000000.js', '/robots.txt']) {
      const res = await get(missing);
      expect(res.status).toBe(404);
      expect(res.headers.get('content-type')).toMatch(/problem\+json/);
    }
  });

  it('never answers the API, push or balancer paths with the page', async () => {
    for (const p of ['/api/v1/stations', '/push', '/lb/status']) expect((await get(p)).status).toBe(404);
    expect((await get('/', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })).status).toBe(404);
  });

  it('reports not ready, and answers pages with 503, while the UI is not built', async () => {
    const empty = mkdtempSync(path.join(os.tmpdir(), 'evshare-web-empty-'));
    const unbuilt = await startWeb({ config: parseConfig(webConfigSchema, { PORT: '0', PUBLIC_DIR: empty }), log });
    try {
      expect((await fetch(`${unbuilt.url}/readyz`)).status).toBe(503);
      expect((await fetch(`${unbuilt.url}/healthz`)).status).toBe(200);
      expect((await fetch(`${unbuilt.url}/stations`)).status).toBe(503);
    } finally {
      await unbuilt.stop();
      rmSync(empty, { recursive: true, force: true });
    }
    expect((await get('/readyz')).status).toBe(200);
  });
});
