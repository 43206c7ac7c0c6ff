import { Writable } from 'node:stream';
import { z } from 'zod';
import { createHttpApp } from './app';
import { createHealth } from './health';
import { createMetrics } from './metrics';
import { listen, type RunningServer } from './server';
import { mountRoutes, route } from './routes';
import { createLogger } from '../logger';

const ops = {
  upload: {
    method: 'post',
    path: '/photos',
    access: 'public',
    summary: 'A photo as its bytes',
    tags: ['things'],
    rawBody: { description: 'The photo', mediaTypes: ['image/png', 'image/jpeg'], maxBytes: 16 },
    responses: { 201: { description: 'Stored', schema: z.object({ size: z.number(), first: z.number() }) } },
  },
  json: {
    method: 'post',
    path: '/things',
    access: 'public',
    summary: 'A JSON body',
    tags: ['things'],
    body: z.object({ name: z.string() }).strict(),
    responses: { 201: { description: 'Made', schema: z.object({ name: z.string() }) } },
  },
} as const;

// Raw bodies on a real server: only the routes that declare one take it, within their limit.
describe('raw bodies', () => {
  let server: RunningServer;
  beforeAll(async () => {
    const silent = new Writable({ write: (_c, _e, done) => done() });
    const routes = [
      route(ops.upload, ({ body }, _req, res) => {
        res.status(201).json({ size: body.length, first: body[0] });
      }),
      route(ops.json, ({ body }, _req, res) => {
        res.status(201).json({ name: body.name });
      }),
    ];
    const app = createHttpApp({
      log: createLogger('test', 'silent', silent),
      metrics: createMetrics('test'),
      health: createHealth(),
      rawBodyTypes: ['image/png', 'image/jpeg'],
      routes: (a) => mountRoutes(a, routes, { checkResponses: true }),
    });
    server = await listen(app, 0);
  });
  afterAll(() => server.close(1000));

  const post = async (path: string, type: string, body: string | Uint8Array | ReadableStream<Uint8Array>, extra: RequestInit = {}) => {
    const reply = await fetch(`${server.url}${path}`, { method: 'POST', headers: { 'content-type': type }, body, ...extra });
    const text = await reply.text();
    return { status: reply.status, type: reply.headers.get('content-type'), body: JSON.parse(text) as Record<string, unknown> };
  };
  const fields = (reply: { body: Record<string, unknown> }) => ((reply.body['invalid-params'] ?? []) as Array<{ name: string }>).map((p) => p.name);

  it('hands the declaring route its bytes as a Buffer', async () => {
    expect(await post('/photos', 'image/png', new Uint8Array([0x89, 1, 2, 3]))).toMatchObject({ status: 201, body: { size: 4, first: 0x89 } });
    expect((await post('/photos', 'image/jpeg; charset=binary', new Uint8Array(16))).status).toBe(201);
  });

  it('refuses a raw body on a route that takes JSON, and JSON on the raw route, 415', async () => {
    const onJson = await post('/things', 'image/png', new Uint8Array([1]));
    expect(onJson).toMatchObject({ status: 415, body: { type: 'urn:evshare:problem:unsupported-media-type' } });
    const jsonOnRaw = await post('/photos', 'application/json', '{"name":"a"}');
    expect(jsonOnRaw.status).toBe(415);
    expect(fields(jsonOnRaw)).toEqual(['header.content-type']);
    expect((await post('/photos', 'text/plain', 'hello')).status).toBe(415);
    expect((await post('/things', 'application/json', '{"name":"a"}')).status).toBe(201);
  });

  it('refuses a body past the limit 413: from its declared length, and a chunked one as it passes', async () => {
    expect(await post('/photos', 'image/png', new Uint8Array(17))).toMatchObject({ status: 413, body: { type: 'urn:evshare:problem:body-too-large' } });
    const chunked = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let i = 0; i < 5; i += 1) controller.enqueue(new Uint8Array(8));
        controller.close();
      },
    });
    const reply = await post('/photos', 'image/png', chunked, { duplex: 'half' });
    expect(reply).toMatchObject({ status: 413, body: { type: 'urn:evshare:problem:body-too-large' } });
  });

  it('refuses an empty body 400 naming body', async () => {
    const reply = await post('/photos', 'image/png', new Uint8Array(0));
    expect(reply.status).toBe(400);
    expect(fields(reply)).toEqual(['body']);
    const empty = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new Uint8Array(0));
        controller.close();
      },
    });
    const chunked = await post('/photos', 'image/png', empty, { duplex: 'half' });
    expect(chunked.status).toBe(400);
    expect(fields(chunked)).toEqual(['body']);
  });
});
