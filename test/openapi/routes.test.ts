import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Express } from 'express';
import { appConfigSchema, startApp } from '@evshare/app';
import { authConfigSchema, startAuth } from '@evshare/auth';
import { chargingConfigSchema, startCharging } from '@evshare/charging';
import { connectBackends, createLogger, createSessionStore, parseConfig, type Backends, type RunningService } from '@evshare/kit';
import { migrateDatabase } from '@evshare/schema';
import { createTestDatabase, testEnvironment } from '../support/backends';
import { request } from '../support/http';

// Every express app the services build, in creation order: the routes are read from their routers.
jest.mock('@evshare/kit', () => {
  const actual = jest.requireActual<typeof import('@evshare/kit')>('@evshare/kit');
  return {
    ...actual,
    createHttpApp: (options: Parameters<typeof actual.createHttpApp>[0]) => {
      const app = actual.createHttpApp(options);
      mockBuiltApps.push(app);
      return app;
    },
  };
});
const mockBuiltApps: Express[] = [];

type Doc = {
  openapi: string;
  info: { title?: string; version?: string };
  tags: Array<{ name: string }>;
  paths: Record<
    string,
    Record<
      string,
      {
        operationId: string;
        tags: string[];
        parameters?: Array<{ name: string; in: string; required?: boolean }>;
        requestBody?: { content: Record<string, { schema: unknown }> };
        responses: Record<string, unknown>;
        security?: Array<Record<string, unknown>>;
      }
    >
  >;
  components: Record<string, Record<string, unknown>>;
  security: Array<Record<string, unknown>>;
};

/** Not part of the API: served by every service for probes and scraping (docs/api.md). */
const OPERATIONAL = new Set(['/healthz', '/readyz', '/metrics']);
const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

/** `GET /api/v1/rentals/{id}` for every route an express app registered (`:id` → `{id}`). */
function routesOf(app: Express): string[] {
  const stack = (app as unknown as { router: { stack: Array<{ route?: { path: unknown; methods: Record<string, boolean> } }> } }).router.stack;
  return stack.flatMap(({ route }) => {
    if (!route) return [];
    // A pattern the document cannot state (regex, array) must fail here, not go unchecked.
    if (typeof route.path !== 'string') throw new Error(`route with a non-string path: ${String(route.path)}`);
    const path = route.path.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
    return OPERATIONAL.has(path) ? [] : Object.keys(route.methods).map((method) => `${method.toUpperCase()} ${path}`);
  });
}

describe('the OpenAPI document', () => {
  let database: { url: string; drop(): Promise<void> };
  let backends: Backends;
  let auth: RunningService;
  let app: RunningService;
  let charging: RunningService;
  let authRoutes: string[];
  let appRoutes: string[];
  let chargingRoutes: string[];
  let doc: Doc;

  beforeAll(async () => {
    database = await createTestDatabase();
    const testEnv = testEnvironment(database.url);
    const env = { ...process.env, ...testEnv, PORT: '0', HOST: '127.0.0.1' };
    const log = createLogger('openapi-test', testEnv.LOG_LEVEL);
    backends = await connectBackends({ service: 'openapi-test', log, env });
    await migrateDatabase(backends.db!, log);
    const sessions = () => createSessionStore({ store: backends.sessions, bus: backends.bus, log });
    auth = await startAuth({
      config: parseConfig(authConfigSchema, env),
      log,
      db: backends.db!,
      bus: backends.bus,
      sessions: sessions(),
      throttleStore: backends.sessions,
    });
    authRoutes = routesOf(mockBuiltApps.at(-1)!);
    app = await startApp({ config: parseConfig(appConfigSchema, env), log, db: backends.db!, bus: backends.bus, sessions: sessions(), cache: backends.cache });
    appRoutes = routesOf(mockBuiltApps.at(-1)!);
    charging = await startCharging({ config: parseConfig(chargingConfigSchema, env), log, db: backends.db!, bus: backends.bus, sessions: sessions() });
    chargingRoutes = routesOf(mockBuiltApps.at(-1)!);
    const reply = await request(`${app.url}/api/docs/openapi.json`);
    expect(reply.status).toBe(200);
    expect(reply.headers['content-type']).toMatch(/^application\/json/);
    doc = reply.json<Doc>();
  });

  afterAll(async () => {
    await charging?.stop();
    await app?.stop();
    await auth?.stop();
    await backends?.close();
    await database?.drop();
  });

  const operations = () =>
    Object.entries(doc.paths).flatMap(([path, item]) =>
      Object.entries(item)
        .filter(([method]) => METHODS.includes(method))
        .map(([method, op]) => ({ key: `${method.toUpperCase()} ${path}`, path, method, op })),
    );

  it('describes every route of the auth, APP and charging services, and nothing else', () => {
    expect(authRoutes.length).toBeGreaterThan(0);
    expect(authRoutes.every((route) => route.includes(' /api/v1/auth/'))).toBe(true);
    expect(chargingRoutes.length).toBeGreaterThan(0);
    expect(chargingRoutes.every((route) => route.includes(' /api/v1/charging/'))).toBe(true);
    const routes = [...authRoutes, ...appRoutes, ...chargingRoutes].sort();
    expect(new Set(routes).size).toBe(routes.length);
    const documented = operations()
      .map((o) => o.key)
      .sort();
    expect({ undocumented: routes.filter((r) => !documented.includes(r)) }).toEqual({ undocumented: [] });
    expect({ notRouted: documented.filter((d) => !routes.includes(d)) }).toEqual({ notRouted: [] });
  });

  it('declares exactly the path parameters of each path', () => {
    for (const { key, path, op } of operations()) {
      const inPath = [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]).sort();
      const declared = (op.parameters ?? []).filter((p) => p.in === 'path');
      expect({ key, params: declared.map((p) => p.name).sort() }).toEqual({ key, params: inPath });
      for (const param of declared) expect({ key, param: param.name, required: param.required }).toEqual({ key, param: param.name, required: true });
    }
  });

  it('is structurally valid OpenAPI 3.1', () => {
    expect(doc.openapi).toMatch(/^3\.1\.\d+$/);
    expect(typeof doc.info.title).toBe('string');
    expect(typeof doc.info.version).toBe('string');
    const ids = operations().map((o) => o.op.operationId);
    expect(ids.every((id) => /^[A-Za-z0-9_]+$/.test(id))).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
    const tags = new Set(doc.tags.map((t) => t.name));
    const schemes = Object.keys(doc.components.securitySchemes ?? {});
    for (const { key, op } of operations()) {
      expect({ key, tags: op.tags.filter((t) => !tags.has(t)) }).toEqual({ key, tags: [] });
      expect({ key, responses: Object.keys(op.responses).length > 0 }).toEqual({ key, responses: true });
      for (const requirement of op.security ?? doc.security) for (const name of Object.keys(requirement)) expect(schemes).toContain(name);
      // A parameter is unique by name and location (OpenAPI 3.1, 4.8.12.1).
      const params = (op.parameters ?? []).map((p) => `${p.in}:${p.name}`);
      expect({ key, duplicates: params.filter((p, i) => params.indexOf(p) !== i) }).toEqual({ key, duplicates: [] });
    }
    // Every $ref points at something in the document.
    const unresolved: string[] = [];
    const walk = (node: unknown): void => {
      if (Array.isArray(node)) node.forEach(walk);
      else if (node && typeof node === 'object') {
        for (const [k, v] of Object.entries(node)) {
          if (k === '$ref' && typeof v === 'string') {
            const target = v
              .replace(/^#\//, '')
              .split('/')
              .reduce<unknown>((at, part) => (at as Record<string, unknown> | undefined)?.[part.replace(/~1/g, '/').replace(/~0/g, '~')], doc);
            if (!v.startsWith('#/') || target === undefined) unresolved.push(v);
          } else walk(v);
        }
      }
    };
    walk(doc);
    expect(unresolved).toEqual([]);
  });

  // An independent checker: Redocly's recommended rules (valid OpenAPI 3.1 and its good practice).
  it("passes Redocly's recommended rules without a warning", async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'openapi-'));
    try {
      const file = path.join(dir, 'openapi.json');
      await writeFile(file, JSON.stringify(doc));
      const cli = require.resolve('@redocly/cli/bin/cli.js');
      const run = await promisify(execFile)(process.execPath, [cli, 'lint', '--extends=recommended-strict', '--format=json', file], {
        env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true' },
      }).catch((error: { stdout?: string; stderr?: string }) => ({ stdout: error.stdout ?? '', stderr: error.stderr ?? '' }));
      const report = JSON.parse(run.stdout) as { problems: Array<{ ruleId: string; severity: string; message: string; location: Array<{ pointer: string }> }> };
      expect(report.problems.map((p) => `${p.severity} ${p.ruleId}: ${p.message} at ${p.location[0]?.pointer}`)).toEqual([]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('serves a self-contained readable page listing every operation', async () => {
    const reply = await request(`${app.url}/api/docs`);
    expect(reply.status).toBe(200);
    expect(reply.headers['content-type']).toMatch(/^text\/html/);
    const csp = String(reply.headers['content-security-policy']);
    expect(csp).toMatch(/^default-src 'none'; style-src 'sha256-[A-Za-z0-9+/=]+'; frame-ancestors 'none'$/);
    // No script and nothing fetched from elsewhere.
    expect(reply.body).not.toMatch(/<script|<link|src=|url\(/i);
    for (const { path, method } of operations()) expect(reply.body).toContain(`id="${method}${path.replace(/&/g, '&#38;')}"`);
  });
});
