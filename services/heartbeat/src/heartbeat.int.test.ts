import { randomUUID } from 'node:crypto';
import WebSocket, { type ClientOptions } from 'ws';
import {
  createLogger,
  createNatsBus,
  createRedisStore,
  createSessionStore,
  newSessionKey,
  parseConfig,
  SESSION_COOKIE,
  SUBJECTS,
  TEST_NATS_URL,
  TEST_REDIS_URL,
  uniqueName,
  type Bus,
  type KeyValueStore,
  type PushNotification,
  type SessionStore,
  type OnlineReport,
} from '@evshare/kit';
import { heartbeatConfigSchema, startHeartbeat, type HeartbeatService } from './service';
import { clientPool, type Client } from './test-client';

const INTERVAL_MS = 200;
const log = createLogger('heartbeat-test', 'silent');
const natsPrefix = `${uniqueName('hb')}.`;
const redisPrefix = `${uniqueName('hb')}:`;

const pool = clientPool();
const connect = (service: HeartbeatService, options?: ClientOptions) => pool.connect(service.url, options);

const withCookie = (key: string, extra: ClientOptions = {}): ClientOptions => ({
  ...extra,
  headers: { cookie: `theme=dark; ${SESSION_COOKIE}=${key}`, ...extra.headers },
});

async function connectMember(service: HeartbeatService, key: string, options: ClientOptions = {}): Promise<Client> {
  const client = await connect(service, withCookie(key, options));
  await client.ofType('welcome');
  return client;
}

function notification(kind: string): PushNotification {
  return { id: randomUUID(), kind, title: kind, body: { n: 1 }, at: new Date().toISOString() };
}

async function eventually(check: () => boolean | Promise<boolean>, timeoutMs = 2000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

let store: KeyValueStore;
/** The auth service's side: creates and revokes sessions, publishes notifications. */
let authBus: Bus;
let authSessions: SessionStore;
const instances: Array<{ service: HeartbeatService; bus: Bus; sessions: SessionStore }> = [];
let one: HeartbeatService;
let two: HeartbeatService;

async function startInstance(id: string, env: Record<string, string> = {}) {
  const bus = await createNatsBus({ url: TEST_NATS_URL, prefix: natsPrefix, name: id });
  // A short touch interval, so a ping's refresh of the last access time is visible at once.
  const sessions = createSessionStore({ store, bus, log, touchIntervalMs: 50 });
  const config = parseConfig(heartbeatConfigSchema, {
    PORT: '0',
    LOG_LEVEL: 'silent',
    INSTANCE_ID: id,
    HEARTBEAT_INTERVAL_MS: String(INTERVAL_MS),
    AUTH_TIMEOUT_MS: '400',
    ONLINE_REPORT_INTERVAL_MS: '100',
    ...env,
  });
  const service = await startHeartbeat({ config, log, bus, sessions });
  instances.push({ service, bus, sessions });
  return service;
}

async function login(memberId = `m-${randomUUID()}`) {
  const { key, record } = await authSessions.create({ memberId, role: 'member', address: '203.0.113.5' });
  return { key, memberId, hash: record.sessionHash };
}

beforeAll(async () => {
  store = createRedisStore({ url: TEST_REDIS_URL, keyPrefix: redisPrefix, connectionName: 'heartbeat-test' });
  authBus = await createNatsBus({ url: TEST_NATS_URL, prefix: natsPrefix, name: 'heartbeat-test-auth' });
  authSessions = createSessionStore({ store, bus: authBus, log });
  one = await startInstance('hb-one');
  two = await startInstance('hb-two', { MAX_CONNECTIONS_PER_MEMBER: '2' });
});

afterEach(() => pool.closeAll());

afterAll(async () => {
  for (const { service, bus, sessions } of instances) {
    await service.stop();
    sessions.close();
    await bus.close();
  }
  authSessions.close();
  await authBus.close();
  await store.close();
});

describe('authentication', () => {
  it('accepts the session cookie at upgrade and welcomes the member', async () => {
    const { key, memberId } = await login();
    const client = await connect(one, withCookie(key));
    expect(await client.ofType('welcome')).toEqual({ type: 'welcome', memberId, heartbeatIntervalMs: INTERVAL_MS });
    await eventually(() => one.online().connections >= 1);
    const online = (await (await fetch(`${one.url}/online`)).json()) as OnlineReport;
    expect(online).toMatchObject({ instance: 'hb-one', members: expect.any(Number), connections: expect.any(Number) });
    expect(online.members).toBeGreaterThanOrEqual(1);
    expect(await (await fetch(`${one.url}/metrics`)).text()).toMatch(/push_connections\{[^}]*\} [1-9]/);
  });

  it('accepts a Bearer header at upgrade and a first auth frame', async () => {
    const bearer = await login();
    const byHeader = await connect(one, { headers: { authorization: `Bearer ${bearer.key}` } });
    expect(await byHeader.ofType('welcome')).toMatchObject({ memberId: bearer.memberId });

    const framed = await login();
    const byFrame = await connect(one);
    byFrame.send({ type: 'auth', sessionKey: framed.key });
    expect(await byFrame.ofType('welcome')).toMatchObject({ memberId: framed.memberId });
  });

  it('closes with 4401 for an unknown, a forged, an expired or a revoked key', async () => {
    const shortLived = createSessionStore({ store, bus: authBus, log, ttlMs: 100 });
    const expired = await shortLived.create({ memberId: 'm-expired', role: 'member', address: '203.0.113.5' });
    shortLived.close();
    const revoked = await login();
    await authSessions.revoke(revoked.hash, 'logout');
    await new Promise((resolve) => setTimeout(resolve, 150));

    const attempts = await Promise.all([
      connect(one, withCookie(newSessionKey())),
      connect(one, withCookie('forged-not-a-key')),
      connect(one, withCookie(expired.key)),
      connect(one, { headers: { authorization: `Bearer ${revoked.key}` } }),
      connect(one).then((client) => {
        client.send({ type: 'auth', sessionKey: newSessionKey() });
        return client;
      }),
    ]);
    for (const client of attempts) {
      expect(await client.closedWithin(2000)).toMatchObject({ code: 4401, reason: expect.stringMatching(/.+/) });
      expect(client.count('welcome')).toBe(0);
    }
  });

  it('closes with 4401 when nothing authenticates within AUTH_TIMEOUT_MS, or the first frame is not auth', async () => {
    const silent = await connect(one);
    const pinger = await connect(one);
    pinger.send({ type: 'ping' });
    expect(await pinger.closedWithin(1000)).toMatchObject({ code: 4401 });
    const closed = await silent.closedWithin(1500);
    expect(closed.code).toBe(4401);
    expect(closed.at - silent.openedAt).toBeGreaterThanOrEqual(350);
  });

  it('refuses the session cookie from a foreign page, accepts it from its own origin', async () => {
    const { key } = await login();
    const foreign = await connect(one, withCookie(key, { headers: { origin: 'https://evil.example' } }));
    expect(await foreign.closedWithin(1000)).toMatchObject({ code: 4403 });
    const own = await connect(one, withCookie(key, { headers: { origin: one.url } }));
    await own.ofType('welcome');
  });
});

describe('push delivery', () => {
  it("delivers a member's notification to all of that member's sockets and no one else's", async () => {
    const a = await login();
    const b = await login();
    const a1 = await connectMember(one, a.key);
    const a2 = await connectMember(one, a.key);
    const b1 = await connectMember(one, b.key);

    const forA = notification('rental.started');
    const forB = notification('charge.finished');
    authBus.publish(SUBJECTS.pushMember(a.memberId), forA);
    authBus.publish(SUBJECTS.pushMember(b.memberId), forB);

    expect(await a1.ofType('notification')).toEqual({ type: 'notification', notification: forA });
    expect(await a2.ofType('notification')).toEqual({ type: 'notification', notification: forA });
    // Both were published in order on one connection, so B's own arrives after A's would have.
    expect(await b1.ofType('notification')).toEqual({ type: 'notification', notification: forB });
    expect(b1.count('notification')).toBe(1);
    expect(a1.count('notification')).toBe(1);
  });

  it('two instances sharing the bus each deliver to their own members', async () => {
    const a = await login();
    const b = await login();
    const aOnOne = await connectMember(one, a.key);
    const aOnTwo = await connectMember(two, a.key);
    const bOnTwo = await connectMember(two, b.key);

    const forA = notification('reservation.expiring');
    const forB = notification('deposit.refunded');
    authBus.publish(SUBJECTS.pushMember(a.memberId), forA);
    authBus.publish(SUBJECTS.pushMember(b.memberId), forB);

    expect((await aOnOne.ofType('notification')).notification).toEqual(forA);
    expect((await aOnTwo.ofType('notification')).notification).toEqual(forA);
    expect((await bOnTwo.ofType('notification')).notification).toEqual(forB);
    expect(bOnTwo.count('notification')).toBe(1);
  });

  it('drops an invalid notification without harm to the next one', async () => {
    const a = await login();
    const client = await connectMember(one, a.key);
    authBus.publish(SUBJECTS.pushMember(a.memberId), { kind: 'no id and no time' });
    const valid = notification('ok');
    authBus.publish(SUBJECTS.pushMember(a.memberId), valid);
    expect((await client.ofType('notification')).notification).toEqual(valid);
    expect(client.count('notification')).toBe(1);
    expect(await (await fetch(`${one.url}/metrics`)).text()).toMatch(/push_notifications_total\{[^}]*outcome="invalid"[^}]*\} [1-9]/);
  });

  it('closes the oldest connection of a member above MAX_CONNECTIONS_PER_MEMBER with 4429', async () => {
    const a = await login();
    const first = await connectMember(two, a.key);
    await connectMember(two, a.key);
    const third = await connectMember(two, a.key);
    expect(await first.closedWithin(1000)).toMatchObject({ code: 4429 });
    const forA = notification('cap');
    authBus.publish(SUBJECTS.pushMember(a.memberId), forA);
    expect((await third.ofType('notification')).notification).toEqual(forA);
  });

  it('publishes online counts on heartbeat.online', async () => {
    const a = await login();
    await connectMember(two, a.key);
    const reports: OnlineReport[] = [];
    const stop = authBus.subscribe(SUBJECTS.heartbeatOnline, (data) => reports.push(data as OnlineReport));
    try {
      await eventually(() => reports.some((r) => r.instance === 'hb-two' && r.members >= 1 && r.connections >= 1));
    } finally {
      stop();
    }
    expect(reports.find((r) => r.instance === 'hb-two')).toEqual({
      instance: 'hb-two',
      members: expect.any(Number),
      connections: expect.any(Number),
      at: expect.any(String),
    });
  });
});

describe('sessions', () => {
  it("closes a revoked session's sockets on every instance within 1 s", async () => {
    const a = await login();
    const other = await authSessions.create({ memberId: a.memberId, role: 'member', address: '203.0.113.5' });
    const onOne = await connectMember(one, a.key);
    const onTwo = await connectMember(two, a.key);
    const otherSession = await connectMember(one, other.key);

    const revokedAt = Date.now();
    await authSessions.revoke(a.hash, 'logout');
    for (const client of [onOne, onTwo]) {
      const closed = await client.closedWithin(1000);
      expect(closed.code).toBe(4401);
      expect(closed.reason).toContain('logout');
      expect(closed.at - revokedAt).toBeLessThan(1000);
    }
    // The member's other session (another device) stays.
    otherSession.send({ type: 'ping' });
    await otherSession.ofType('pong');
  });

  it("a ping refreshes the session's last access time and is answered with pong", async () => {
    const a = await login();
    const [before] = await authSessions.sessionsOf(a.memberId);
    const client = await connectMember(one, a.key);
    await new Promise((resolve) => setTimeout(resolve, 100));
    client.send({ type: 'ping' });
    expect(await client.ofType('pong')).toEqual({ type: 'pong', at: expect.any(String) });
    await eventually(async () => {
      const [after] = await authSessions.sessionsOf(a.memberId);
      return after !== undefined && before !== undefined && after.lastAccessAt > before.lastAccessAt;
    });
  });

  it('a ping on a session that expired without a revocation closes with 4401', async () => {
    const a = await login();
    const client = await connectMember(one, a.key);
    // Gone from the login-state database as if its TTL ran out; the cache holds it at most 500 ms.
    await store.del(`sess:${a.hash}`);
    await new Promise((resolve) => setTimeout(resolve, 600));
    client.send({ type: 'ping' });
    expect(await client.closedWithin(1000)).toMatchObject({ code: 4401, reason: 'session ended' });
  });
});

describe('liveness', () => {
  it('terminates a connection that stops answering within two heartbeat intervals, keeps one that answers', async () => {
    const { key } = await login();
    const silent = await connect(one, withCookie(key, { autoPong: false }));
    const answering = await connect(one, withCookie(key));
    await silent.ofType('welcome');
    await answering.ofType('welcome');

    const closed = await silent.closedWithin(2 * INTERVAL_MS + INTERVAL_MS / 4 + 400);
    // Terminated without a close frame: the peer is presumed gone.
    expect(closed.code).toBe(1006);
    expect(closed.at - silent.openedAt).toBeGreaterThanOrEqual(2 * INTERVAL_MS - 20);

    await new Promise((resolve) => setTimeout(resolve, 3 * INTERVAL_MS));
    expect(answering.ws.readyState).toBe(WebSocket.OPEN);
  });
});

describe('bad input', () => {
  it('answers malformed frames with an error frame and keeps the connection working', async () => {
    const { key } = await login();
    const client = await connectMember(one, key);
    client.send('{"type":');
    client.send('{"type":"subscribe"}');
    client.send('[]');
    client.ws.send(Buffer.from('{"type":"ping"}'), { binary: true });
    client.send({ type: 'auth', sessionKey: key });
    client.send({ type: 'ping' });
    await client.ofType('pong');
    expect(client.frames.filter((f) => f.type === 'error').map((f) => f.code)).toEqual([
      'malformed-json',
      'unknown-type',
      'invalid-frame',
      'binary-frame',
      'already-authenticated',
    ]);
  });

  it('closes on an oversized frame (1009) and keeps serving others', async () => {
    const { key } = await login();
    const big = await connectMember(one, key);
    big.send(JSON.stringify({ type: 'ping', pad: 'x'.repeat(5000) }));
    expect((await big.closedWithin(1000)).code).toBe(1009);
    const next = await connectMember(one, key);
    next.send({ type: 'ping' });
    await next.ofType('pong');
  });

  it('rate-limits a client that floods frames, and the connection survives', async () => {
    const { key } = await login();
    const client = await connectMember(one, key);
    for (let i = 0; i < 40; i++) client.send({ type: 'ping' });
    await client.next((f) => f.type === 'error' && f.code === 'rate-limited');
    await eventually(() => client.count('pong') >= 20);
    expect(client.frames.filter((f) => f.code === 'rate-limited')).toHaveLength(1);
    expect(client.ws.readyState).toBe(WebSocket.OPEN);
  });

  it('answers 404 to an upgrade elsewhere, 426 to a plain GET /push', async () => {
    const status = await new Promise<number>((resolve, reject) => {
      const ws = new WebSocket(`${one.url.replace(/^http/, 'ws')}/elsewhere`);
      ws.on('unexpected-response', (_req, res) => {
        resolve(res.statusCode ?? 0);
        ws.terminate();
      });
      ws.on('open', () => reject(new Error('upgraded')));
      ws.on('error', () => undefined);
    });
    expect(status).toBe(404);
    const plain = await fetch(`${one.url}/push`);
    expect(plain.status).toBe(426);
    expect(plain.headers.get('content-type')).toContain('application/problem+json');
  });
});

describe('shutdown', () => {
  it('closes sockets with 1001, turns readiness off and refuses new upgrades', async () => {
    const service = await startInstance('hb-stopping');
    const { key } = await login();
    const client = await connectMember(service, key);
    expect((await fetch(`${service.url}/readyz`)).status).toBe(200);
    await service.stop();
    expect(await client.closedWithin(1000)).toMatchObject({ code: 1001, reason: 'going away' });
    expect(service.health.draining).toBe(true);
    expect(service.online()).toEqual({ members: 0, connections: 0 });
    await expect(connect(service)).rejects.toThrow();
  });
});
