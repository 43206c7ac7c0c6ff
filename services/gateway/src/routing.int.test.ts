import http from 'node:http';
import { createMemoryBus, SUBJECTS } from '@evshare/kit';
import { announce, call, startTestGateway, startUpstream, waitFor, type TestGateway, type TestUpstream } from './testing.fixture';

describe('gateway routing and proxying', () => {
  let app: TestUpstream;
  let auth1: TestUpstream;
  let auth2: TestUpstream;
  let push: TestUpstream;
  let charging: TestUpstream;
  let gw: TestGateway;
  let discovered = false;

  beforeAll(async () => {
    [app, auth1, auth2, push, charging] = await Promise.all([
      startUpstream('app-1'),
      startUpstream('auth-1'),
      startUpstream('auth-2'),
      startUpstream('push-1'),
      startUpstream('charging-1'),
    ]);
    const bus = createMemoryBus();
    bus.subscribe(SUBJECTS.appDiscover, () => {
      discovered = true;
      announce(bus, app);
    });
    gw = await startTestGateway({ AUTH_UPSTREAMS: `${auth1.url},${auth2.url}`, PUSH_UPSTREAMS: push.url, CHARGING_UPSTREAMS: charging.url }, bus);
    await waitFor(() => gw.gateway.status().instances.length === 1, 2000, 'the announced instance');
  });

  afterAll(async () => {
    await gw.stop();
    await Promise.all([app, auth1, auth2, push, charging].map((u) => u.close()));
  });

  it('asks running instances to announce themselves at start', () => {
    expect(discovered).toBe(true);
    expect(gw.gateway.status().instances[0]).toMatchObject({ id: 'app-1', source: 'announce', health: 'up' });
  });

  it.each([
    ['/api/v1/me', 'app-1'],
    ['/api/v1/sync?since=3', 'app-1'],
    ['/api/v1', 'app-1'],
    ['/push/info', 'push-1'],
    ['/push', 'push-1'],
    ['/api/v1/charging/piles', 'charging-1'],
    ['/api/v1/charging', 'charging-1'],
    ['/api/v1/chargingx', 'app-1'],
  ])('%s goes to %s', async (path, id) => {
    const reply = await call(gw.url, path);
    expect(reply.status).toBe(200);
    expect(reply.json()).toMatchObject({ id, url: path });
  });

  it('sends /api/v1/auth/* round-robin over the auth upstreams', async () => {
    const ids = [];
    for (let i = 0; i < 4; i++) ids.push((await call(gw.url, '/api/v1/auth/login', { method: 'POST', body: '{}' })).json().id);
    expect(ids.sort()).toEqual(['auth-1', 'auth-1', 'auth-2', 'auth-2']);
  });

  it('serves the placeholder page for everything else when no WEB_UPSTREAM is set', async () => {
    for (const path of ['/', '/stations/12']) {
      const reply = await call(gw.url, path);
      expect(reply.status).toBe(200);
      expect(reply.headers['content-type']).toContain('text/html');
      expect(reply.text).toContain('web UI arrives with the web issue');
      expect(reply.text).toContain('admin listener');
    }
    const post = await call(gw.url, '/', { method: 'POST' });
    expect(post.status).toBe(405);
    expect(post.headers['content-type']).toBe('application/problem+json');
  });

  it('answers an unknown /lb/ path with a problem+json 404, and proxies unknown /api paths', async () => {
    const reply = await call(gw.url, '/lb/nope');
    expect(reply.status).toBe(404);
    expect(reply.headers['content-type']).toBe('application/problem+json');
    expect(reply.json()).toMatchObject({ type: 'urn:evshare:problem:not-found', status: 404 });
    expect((await call(gw.url, '/api/v1/no/such/route')).json().id).toBe('app-1');
  });

  it('has its own /healthz, /readyz and /metrics', async () => {
    expect((await call(gw.url, '/healthz')).json()).toEqual({ status: 'ok' });
    const ready = await call(gw.url, '/readyz');
    expect(ready.status).toBe(200);
    expect(ready.json()).toMatchObject({ ready: true, appInstances: { known: 1, available: 1 } });
    const metrics = await call(gw.adminUrl, '/metrics');
    expect(metrics.text).toMatch(/gateway_requests_total\{pool="app",upstream="app-1",status="200"[^}]*\} \d+/);
    expect(metrics.text).toMatch(/gateway_upstream_duration_seconds_bucket\{pool="app",upstream="app-1",le="\+Inf"/);
    expect(metrics.text).toContain('gateway_queue_length');
    expect(metrics.text).toContain('gateway_upstream_up{pool="auth"');
  });

  it('sets the forwarding headers from what it saw, ignores forged ones, and keeps a request id', async () => {
    app.seen.length = 0;
    await call(gw.url, '/api/v1/me', {
      headers: {
        'X-Forwarded-For': '6.6.6.6',
        'X-Request-Id': 'trace-42',
        Host: 'evshare.test',
        Connection: 'keep-alive, X-Drop',
        'X-Drop': '1',
        'Keep-Alive': 'timeout=9',
      },
    });
    await call(gw.url, '/api/v1/me');
    const [first, second] = app.seen;
    expect(first!.headers).toMatchObject({
      'x-forwarded-for': '127.0.0.1',
      'x-forwarded-proto': 'http',
      'x-forwarded-host': 'evshare.test',
      'x-request-id': 'trace-42',
    });
    expect(first!.headers['x-drop']).toBeUndefined();
    expect(first!.headers['keep-alive']).toBeUndefined();
    expect(second!.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('streams request and response bodies through, chunked or not', async () => {
    app.handler = (req, res, body) => {
      res.writeHead(201, { 'content-type': 'text/plain', 'x-app-instance': 'app-1' });
      // Two writes without a length: chunked to the gateway, chunked again to the client.
      res.write(body.slice(0, 10));
      res.end(body.slice(10));
    };
    try {
      const big = 'x'.repeat(1024 * 1024);
      const reply = await call(gw.url, '/api/v1/upload', { method: 'POST', body: big, headers: { 'content-type': 'text/plain' } });
      expect(reply.status).toBe(201);
      expect(reply.headers['transfer-encoding']).toBe('chunked');
      expect(reply.text.length).toBe(big.length);
      const chunked = await new Promise<number>((resolve, reject) => {
        const request = http.request(`${gw.url}/api/v1/upload`, { method: 'POST', agent: false }, (response) => {
          let length = 0;
          response.on('data', (chunk: Buffer) => (length += chunk.length));
          response.on('end', () => resolve(length));
        });
        request.on('error', reject);
        request.write('a'.repeat(5000));
        request.end('b'.repeat(5000));
      });
      expect(chunked).toBe(10_000);
    } finally {
      app.handler = undefined;
    }
  });

  it('passes HEAD and 304 answers without a body', async () => {
    app.handler = (req, res) => {
      if (req.headers['if-none-match'] === '"v1"') res.writeHead(304, { etag: '"v1"' }).end();
      else res.writeHead(200, { etag: '"v1"', 'content-type': 'application/json', 'content-length': 2 }).end(req.method === 'HEAD' ? undefined : '{}');
    };
    try {
      const head = await call(gw.url, '/api/v1/sync', { method: 'HEAD' });
      expect(head.status).toBe(200);
      expect(head.headers['content-length']).toBe('2');
      expect(head.text).toBe('');
      const notModified = await call(gw.url, '/api/v1/sync', { headers: { 'If-None-Match': '"v1"' } });
      expect(notModified.status).toBe(304);
      expect(notModified.headers.etag).toBe('"v1"');
    } finally {
      app.handler = undefined;
    }
  });

  it('keeps serving on one keep-alive client connection', async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const replies = await Promise.all(Array.from({ length: 20 }, () => call(gw.url, '/api/v1/me', { agent })));
      expect(replies.every((r) => r.status === 200)).toBe(true);
    } finally {
      agent.destroy();
    }
  });
});

describe('gateway with a WEB_UPSTREAM', () => {
  it('sends non-API paths to the web front end', async () => {
    const web = await startUpstream('web');
    const gw = await startTestGateway({ WEB_UPSTREAM: web.url });
    try {
      expect((await call(gw.url, '/index.html')).json()).toMatchObject({ id: 'web', url: '/index.html' });
      // No APP instance known yet: a problem, not a hang.
      const reply = await call(gw.url, '/api/v1/me');
      expect(reply.status).toBe(503);
      expect(reply.headers['retry-after']).toBe('1');
      expect(reply.json()).toMatchObject({ type: 'urn:evshare:problem:unavailable', detail: 'No APP instance is available' });
    } finally {
      await gw.stop();
      await web.close();
    }
  });
});
