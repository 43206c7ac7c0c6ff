import net from 'node:net';
import { announce, startTestGateway, startUpstream, waitFor, type TestGateway, type TestUpstream } from './testing.fixture';

/** Sends raw bytes on one connection and collects everything until the gateway closes it or `until` matches. */
function exchange(port: number, bytes: string, until?: RegExp, timeoutMs = 2000): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let received = '';
    const timer = setTimeout(() => {
      socket.destroy();
      if (until) reject(new Error(`no match for ${until} in ${JSON.stringify(received)}`));
      else resolve(received);
    }, timeoutMs);
    socket.on('data', (chunk: Buffer) => {
      received += chunk.toString('latin1');
      if (until?.test(received)) {
        clearTimeout(timer);
        socket.destroy();
        resolve(received);
      }
    });
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(received);
    });
    socket.on('error', reject);
    socket.write(bytes, 'latin1');
  });
}

describe('HTTP/1.1 handling at the edge', () => {
  let gw: TestGateway;
  let app: TestUpstream;
  let port: number;

  beforeAll(async () => {
    app = await startUpstream('app-1');
    gw = await startTestGateway();
    announce(gw.bus, app);
    await waitFor(() => gw.gateway.status().totals.available === 1);
    port = gw.gateway.port;
  });
  afterAll(async () => {
    await gw.stop();
    await app.close();
  });
  afterEach(() => {
    app.handler = undefined;
  });

  it('answers pipelined requests in order on one connection', async () => {
    const text = await exchange(
      port,
      'GET /api/v1/one HTTP/1.1\r\nHost: gw\r\n\r\nGET /api/v1/two HTTP/1.1\r\nHost: gw\r\n\r\nGET /healthz HTTP/1.1\r\nHost: gw\r\nConnection: close\r\n\r\n',
    );
    const urls = [...text.matchAll(/"url":"(\/api[^"]+)"/g)].map((m) => m[1]);
    expect(urls).toEqual(['/api/v1/one', '/api/v1/two']);
    expect(text.match(/HTTP\/1\.1 200 OK/g)).toHaveLength(3);
    expect(text).toContain('{"status":"ok"}');
  });

  it('streams a chunked request body and keeps the connection for the next request', async () => {
    const text = await exchange(
      port,
      'POST /api/v1/up HTTP/1.1\r\nHost: gw\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\nGET /api/v1/after HTTP/1.1\r\nHost: gw\r\n\r\n',
      /"url":"\/api\/v1\/after"/,
    );
    expect(text).toContain('"bodyLength":11');
    expect(app.seen.find((s) => s.url === '/api/v1/up')!.body).toBe('hello world');
  });

  it('answers 100 Continue itself and does not pass Expect on', async () => {
    const socket = net.connect(port, '127.0.0.1');
    const received: string[] = [];
    socket.on('data', (chunk: Buffer) => received.push(chunk.toString('latin1')));
    socket.write('PUT /api/v1/doc HTTP/1.1\r\nHost: gw\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n');
    await waitFor(() => received.join('').startsWith('HTTP/1.1 100 Continue\r\n\r\n'), 2000, '100 Continue');
    socket.write('data');
    await waitFor(() => received.join('').includes('"bodyLength":4'), 2000, 'the answer');
    socket.destroy();
    expect(app.seen.at(-1)!.headers.expect).toBeUndefined();
  });

  it('de-chunks an answer for an HTTP/1.0 client and closes after it', async () => {
    app.handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('abc');
      res.end('def');
    };
    const text = await exchange(port, 'GET /api/v1/old HTTP/1.0\r\n\r\n');
    expect(text).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    expect(text).not.toMatch(/transfer-encoding/i);
    expect(text).toMatch(/Connection: close\r\n\r\nabcdef$/);
  });

  it.each([
    ['Content-Length with Transfer-Encoding', 400, 'POST /api/v1/x HTTP/1.1\r\nHost: gw\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n'],
    ['two different lengths', 400, 'POST /api/v1/x HTTP/1.1\r\nHost: gw\r\nContent-Length: 4\r\nContent-Length: 5\r\n\r\nabcd'],
    ['a bare LF hiding a field', 400, 'GET /api/v1/x HTTP/1.1\r\nHost: gw\r\nX-A: 1\nTransfer-Encoding: chunked\r\n\r\n'],
    ['obs-fold', 400, 'GET /api/v1/x HTTP/1.1\r\nHost: gw\r\nX-A: 1\r\n Transfer-Encoding: chunked\r\n\r\n'],
    ['no Host', 400, 'GET /api/v1/x HTTP/1.1\r\n\r\n'],
    ['a head over 16 KiB', 431, `GET /api/v1/x HTTP/1.1\r\nHost: gw\r\nX-Big: ${'a'.repeat(17 * 1024)}\r\n\r\n`],
    ['HTTP/2 over cleartext', 505, 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'],
  ])('refuses %s with %i problem+json, closes the connection, forwards nothing', async (_name, status, bytes) => {
    const before = app.seen.length;
    const text = await exchange(port, bytes);
    expect(text).toMatch(new RegExp(`^HTTP/1\\.1 ${status} `));
    expect(text).toContain('Content-Type: application/problem+json');
    expect(text).toContain('Connection: close');
    expect(app.seen.length).toBe(before);
  });

  it('breaks off a request whose chunked framing turns out bad', async () => {
    const text = await exchange(port, 'POST /api/v1/x HTTP/1.1\r\nHost: gw\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n');
    expect(text).not.toMatch(/HTTP\/1\.1 2/);
  });

  it('keeps working after refusing a client', async () => {
    const text = await exchange(port, 'GET /api/v1/fine HTTP/1.1\r\nHost: gw\r\nConnection: close\r\n\r\n');
    expect(text).toContain('"url":"/api/v1/fine"');
  });
});
