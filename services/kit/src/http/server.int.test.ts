import type http from 'node:http';
import net from 'node:net';
import { listen, MAX_HEADER_BYTES, type RunningServer } from './server';

/** What a raw client gets back for these bytes (the server closes the connection after a refusal). */
function exchange(port: number, bytes: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.write(bytes));
    let answer = '';
    socket.on('data', (chunk: Buffer) => (answer += chunk.toString('latin1')));
    socket.on('error', reject);
    socket.on('close', () => resolve(answer));
  });
}

describe('kit listen: requests Node cannot take are answered problem+json', () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await listen((_req: http.IncomingMessage, res: http.ServerResponse) => res.end('ok'), 0);
  });
  afterAll(() => server.close());

  it.each([
    ['an oversized head', `GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'v'.repeat(MAX_HEADER_BYTES)}\r\n\r\n`, 431, 'headers-too-large'],
    ['a request line that is not HTTP', 'HELLO THERE\r\n\r\n', 400, 'bad-request'],
    ['a malformed header', 'GET / HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n', 400, 'bad-request'],
  ])('%s: %s', async (_name, bytes, status, slug) => {
    const answer = await exchange(server.port, bytes);
    const [head = '', body = ''] = answer.split('\r\n\r\n');
    expect(head).toMatch(new RegExp(`^HTTP/1\\.1 ${status} `));
    expect(head).toMatch(/^Content-Type: application\/problem\+json$/m);
    expect(JSON.parse(body)).toMatchObject({ type: `urn:evshare:problem:${slug}`, status });
  });

  it('a head the gateway passes on (its 16 KiB plus its own fields) is served', async () => {
    const answer = await exchange(server.port, `GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'v'.repeat(17 * 1024)}\r\nConnection: close\r\n\r\n`);
    expect(answer).toMatch(/^HTTP\/1\.1 200 /);
  });
});
