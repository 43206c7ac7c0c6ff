import net from 'node:net';
import WebSocket, { WebSocketServer } from 'ws';
import http from 'node:http';
import { announce, call, sleep, startTestGateway, startUpstream, waitFor, type TestGateway, type TestUpstream } from './testing.fixture';
import { messageText } from '../../../test/support/ws';

/**
 * Regression tests named after the attacks on the gateway reported in issue 10, each against the
 * real gateway with real backends (node:http servers recording what they parsed, a ws server, and
 * for the handshake a raw TCP recorder that shows every byte the gateway sent on).
 */

interface RawReply {
  text: string;
  /** The gateway closed the connection (rather than the test giving up). */
  closed: boolean;
  ms: number;
}

/** Writes `chunks` (with `gapMs` between them) on one connection; collects until close or `timeoutMs`. */
function raw(port: number, chunks: string[], timeoutMs = 3000, gapMs = 0): Promise<RawReply> {
  return new Promise((resolve) => {
    const started = Date.now();
    const socket = net.connect(port, '127.0.0.1');
    let text = '';
    const done = (closed: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      resolve({ text, closed, ms: Date.now() - started });
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    socket.on('data', (chunk: Buffer) => (text += chunk.toString('latin1')));
    socket.on('close', () => done(true));
    socket.on('error', () => {});
    void (async () => {
      for (const chunk of chunks) {
        if (socket.destroyed) return;
        socket.write(chunk, 'latin1');
        if (gapMs > 0) await sleep(gapMs);
      }
    })();
  });
}

describe('attacks on the gateway (issue 10)', () => {
  let app: TestUpstream;
  let gw: TestGateway;

  beforeAll(async () => {
    app = await startUpstream('app-1');
    gw = await startTestGateway({ HEADERS_TIMEOUT_MS: '400' });
    announce(gw.bus, app);
    await waitFor(() => gw.gateway.status().totals.available === 1);
  });
  afterAll(async () => {
    await gw.stop();
    await app.close();
  });
  beforeEach(() => {
    app.seen.length = 0;
  });

  describe('request smuggling via Connection: content-length', () => {
    const smuggled = 'GET /api/v1/smuggled HTTP/1.1\r\nHost: gw\r\nX-Forwarded-For: 6.6.6.6\r\n\r\n';
    it.each([
      ['content-length', `Connection: keep-alive, content-length\r\nContent-Length: ${smuggled.length}\r\n`, smuggled],
      ['transfer-encoding', 'Connection: Transfer-Encoding\r\nTransfer-Encoding: chunked\r\n', `${smuggled.length.toString(16)}\r\n${smuggled}\r\n0\r\n\r\n`],
      ['x-forwarded-for', `Connection: close, X-Forwarded-For\r\nContent-Length: ${smuggled.length}\r\n`, smuggled],
      ['host', `Connection: host\r\nContent-Length: ${smuggled.length}\r\n`, smuggled],
    ])('Connection naming %s is refused with 400 and the connection closed; nothing reaches the backend', async (_name, fields, body) => {
      const reply = await raw(gw.gateway.port, [`POST /api/v1/rentals HTTP/1.1\r\nHost: gw\r\n${fields}\r\n${body}`]);
      expect(reply.text).toMatch(/^HTTP\/1\.1 400 /);
      expect(reply.text).toContain('Connection may not name');
      expect(reply.closed).toBe(true);
      // The next user of the pooled upstream connection gets its own answer.
      const victim = await call(gw.url, '/api/v1/victim');
      expect(victim.json().url).toBe('/api/v1/victim');
      expect(app.seen.map((s) => s.url)).toEqual(['/api/v1/victim']);
    });

    it('a body always reaches the backend with the length the gateway parsed, as one request', async () => {
      const reply = await raw(gw.gateway.port, [
        `POST /api/v1/rentals HTTP/1.1\r\nHost: gw\r\ncontent-length:  ${smuggled.length}\r\nConnection: close\r\n\r\n${smuggled}`,
      ]);
      expect(reply.text).toMatch(/^HTTP\/1\.1 200 /);
      expect(app.seen).toHaveLength(1);
      expect(app.seen[0]).toMatchObject({ url: '/api/v1/rentals', body: smuggled });
      expect(app.seen[0]!.headers['content-length']).toBe(String(smuggled.length));
    });
  });

  describe('CRLF flood', () => {
    it('a client sending only empty lines is refused after a few and closed', async () => {
      const reply = await raw(
        gw.gateway.port,
        Array.from({ length: 20 }, () => '\r\n'),
        3000,
        20,
      );
      expect(reply.text).toMatch(/^HTTP\/1\.1 400 /);
      expect(reply.closed).toBe(true);
    });

    it('a head trickled in is cut at HEADERS_TIMEOUT_MS from its first byte, however steady the trickle', async () => {
      const bytes = 'GET /api/v1/slow HTTP/1.1\r\nHost: gw\r\nX-Pad: '.split('');
      const reply = await raw(gw.gateway.port, [...bytes, ...Array.from({ length: 100 }, () => 'a')], 5000, 25);
      expect(reply.text).toMatch(/^HTTP\/1\.1 408 /);
      expect(reply.closed).toBe(true);
      expect(reply.ms).toBeLessThan(2000);
      expect(app.seen).toHaveLength(0);
    });

    it('one empty line before a request is still accepted', async () => {
      const reply = await raw(gw.gateway.port, ['\r\nGET /api/v1/ok HTTP/1.1\r\nHost: gw\r\nConnection: close\r\n\r\n']);
      expect(reply.text).toMatch(/^HTTP\/1\.1 200 /);
    });
  });

  describe('status and metrics not public', () => {
    it.each(['/lb/status', '/metrics', '/lb/status?x=1', '/lb'])('%s on the public port is a 404 problem and shows nothing', async (path) => {
      const reply = await call(gw.url, path);
      expect(reply.status).toBe(404);
      expect(reply.headers['content-type']).toBe('application/problem+json');
      expect(reply.text).not.toContain(app.url);
      expect(reply.text).not.toContain('gateway_requests_total');
    });

    it('the admin listener serves them, and proxies nothing', async () => {
      const status = await call(gw.adminUrl, '/lb/status');
      expect(status.status).toBe(200);
      expect(status.json().instances[0].url).toBe(app.url);
      expect((await call(gw.adminUrl, '/metrics')).text).toContain('gateway_requests_total');
      expect((await call(gw.adminUrl, '/api/v1/me')).status).toBe(404);
      expect(app.seen).toHaveLength(0);
    });

    it('the public port still answers liveness and readiness probes', async () => {
      expect((await call(gw.url, '/healthz')).status).toBe(200);
      expect((await call(gw.url, '/readyz')).status).toBe(200);
    });
  });

  describe('forged X-Forwarded-For', () => {
    it('from a client the gateway does not trust, X-Forwarded-For is overwritten with its address', async () => {
      await call(gw.url, '/api/v1/auth-ish', { headers: { 'X-Forwarded-For': '6.6.6.6', 'X-Real-IP': '6.6.6.6', Forwarded: 'for=6.6.6.6' } });
      const seen = app.seen[0]!.headers;
      expect(seen['x-forwarded-for']).toBe('127.0.0.1');
      expect(seen['x-real-ip']).toBeUndefined();
      expect(seen.forwarded).toBeUndefined();
    });

    it('behind one trusted hop, only the entry that hop added is believed', async () => {
      const behind = await startTestGateway({ TRUST_PROXY: '1' });
      try {
        announce(behind.bus, app);
        await waitFor(() => behind.gateway.status().totals.available === 1);
        await call(behind.url, '/api/v1/x', { headers: { 'X-Forwarded-For': '6.6.6.6, 203.0.113.7' } });
        expect(app.seen[0]!.headers['x-forwarded-for']).toBe('203.0.113.7, 127.0.0.1');
      } finally {
        await behind.stop();
      }
    });
  });
});

describe('attack: connection cap', () => {
  it('connections beyond MAX_CLIENT_CONNECTIONS get a prompt 503 and are closed; room frees up', async () => {
    const app = await startUpstream('app-1');
    const gw = await startTestGateway({ MAX_CLIENT_CONNECTIONS: '3' });
    const held: net.Socket[] = [];
    try {
      announce(gw.bus, app);
      await waitFor(() => gw.gateway.status().totals.available === 1);
      for (let i = 0; i < 3; i++) {
        const socket = net.connect(gw.gateway.port, '127.0.0.1');
        socket.on('error', () => {});
        await new Promise((resolve) => socket.once('connect', resolve));
        held.push(socket);
      }
      await sleep(50);
      const over = await raw(gw.gateway.port, ['GET /api/v1/x HTTP/1.1\r\nHost: gw\r\n\r\n'], 2000);
      expect(over.text).toMatch(/^HTTP\/1\.1 503 /);
      expect(over.text).toContain('Retry-After: 1');
      expect(over.closed).toBe(true);
      expect(over.ms).toBeLessThan(1500);
      expect(app.seen).toHaveLength(0);
      held.pop()!.destroy();
      await sleep(50);
      expect((await call(gw.url, '/api/v1/x')).status).toBe(200);
      // The operators' listener has its own budget: it still answers.
      expect((await call(gw.adminUrl, '/lb/status')).json().totals.rejected).toBeGreaterThanOrEqual(1);
    } finally {
      for (const socket of held) socket.destroy();
      await gw.stop();
      await app.close();
    }
  });
});

/** A push upstream that records every byte it receives and refuses upgrades with 403 (a raw TCP server). */
async function startRefusingPush(): Promise<{ url: string; received: () => string; close(): Promise<void> }> {
  let received = '';
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    let text = '';
    let answered = false;
    socket.on('data', (chunk: Buffer) => {
      text += chunk.toString('latin1');
      if (text.startsWith('GET /readyz')) {
        socket.end('HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}');
        return;
      }
      received += chunk.toString('latin1');
      if (!answered && text.includes('\r\n\r\n')) {
        answered = true;
        // Keeps the connection open, as a keep-alive server would, to read whatever comes next.
        socket.write('HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain\r\nContent-Length: 9\r\n\r\nforbidden');
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return {
    url: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`,
    received: () => received,
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

describe('attack: WebSocket before 101', () => {
  it('bytes after a refused handshake never reach the upstream; its answer is relayed as plain HTTP and the connection closed', async () => {
    const push = await startRefusingPush();
    const gw = await startTestGateway({ PUSH_UPSTREAMS: push.url });
    try {
      const handshake =
        'GET /push HTTP/1.1\r\nHost: gw\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n';
      const second = 'GET /push/smuggled HTTP/1.1\r\nHost: gw\r\nX-Forwarded-For: 6.6.6.6\r\n\r\n';
      const reply = await raw(gw.gateway.port, [handshake + second]);
      expect(reply.text).toMatch(/^HTTP\/1\.1 403 Forbidden\r\n/);
      expect(reply.text).toContain('Connection: close');
      expect(reply.text.endsWith('\r\n\r\nforbidden')).toBe(true);
      expect(reply.closed).toBe(true);
      await sleep(100);
      expect(push.received()).toContain('GET /push HTTP/1.1');
      expect(push.received()).not.toContain('smuggled');
      expect(push.received()).not.toContain('6.6.6.6');
    } finally {
      await gw.stop();
      await push.close();
    }
  });
});

describe('attack: WebSocket idle', () => {
  it('a tunnel with no traffic is closed after WS_IDLE_TIMEOUT_MS; a busy one stays', async () => {
    const server = http.createServer((req, res) => res.writeHead(req.url === '/readyz' ? 200 : 404).end());
    const wss = new WebSocketServer({ server, path: '/push' });
    wss.on('connection', (socket) => socket.on('message', (data) => socket.send(messageText(data))));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    const gw = await startTestGateway({ PUSH_UPSTREAMS: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`, WS_IDLE_TIMEOUT_MS: '400' });
    const openWs = () =>
      new Promise<WebSocket>((resolve, reject) => {
        const ws = new WebSocket(`${gw.url.replace('http', 'ws')}/push`);
        ws.once('open', () => resolve(ws));
        ws.once('error', reject);
      });
    try {
      const idle = await openWs();
      const busy = await openWs();
      const idleClosed = new Promise<number>((resolve) => idle.once('close', () => resolve(Date.now())));
      const started = Date.now();
      const ticker = setInterval(() => busy.send('tick'), 100);
      const closedAt = await idleClosed;
      expect(closedAt - started).toBeGreaterThanOrEqual(300);
      expect(closedAt - started).toBeLessThan(2000);
      await sleep(400);
      expect(busy.readyState).toBe(WebSocket.OPEN);
      clearInterval(ticker);
      busy.close();
    } finally {
      await gw.stop();
      for (const client of wss.clients) client.terminate();
      wss.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
