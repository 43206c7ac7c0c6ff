import WebSocket from 'ws';
import { createLogger, createMemoryBus, newSessionKey, parseConfig, type Bus, type SessionRecord, type SessionStore } from '@evshare/kit';
import { heartbeatConfigSchema, startHeartbeat, type HeartbeatService } from './service';
import { clientPool } from './test-client';

/** The push service against a session store that fails or forgets on demand (no Redis needed). */

const log = createLogger('heartbeat-test', 'silent');
const pool = clientPool();
const running: Array<{ service: HeartbeatService; bus: Bus }> = [];

function record(address = '203.0.113.5'): SessionRecord {
  return { sessionHash: 'h1', memberId: 'm1', role: 'member', address, createdAt: 0, lastAccessAt: 0, apps: [] };
}

function fakeSessions(resolve: SessionStore['resolve']): SessionStore {
  const unused = () => {
    throw new Error('not used by the push service');
  };
  return { create: unused, resolve, revoke: unused, revokeMember: unused, sessionsOf: unused, onRevoked: () => () => undefined, close: () => undefined };
}

async function start(resolve: SessionStore['resolve'], env: Record<string, string> = {}): Promise<HeartbeatService> {
  const bus = createMemoryBus();
  const config = parseConfig(heartbeatConfigSchema, { PORT: '0', LOG_LEVEL: 'silent', HEARTBEAT_INTERVAL_MS: '100', ...env });
  const service = await startHeartbeat({ config, log, bus, sessions: fakeSessions(resolve) });
  running.push({ service, bus });
  return service;
}

const bearer = () => ({ headers: { authorization: `Bearer ${newSessionKey()}` } });

afterEach(async () => {
  pool.closeAll();
  for (const { service, bus } of running.splice(0)) {
    await service.stop();
    await bus.close();
  }
});

describe('heartbeat with a failing session store', () => {
  it('closes with 1013 (retry later) when the session cannot be looked up at authentication', async () => {
    const service = await start(() => Promise.reject(new Error('redis down')));
    const client = await pool.connect(service.url, bearer());
    expect(await client.closedWithin(1000)).toMatchObject({ code: 1013 });
  });

  it('answers a ping with an error frame while the store is down, and a pong once it is back', async () => {
    const resolve = jest
      .fn<ReturnType<SessionStore['resolve']>, Parameters<SessionStore['resolve']>>()
      .mockResolvedValueOnce(record())
      .mockRejectedValueOnce(new Error('redis down'))
      .mockResolvedValue(record());
    const service = await start(resolve);
    const client = await pool.connect(service.url, bearer());
    await client.ofType('welcome');
    client.send({ type: 'ping' });
    expect(await client.ofType('error')).toMatchObject({ code: 'unavailable' });
    client.send({ type: 'ping' });
    await client.ofType('pong');
    expect(service.online()).toEqual({ members: 1, connections: 1 });
  });
});

describe('heartbeat sessions', () => {
  it("looks up a silent connection's session every SESSION_RECHECK_MS and closes it once gone", async () => {
    const resolve = jest.fn<ReturnType<SessionStore['resolve']>, Parameters<SessionStore['resolve']>>().mockResolvedValueOnce(record()).mockResolvedValue(null);
    const service = await start(resolve, { SESSION_RECHECK_MS: '150' });
    const client = await pool.connect(service.url, bearer());
    await client.ofType('welcome');
    const closed = await client.closedWithin(1000);
    expect(closed).toMatchObject({ code: 4401, reason: 'session ended' });
    expect(closed.at - client.openedAt).toBeGreaterThanOrEqual(130);
  });

  it('records the address from X-Forwarded-For only behind a trusted proxy', async () => {
    const resolve = jest.fn<ReturnType<SessionStore['resolve']>, Parameters<SessionStore['resolve']>>().mockResolvedValue(record());
    const headers = { authorization: `Bearer ${newSessionKey()}`, 'x-forwarded-for': '6.6.6.6, 203.0.113.9' };
    const direct = await start(resolve, { TRUST_PROXY: 'false' });
    const proxied = await start(resolve, { TRUST_PROXY: 'loopback' });
    await (await pool.connect(direct.url, { headers })).ofType('welcome');
    await (await pool.connect(proxied.url, { headers })).ofType('welcome');
    expect(resolve.mock.calls.map(([, access]) => access?.address)).toEqual(['127.0.0.1', '203.0.113.9']);
  });
});

describe('heartbeat under overload', () => {
  it('sheds a handshake it cannot finish before its deadline with 503 + Retry-After, by the same rule as HTTP', async () => {
    let answer: (value: SessionRecord | null) => void = () => undefined;
    // The first handshake holds the only slot: its session lookup does not answer until released.
    const service = await start(() => new Promise((resolve) => (answer = resolve)), { ADMISSION_SLOTS: '1', REQUEST_DEADLINE_MS: '300' });
    const holder = pool.connect(service.url, bearer());
    await new Promise((resolve) => setTimeout(resolve, 50));
    const refused = await new Promise<{ status: number; retryAfter?: string }>((resolve, reject) => {
      const ws = new WebSocket(`${service.url.replace(/^http/, 'ws')}/push`, bearer());
      ws.on('unexpected-response', (_req, res) => {
        resolve({ status: res.statusCode ?? 0, retryAfter: res.headers['retry-after'] });
        ws.terminate();
      });
      ws.on('open', () => reject(new Error('upgraded')));
      ws.on('error', () => undefined);
    });
    expect(refused.status).toBe(503);
    expect(Number(refused.retryAfter)).toBeGreaterThanOrEqual(1);
    answer(record());
    await (await holder).ofType('welcome');
  });
});
