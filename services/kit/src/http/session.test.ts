import { Writable } from 'node:stream';
import { createHttpApp } from './app';
import { createHealth } from './health';
import { createMetrics } from './metrics';
import { listen, type RunningServer } from './server';
import { requireRole, requireSession, sessionGuard } from './session';
import { problems } from './problem';
import { createLogger } from '../logger';
import { createMemoryStore } from '../store/memory';
import { createMemoryBus } from '../bus/memory';
import { createSessionStore, type SessionStore } from '../session/store';

describe('requireSession and requireRole', () => {
  let server: RunningServer;
  let sessions: SessionStore;
  const suspended = new Set<string>();

  beforeAll(async () => {
    sessions = createSessionStore({ store: createMemoryStore(), bus: createMemoryBus() });
    const guard = sessionGuard({
      sessions,
      appId: () => 'app-1',
      check: (session) => {
        if (suspended.has(session.memberId)) throw problems.unauthenticated('The account is suspended');
      },
    });
    const silent = new Writable({ write: (_c, _e, done) => done() });
    const app = createHttpApp({
      log: createLogger('test', 'silent', silent),
      metrics: createMetrics('test'),
      health: createHealth(),
      routes: (a) => {
        a.get('/mine', requireSession(guard), (req, res) => {
          res.json({ memberId: req.session!.memberId });
        });
        a.get('/ops', requireSession(guard), requireRole('admin'), (_req, res) => {
          res.json({ ok: true });
        });
        a.get('/raw', async (req, res) => {
          res.json({ memberId: (await guard.resolve(req)).memberId });
        });
      },
    });
    server = await listen(app, 0);
  });
  afterAll(() => server.close(1000));

  const get = async (path: string, key?: string) => {
    const reply = await fetch(`${server.url}${path}`, { headers: key ? { authorization: `Bearer ${key}` } : {} });
    return { status: reply.status, body: (await reply.json()) as Record<string, unknown> };
  };

  it('sets req.session and records the serving instance', async () => {
    const { key } = await sessions.create({ memberId: 'm1', role: 'member', address: '127.0.0.1' });
    expect(await get('/mine', key)).toEqual({ status: 200, body: { memberId: 'm1' } });
    const [record] = await sessions.sessionsOf('m1');
    expect(record!.apps).toContain('app-1');
  });

  it('answers 401 without a session, with an unknown one, or when the check refuses', async () => {
    expect((await get('/mine')).body).toMatchObject({ status: 401, detail: 'A valid session is required' });
    expect((await get('/mine', 'A'.repeat(43))).body).toMatchObject({ status: 401, detail: 'The session is unknown or has expired; log in again' });
    const { key } = await sessions.create({ memberId: 'm2', role: 'member', address: '127.0.0.1' });
    suspended.add('m2');
    expect((await get('/mine', key)).body).toMatchObject({ status: 401, detail: 'The account is suspended' });
    // resolve alone leaves the check to its caller.
    expect((await get('/raw', key)).status).toBe(200);
  });

  it('lets only the role through requireRole', async () => {
    const member = await sessions.create({ memberId: 'm3', role: 'member', address: '127.0.0.1' });
    const admin = await sessions.create({ memberId: 'm4', role: 'admin', address: '127.0.0.1' });
    expect((await get('/ops', member.key)).body).toMatchObject({ status: 403, type: 'urn:evshare:problem:forbidden', detail: 'Operators only' });
    expect(await get('/ops', admin.key)).toEqual({ status: 200, body: { ok: true } });
  });
});
