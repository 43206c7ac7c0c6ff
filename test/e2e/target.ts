import { createLogger } from '@evshare/kit';
import { DEV_ACCOUNTS, startLocalAutoscaler } from '@evshare/stack';
import { request } from '../support/http';
import { startTestPlatform } from '../support/platform';

/**
 * Where the end-to-end suite runs: a cluster (EVSHARE_E2E_URL points at its entry point; the
 * suite acts on pods through the Kubernetes API): kind (`make e2e`, test/e2e/kind/run.sh) or the
 * real one-node cluster started on this machine (`make e2e-node`, test/e2e/node/setup.ts), or,
 * by default, the local stack with every service as its own process and the local autoscaler
 * (`make e2e-local`, and CI).
 *
 * A cluster run reads EVSHARE_E2E_KUBECONFIG (default: the usual kubeconfig, with
 * EVSHARE_E2E_KUBE_CONTEXT), EVSHARE_E2E_NAMESPACE, EVSHARE_E2E_RELEASE,
 * EVSHARE_E2E_ADMIN_PASSWORD and EVSHARE_E2E_MAX_APP_REPLICAS.
 */
export interface E2eTarget {
  url: string;
  admin: { account: string; password: string };
  /** The APP instances currently serving (pod names in Kubernetes). */
  appInstances(): Promise<string[]>;
  /** The most APP instances the autoscaler may run, where the target knows it. */
  maxInstances?: number;
  /** Kills one APP instance abruptly (SIGKILL, or a pod deleted with no grace period). */
  kill(instance: string): Promise<void>;
  stop(): Promise<void>;
}

const LOCAL_MAX_INSTANCES = 4;

/** Whether the suite runs on a cluster or on the local stack (which can give each client its own address). */
export function targetKind(): 'cluster' | 'local' {
  return process.env.EVSHARE_E2E_URL ? 'cluster' : 'local';
}

export async function startTarget(): Promise<E2eTarget> {
  return process.env.EVSHARE_E2E_URL ? clusterTarget(process.env.EVSHARE_E2E_URL) : localTarget();
}

/** The kubeconfig of a cluster run, as the suite's cluster-side tests load it. */
export async function clusterConfig() {
  const k8s = await import('@kubernetes/client-node');
  const config = new k8s.KubeConfig();
  if (process.env.EVSHARE_E2E_KUBECONFIG) config.loadFromFile(process.env.EVSHARE_E2E_KUBECONFIG);
  else {
    config.loadFromDefault();
    if (process.env.EVSHARE_E2E_KUBE_CONTEXT) config.setCurrentContext(process.env.EVSHARE_E2E_KUBE_CONTEXT);
  }
  return { k8s, config };
}

async function localTarget(): Promise<E2eTarget> {
  const platform = await startTestPlatform({ mode: 'processes', appInstances: 2 });
  const autoscaler = startLocalAutoscaler({
    bus: platform.stack.bus,
    stack: platform.stack,
    log: createLogger('e2e-autoscaler', 'warn'),
    minReplicas: 2,
    maxReplicas: LOCAL_MAX_INSTANCES,
    target: { inflightPerPod: 4 },
    behavior: {
      scaleUp: {
        stabilizationWindowSeconds: 0,
        selectPolicy: 'Max',
        policies: [
          { type: 'Pods', value: 2, periodSeconds: 1 },
          { type: 'Percent', value: 100, periodSeconds: 1 },
        ],
      },
      scaleDown: {
        stabilizationWindowSeconds: 3,
        selectPolicy: 'Max',
        policies: [
          { type: 'Pods', value: 1, periodSeconds: 1 },
          { type: 'Percent', value: 50, periodSeconds: 1 },
        ],
      },
    },
    intervalMs: 250,
  });
  return {
    url: platform.stack.gatewayUrl,
    admin: DEV_ACCOUNTS.admin,
    appInstances: async () => platform.stack.appIds(),
    maxInstances: LOCAL_MAX_INSTANCES,
    async kill(instance) {
      await platform.stack.process!(instance)!.stop('SIGKILL');
      await platform.stack.removeApp(instance);
    },
    async stop() {
      autoscaler.stop();
      await platform.stop();
    },
  };
}

async function clusterTarget(url: string): Promise<E2eTarget> {
  const { k8s, config } = await clusterConfig();
  const core = config.makeApiClient(k8s.CoreV1Api);
  const namespace = process.env.EVSHARE_E2E_NAMESPACE ?? 'evshare';
  const release = process.env.EVSHARE_E2E_RELEASE ?? 'evshare';
  const selector = `app.kubernetes.io/instance=${release},app.kubernetes.io/component=app`;
  return {
    url: url.replace(/\/$/, ''),
    admin: { account: 'admin', password: process.env.EVSHARE_E2E_ADMIN_PASSWORD ?? '' },
    ...(process.env.EVSHARE_E2E_MAX_APP_REPLICAS ? { maxInstances: Number(process.env.EVSHARE_E2E_MAX_APP_REPLICAS) } : {}),
    async appInstances() {
      const pods = await core.listNamespacedPod({ namespace, labelSelector: selector });
      return pods.items
        .filter((p) => !p.metadata?.deletionTimestamp && p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'))
        .map((p) => p.metadata!.name!);
    },
    async kill(instance) {
      await core.deleteNamespacedPod({ name: instance, namespace, gracePeriodSeconds: 0 });
    },
    async stop() {
      // The cluster belongs to run.sh or to the node run's global setup.
    },
  };
}

/** Whether the entry point answers (used to wait after disruptive steps). */
export async function reachable(url: string): Promise<boolean> {
  return request(`${url}/api/v1/auth/session`).then(
    (r) => r.status === 401,
    () => false,
  );
}
