/**
 * The chart on the real one-node cluster of test/k8s/node.ts, for the e2e suite's
 * EVSHARE_E2E_CLUSTER=node mode (`make e2e-node`): images built here (test/k8s/images.sh) and
 * imported into the node's containerd, `helm install` in development mode with the backing
 * Redis, NATS and PostgreSQL as containers of the same local build, every workload a real
 * container with its probes, preStop hooks and PodDisruptionBudget.
 *
 *   const release = await installOnNode();
 *   release.url                 // the HAProxy Service's ClusterIP, reached from this machine
 *   release.adminPassword       // from the release's Secret
 *   await release.upgrade({ image: { tag } })   // helm upgrade --reuse-values, waits for the rollout
 *   await release.stop()        // the whole node goes
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { toolsBinDir, waitForValue } from '../../k8s/control-plane';
import { testImages, type TestImages } from '../../k8s/images';
import { apiRequest } from '../../k8s/kubeconfig';
import { startNode, type NodeCluster } from '../../k8s/node';

const run = promisify(execFile);
const CHART = path.resolve(__dirname, '..', '..', '..', 'charts', 'evshare');

export const NAMESPACE = 'evshare';
export const RELEASE = 'evshare';
/** The APP group's bounds and scale-down window for the run: short enough for a test to see. */
export const MAX_APP_REPLICAS = 4;
export const SCALE_DOWN_WINDOW_SECONDS = 20;

export interface NodeRelease {
  node: NodeCluster;
  images: TestImages;
  url: string;
  adminPassword: string;
  helm(args: string[], timeoutMs?: number): Promise<string>;
  upgrade(values: object): Promise<void>;
  diagnose(): Promise<string>;
  stop(): Promise<void>;
}

/** Values for the one-node run: the local images, never pulled, and requests that fit 2 cores. */
export function nodeValues(images: TestImages, options: InstallOptions = {}): object {
  const [repository, tag] = splitRef(images.refs.app);
  const local = (ref: string) => {
    const [repo, t] = splitRef(ref);
    return { image: { repository: repo, tag: t, pullPolicy: 'Never' } };
  };
  // The scheduler counts requests: the chart's production-sized ones would leave no room for
  // scale-up on a 2-core node. Limits stay as the chart has them.
  const small = { resources: { requests: { cpu: '10m', memory: '64Mi' } } };
  const services = Object.fromEntries(['app', 'auth', 'heartbeat', 'billing', 'sms', 'telematics', 'charging', 'web'].map((name) => [name, small]));
  return {
    mode: 'development',
    // The default entry, as CI tests it: HAProxy with the APP backend the operator renders.
    entrypoint: 'haproxy',
    image: { repository, tag, pullPolicy: 'Never' },
    development: { nats: local(images.refs.nats), redis: local(images.refs.redis), postgres: local(images.refs.postgres) },
    services,
    // The node's containerd runs under this machine's open-file limit, which HAProxy's descriptors
    // (about two per connection) must fit.
    haproxy: { ...local(images.refs.haproxy), ...small, maxConnections: 4000 },
    gateway: { ...small, enabled: options.gatewayBeside ?? false },
    operator: small,
    appServiceGroup: { minReplicas: 2, maxReplicas: MAX_APP_REPLICAS, behavior: { scaleDown: { stabilizationWindowSeconds: SCALE_DOWN_WINDOW_SECONDS } } },
  };
}

export interface InstallOptions {
  /** The evshare gateway too, beside HAProxy, in front of the same pods (bench/cluster). */
  gatewayBeside?: boolean;
}

export async function installOnNode(options: InstallOptions = {}): Promise<NodeRelease> {
  const images = await testImages();
  const node = await startNode({ images: Object.values(images.archives) });
  const dir = await mkdtemp(path.join(os.tmpdir(), 'evshare-e2e-node-'));
  const helm = async (args: string[], timeoutMs = 60_000) => {
    try {
      return (await run(path.join(toolsBinDir(), 'helm'), [`--kubeconfig=${node.kubeconfigPath}`, ...args], { maxBuffer: 32 << 20, timeout: timeoutMs }))
        .stdout;
    } catch (error) {
      const e = error as Error & { stderr?: string };
      throw new Error(`helm ${args.join(' ')}: ${e.stderr || e.message}`);
    }
  };
  const withValues = async (values: object, use: (file: string) => Promise<unknown>) => {
    const file = path.join(dir, `values-${Date.now()}.json`);
    await writeFile(file, JSON.stringify(values));
    await use(file);
  };
  const waitForApps = async () => {
    await node.kubectl(['-n', NAMESPACE, 'wait', `appservicegroup/${RELEASE}-app`, '--for=condition=Ready', '--timeout=300s'], { timeoutMs: 310_000 });
    await node.kubectl(['-n', NAMESPACE, 'rollout', 'status', `deployment/${RELEASE}-app`, '--timeout=300s'], { timeoutMs: 310_000 });
  };
  /** Each HAProxy pod's view of the APP servers (its stats page, reached on the pod address). */
  const haproxyStats = async () => {
    const { body: pods } = await apiRequest(node, 'GET', `/api/v1/namespaces/${NAMESPACE}/pods?labelSelector=app.kubernetes.io/component%3Dhaproxy`);
    const views = await Promise.all(
      pods.items.map(async (pod: { metadata: { name: string }; status: { podIP?: string } }) => {
        const csv = await (await fetch(`http://${pod.status.podIP}:8404/stats;csv`, { signal: AbortSignal.timeout(3_000) })).text();
        const [header, ...rows] = csv.replace(/^# /, '').trim().split('\n');
        const columns = header!.split(',');
        const pick = ['svname', 'status', 'weight', 'scur', 'qcur', 'econ', 'eresp', 'wretr', 'wredis', 'check_status', 'agent_status', 'addr'];
        const lines = rows
          .map((row) => row.split(','))
          .filter((row) => row[0] === `${RELEASE}-app` && row[1] !== 'FRONTEND' && !row[columns.indexOf('status')]!.startsWith('MAINT'))
          .map((row) => pick.map((name) => row[columns.indexOf(name)]).join(' '));
        // Requests are logged only when they failed, with HAProxy's termination state.
        const log = await node.kubectl(['-n', NAMESPACE, 'logs', pod.metadata.name, '--tail=15']).catch((error: Error) => error.message);
        return [`HAProxy ${pod.metadata.name}: ${pick.join(' ')}`, ...lines, log].join('\n');
      }),
    );
    return views.join('\n');
  };
  const diagnose = async () => {
    const parts = await Promise.all(
      [
        node.kubectl(['get', 'pods', '-A', '-o', 'wide']),
        node.kubectl(['-n', NAMESPACE, 'get', 'appservicegroups,deployments,statefulsets,services,pdb']),
        node.kubectl(['-n', NAMESPACE, 'get', 'events', '--sort-by=.lastTimestamp']).then((events) => events.split('\n').slice(-60).join('\n')),
        haproxyStats(),
      ].map((p) => p.catch((error: Error) => error.message)),
    );
    return parts.join('\n');
  };
  const stop = async () => {
    await node.stop();
    await rm(dir, { recursive: true, force: true });
  };

  try {
    await withValues(nodeValues(images, options), (file) =>
      helm(['install', RELEASE, CHART, '--namespace', NAMESPACE, '--create-namespace', '-f', file, '--wait', '--timeout', '15m'], 16 * 60_000),
    );
    await waitForApps();
    const { body: service } = await apiRequest(node, 'GET', `/api/v1/namespaces/${NAMESPACE}/services/${RELEASE}-haproxy`);
    const port = service.spec.ports.find((p: { name: string }) => p.name === 'http')?.port ?? service.spec.ports[0].port;
    const url = `http://${service.spec.clusterIP}:${port}`;
    const { body: secret } = await apiRequest(node, 'GET', `/api/v1/namespaces/${NAMESPACE}/secrets/${RELEASE}-secrets`);
    const adminPassword = Buffer.from(secret.data['admin-bootstrap-password'], 'base64').toString('utf8');
    // HAProxy finds APP pods through the headless Service's DNS records and its health checks:
    // wait until a poll reaches one.
    await waitForValue(
      'HAProxy to route to the APP group',
      120_000,
      async () => (await fetch(`${url}/api/v1/sync`, { signal: AbortSignal.timeout(3_000) })).status === 401,
      500,
    );
    return {
      node,
      images,
      url,
      adminPassword,
      helm,
      async upgrade(values) {
        await withValues(values, (file) =>
          helm(['upgrade', RELEASE, CHART, '--namespace', NAMESPACE, '--reuse-values', '-f', file, '--wait', '--timeout', '10m'], 11 * 60_000),
        );
        await waitForApps();
      },
      diagnose,
      stop,
    };
  } catch (error) {
    const details = await diagnose();
    await stop();
    throw new Error(`${(error as Error).message}\n${details}`);
  }
}

function splitRef(ref: string): [string, string] {
  const at = ref.lastIndexOf(':');
  return [ref.slice(0, at), ref.slice(at + 1)];
}
