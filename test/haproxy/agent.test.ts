import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { startLoadAgent, type AgentState } from '../../services/app/src/agent';
import { eventually } from '../support/http';

/**
 * The APP's agent (services/app/src/agent.ts) read by a real HAProxy 2.6 (Debian's, as in the
 * image): the weight, maxconn and drain state HAProxy shows for the server follow what the agent
 * says, as the operator's rendered backend (`agent-check agent-port ...`) relies on.
 */
const freePort = () =>
  new Promise<number>((resolve) => {
    const server = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });

function runtimeCommand(socketPath: string, command: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(socketPath);
    let text = '';
    socket.on('data', (chunk) => (text += chunk.toString()));
    socket.on('end', () => resolve(text));
    socket.on('error', reject);
    socket.end(`${command}\n`);
  });
}

describe('HAProxy reading the APP load agent', () => {
  let haproxy: ChildProcess;
  let dir: string;
  let app: http.Server;
  let agent: Awaited<ReturnType<typeof startLoadAgent>>;
  let state: AgentState = { draining: false, inflight: 0, maxConcurrency: 64 };
  let socketPath: string;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'evshare-haproxy-agent-'));
    socketPath = path.join(dir, 'admin.sock');
    app = http.createServer((req, res) => res.end(req.url === '/readyz' ? 'ready' : 'ok')).listen(0, '127.0.0.1');
    await new Promise((resolve) => app.once('listening', resolve));
    agent = await startLoadAgent(0, '127.0.0.1', () => state);
    const appPort = (app.address() as AddressInfo).port;
    writeFileSync(
      path.join(dir, 'haproxy.cfg'),
      [
        'global',
        `  stats socket ${socketPath} mode 600 level admin`,
        'defaults',
        '  mode http',
        '  timeout connect 2s',
        '  timeout client 10s',
        '  timeout server 10s',
        'frontend www',
        `  bind 127.0.0.1:${await freePort()}`,
        '  default_backend app',
        'backend app',
        '  balance source',
        '  hash-type consistent',
        '  option httpchk',
        '  http-check send meth GET uri /readyz',
        `  server app1 127.0.0.1:${appPort} weight 100 check inter 200ms agent-check agent-port ${agent.port} agent-inter 200ms`,
        '',
      ].join('\n'),
    );
    haproxy = spawn('haproxy', ['-db', '-f', path.join(dir, 'haproxy.cfg')], { stdio: 'ignore' });
  });

  afterAll(async () => {
    haproxy?.kill('SIGTERM');
    await agent?.close();
    await new Promise((resolve) => app?.close(resolve));
    rmSync(dir, { recursive: true, force: true });
  });

  /** The server's row of `show stat`: status, weight and session limit as HAProxy holds them. */
  async function server(): Promise<{ status: string; weight: string; limit: string }> {
    const csv = await runtimeCommand(socketPath, 'show stat');
    const [header, ...rows] = csv.replace(/^# /, '').trim().split('\n');
    const columns = header!.split(',');
    const row = rows.map((r) => r.split(',')).find((r) => r[0] === 'app' && r[1] === 'app1')!;
    const field = (name: string) => row[columns.indexOf(name)]!;
    return { status: field('status'), weight: field('weight'), limit: field('slim') };
  }

  it('takes the weight, maxconn and drain state from the agent', async () => {
    await eventually(async () => expect(await server()).toEqual({ status: 'UP', weight: '100', limit: '64' }), 10_000, 100);
    state = { ...state, inflight: 50 };
    await eventually(async () => expect(await server()).toMatchObject({ status: 'UP', weight: '50' }), 10_000, 100);
    state = { ...state, inflight: 30, maxConcurrency: 32 };
    await eventually(async () => expect(await server()).toEqual({ status: 'UP', weight: '25', limit: '32' }), 10_000, 100);
    state = { ...state, draining: true };
    await eventually(async () => expect((await server()).status).toMatch(/^DRAIN/), 10_000, 100);
    state = { ...state, draining: false, inflight: 0 };
    await eventually(async () => expect(await server()).toEqual({ status: 'UP', weight: '100', limit: '32' }), 10_000, 100);
  }, 60_000);
});
