import { Writable } from 'node:stream';
import { z } from 'zod';
import { createHttpApp } from './app';
import { createHealth } from './health';
import { createMetrics } from './metrics';
import { listen, type RunningServer } from './server';
import { mountRoutes, route, undeclaredFields, type Route } from './routes';
import { sessionGuard } from './session';
import { problems } from './problem';
import { openApiDocument } from './openapi';
import { createLogger } from '../logger';
import { createMemoryStore } from '../store/memory';
import { createMemoryBus } from '../bus/memory';
import { createSessionStore } from '../session/store';

const thing = z.object({ id: z.uuid(), name: z.string(), at: z.iso.datetime() }).meta({ id: 'Thing' });
const ops = {
  get: {
    method: 'get',
    path: '/things/{id}',
    access: 'member',
    summary: 'A thing',
    tags: ['things'],
    params: z.object({ id: z.uuid('must be a UUID').describe("The thing's id") }),
    query: z.object({ shape: z.enum(['right', 'extra', 'wrong', 'teapot', 'conflict', 'unchanged']).default('right') }).strict(),
    responses: { 200: { description: 'The thing', schema: thing } },
    problems: { 404: 'No such thing (`not-found`)' },
  },
  create: {
    method: 'post',
    path: '/admin/things',
    access: 'operator',
    summary: 'Make a thing',
    tags: ['things'],
    headers: { 'Idempotency-Key': { description: 'Retry key', validated: true, schema: z.string().regex(/^[a-z]{4}$/, 'must be four letters') } },
    body: z.object({ name: z.string().min(1, 'is required') }).strict(),
    responses: { 201: { description: 'Made', schema: thing } },
  },
  ping: {
    method: 'post',
    path: '/ping',
    access: 'public',
    summary: 'Ping',
    tags: ['things'],
    bodyOptional: true,
    body: z.object({ loud: z.boolean().optional() }).strict(),
    responses: { 204: { description: 'Pong' } },
  },
} as const;

const ID = '6f1c1c52-6bd4-4c43-9d4c-2f3c6a1f2f7e';
const AT = new Date('2026-12-02T10:00:00Z');

describe('mountRoutes', () => {
  let server: RunningServer;
  let memberKey: string;
  let adminKey: string;
  const checked: string[] = [];

  beforeAll(async () => {
    const bus = createMemoryBus();
    const sessions = createSessionStore({ store: createMemoryStore(), bus });
    memberKey = (await sessions.create({ memberId: ID, role: 'member', address: '127.0.0.1' })).key;
    adminKey = (await sessions.create({ memberId: ID, role: 'admin', address: '127.0.0.1' })).key;
    const guard = sessionGuard({ sessions, check: (session) => void checked.push(session.memberId) });
    const routes: Route[] = [
      route(ops.get, ({ params, query, session }, _req, res) => {
        const base = { id: params.id, name: session.memberId, at: AT };
        if (query.shape === 'extra') res.json({ ...base, secret: 'x' });
        else if (query.shape === 'wrong') res.json({ ...base, at: 'yesterday' });
        else if (query.shape === 'teapot') res.status(418).json(base);
        else if (query.shape === 'unchanged') res.status(304).end();
        else if (query.shape === 'conflict') throw problems.conflict('busy', 'Busy');
        else res.json(base);
      }),
      route(ops.create, ({ body, headers }, _req, res) => {
        res.status(201).json({ id: ID, name: `${body.name}:${headers['Idempotency-Key'] ?? ''}`, at: AT });
      }),
      route(ops.ping, (_input, _req, res) => {
        res.status(204).end();
      }),
    ];
    const silent = new Writable({ write: (_c, _e, done) => done() });
    const app = createHttpApp({
      log: createLogger('test', 'silent', silent),
      metrics: createMetrics('test'),
      health: createHealth(),
      routes: (a) => mountRoutes(a, routes, { session: guard, checkResponses: true }),
    });
    server = await listen(app, 0);
  });
  afterAll(() => server.close(1000));

  const call = async (path: string, init: RequestInit & { key?: string } = {}) => {
    const headers: Record<string, string> = { ...(init.headers as Record<string, string>) };
    if (init.key) headers.authorization = `Bearer ${init.key}`;
    if (init.body) headers['content-type'] = 'application/json';
    const reply = await fetch(`${server.url}${path}`, { ...init, headers });
    const text = await reply.text();
    return { status: reply.status, type: reply.headers.get('content-type'), body: text ? (JSON.parse(text) as Record<string, unknown>) : undefined };
  };

  it('answers a valid request with the handler, the session resolved and checked', async () => {
    const before = checked.length;
    const reply = await call(`/things/${ID}`, { key: memberKey });
    expect(reply).toMatchObject({ status: 200, body: { id: ID, name: ID, at: AT.toISOString() } });
    expect(checked.length).toBe(before + 1);
  });

  it('refuses a missing or unknown session with 401 before validating', async () => {
    expect((await call('/things/nope')).body).toMatchObject({ type: 'urn:evshare:problem:unauthenticated', status: 401 });
    expect((await call('/things/nope', { key: 'x'.repeat(43) })).status).toBe(401);
  });

  it('refuses a member on an operator route with 403', async () => {
    const reply = await call('/admin/things', { method: 'POST', key: memberKey, body: JSON.stringify({ name: 'a' }) });
    expect(reply.body).toMatchObject({ status: 403, type: 'urn:evshare:problem:forbidden' });
  });

  it('names every wrong field of the path, query, header and body', async () => {
    const path = await call('/things/nope?shape=round', { key: memberKey });
    expect(path.type).toMatch(/^application\/problem\+json/);
    expect((path.body!['invalid-params'] as Array<{ name: string }>).map((p) => p.name).sort()).toEqual(['path.id', 'query.shape']);
    const post = await call('/admin/things', {
      method: 'POST',
      key: adminKey,
      headers: { 'idempotency-key': '12' },
      body: JSON.stringify({ name: '', more: 1 }),
    });
    expect(post.status).toBe(400);
    expect((post.body!['invalid-params'] as Array<{ name: string }>).map((p) => p.name).sort()).toEqual(['body', 'body.name', 'header.idempotency-key']);
  });

  it('passes validated headers and reads a missing optional body as {}', async () => {
    const made = await call('/admin/things', { method: 'POST', key: adminKey, headers: { 'idempotency-key': 'abcd' }, body: JSON.stringify({ name: 'a' }) });
    expect(made).toMatchObject({ status: 201, body: { name: 'a:abcd' } });
    expect((await call('/ping', { method: 'POST' })).status).toBe(204);
    expect((await call('/ping', { method: 'POST', body: JSON.stringify({ loud: 'yes' }) })).status).toBe(400);
  });

  it('lets a GET answer 304 (the conditional answer to If-None-Match), declared or not', async () => {
    expect((await call(`/things/${ID}?shape=unchanged`, { key: memberKey })).status).toBe(304);
  });

  it.each([
    ['extra', 'undeclared fields: secret'],
    ['wrong', 'at: '],
    ['teapot', 'answered 418'],
    ['conflict', 'undeclared problem status 409'],
  ])('fails an answer that breaks the declaration (%s) with 500 response-contract', async (shape, detail) => {
    const reply = await call(`/things/${ID}?shape=${shape}`, { key: memberKey });
    expect(reply.status).toBe(500);
    expect(reply.body).toMatchObject({ type: 'urn:evshare:problem:response-contract' });
    expect(reply.body!.detail).toContain(detail);
  });
});

describe('mountRoutes for internal routes', () => {
  const internalOp = {
    method: 'post',
    path: '/internal/x',
    access: 'internal',
    summary: 'X',
    tags: ['x'],
    responses: { 204: { description: 'Done' } },
  } as const;

  it('refuses to mount an internal route without a caller check', () => {
    const router = { post: () => undefined } as unknown as Parameters<typeof mountRoutes>[0];
    expect(() => mountRoutes(router, [route(internalOp, () => undefined)])).toThrow('needs the internal caller check');
  });

  it('runs the caller check before the handler', async () => {
    const silent = new Writable({ write: (_c, _e, done) => done() });
    const app = createHttpApp({
      log: createLogger('test', 'silent', silent),
      metrics: createMetrics('test'),
      health: createHealth(),
      routes: (a) =>
        mountRoutes(a, [route(internalOp, (_input, _req, res) => void res.status(204).end())], {
          internal: (req) => {
            if (req.headers['x-key'] !== 'k') throw problems.forbidden('Services only');
          },
        }),
    });
    const server = await listen(app, 0);
    try {
      expect((await fetch(`${server.url}/internal/x`, { method: 'POST' })).status).toBe(403);
      expect((await fetch(`${server.url}/internal/x`, { method: 'POST', headers: { 'x-key': 'k' } })).status).toBe(204);
    } finally {
      await server.close(1000);
    }
  });
});

describe('undeclaredFields', () => {
  it.each([
    [{ a: 1, b: { c: 2, d: 3 } }, { a: 1, b: { c: 2 } }, ['b.d']],
    [{ items: [{ a: 1 }, { a: 1, z: 0 }] }, { items: [{ a: 1 }, { a: 1 }] }, ['items[1].z']],
    [{ a: null }, { a: null }, []],
    ['x', 'x', []],
  ])('%j against %j', (wire, parsed, expected) => {
    expect(undeclaredFields(wire, parsed)).toEqual(expected);
  });
});

describe('openApiDocument', () => {
  const doc = openApiDocument({ info: { title: 't', version: '1' }, tags: [{ name: 'things', description: 'Things' }], operations: Object.values(ops) }) as {
    paths: Record<
      string,
      Record<
        string,
        { parameters?: Array<Record<string, unknown>>; responses: Record<string, unknown>; security?: unknown[]; requestBody?: { required: boolean } }
      >
    >;
    components: { schemas: Record<string, unknown> };
  };

  it('names shared schemas as components and refers to them', () => {
    expect(doc.components.schemas.Thing).toMatchObject({ type: 'object', required: ['id', 'name', 'at'] });
    expect(doc.paths['/things/{id}']!.get!.responses['200']).toEqual({
      description: 'The thing',
      content: { 'application/json': { schema: { $ref: '#/components/schemas/Thing' } } },
    });
  });

  it('states parameters with their descriptions and the problems implied by access and inputs', () => {
    const get = doc.paths['/things/{id}']!.get!;
    expect(get.parameters).toEqual([
      { name: 'id', in: 'path', required: true, description: "The thing's id", schema: { type: 'string', format: 'uuid' } },
      {
        name: 'shape',
        in: 'query',
        required: false,
        schema: { type: 'string', enum: ['right', 'extra', 'wrong', 'teapot', 'conflict', 'unchanged'], default: 'right' },
      },
    ]);
    expect(Object.keys(get.responses).sort()).toEqual(['200', '400', '401', '404', 'default']);
    expect(Object.keys(doc.paths['/admin/things']!.post!.responses).sort()).toEqual(['201', '400', '401', '403', 'default']);
    expect(doc.paths['/ping']!.post!.security).toEqual([]);
    expect(doc.paths['/ping']!.post!.requestBody!.required).toBe(false);
  });
});
