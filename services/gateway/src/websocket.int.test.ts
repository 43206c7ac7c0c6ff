import http from 'node:http';
import type net from 'node:net';
import WebSocket, { WebSocketServer } from 'ws';
import { startTestGateway, waitFor, type TestGateway } from './testing.fixture';
import { messageText } from '../../../test/support/ws';

interface PushServer {
  id: string;
  url: string;
  connections: http.IncomingHttpHeaders[];
  /** Server ends of the open connections, newest last. */
  sockets: WebSocket[];
  close(): Promise<void>;
}

/** A WebSocket echo server standing in for the heartbeat service (or the charging service's /ocpp). */
async function startPushServer(id: string, path = '/push'): Promise<PushServer> {
  const server = http.createServer((req, res) => res.writeHead(req.url === '/readyz' ? 200 : 404).end());
  const wss = new WebSocketServer({ server, path });
  const connections: http.IncomingHttpHeaders[] = [];
  const sockets: WebSocket[] = [];
  wss.on('connection', (socket, req) => {
    connections.push(req.headers);
    sockets.push(socket);
    socket.send(JSON.stringify({ hello: id }));
    socket.on('message', (data) => socket.send(`${id}:${messageText(data)}`));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const port = (server.address() as net.AddressInfo).port;
  return {
    id,
    url: `http://127.0.0.1:${port}`,
    connections,
    sockets,
    async close() {
      for (const client of wss.clients) client.terminate();
      wss.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Opens a WebSocket through the gateway and resolves with its first message. */
function open(url: string, headers: Record<string, string> = {}): Promise<{ ws: WebSocket; hello: string }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
    ws.once('message', (data) => resolve({ ws, hello: JSON.parse(messageText(data)).hello }));
    ws.once('error', reject);
  });
}

describe('WebSocket upgrade passthrough on /push', () => {
  let gw: TestGateway;
  let push: PushServer[];

  beforeAll(async () => {
    push = await Promise.all(['push-1', 'push-2'].map((id) => startPushServer(id)));
    gw = await startTestGateway({ TRUST_PROXY: 'loopback', PUSH_UPSTREAMS: push.map((p) => p.url).join(',') });
  });
  afterAll(async () => {
    await gw.stop();
    await Promise.all(push.map((p) => p.close()));
  });

  it('passes the handshake and frames both ways, with the forwarding headers', async () => {
    const { ws, hello } = await open(`${gw.url.replace('http', 'ws')}/push`, { 'X-Forwarded-For': '203.0.113.50' });
    try {
      const reply = new Promise<string>((resolve) => ws.once('message', (data) => resolve(messageText(data))));
      ws.send('ping');
      expect(await reply).toBe(`${hello}:ping`);
      const server = push.find((p) => p.id === hello)!;
      expect(server.connections.at(-1)).toMatchObject({ 'x-forwarded-for': '203.0.113.50, 127.0.0.1', 'x-forwarded-proto': 'http' });
      expect(server.connections.at(-1)!['x-request-id']).toBeDefined();
      expect(gw.gateway.status().upstreams.push.find((p) => p.url === server.url)!.inflight).toBe(1);
    } finally {
      ws.close();
    }
  });

  it('sends every connection from one address to the same push instance', async () => {
    const hellos = new Set<string>();
    for (let i = 0; i < 4; i++) {
      const { ws, hello } = await open(`${gw.url.replace('http', 'ws')}/push`, { 'X-Forwarded-For': '198.51.100.77' });
      hellos.add(hello);
      ws.close();
    }
    expect(hellos.size).toBe(1);
  });

  it('closes the client side when the instance drops the connection', async () => {
    const { ws, hello } = await open(`${gw.url.replace('http', 'ws')}/push`, { 'X-Forwarded-For': '198.51.100.78' });
    const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
    push
      .find((p) => p.id === hello)!
      .sockets.at(-1)!
      .terminate();
    // 1006: the TCP connection ended without a close frame, as the gateway passed the drop on.
    expect(await closed).toBe(1006);
    await waitFor(() => gw.gateway.status().upstreams.push.every((p) => p.inflight === 0), 2000, 'tunnels to close');
  });

  it('refuses an upgrade outside /push with a problem+json 404', async () => {
    const answer = await new Promise<{ status: number; body: string; type: string }>((resolve, reject) => {
      const request = http.request(`${gw.url}/api/v1/sync`, { headers: { Connection: 'Upgrade', Upgrade: 'websocket' }, agent: false });
      request.on('response', (response) => {
        let body = '';
        response.on('data', (chunk: Buffer) => (body += chunk.toString()));
        response.on('end', () => resolve({ status: response.statusCode!, body, type: String(response.headers['content-type']) }));
      });
      request.on('upgrade', () => reject(new Error('upgraded')));
      request.on('error', reject);
      request.end();
    });
    expect(answer.status).toBe(404);
    expect(answer.type).toBe('application/problem+json');
    expect(JSON.parse(answer.body)).toMatchObject({ status: 404, detail: expect.stringContaining('/push') });
  });
});

describe('WebSocket upgrade passthrough on /ocpp', () => {
  it('sends charge points to the charging service, with the path and subprotocol intact', async () => {
    const [push, charging] = await Promise.all([startPushServer('push-1'), startPushServer('charging-1', '/ocpp/CP-0001')]);
    const gw = await startTestGateway({ PUSH_UPSTREAMS: push.url, CHARGING_UPSTREAMS: charging.url });
    try {
      const ws = new WebSocket(`${gw.url.replace('http', 'ws')}/ocpp/CP-0001`, 'ocpp1.6');
      const hello = await new Promise<string>((resolve, reject) => {
        ws.once('message', (data) => resolve(JSON.parse(messageText(data)).hello));
        ws.once('error', reject);
      });
      expect(hello).toBe('charging-1');
      expect(ws.protocol).toBe('ocpp1.6');
      expect(charging.connections[0]?.['sec-websocket-protocol']).toBe('ocpp1.6');
      expect(push.connections).toHaveLength(0);
      ws.close();
    } finally {
      await gw.stop();
      await Promise.all([push.close(), charging.close()]);
    }
  });
});

describe('WebSocket failover', () => {
  it('sends a handshake that cannot connect to the other push instance', async () => {
    const alive = await startPushServer('alive');
    const dead = await startPushServer('dead');
    await dead.close();
    const gw = await startTestGateway({ TRUST_PROXY: 'loopback', PUSH_UPSTREAMS: `${dead.url},${alive.url}` });
    try {
      for (let i = 0; i < 6; i++) {
        const { ws, hello } = await open(`${gw.url.replace('http', 'ws')}/push`, { 'X-Forwarded-For': `192.0.2.${i}` });
        expect(hello).toBe('alive');
        ws.close();
      }
    } finally {
      await gw.stop();
      await alive.close();
    }
  });
});
