/**
 * A real Kubernetes control plane for tests, without Docker: etcd + kube-apiserver (and, on
 * request, kube-controller-manager, and kube-scheduler + kwok with fake nodes) started from the
 * binaries `test/k8s/tools.sh` builds.
 *
 * API (kept stable; the chart tests and the operator tests share it):
 *
 *   const cp = await startControlPlane({ controllerManager: true });
 *   cp.kubeconfigPath  // kubeconfig file with the admin token and the server's CA
 *   cp.server          // https://127.0.0.1:<port>
 *   cp.token           // static admin token (user "admin", group system:masters)
 *   cp.caPath          // PEM bundle that verifies the apiserver's self-signed serving cert
 *   cp.etcdUrl         // http://127.0.0.1:<port> (etcd v3 JSON gateway: compaction in tests)
 *   cp.nodes           // names of the fake nodes (with `kwok: true`; else empty)
 *   await cp.stop()    // stops every process and removes the temporary directory
 *
 * Options: `controllerManager` (garbage collection, Deployments -> ReplicaSets -> Pods,
 * StatefulSets, PodDisruptionBudget status, ServiceAccounts and namespace deletion; default
 * false), `kwok` (kube-scheduler, plus kwok managing `fakeNodes` (default 2) Nodes annotated
 * `kwok.x-k8s.io/node: fake` and tainted with it (`KWOK_TOLERATION` tolerates that): pods
 * scheduled there become Running and Ready, their containers faked; with `controllerManager`,
 * Deployments and StatefulSets reach their ready replicas. Probes are not run: a pod is Ready
 * as soon as it is bound; default false), `crds` (CustomResourceDefinition
 * objects created, and waited for until Established, before the controller-manager starts: its
 * garbage collector then knows them at once instead of after its 30 s rediscovery),
 * `watchCache` (default true; false makes every watch of built-in resources go to etcd, so a
 * compaction turns an old resourceVersion into 410 Gone; custom resources keep their watch
 * cache), `readyTimeoutMs` (default 60 s).
 *
 * Everything listens on free loopback ports and lives in one temp directory, so several control
 * planes can run at once. A component that exits or never becomes ready fails the start with
 * the last lines of its log. Binaries come from $EVSHARE_TOOLS_DIR/bin (default
 * ~/.cache/evshare-tools/bin); run `bash test/k8s/tools.sh` once to build them.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { closeSync, existsSync, openSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import https from 'node:https';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { apiRequest, kubeconfigYaml, type ApiTarget } from './kubeconfig';

export interface ControlPlaneOptions {
  controllerManager?: boolean;
  crds?: object[];
  watchCache?: boolean;
  readyTimeoutMs?: number;
  kwok?: boolean;
  fakeNodes?: number;
  /** The address the apiserver listens on and advertises (default 127.0.0.1); a real node's pods need a non-loopback one. */
  bindAddress?: string;
  /** The controller-manager's --controllers (default: the few the kwok tests need). */
  controllers?: string;
  /** kube-scheduler without kwok (a real node binds its own pods; default false). */
  scheduler?: boolean;
  /** More static tokens (a kubelet's system:node:<name>, kube-proxy's system:kube-proxy). */
  tokens?: { token: string; user: string; groups?: string[] }[];
  /** More kube-apiserver flags (e.g. its client certificate for the kubelet). */
  apiserverArgs?: string[];
}

export interface ControlPlane {
  kubeconfigPath: string;
  server: string;
  token: string;
  caPath: string;
  etcdUrl: string;
  nodes: string[];
  stop(): Promise<void>;
}

/** The annotation kwok selects its nodes by, and the taint the fake nodes carry. */
export const KWOK_NODE_ANNOTATION = 'kwok.x-k8s.io/node';
/** Lets a pod onto the fake nodes (the taint keeps anything else off them). */
export const KWOK_TOLERATION = { key: KWOK_NODE_ANNOTATION, operator: 'Equal', value: 'fake', effect: 'NoSchedule' };

export function toolsBinDir(): string {
  return path.join(process.env.EVSHARE_TOOLS_DIR ?? path.join(os.homedir(), '.cache', 'evshare-tools'), 'bin');
}

/** A process of a test cluster, with its log file. */
export interface Component {
  name: string;
  child: ChildProcess;
  logPath: string;
  exited: Promise<number | null>;
}

export async function startControlPlane(options: ControlPlaneOptions = {}): Promise<ControlPlane> {
  const bin = toolsBinDir();
  const needed = [
    'etcd',
    'kube-apiserver',
    ...(options.controllerManager ? ['kube-controller-manager'] : []),
    ...(options.kwok || options.scheduler ? ['kube-scheduler'] : []),
    ...(options.kwok ? ['kwok'] : []),
  ];
  const missing = needed.filter((name) => !existsSync(path.join(bin, name)));
  if (missing.length > 0) {
    throw new Error(`missing ${missing.join(', ')} in ${bin}: run \`bash test/k8s/tools.sh\` first (it builds them from Go modules)`);
  }
  const readyTimeoutMs = options.readyTimeoutMs ?? 60_000;
  const bindAddress = options.bindAddress ?? '127.0.0.1';
  const dir = await mkdtemp(path.join(os.tmpdir(), 'evshare-cp-'));
  const components: Component[] = [];
  const stop = async () => {
    // Reverse order: the controller-manager and the apiserver go before the etcd they use.
    for (const component of [...components].reverse()) await stopComponent(component);
    process.off('exit', killAllNow);
    await rm(dir, { recursive: true, force: true });
  };
  // A test process that dies without calling stop() must not leave servers behind.
  const killAllNow = () => components.forEach((c) => c.child.kill('SIGKILL'));
  process.on('exit', killAllNow);

  try {
    const [etcdClientPort, etcdPeerPort, apiPort] = await freePorts(3);
    const etcdUrl = `http://127.0.0.1:${etcdClientPort}`;
    const etcdPeerUrl = `http://127.0.0.1:${etcdPeerPort}`;
    const etcd = launch(dir, 'etcd', path.join(bin, 'etcd'), [
      '--name=evshare',
      `--data-dir=${path.join(dir, 'etcd')}`,
      `--listen-client-urls=${etcdUrl}`,
      `--advertise-client-urls=${etcdUrl}`,
      `--listen-peer-urls=${etcdPeerUrl}`,
      `--initial-advertise-peer-urls=${etcdPeerUrl}`,
      `--initial-cluster=evshare=${etcdPeerUrl}`,
      // Test data is thrown away: skipping fsync makes every write several times faster.
      '--unsafe-no-fsync',
      '--log-level=warn',
    ]);
    components.push(etcd);

    const token = randomBytes(24).toString('hex');
    const pki = path.join(dir, 'pki');
    await mkdir(pki, { recursive: true });
    const { publicKey, privateKey } = generateKeyPairSync('ec', {
      namedCurve: 'prime256v1',
      publicKeyEncoding: { type: 'spki', format: 'pem' },
      privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    });
    const saPub = path.join(pki, 'sa.pub');
    const saKey = path.join(pki, 'sa.key');
    const tokens = path.join(pki, 'tokens.csv');
    await writeFile(saPub, publicKey);
    await writeFile(saKey, privateKey, { mode: 0o600 });
    const extraTokens = (options.tokens ?? []).map((t) => `${t.token},${t.user},${t.user}${t.groups?.length ? `,"${t.groups.join(',')}"` : ''}\n`);
    await writeFile(tokens, [`${token},admin,admin,"system:masters"\n`, ...extraTokens].join(''), { mode: 0o600 });
    await waitFor(etcd, readyTimeoutMs, () => httpOk(`${etcdUrl}/health`));

    const apiserver = launch(dir, 'kube-apiserver', path.join(bin, 'kube-apiserver'), [
      `--etcd-servers=${etcdUrl}`,
      `--bind-address=${bindAddress}`,
      `--advertise-address=${bindAddress}`,
      `--secure-port=${apiPort}`,
      `--cert-dir=${path.join(dir, 'serving')}`,
      `--token-auth-file=${tokens}`,
      '--authorization-mode=Node,RBAC',
      // As on clusters that enforce it (OpenShift): an owner reference with blockOwnerDeletion needs
      // update on the owner's finalizers, so a chart Role without it fails the operator tests.
      '--enable-admission-plugins=OwnerReferencesPermissionEnforcement',
      '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
      `--service-account-key-file=${saPub}`,
      `--service-account-signing-key-file=${saKey}`,
      '--service-cluster-ip-range=10.96.0.0/16',
      `--watch-cache=${options.watchCache ?? true}`,
      '--profiling=false',
      '--v=0',
      ...(options.apiserverArgs ?? []),
    ]);
    components.push(apiserver);
    const server = `https://${bindAddress}:${apiPort}`;
    const caPath = path.join(dir, 'serving', 'apiserver.crt');
    await waitFor(apiserver, readyTimeoutMs, async () => existsSync(caPath) && (await readyz(server, token, await readFile(caPath))));

    const kubeconfigPath = path.join(dir, 'kubeconfig');
    await writeFile(kubeconfigPath, kubeconfigYaml({ server, token, caData: await readFile(caPath) }), { mode: 0o600 });
    for (const crd of options.crds ?? []) await installCrd({ server, token, caPath }, crd, readyTimeoutMs);

    if (options.controllerManager) {
      const controllerManager = launch(dir, 'kube-controller-manager', path.join(bin, 'kube-controller-manager'), [
        `--kubeconfig=${kubeconfigPath}`,
        '--leader-elect=false',
        '--secure-port=0',
        `--controllers=${options.controllers ?? 'garbage-collector-controller,deployment-controller,replicaset-controller,statefulset-controller,disruption-controller,serviceaccount-controller,serviceaccount-token-controller,namespace-controller'}`,
        `--service-account-private-key-file=${saKey}`,
        `--root-ca-file=${caPath}`,
        '--use-service-account-credentials=false',
        // The defaults (sync every 30 s, GC discovery every 30 s) would make tests slow.
        '--concurrent-gc-syncs=5',
        '--v=0',
      ]);
      components.push(controllerManager);
      await waitFor(controllerManager, readyTimeoutMs, () => defaultServiceAccountExists(server, token, caPath));
    }

    if (options.scheduler && !options.kwok) await startScheduler(dir, bin, kubeconfigPath, readyTimeoutMs, components);
    const nodes = options.kwok ? await startKwok(dir, bin, kubeconfigPath, { server, token, caPath }, options.fakeNodes ?? 2, readyTimeoutMs, components) : [];

    return { kubeconfigPath, server, token, caPath, etcdUrl, nodes, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/**
 * kube-scheduler binds pods to nodes; kwok plays the kubelet of the fake nodes it creates: it
 * keeps them Ready (with Leases), and its default stages move their pods to Running and Ready
 * and finish their deletion. Returns the node names once the scheduler is healthy and kwok has
 * reported every node Ready.
 */
async function startKwok(
  dir: string,
  bin: string,
  kubeconfigPath: string,
  target: ApiTarget,
  count: number,
  timeoutMs: number,
  components: Component[],
): Promise<string[]> {
  await startScheduler(dir, bin, kubeconfigPath, timeoutMs, components);

  // An explicit (empty) configuration keeps a developer's ~/.kwok/kwok.yaml out; with no Stage
  // given, kwok uses its default node and pod stages.
  const config = path.join(dir, 'kwok.yaml');
  await writeFile(config, 'apiVersion: config.kwok.x-k8s.io/v1alpha1\nkind: KwokConfiguration\noptions: {}\n');
  const kwok = launch(dir, 'kwok', path.join(bin, 'kwok'), [
    `--config=${config}`,
    `--kubeconfig=${kubeconfigPath}`,
    '--manage-all-nodes=false',
    `--manage-nodes-with-annotation-selector=${KWOK_NODE_ANNOTATION}=fake`,
    '--node-lease-duration-seconds=40',
    '--cidr=10.0.0.1/16',
  ]);
  components.push(kwok);

  const nodes = Array.from({ length: count }, (_, i) => `kwok-node-${i}`);
  // Room for the whole chart several times over: the scheduler checks requests against it.
  const resources = { cpu: '32', memory: '256Gi', pods: '110' };
  for (const name of nodes) {
    const created = await apiRequest(target, 'POST', '/api/v1/nodes', {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: {
        name,
        annotations: { [KWOK_NODE_ANNOTATION]: 'fake', 'node.alpha.kubernetes.io/ttl': '0' },
        labels: { 'kubernetes.io/hostname': name, 'kubernetes.io/os': 'linux', 'kubernetes.io/arch': 'amd64', type: 'kwok' },
      },
      spec: { taints: [{ key: KWOK_NODE_ANNOTATION, value: 'fake', effect: 'NoSchedule' }] },
      status: { allocatable: resources, capacity: resources },
    });
    if (created.status !== 201) throw new Error(`creating node ${name}: ${created.status} ${JSON.stringify(created.body)}`);
  }
  await waitFor(kwok, timeoutMs, async () => {
    const list = await apiRequest<{ items?: Array<{ status?: { conditions?: Array<{ type: string; status: string }> } }> }>(
      target,
      'GET',
      '/api/v1/nodes?labelSelector=type%3Dkwok',
    );
    const ready = (list.body?.items ?? []).filter((n) => (n.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True'));
    return ready.length === count;
  });
  // The apiserver's TaintNodesByCondition admission gives every new node the
  // node.kubernetes.io/not-ready taint; the controller-manager's node-lifecycle controller would
  // lift it once the node is Ready (which it now is), so do that here instead of running it.
  for (const name of nodes) {
    const patched = await apiRequest(
      target,
      'PATCH',
      `/api/v1/nodes/${name}`,
      { spec: { taints: [{ key: KWOK_NODE_ANNOTATION, value: 'fake', effect: 'NoSchedule' }] } },
      'application/merge-patch+json',
    );
    if (patched.status !== 200) throw new Error(`untainting node ${name}: ${patched.status} ${JSON.stringify(patched.body)}`);
  }
  return nodes;
}

async function startScheduler(dir: string, bin: string, kubeconfigPath: string, timeoutMs: number, components: Component[]): Promise<void> {
  const [schedulerPort] = await freePorts(1);
  const scheduler = launch(dir, 'kube-scheduler', path.join(bin, 'kube-scheduler'), [
    `--kubeconfig=${kubeconfigPath}`,
    `--authentication-kubeconfig=${kubeconfigPath}`,
    `--authorization-kubeconfig=${kubeconfigPath}`,
    '--leader-elect=false',
    '--bind-address=127.0.0.1',
    `--secure-port=${schedulerPort}`,
    `--cert-dir=${path.join(dir, 'scheduler')}`,
    '--v=0',
  ]);
  components.push(scheduler);
  await waitFor(scheduler, timeoutMs, () => httpsStatus(`https://127.0.0.1:${schedulerPort}/healthz`).then((status) => status === 200));
}

async function installCrd(target: ApiTarget, crd: object, timeoutMs: number): Promise<void> {
  const created = await apiRequest(target, 'POST', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', crd);
  if (created.status !== 201) throw new Error(`creating a CRD: ${created.status} ${JSON.stringify(created.body)}`);
  const name: string = created.body.metadata.name;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const current = await apiRequest(target, 'GET', `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${name}`);
    const established = (current.body?.status?.conditions ?? []).some((c: { type: string; status: string }) => c.type === 'Established' && c.status === 'True');
    if (established) return;
    if (Date.now() > deadline) throw new Error(`CRD ${name} not established within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

export function launch(dir: string, name: string, binary: string, args: string[]): Component {
  const logPath = path.join(dir, `${name}.log`);
  const fd = openSync(logPath, 'a');
  const child = spawn(binary, args, { stdio: ['ignore', fd, fd] });
  closeSync(fd);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { name, child, logPath, exited };
}

/** SIGTERM, then SIGKILL after `graceMs`. */
export async function stopComponent(component: Component, graceMs = 5_000): Promise<void> {
  if (component.child.exitCode !== null || component.child.signalCode !== null) return;
  component.child.kill('SIGTERM');
  const timer = setTimeout(() => component.child.kill('SIGKILL'), graceMs);
  await component.exited;
  clearTimeout(timer);
}

/** Polls `probe` until it answers true; fails early (with the log's tail) when the component exits. */
export async function waitFor(component: Component, timeoutMs: number, probe: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let exitCode: number | null | undefined;
  void component.exited.then((code) => (exitCode = code));
  let last: unknown;
  while (Date.now() < deadline) {
    if (exitCode !== undefined) throw await componentError(component, `exited with code ${exitCode}`);
    try {
      if (await probe()) return;
    } catch (error) {
      last = error;
    }
    await new Promise((resolve) => setTimeout(resolve, 150));
  }
  throw await componentError(component, `not ready within ${timeoutMs} ms${last ? ` (${(last as Error).message})` : ''}`);
}

async function componentError(component: Component, what: string): Promise<Error> {
  const log = await readFile(component.logPath, 'utf8').catch(() => '');
  const tail = log.trimEnd().split('\n').slice(-25).join('\n');
  return new Error(`${component.name} ${what}; last log lines (${component.logPath}):\n${tail}`);
}

function httpOk(url: string): Promise<boolean> {
  return fetch(url, { signal: AbortSignal.timeout(2_000) }).then((r) => r.ok);
}

function readyz(server: string, token: string, ca: Buffer): Promise<boolean> {
  return httpsGet(`${server}/readyz`, token, ca).then((status) => status === 200);
}

async function defaultServiceAccountExists(server: string, token: string, caPath: string): Promise<boolean> {
  const status = await httpsGet(`${server}/api/v1/namespaces/default/serviceaccounts/default`, token, await readFile(caPath));
  return status === 200;
}

function httpsGet(url: string, token: string, ca: Buffer): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = https.get(url, { ca, headers: { authorization: `Bearer ${token}` }, timeout: 2_000 }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

/** HTTP status of a GET to a loopback HTTPS endpoint with a self-signed certificate. */
function httpsStatus(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = https.get(url, { rejectUnauthorized: false, timeout: 2_000 }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

/** Ports the kernel hands out for port 0, held until all are known so they are distinct. */
export async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from({ length: count }, () => {
      const srv = net.createServer();
      return new Promise<net.Server>((resolve, reject) => {
        srv.once('error', reject);
        srv.listen(0, '127.0.0.1', () => resolve(srv));
      });
    }),
  );
  const ports = servers.map((s) => (s.address() as net.AddressInfo).port);
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  return ports;
}

/**
 * Compacts etcd's history up to its current revision (through etcd's JSON gateway), so any
 * older resourceVersion a client still holds answers 410 Gone. Works on the watch itself only
 * with `watchCache: false` (the API server's watch cache keeps its own window). Returns the revision.
 */
export async function compactEtcd(etcdUrl: string): Promise<number> {
  const post = async (path: string, body: unknown) => {
    const res = await fetch(`${etcdUrl}${path}`, { method: 'POST', body: JSON.stringify(body), signal: AbortSignal.timeout(5_000) });
    if (!res.ok) throw new Error(`etcd ${path}: HTTP ${res.status} ${await res.text()}`);
    return (await res.json()) as { header?: { revision?: string } };
  };
  const range = await post('/v3/kv/range', { key: Buffer.from('/').toString('base64') });
  const revision = Number(range.header?.revision);
  await post('/v3/kv/compaction', { revision: String(revision), physical: true });
  return revision;
}

/**
 * Polls `probe` until it yields a value (not undefined or false) and returns it; errors count as
 * "not yet" and the last one is named when the time is up. For tests waiting on the API server.
 */
export async function waitForValue<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined | false>, intervalMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined && value !== false) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? ` (last error: ${(last as Error).message})` : ''}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
