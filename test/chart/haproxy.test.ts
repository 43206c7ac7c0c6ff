/**
 * The default entry point, entrypoint haproxy: the chart's HAProxy (routes for every service, its
 * own probes and metrics listener, run.sh that waits for and reloads the operator's APP backend)
 * and the AppServiceGroup's spec.haproxy from which the operator renders that backend. The
 * rendered haproxy.cfg, with the backend the operator renders for the chart's group, is checked by
 * a real HAProxy (`haproxy -c`), and run.sh is run with a real HAProxy: it starts once the backend
 * exists, reloads without dropping a request in flight when it changes, keeps the running one when
 * a new one does not parse, and stops on SIGTERM.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { TLSSocket } from 'node:tls';
import { haproxyConfigFor } from '../../operator/src/affinity/haproxy';
import { resolveSpec } from '../../operator/src/crd/defaults';
import { freePort } from '@evshare/stack';
import { eventually } from '../support/http';
import { find, render, type K8sObject } from './helm';

jest.setTimeout(60_000);

const FULLNAME = 'evs-evshare';
const byComponent = (component: string) => (peer: { podSelector?: { matchLabels: Record<string, string> } }) =>
  peer.podSelector?.matchLabels['app.kubernetes.io/component'] === component;

function container(objects: K8sObject[], deployment: string) {
  return find(objects, 'Deployment', deployment).spec.template.spec.containers[0];
}

describe('entrypoint haproxy (the default)', () => {
  let objects: K8sObject[];
  let config: Record<string, string>;
  beforeAll(async () => {
    objects = await render({});
    config = find(objects, 'ConfigMap', `${FULLNAME}-haproxy`).data!;
  });

  it('routes every path prefix to its service, the longest first, the rest to the web platform', () => {
    const routes = config['haproxy.cfg']!.split('\n').filter((line) => /^\s+(use_backend|default_backend)/.test(line));
    expect(routes.map((line) => line.trim())).toEqual([
      `use_backend ${FULLNAME}-charging if { path /api/v1/charging } || { path_beg /api/v1/charging/ }`,
      `use_backend ${FULLNAME}-auth if { path /api/v1/auth } || { path_beg /api/v1/auth/ }`,
      `use_backend ${FULLNAME}-charging if { path /ocpp } || { path_beg /ocpp/ }`,
      `use_backend ${FULLNAME}-heartbeat if { path /push } || { path_beg /push/ }`,
      // The operator's backend, named like the group.
      `use_backend ${FULLNAME}-app if { path /api } || { path_beg /api/ }`,
      `default_backend ${FULLNAME}-web`,
    ]);
  });

  it('has the group render the APP backend, the APP pods answer the agent check, and no Ingress or gateway', () => {
    const group = find(objects, 'AppServiceGroup', `${FULLNAME}-app`);
    expect(group.spec.haproxy).toEqual({ hashBalanceFactor: 150, agentPort: 8092, queueTimeoutSeconds: 5, clusterDomain: 'cluster.local' });
    expect(group.spec.ingress).toBeUndefined();
    const app = container(objects, `${FULLNAME}-app`);
    expect(app.ports).toContainEqual({ name: 'agent', containerPort: 8092, protocol: 'TCP' });
    expect(app.env).toContainEqual({ name: 'LOAD_AGENT_PORT', value: '8092' });
    expect(objects.filter((o) => o.kind === 'Ingress' || o.metadata.name === `${FULLNAME}-gateway`)).toEqual([]);
    // HAProxy mounts the operator's ConfigMap, optional until the operator has written it.
    const volumes = find(objects, 'Deployment', `${FULLNAME}-haproxy`).spec.template.spec.volumes;
    expect(volumes).toContainEqual({ name: 'app-backend', configMap: { name: `${FULLNAME}-app-haproxy`, optional: true } });
  });

  it('opens APP (requests and agent checks) and the routed services to the HAProxy pods only, and HAProxy to everyone', () => {
    const app = find(objects, 'NetworkPolicy', `${FULLNAME}-app`).spec.ingress;
    expect(app).toContainEqual({ from: [expect.objectContaining({})], ports: [{ port: 8082, protocol: 'TCP' }] });
    expect(app).toContainEqual({ from: [expect.objectContaining({})], ports: [{ port: 8092, protocol: 'TCP' }] });
    for (const rule of app) expect(rule.from.every(byComponent('haproxy'))).toBe(true);
    for (const [name, port] of [
      ['auth', 8081],
      ['heartbeat', 8083],
      ['charging', 8087],
      ['web', 8090],
    ] as const) {
      const [rule] = find(objects, 'NetworkPolicy', `${FULLNAME}-${name}`).spec.ingress;
      expect([name, rule.ports, rule.from.every(byComponent('haproxy'))]).toEqual([name, [{ port, protocol: 'TCP' }], true]);
    }
    expect(find(objects, 'NetworkPolicy', `${FULLNAME}-haproxy`).spec.ingress).toEqual([{ ports: [{ port: 8080, protocol: 'TCP' }] }]);
  });

  it('runs HAProxy non-root on a read-only root filesystem, with probes on its own listener and a PodDisruptionBudget', () => {
    const haproxy = container(objects, `${FULLNAME}-haproxy`);
    expect(haproxy.securityContext).toMatchObject({ runAsNonRoot: true, readOnlyRootFilesystem: true, allowPrivilegeEscalation: false });
    expect(haproxy.readinessProbe.httpGet).toEqual({ path: '/healthz', port: 'stats' });
    expect(haproxy.lifecycle.preStop.exec.command).toEqual(['sleep', '5']);
    expect(find(objects, 'PodDisruptionBudget', `${FULLNAME}-haproxy`).spec.maxUnavailable).toBe(1);
    const service = find(objects, 'Service', `${FULLNAME}-haproxy`).spec;
    expect(service.ports).toEqual([{ name: 'http', port: 80, targetPort: 'http', protocol: 'TCP' }]);
    // One client, one HAProxy pod: the pods' slot orders (and so their hash rings) may differ.
    expect([service.sessionAffinity, service.sessionAffinityConfig]).toEqual(['ClientIP', { clientIP: { timeoutSeconds: 10800 } }]);
  });

  it('references only Secrets the release creates (no gateway NATS user without the gateway, so NATS starts)', () => {
    const secrets = new Set(objects.filter((o) => o.kind === 'Secret').map((o) => o.metadata.name));
    const referenced = new Set<string>();
    for (const workload of objects.filter((o) => o.kind === 'Deployment' || o.kind === 'StatefulSet')) {
      for (const c of [...workload.spec.template.spec.containers, ...(workload.spec.template.spec.initContainers ?? [])]) {
        for (const env of c.env ?? []) if (env.valueFrom?.secretKeyRef) referenced.add(env.valueFrom.secretKeyRef.name);
      }
    }
    expect([...referenced].filter((name) => !secrets.has(name))).toEqual([]);
    expect(secrets.has(`${FULLNAME}-nats-gateway`)).toBe(false);
  });

  it('makes a configuration HAProxy accepts together with the backend the operator renders for the group', () => {
    const group = find(objects, 'AppServiceGroup', `${FULLNAME}-app`);
    const dir = mkdtempSync(path.join(os.tmpdir(), 'evshare-chart-haproxy-'));
    try {
      writeFileSync(path.join(dir, 'haproxy.cfg'), config['haproxy.cfg']!);
      writeFileSync(
        path.join(dir, 'backend.cfg'),
        haproxyConfigFor({ name: group.metadata.name, namespace: 'default', uid: 'u1' }, resolveSpec(group.spec), resolveSpec(group.spec).haproxy!),
      );
      execFileSync('haproxy', ['-c', '-q', '-f', path.join(dir, 'haproxy.cfg'), '-f', path.join(dir, 'backend.cfg')], { stdio: 'pipe' });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('the evshare gateway beside HAProxy (gateway.enabled)', () => {
  it('deploys both entries in front of the same pods, with the gateway NATS user and both admitted to APP', async () => {
    const objects = await render({ gateway: { enabled: true } });
    for (const name of ['haproxy', 'gateway']) find(objects, 'Deployment', `${FULLNAME}-${name}`);
    find(objects, 'Secret', `${FULLNAME}-nats-gateway`);
    const peers = find(objects, 'NetworkPolicy', `${FULLNAME}-app`).spec.ingress[0].from;
    expect(peers.map((p: { podSelector: { matchLabels: Record<string, string> } }) => p.podSelector.matchLabels['app.kubernetes.io/component'])).toEqual([
      'gateway',
      'haproxy',
    ]);
    expect(find(objects, 'AppServiceGroup', `${FULLNAME}-app`).spec.haproxy).toBeDefined();
  });
});

function get(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { agent: false }, (res) => {
        let body = '';
        res.on('data', (chunk) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      })
      .on('error', reject);
  });
}

/** An APP stand-in answering with its name; /api/slow answers after 3 s. */
async function app(servers: http.Server[], name: string): Promise<number> {
  const server = http.createServer((req, res) => {
    if (req.url === '/api/slow') setTimeout(() => res.end(name), 3_000);
    else res.end(name);
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

const backendFor = (port: number) => [`backend ${FULLNAME}-app`, `  server a 127.0.0.1:${port}`, ''].join('\n');

/** Writes a file as the kubelet updates a ConfigMap or Secret volume: a new file renamed into place. */
function replaceFile(file: string, text: string | Buffer) {
  writeFileSync(`${file}.new`, text);
  renameSync(`${file}.new`, file);
}

/**
 * The chart's haproxy.cfg and run.sh rendered with `values`, run from a temporary directory
 * (HAPROXY_CONFIG_DIR) with the listeners on loopback and the admin socket beside the files.
 */
async function startRunSh(values: { haproxy: object }) {
  const objects = await render(values);
  const files = find(objects, 'ConfigMap', `${FULLNAME}-haproxy`).data!;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'evshare-run-sh-'));
  mkdirSync(path.join(dir, 'app'));
  mkdirSync(path.join(dir, 'tls'));
  writeFileSync(
    path.join(dir, 'haproxy.cfg'),
    files['haproxy.cfg']!.replace('/tmp/haproxy.sock', path.join(dir, 'admin.sock'))
      .replace('/usr/local/etc/haproxy/tls/', `${dir}/tls/`)
      .replace(/^\s*bind :/gm, '  bind 127.0.0.1:'),
  );
  writeFileSync(path.join(dir, 'run.sh'), files['run.sh']!);
  let output = '';
  let runner: ChildProcess | undefined;
  return {
    dir,
    output: () => output,
    start() {
      runner = spawn('sh', [path.join(dir, 'run.sh')], { env: { ...process.env, HAPROXY_CONFIG_DIR: dir }, stdio: ['ignore', 'pipe', 'pipe'] });
      runner.stdout!.on('data', (chunk) => (output += chunk));
      runner.stderr!.on('data', (chunk) => (output += chunk));
    },
    /** SIGTERM, as the kubelet sends it; resolves with the exit code. */
    terminate() {
      const exited = new Promise<number | null>((resolve) => runner!.once('exit', resolve));
      runner!.kill('SIGTERM');
      return exited;
    },
    stop() {
      if (runner && runner.exitCode === null) runner.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function closeAll(servers: http.Server[]) {
  for (const server of servers) server.closeAllConnections();
  await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
}

describe("the chart's run.sh with a real HAProxy", () => {
  let harness: Awaited<ReturnType<typeof startRunSh>>;
  let entry: string;
  const servers: http.Server[] = [];

  beforeAll(async () => {
    const [port, statsPort] = [await freePort(), await freePort()];
    entry = `http://127.0.0.1:${port}`;
    // Within this machine's open-file limit (HAProxy sizes its descriptors by maxconn).
    harness = await startRunSh({ haproxy: { port, statsPort, maxConnections: 2000 } });
    harness.start();
  });

  afterAll(async () => {
    harness?.stop();
    await closeAll(servers);
  });

  it('waits for the backend, reloads it without dropping a request in flight, keeps it when a new one is broken, stops on SIGTERM', async () => {
    const backend = path.join(harness.dir, 'app', 'backend.cfg');
    await eventually(async () => expect(harness.output()).toMatch(/waiting for the operator's backend/), 10_000, 100);
    await expect(get(`${entry}/api/v1/sync`)).rejects.toThrow();

    replaceFile(backend, backendFor(await app(servers, 'first')));
    await eventually(async () => expect(await get(`${entry}/api/v1/sync`)).toEqual({ status: 200, body: 'first' }), 15_000, 100);

    const inFlight = get(`${entry}/api/slow`);
    await new Promise((resolve) => setTimeout(resolve, 300));
    replaceFile(backend, backendFor(await app(servers, 'second')));
    await eventually(async () => expect((await get(`${entry}/api/v1/sync`)).body).toBe('second'), 15_000, 100);
    expect(harness.output()).toMatch(/the APP backend or the certificate changed; reloading/);
    // Served by the old worker, which finished it before leaving.
    expect(await inFlight).toEqual({ status: 200, body: 'first' });

    replaceFile(backend, 'backend broken\n  server x\n');
    await eventually(async () => expect(harness.output()).toMatch(/does not load; keeping the running ones/), 15_000, 100);
    expect(await get(`${entry}/api/v1/sync`)).toEqual({ status: 200, body: 'second' });

    expect(await harness.terminate()).toBe(0);
  });
});

/** A self-signed certificate for `name` (openssl): [certificate PEM, key PEM]. */
function selfSigned(dir: string, name: string): [Buffer, Buffer] {
  const [cert, key] = [path.join(dir, `${name}.crt`), path.join(dir, `${name}.key`)];
  execFileSync(
    'openssl',
    ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1', '-subj', `/CN=${name}`, '-keyout', key, '-out', cert],
    {
      stdio: 'pipe',
    },
  );
  return [readFileSync(cert), readFileSync(key)];
}

/** The TLS handshake's peer certificate subject and the answer to GET path. */
function getTls(port: number, pathname: string): Promise<{ subject: string; status: number; hsts: string | undefined; body: string }> {
  return new Promise((resolve, reject) => {
    const req = https.get({ host: '127.0.0.1', port, path: pathname, rejectUnauthorized: false, agent: false }, (res) => {
      const subject = String((res.socket as TLSSocket).getPeerCertificate().subject?.CN ?? '');
      let body = '';
      res.on('data', (chunk) => (body += chunk));
      res.on('end', () => resolve({ subject, status: res.statusCode ?? 0, hsts: res.headers['strict-transport-security'], body }));
    });
    req.on('error', reject);
  });
}

describe("the chart's HAProxy with TLS (haproxy.tls.secretName)", () => {
  let harness: Awaited<ReturnType<typeof startRunSh>>;
  let ports: { http: number; https: number };
  const servers: http.Server[] = [];

  beforeAll(async () => {
    ports = { http: await freePort(), https: await freePort() };
    harness = await startRunSh({
      haproxy: { port: ports.http, statsPort: await freePort(), maxConnections: 2000, tls: { secretName: 'evshare-tls', port: ports.https } },
    });
    const [cert, key] = selfSigned(harness.dir, 'first.example');
    writeFileSync(path.join(harness.dir, 'tls', 'tls.pem'), cert);
    writeFileSync(path.join(harness.dir, 'tls', 'tls.pem.key'), key);
    writeFileSync(path.join(harness.dir, 'app', 'backend.cfg'), backendFor(await app(servers, 'app')));
    harness.start();
  });

  afterAll(async () => {
    harness?.stop();
    await closeAll(servers);
  });

  it('serves HTTPS with HSTS, redirects plain HTTP, and loads a renewed certificate without a restart', async () => {
    await eventually(
      async () => expect(await getTls(ports.https, '/api/v1/sync')).toEqual({ subject: 'first.example', status: 200, hsts: 'max-age=15552000', body: 'app' }),
      15_000,
      100,
    );
    const plain = await new Promise<http.IncomingMessage>((resolve, reject) =>
      http.get(`http://127.0.0.1:${ports.http}/api/v1/sync?x=1`, { agent: false }, resolve).on('error', reject),
    );
    plain.resume();
    expect([plain.statusCode, plain.headers.location]).toEqual([308, `https://127.0.0.1:${ports.http}/api/v1/sync?x=1`]);

    // cert-manager renews: the Secret volume's files change in place.
    const [cert, key] = selfSigned(harness.dir, 'renewed.example');
    replaceFile(path.join(harness.dir, 'tls', 'tls.pem.key'), key);
    replaceFile(path.join(harness.dir, 'tls', 'tls.pem'), cert);
    await eventually(async () => expect((await getTls(ports.https, '/api/v1/sync')).subject).toBe('renewed.example'), 15_000, 200);
    expect(await harness.terminate()).toBe(0);
  });
});
