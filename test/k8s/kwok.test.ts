/**
 * Ready pods without a kubelet: one control plane for the file with kube-controller-manager,
 * kube-scheduler and kwok's fake nodes (test/k8s/control-plane.ts). The scheduler binds real
 * pods to the fake nodes and kwok marks them Running and Ready, so what the operator tests can
 * only play with Pending pods happens here for real: the AppServiceGroup's Ready condition from
 * ready pods, scale-ups whose pods become ready, deletion costs on running pods deciding which
 * ones a scale-down removes; and a development-mode `helm install` whose every workload reaches
 * its ready replicas (scheduling, tolerations, PDBs, Pod Security admission; not the processes).
 * Every test has its own namespace (and NATS prefix).
 */
import { KubeConfig } from '@kubernetes/client-node';
import { createLogger, createNatsBus, SUBJECTS, TEST_NATS_URL, uniqueName, type AppLoad, type Bus } from '@evshare/kit';
import { appServiceGroupCrd } from '../../operator/src/crd/crd';
import type { AppServiceGroup, Condition } from '../../operator/src/crd/types';
import { startOperator, type Operator } from '../../operator/src/operator';
import { CHART, helm } from '../chart/helm';
import { KWOK_TOLERATION, startControlPlane, waitForValue as waitFor, type ControlPlane } from './control-plane';
import { apiRequest, createNamespace } from './kubeconfig';

jest.setTimeout(60_000);

const log = createLogger('kwok-test', process.env.TEST_LOG_LEVEL ?? 'silent');
let cp: ControlPlane;
let kubeConfig: KubeConfig;
const cleanups: Array<() => unknown> = [];

beforeAll(async () => {
  cp = await startControlPlane({ controllerManager: true, kwok: true, crds: [appServiceGroupCrd()] });
  kubeConfig = new KubeConfig();
  kubeConfig.loadFromFile(cp.kubeconfigPath);
  await waitFor('the CRD to be served', 15_000, async () => (await apiRequest(cp, 'GET', '/apis/evshare.io/v1alpha1/appservicegroups')).status === 200);
}, 120_000);

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

afterAll(async () => {
  await cp?.stop();
});

interface PodView {
  name: string;
  node: string | undefined;
  phase: string | undefined;
  ready: boolean;
  annotations: Record<string, string>;
}

/** A Pod, a Deployment or StatefulSet, and a PodDisruptionBudget, as far as these tests read them. */
interface PodJson {
  metadata: { name: string; deletionTimestamp?: string; annotations?: Record<string, string> };
  spec: { nodeName?: string };
  status?: { phase: string; conditions?: Array<{ type: string; status: string }> };
}
interface WorkloadJson {
  metadata: { name: string };
  spec: { replicas: number };
  status?: { readyReplicas?: number };
}
interface PdbJson {
  status?: { currentHealthy: number; desiredHealthy: number };
}

async function livePods(ns: string, selector: string): Promise<PodView[]> {
  const res = await apiRequest<{ items: PodJson[] }>(cp, 'GET', `/api/v1/namespaces/${ns}/pods?labelSelector=${encodeURIComponent(selector)}`);
  return res.body.items
    .filter((p) => !p.metadata.deletionTimestamp)
    .map((p) => ({
      name: p.metadata.name,
      node: p.spec.nodeName,
      phase: p.status?.phase,
      ready: (p.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True'),
      annotations: p.metadata.annotations ?? {},
    }));
}

/** Exactly `count` live pods, all Running and Ready on fake nodes. */
function readyPods(ns: string, selector: string, count: number): () => Promise<PodView[] | false> {
  return async () => {
    const pods = await livePods(ns, selector);
    return pods.length === count && pods.every((p) => p.ready && p.phase === 'Running' && cp.nodes.includes(p.node ?? '')) && pods;
  };
}

const getGroup = async (ns: string, name: string) =>
  (await apiRequest<AppServiceGroup>(cp, 'GET', `/apis/evshare.io/v1alpha1/namespaces/${ns}/appservicegroups/${name}`)).body;
const condition = (group: AppServiceGroup, type: string): Condition | undefined => group.status?.conditions?.find((c) => c.type === type);

describe('the operator with pods kwok makes ready', () => {
  it('reports Ready from ready pods, scales up to pods that become ready, and scales down by deletion cost', async () => {
    const ns = uniqueName('kwok');
    await createNamespace(cp, ns);
    const deployment = await apiRequest(cp, 'POST', `/apis/apps/v1/namespaces/${ns}/deployments`, {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'app' },
      spec: {
        replicas: 2,
        selector: { matchLabels: { app: 'app' } },
        template: {
          metadata: { labels: { app: 'app' } },
          spec: {
            automountServiceAccountToken: false,
            tolerations: [KWOK_TOLERATION],
            containers: [
              {
                name: 'app',
                image: 'example.invalid/evshare:test',
                ports: [{ name: 'http', containerPort: 8080 }],
                resources: { requests: { cpu: '100m', memory: '128Mi' } },
              },
            ],
          },
        },
      },
    });
    expect(deployment.status).toBe(201);
    const bus: Bus = await createNatsBus({ url: TEST_NATS_URL, prefix: `${ns}.` });
    cleanups.push(() => bus.close());
    const op: Operator = await startOperator({
      kubeConfig,
      bus,
      log,
      identity: 'op-kwok',
      namespace: ns,
      leaseNamespace: ns,
      leaseDurationMs: 3_000,
      renewDeadlineMs: 2_000,
      retryPeriodMs: 500,
    });
    cleanups.push(() => op.stop());
    const created = await apiRequest(cp, 'POST', `/apis/evshare.io/v1alpha1/namespaces/${ns}/appservicegroups`, {
      apiVersion: 'evshare.io/v1alpha1',
      kind: 'AppServiceGroup',
      metadata: { name: 'app' },
      spec: {
        deploymentName: 'app',
        minReplicas: 2,
        // The test shares the load evenly over the pods it sees; while new pods join, one round
        // of reports mixes old and new shares. The bound keeps that from asking for a fifth pod.
        maxReplicas: 4,
        target: { inflightPerPod: 10 },
        behavior: { scaleDown: { stabilizationWindowSeconds: 3, policies: [{ type: 'Percent', value: 100, periodSeconds: 1 }] } },
      },
    });
    expect(created.status).toBe(201);

    // The pods are bound and made ready; no one reports load yet, and the group says so.
    const first = await waitFor('two ready pods on the fake nodes', 20_000, readyPods(ns, 'app=app', 2));
    const unreported = await waitFor('Ready with two ready pods', 10_000, async () => {
      const g = await getGroup(ns, 'app');
      return g.status?.readyReplicas === 2 && condition(g, 'Ready')?.status === 'True' && g;
    });
    expect(unreported.status).toMatchObject({ replicas: 2, readyReplicas: 2, reportingPods: 0 });
    expect(condition(unreported, 'Ready')).toMatchObject({ reason: 'Ready', message: expect.stringContaining('2/2 pods ready') });
    expect(condition(unreported, 'Degraded')).toMatchObject({ status: 'True', reason: 'LoadReportsMissing' });

    // The pods report: members by order of first sight (later pods hold more), the total load
    // in flight shared evenly. Without deletion costs the ReplicaSet would remove the newest
    // pods (ready for the shortest time) first; with them it must keep the newest.
    const members = new Map<string, number>();
    const membersOf = (pod: string) => members.get(pod) ?? (members.set(pod, (members.size + 1) * 10), members.get(pod)!);
    first.forEach((p) => membersOf(p.name));
    let total = 40;
    let stopped = false;
    const publish = async () => {
      const pods = await livePods(ns, 'app=app');
      for (const pod of pods) {
        const report: AppLoad = {
          id: `${pod.name}-instance`,
          url: 'http://10.0.0.1:8080',
          pod: pod.name,
          inflight: total / pods.length,
          rps: 0,
          eventLoopDelayMs: 1,
          eventLoopUtilization: 0.1,
          p95LatencyMs: 20,
          activeMembers: membersOf(pod.name),
          maxConcurrency: 64,
          draining: false,
          at: new Date().toISOString(),
        };
        bus.publish(SUBJECTS.appLoad(report.id), report);
      }
    };
    const loop = async () => {
      while (!stopped) {
        await publish().catch(() => undefined);
        await new Promise((r) => setTimeout(r, 500));
      }
    };
    void loop();
    cleanups.push(() => (stopped = true));

    // 40 in flight on 2 pods (target 10 per pod): 4 pods, and the two new ones become ready.
    const four = await waitFor('four ready pods', 20_000, readyPods(ns, 'app=app', 4));
    expect(new Set(four.map((p) => p.node)).size).toBeGreaterThan(1);
    const scaled = await waitFor('status with 4 ready, reporting pods', 15_000, async () => {
      const g = await getGroup(ns, 'app');
      return g.status?.readyReplicas === 4 && g.status.reportingPods === 4 && condition(g, 'Degraded')?.status === 'False' && g;
    });
    expect(scaled.status).toMatchObject({ desiredReplicas: 4, replicas: 4, readyReplicas: 4, loadPerPod: 10 });
    expect(condition(scaled, 'Ready')).toMatchObject({ status: 'True', reason: 'Ready', message: expect.stringContaining('4/4 pods ready') });
    expect(condition(scaled, 'ScalingActive')).toMatchObject({ status: 'True', reason: 'LoadReported' });

    // Load drops to 8 in flight: after the window, back to 2; the ReplicaSet removes the running,
    // ready pods with the lowest deletion cost, i.e. the fewest members.
    total = 8;
    await waitFor('two ready pods after the scale-down', 25_000, readyPods(ns, 'app=app', 2));
    const survivors = await livePods(ns, 'app=app');
    const expected = [...members.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, 2)
      .map(([pod]) => pod)
      .sort();
    expect(survivors.map((p) => p.name).sort()).toEqual(expected);
    for (const pod of survivors)
      expect(Number(pod.annotations['controller.kubernetes.io/pod-deletion-cost'])).toBeGreaterThanOrEqual(membersOf(pod.name) * 100);
    const settled = await waitFor('status with 2 ready pods', 10_000, async () => {
      const g = await getGroup(ns, 'app');
      return g.status?.replicas === 2 && g.status.readyReplicas === 2 && g;
    });
    expect(condition(settled, 'Ready')).toMatchObject({ status: 'True', reason: 'Ready' });
  });
});

describe('helm install in development mode on fake nodes', () => {
  it('brings every Deployment and StatefulSet to its ready replicas', async () => {
    const ns = uniqueName('kwok-helm');
    // The chart's pods must pass the restricted Pod Security Standard at admission.
    const namespace = await apiRequest(cp, 'POST', '/api/v1/namespaces', {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: ns, labels: { 'pod-security.kubernetes.io/enforce': 'restricted' } },
    });
    expect(namespace.status).toBe(201);
    await waitFor(
      'the default ServiceAccount',
      10_000,
      async () => (await apiRequest(cp, 'GET', `/api/v1/namespaces/${ns}/serviceaccounts/default`)).status === 200,
    );
    // The control plane installed the CRD. The toleration and node selector reach every pod
    // through the chart's scheduling values.
    await helm([
      'install',
      'evs',
      CHART,
      '--kubeconfig',
      cp.kubeconfigPath,
      '--namespace',
      ns,
      '--skip-crds',
      '--set-json',
      `tolerations=${JSON.stringify([KWOK_TOLERATION])}`,
      '--set-json',
      'nodeSelector={"type":"kwok"}',
    ]);
    cleanups.push(() => helm(['uninstall', 'evs', '--kubeconfig', cp.kubeconfigPath, '--namespace', ns, '--wait=false']));

    const workloads = async () => {
      const deployments = (await apiRequest<{ items: WorkloadJson[] }>(cp, 'GET', `/apis/apps/v1/namespaces/${ns}/deployments`)).body.items;
      const statefulSets = (await apiRequest<{ items: WorkloadJson[] }>(cp, 'GET', `/apis/apps/v1/namespaces/${ns}/statefulsets`)).body.items;
      const named = (kind: string) => (w: WorkloadJson) => ({
        name: `${kind}/${w.metadata.name}`,
        want: w.spec.replicas,
        ready: w.status?.readyReplicas ?? 0,
      });
      return [...deployments.map(named('Deployment')), ...statefulSets.map(named('StatefulSet'))];
    };
    let last: Array<{ name: string; want: number; ready: number }> = [];
    await waitFor(
      'every workload ready',
      45_000,
      async () => {
        last = await workloads();
        return last.length > 0 && last.every((w) => w.ready === w.want);
      },
      250,
    ).catch((error: Error) => {
      throw new Error(`${error.message}: ${JSON.stringify(last)}`);
    });
    process.stdout.write(`helm install on kwok: ${last.map((w) => `${w.name} ${w.ready}/${w.want}`).join(', ')}\n`);
    expect(last.map((w) => w.name)).toEqual(
      expect.arrayContaining([expect.stringContaining('evs-evshare-app'), expect.stringContaining('evs-evshare-operator')]),
    );
    expect(last.some((w) => w.name.startsWith('StatefulSet/'))).toBe(true);

    // Every pod sits on a fake node; the PDBs count the ready pods.
    const pods = await livePods(ns, 'app.kubernetes.io/instance=evs');
    expect(pods).toHaveLength(last.reduce((sum, w) => sum + w.want, 0));
    expect(pods.filter((p) => !cp.nodes.includes(p.node ?? '') || !p.ready).map((p) => p.name)).toEqual([]);
    const pdbs = (await apiRequest<{ items: PdbJson[] }>(cp, 'GET', `/apis/policy/v1/namespaces/${ns}/poddisruptionbudgets`)).body.items;
    expect(pdbs.length).toBeGreaterThan(0);
    await waitFor('PDBs observing the ready pods', 10_000, async () => {
      const now = (await apiRequest<{ items: PdbJson[] }>(cp, 'GET', `/apis/policy/v1/namespaces/${ns}/poddisruptionbudgets`)).body.items;
      return now.every((p) => p.status !== undefined && p.status.currentHealthy > 0 && p.status.currentHealthy >= p.status.desiredHealthy);
    });
  });
});
