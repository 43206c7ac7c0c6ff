/**
 * The operator against a real kube-apiserver + kube-controller-manager (test/k8s harness) and
 * the real NATS server. One control plane for the file; every test has its own namespace, its
 * own operator instances and its own bus prefix. The controller-manager's ReplicaSets create
 * the APP pods (they stay Pending: there is no node), and the test plays the APP pods by
 * publishing load reports under their names. The operator runs as the chart's own ServiceAccount
 * with the chart's Role (rendered by helm, token from the TokenRequest API), so a permission the
 * chart forgets fails here; the test itself uses the admin token. The apiserver enforces
 * OwnerReferencesPermissionEnforcement, so the owner references with blockOwnerDeletion on what the
 * operator creates need the chart's appservicegroups/finalizers rule.
 */
import { KubeConfig } from '@kubernetes/client-node';
import { autoscaleDecisionSchema, createLogger, createNatsBus, SUBJECTS, TEST_NATS_URL, uniqueName, type AppLoad, type Bus } from '@evshare/kit';
import { compactEtcd, startControlPlane, waitForValue as waitFor, type ControlPlane } from '../../test/k8s/control-plane';
import { render, type K8sObject } from '../../test/chart/helm';
import { apiRequest, createNamespace, kubeconfigYaml, TABLE } from '../../test/k8s/kubeconfig';
import { startTcpProxy, type TcpProxy } from '../../test/k8s/tcp-proxy';
import { appServiceGroupCrd } from './crd/crd';
import type { AppServiceGroup, AppServiceGroupSpec } from './crd/types';
import { startOperator, type Operator, type OperatorOptions } from './operator';

jest.setTimeout(90_000);

const log = createLogger('operator-int', process.env.TEST_LOG_LEVEL ?? 'silent');
let cp: ControlPlane;
/** The chart's operator ServiceAccount, Role and RoleBinding (release "evs"), as helm renders them. */
const OPERATOR_SA = 'evs-evshare-operator';
let operatorRbac: K8sObject[];
/** Per namespace: the token of the chart's operator ServiceAccount there. */
const operatorTokens = new Map<string, string>();
const operators: Operator[] = [];
const buses: Bus[] = [];
const proxies: TcpProxy[] = [];
const publishers: Array<{ stop(): void }> = [];

beforeAll(async () => {
  // watchCache off: etcd compaction then turns an old resourceVersion into 410 Gone on watches.
  cp = await startControlPlane({ controllerManager: true, watchCache: false, crds: [appServiceGroupCrd()] });
  operatorRbac = (await render({}, { release: 'evs', namespace: 'placeholder' })).filter(
    (o) => ['ServiceAccount', 'Role', 'RoleBinding'].includes(o.kind) && o.metadata.name === OPERATOR_SA,
  );
  expect(operatorRbac.map((o) => o.kind).sort()).toEqual(['Role', 'RoleBinding', 'ServiceAccount']);
  // Established is not quite served yet: wait for the resource itself.
  await waitFor('the CRD to be served', 15_000, async () => (await apiRequest(cp, 'GET', '/apis/evshare.io/v1alpha1/appservicegroups')).status === 200);
}, 120_000);

afterEach(async () => {
  publishers.splice(0).forEach((p) => p.stop());
  await Promise.all(operators.splice(0).map((o) => o.stop()));
  await Promise.all(buses.splice(0).map((b) => b.close()));
  await Promise.all(proxies.splice(0).map((p) => p.close()));
});

afterAll(async () => {
  await cp?.stop();
});

// ---- helpers -------------------------------------------------------------------------------

async function bus(prefix: string): Promise<Bus> {
  const b = await createNatsBus({ url: TEST_NATS_URL, prefix });
  buses.push(b);
  return b;
}

async function operator(ns: string, prefix: string, identity: string, options: Partial<OperatorOptions> = {}): Promise<Operator> {
  const op = await startOperator({
    kubeConfig: await operatorKubeConfig(ns, cp.server),
    bus: await bus(prefix),
    log: log.child({ identity }),
    identity,
    namespace: ns,
    leaseNamespace: ns,
    leaseDurationMs: 3_000,
    renewDeadlineMs: 2_000,
    retryPeriodMs: 500,
    informerBackoff: { initialMs: 100, maxMs: 1_000 },
    ...options,
  });
  operators.push(op);
  return op;
}

/** A kubeconfig for the chart's operator ServiceAccount in `ns`, reaching the API server at `server`. */
async function operatorKubeConfig(ns: string, server: string): Promise<KubeConfig> {
  const { readFile } = await import('node:fs/promises');
  const token = operatorTokens.get(ns);
  if (!token) throw new Error(`no operator ServiceAccount in ${ns}: use setupNamespace()`);
  const kc = new KubeConfig();
  kc.loadFromString(kubeconfigYaml({ server, token, caData: await readFile(cp.caPath) }));
  return kc;
}

const kubeConfigThrough = (proxy: TcpProxy, ns: string) => operatorKubeConfig(ns, proxy.server);

const RBAC_PATHS: Record<string, (ns: string) => string> = {
  ServiceAccount: (ns) => `/api/v1/namespaces/${ns}/serviceaccounts`,
  Role: (ns) => `/apis/rbac.authorization.k8s.io/v1/namespaces/${ns}/roles`,
  RoleBinding: (ns) => `/apis/rbac.authorization.k8s.io/v1/namespaces/${ns}/rolebindings`,
};

async function setupNamespace(): Promise<{ ns: string; prefix: string }> {
  const ns = uniqueName('op');
  await createNamespace(cp, ns);
  for (const object of operatorRbac) {
    const body = JSON.parse(JSON.stringify(object).replaceAll('"placeholder"', JSON.stringify(ns))) as K8sObject;
    const res = await apiRequest(cp, 'POST', RBAC_PATHS[object.kind]!(ns), body);
    if (res.status !== 201) throw new Error(`creating ${object.kind} ${object.metadata.name}: ${res.status} ${JSON.stringify(res.body)}`);
  }
  const token = await apiRequest(cp, 'POST', `/api/v1/namespaces/${ns}/serviceaccounts/${OPERATOR_SA}/token`, {
    apiVersion: 'authentication.k8s.io/v1',
    kind: 'TokenRequest',
    spec: { expirationSeconds: 3600 },
  });
  if (token.status !== 201) throw new Error(`requesting a token: ${token.status} ${JSON.stringify(token.body)}`);
  operatorTokens.set(ns, token.body.status.token as string);
  return { ns, prefix: `${ns}.` };
}

async function createDeployment(ns: string, name: string, replicas: number): Promise<void> {
  const res = await apiRequest(cp, 'POST', `/apis/apps/v1/namespaces/${ns}/deployments`, {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: {
          automountServiceAccountToken: false,
          containers: [{ name: 'app', image: 'example.invalid/evshare:test', ports: [{ name: 'http', containerPort: 8080 }] }],
        },
      },
    },
  });
  expect(res.status).toBe(201);
}

async function createGroup(ns: string, name: string, spec: AppServiceGroupSpec): Promise<AppServiceGroup> {
  const res = await apiRequest<AppServiceGroup>(cp, 'POST', `/apis/evshare.io/v1alpha1/namespaces/${ns}/appservicegroups`, {
    apiVersion: 'evshare.io/v1alpha1',
    kind: 'AppServiceGroup',
    metadata: { name },
    spec,
  });
  if (res.status !== 201) throw new Error(`creating the group: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
}

const getGroup = async (ns: string, name: string) =>
  (await apiRequest<AppServiceGroup>(cp, 'GET', `/apis/evshare.io/v1alpha1/namespaces/${ns}/appservicegroups/${name}`)).body;
const replicasOf = async (ns: string, name: string) =>
  (await apiRequest(cp, 'GET', `/apis/apps/v1/namespaces/${ns}/deployments/${name}`)).body.spec.replicas as number;

/** A Pod or an events.k8s.io/v1 Event, as far as these tests read them. */
interface PodJson {
  metadata: { name: string; deletionTimestamp?: string; annotations?: Record<string, string> };
}
interface EventJson {
  type: string;
  action: string;
  reason: string;
  reportingController?: string;
  reportingInstance?: string;
  regarding?: { kind: string; name: string };
}

async function livePods(ns: string, app: string): Promise<Array<{ name: string; annotations: Record<string, string> }>> {
  const res = await apiRequest<{ items: PodJson[] }>(cp, 'GET', `/api/v1/namespaces/${ns}/pods?labelSelector=app%3D${app}`);
  return res.body.items.filter((p) => !p.metadata.deletionTimestamp).map((p) => ({ name: p.metadata.name, annotations: p.metadata.annotations ?? {} }));
}

async function scaleEvents(ns: string): Promise<EventJson[]> {
  const res = await apiRequest<{ items: EventJson[] }>(cp, 'GET', `/apis/events.k8s.io/v1/namespaces/${ns}/events`);
  return res.body.items.filter((e) => e.action === 'Scale');
}

/**
 * Plays the APP pods of a Deployment: every 500 ms (and at once on `set`) each live pod reports
 * the load `loadOf` gives it (knowing how many pods share the load), as the APP service does
 * on app.load.<id>.
 */
type LoadOf = (pod: string, pods: number) => Partial<AppLoad>;

function publishLoad(b: Bus, ns: string, app: string, initial: LoadOf) {
  let loadOf = initial;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  const publish = async () => {
    const pods = await livePods(ns, app);
    for (const pod of pods) {
      const report: AppLoad = {
        id: `${pod.name}-instance`,
        url: 'http://10.0.0.1:8080',
        pod: pod.name,
        inflight: 0,
        rps: 0,
        eventLoopDelayMs: 1,
        eventLoopUtilization: 0.1,
        p95LatencyMs: 20,
        activeMembers: 0,
        maxConcurrency: 64,
        draining: false,
        at: new Date().toISOString(),
        ...loadOf(pod.name, pods.length),
      };
      b.publish(SUBJECTS.appLoad(report.id), report);
    }
  };
  const loop = () => {
    if (stopped) return;
    void publish().finally(() => {
      if (!stopped) timer = setTimeout(loop, 500);
    });
  };
  loop();
  const handle = {
    async set(next: LoadOf) {
      loadOf = next;
      await publish();
    },
    stop() {
      stopped = true;
      clearTimeout(timer);
    },
  };
  publishers.push(handle);
  return handle;
}

// ---- tests ---------------------------------------------------------------------------------

describe('AppServiceGroup CRD', () => {
  it('refuses an invalid group with messages that name the fields', async () => {
    const { ns } = await setupNamespace();
    const res = await apiRequest(cp, 'POST', `/apis/evshare.io/v1alpha1/namespaces/${ns}/appservicegroups`, {
      apiVersion: 'evshare.io/v1alpha1',
      kind: 'AppServiceGroup',
      metadata: { name: 'bad' },
      spec: { deploymentName: 'app', maxReplicas: 3, target: { inflightPerPod: 0 }, affinity: { mode: 'sticky' } },
    });
    expect(res.status).toBe(422);
    const message: string = res.body.message;
    expect(message).toContain('spec.target.inflightPerPod');
    expect(message).toContain('spec.affinity.mode: Unsupported value: "sticky"');

    // CEL rules run once the fields themselves are valid.
    const bounds = await apiRequest(cp, 'POST', `/apis/evshare.io/v1alpha1/namespaces/${ns}/appservicegroups`, {
      apiVersion: 'evshare.io/v1alpha1',
      kind: 'AppServiceGroup',
      metadata: { name: 'bounds' },
      spec: { deploymentName: 'app', minReplicas: 5, maxReplicas: 3, target: { inflightPerPod: 8 } },
    });
    expect(bounds.status).toBe(422);
    expect(bounds.body.message).toContain('spec.minReplicas: Invalid value: "object": minReplicas must not be greater than maxReplicas');

    const traefik = await apiRequest(cp, 'POST', `/apis/evshare.io/v1alpha1/namespaces/${ns}/appservicegroups`, {
      apiVersion: 'evshare.io/v1alpha1',
      kind: 'AppServiceGroup',
      metadata: { name: 'traefik' },
      spec: { deploymentName: 'app', maxReplicas: 3, target: { inflightPerPod: 8 }, ingress: { controller: 'traefik' } },
    });
    expect(traefik.status).toBe(422);
    expect(traefik.body.message).toContain('Traefik cannot pin clients by address through an Ingress');
  });

  it('fills in the defaults', async () => {
    const { ns } = await setupNamespace();
    const created = await createGroup(ns, 'app', { deploymentName: 'app', maxReplicas: 4, target: { inflightPerPod: 8 } });
    expect(created.spec).toEqual({
      deploymentName: 'app',
      maxReplicas: 4,
      minReplicas: 1,
      target: { inflightPerPod: 8 },
      behavior: {
        scaleUp: {
          stabilizationWindowSeconds: 0,
          selectPolicy: 'Max',
          policies: [
            { type: 'Pods', value: 4, periodSeconds: 15 },
            { type: 'Percent', value: 100, periodSeconds: 15 },
          ],
        },
        scaleDown: {
          stabilizationWindowSeconds: 60,
          selectPolicy: 'Max',
          policies: [
            { type: 'Pods', value: 1, periodSeconds: 15 },
            { type: 'Percent', value: 50, periodSeconds: 15 },
          ],
        },
      },
      affinity: { mode: 'clientIP', timeoutSeconds: 10800, cookieName: 'EVSHARE_APP' },
      service: { port: 80, targetPort: 'http' },
    });
  });
});

describe('operator', () => {
  it('creates the Service and Ingress with the affinity settings and owner references, and follows spec changes', async () => {
    const { ns, prefix } = await setupNamespace();
    await createDeployment(ns, 'app', 1);
    await operator(ns, prefix, 'op-a');
    const group = await createGroup(ns, 'app', {
      deploymentName: 'app',
      maxReplicas: 4,
      target: { inflightPerPod: 8 },
      affinity: { mode: 'cookie', cookieName: 'EVSHARE_APP', timeoutSeconds: 1800 },
      ingress: { controller: 'haproxy', className: 'haproxy', host: 'app.example.org', tlsSecretName: 'app-tls' },
    });
    const service = await waitFor('the Service', 10_000, async () => {
      const res = await apiRequest(cp, 'GET', `/api/v1/namespaces/${ns}/services/app`);
      return res.status === 200 && res.body;
    });
    const owner = {
      apiVersion: 'evshare.io/v1alpha1',
      kind: 'AppServiceGroup',
      name: 'app',
      uid: group.metadata.uid,
      controller: true,
      blockOwnerDeletion: true,
    };
    expect(service.metadata.ownerReferences).toEqual([owner]);
    expect(service.spec).toMatchObject({
      selector: { app: 'app' },
      sessionAffinity: 'None',
      ports: [{ name: 'http', port: 80, targetPort: 'http', protocol: 'TCP' }],
    });
    expect(service.metadata.managedFields.map((f: { manager: string }) => f.manager)).toContain('evshare-operator');
    // The Ingress is applied right after the Service.
    const ingress = await waitFor('the Ingress', 5_000, async () => {
      const res = await apiRequest(cp, 'GET', `/apis/networking.k8s.io/v1/namespaces/${ns}/ingresses/app`);
      return res.status === 200 && res.body;
    });
    expect(ingress.metadata.ownerReferences).toEqual([owner]);
    expect(ingress.metadata.annotations).toMatchObject({
      'haproxy-ingress.github.io/affinity': 'cookie',
      'haproxy-ingress.github.io/session-cookie-name': 'EVSHARE_APP',
      'haproxy-ingress.github.io/balance-algorithm': 'leastconn',
    });
    expect(ingress.spec).toMatchObject({ ingressClassName: 'haproxy', tls: [{ hosts: ['app.example.org'], secretName: 'app-tls' }] });

    // Switch to client-address affinity on ingress-nginx: both objects follow.
    const patched = await apiRequest(
      cp,
      'PATCH',
      `/apis/evshare.io/v1alpha1/namespaces/${ns}/appservicegroups/app`,
      { spec: { affinity: { mode: 'clientIP', timeoutSeconds: 600 }, ingress: { controller: 'ingress-nginx' } } },
      'application/merge-patch+json',
    );
    expect(patched.status).toBe(200);
    await waitFor('ClientIP affinity on the Service', 10_000, async () => {
      const s = (await apiRequest(cp, 'GET', `/api/v1/namespaces/${ns}/services/app`)).body;
      return s.spec.sessionAffinity === 'ClientIP' && s.spec.sessionAffinityConfig.clientIP.timeoutSeconds === 600;
    });
    const annotations = await waitFor('nginx annotations on the Ingress', 10_000, async () => {
      const i = (await apiRequest(cp, 'GET', `/apis/networking.k8s.io/v1/namespaces/${ns}/ingresses/app`)).body;
      return i.metadata.annotations?.['nginx.ingress.kubernetes.io/upstream-hash-by'] && i.metadata.annotations;
    });
    // Server-side apply removed the HAProxy annotations the operator no longer sets.
    expect(Object.keys(annotations).filter((k) => k.startsWith('haproxy-ingress'))).toEqual([]);

    // Someone deletes the Service: the operator puts it back.
    expect((await apiRequest(cp, 'DELETE', `/api/v1/namespaces/${ns}/services/app`)).status).toBe(200);
    await waitFor('the Service to come back', 10_000, async () => (await apiRequest(cp, 'GET', `/api/v1/namespaces/${ns}/services/app`)).status === 200);
  });

  it('renders the HAProxy backend and headless Service for spec.haproxy, puts back an edited backend, and removes both when the field goes', async () => {
    const { ns, prefix } = await setupNamespace();
    await createDeployment(ns, 'app', 1);
    await operator(ns, prefix, 'op-a');
    const refused = await apiRequest(cp, 'POST', `/apis/evshare.io/v1alpha1/namespaces/${ns}/appservicegroups`, {
      apiVersion: 'evshare.io/v1alpha1',
      kind: 'AppServiceGroup',
      metadata: { name: 'bad' },
      spec: { deploymentName: 'app', maxReplicas: 3, target: { inflightPerPod: 8 }, haproxy: { hashBalanceFactor: 90, checkPath: '/readyz#x' } },
    });
    expect(refused.status).toBe(422);
    expect(refused.body.message).toContain('spec.haproxy.hashBalanceFactor');
    expect(refused.body.message).toContain('spec.haproxy.checkPath');
    const group = await createGroup(ns, 'app', { deploymentName: 'app', maxReplicas: 5, target: { inflightPerPod: 8 }, haproxy: {} });
    expect(group.spec.haproxy).toEqual({
      hashBalanceFactor: 150,
      agentPort: 8092,
      checkPath: '/readyz',
      queueTimeoutSeconds: 5,
      clusterDomain: 'cluster.local',
    });
    const configPath = `/api/v1/namespaces/${ns}/configmaps/app-haproxy`;
    const config = await waitFor('the HAProxy backend', 10_000, async () => {
      const res = await apiRequest(cp, 'GET', configPath);
      return res.status === 200 && res.body;
    });
    expect(config.metadata.ownerReferences).toMatchObject([{ kind: 'AppServiceGroup', name: 'app', uid: group.metadata.uid, controller: true }]);
    expect(config.data['backend.cfg']).toContain(`server-template app 1-5 _http._tcp.app-pods.${ns}.svc.cluster.local`);
    const pods = (await apiRequest(cp, 'GET', `/api/v1/namespaces/${ns}/services/app-pods`)).body;
    expect(pods.spec).toMatchObject({ clusterIP: 'None', selector: { app: 'app' } });
    // Stored as absent when false: only ready pods get DNS records.
    expect(pods.spec.publishNotReadyAddresses ?? false).toBe(false);

    // A hand edit of the backend is undone.
    const edited = await apiRequest(
      cp,
      'PATCH',
      configPath,
      { data: { 'backend.cfg': 'backend app\n  balance roundrobin\n' } },
      'application/merge-patch+json',
    );
    expect(edited.status).toBe(200);
    await waitFor('the backend to be rendered again', 10_000, async () =>
      ((await apiRequest(cp, 'GET', configPath)).body.data?.['backend.cfg'] ?? '').includes('hash-type consistent'),
    );

    const dropped = await apiRequest(
      cp,
      'PATCH',
      `/apis/evshare.io/v1alpha1/namespaces/${ns}/appservicegroups/app`,
      [{ op: 'remove', path: '/spec/haproxy' }],
      'application/json-patch+json',
    );
    expect(dropped.status).toBe(200);
    await waitFor('the HAProxy objects to go', 10_000, async () => {
      const [c, s] = await Promise.all([apiRequest(cp, 'GET', configPath), apiRequest(cp, 'GET', `/api/v1/namespaces/${ns}/services/app-pods`)]);
      return c.status === 404 && s.status === 404;
    });
    expect((await apiRequest(cp, 'GET', `/api/v1/namespaces/${ns}/services/app`)).status).toBe(200);
  });

  it("the apiserver enforces owner-reference permissions: blockOwnerDeletion needs the chart's appservicegroups/finalizers rule", async () => {
    const { ns } = await setupNamespace();
    const group = await createGroup(ns, 'app', { deploymentName: 'app', maxReplicas: 2, target: { inflightPerPod: 8 } });
    const asOperator = { ...cp, token: operatorTokens.get(ns)! };
    const owned = (name: string) => ({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: {
        name,
        ownerReferences: [
          { apiVersion: 'evshare.io/v1alpha1', kind: 'AppServiceGroup', name: 'app', uid: group.metadata.uid, controller: true, blockOwnerDeletion: true },
        ],
      },
      spec: { selector: { app: 'app' }, ports: [{ name: 'http', port: 80, targetPort: 'http' }] },
    });
    const role = JSON.parse(JSON.stringify(operatorRbac.find((o) => o.kind === 'Role')).replaceAll('"placeholder"', JSON.stringify(ns))) as K8sObject & {
      rules: Array<{ resources: string[] }>;
    };
    const rolePath = `/apis/rbac.authorization.k8s.io/v1/namespaces/${ns}/roles/${OPERATOR_SA}`;
    const withoutFinalizers = { ...role, rules: role.rules.filter((r) => !r.resources.includes('appservicegroups/finalizers')) };
    expect(withoutFinalizers.rules.length).toBe(role.rules.length - 1);
    expect((await apiRequest(cp, 'PUT', rolePath, withoutFinalizers)).status).toBe(200);
    // RBAC changes reach the authorizer through its informer: wait for the refusal.
    const refused = await waitFor('the refusal without the finalizers rule', 10_000, async () => {
      const res = await apiRequest(asOperator, 'POST', `/api/v1/namespaces/${ns}/services`, owned('refused'));
      return res.status === 403 && res.body;
    });
    expect(refused.message).toMatch(/cannot set blockOwnerDeletion/);

    expect((await apiRequest(cp, 'PUT', rolePath, role)).status).toBe(200);
    const allowed = await waitFor("the create with the chart's Role", 10_000, async () => {
      const res = await apiRequest(asOperator, 'POST', `/api/v1/namespaces/${ns}/services`, owned('allowed'));
      return res.status === 201 && res.body;
    });
    expect(allowed.metadata.ownerReferences[0].blockOwnerDeletion).toBe(true);
  });

  it('scales up within 3 s of a load step, down only after the window, removing the pods with the fewest members', async () => {
    const { ns, prefix } = await setupNamespace();
    await createDeployment(ns, 'app', 2);
    await operator(ns, prefix, 'op-a');
    const windowSeconds = 5;
    await createGroup(ns, 'app', {
      deploymentName: 'app',
      minReplicas: 2,
      maxReplicas: 6,
      target: { inflightPerPod: 10 },
      behavior: { scaleDown: { stabilizationWindowSeconds: windowSeconds, policies: [{ type: 'Percent', value: 100, periodSeconds: 1 }] } },
    });
    await waitFor('two pods', 15_000, async () => (await livePods(ns, 'app')).length === 2);
    // Members per pod, by order of first sight: later pods hold more members.
    const members = new Map<string, number>();
    const membersOf = (pod: string) => members.get(pod) ?? (members.set(pod, (members.size + 1) * 10), members.get(pod)!);
    // The total in flight is what the test sets; the pods share it evenly.
    const total =
      (inflight: number): LoadOf =>
      (pod, pods) => ({ inflight: inflight / pods, activeMembers: membersOf(pod) });
    const load = publishLoad(await bus(prefix), ns, 'app', total(18));
    await waitFor('load reported in status', 10_000, async () => {
      const g = await getGroup(ns, 'app');
      return g.status?.reportingPods === 2 && g.status.conditions?.find((c) => c.type === 'ScalingActive')?.status === 'True';
    });
    expect(await replicasOf(ns, 'app')).toBe(2);

    // Each scale is also published on NATS for the operators' console.
    const decisions: unknown[] = [];
    (await bus(prefix)).subscribe(SUBJECTS.autoscaleDecision, (data) => decisions.push(data));

    // Load step: 60 in flight, 30 per pod on 2 pods = 6 pods' worth.
    const stepAt = Date.now();
    await load.set(total(60));
    await waitFor('a scale-up', 3_000, async () => (await replicasOf(ns, 'app')) > 2, 20);
    const reactionMs = Date.now() - stepAt;
    await waitFor('6 replicas', 5_000, async () => (await replicasOf(ns, 'app')) === 6);
    const published = await waitFor('the decisions on NATS', 3_000, async () => {
      const parsed = decisions.map((d) => autoscaleDecisionSchema.parse(d));
      return parsed.at(-1)?.to === 6 && parsed;
    });
    expect(published[0]).toMatchObject({ from: 2, reason: 'ScaleUp', group: `${ns}/app` });
    for (const d of published) expect(d.message).toContain(`${d.from} -> ${d.to} replicas`);
    log.info({ reactionMs }, 'load step to scale patch');
    process.stdout.write(`load step -> scale patch: ${reactionMs} ms\n`);
    expect(reactionMs).toBeLessThan(3_000);

    // The new pods report too: 60 over 6 pods is on target, and the group settles there.
    const settled = await waitFor('six pods reporting', 15_000, async () => {
      const g = await getGroup(ns, 'app');
      return g.status?.reportingPods === 6 && g.status;
    });
    expect(settled).toMatchObject({ desiredReplicas: 6, replicas: 6, loadPerPod: 10 });
    expect(settled.conditions?.find((c) => c.type === 'ScalingLimited')).toMatchObject({ status: 'False', reason: 'DesiredWithinRange' });

    // Load drop: 6 in flight, 1 per pod. Nothing may happen before the window has passed.
    const dropAt = Date.now();
    await load.set(total(6));
    const downAt = await waitFor('a scale-down', (windowSeconds + 5) * 1000, async () => (await replicasOf(ns, 'app')) < 6 && Date.now(), 50);
    const heldMs = downAt - dropAt;
    process.stdout.write(`load drop -> scale-down: ${heldMs} ms (window ${windowSeconds} s)\n`);
    expect(heldMs).toBeGreaterThanOrEqual((windowSeconds - 1) * 1000);
    await waitFor('2 replicas and 2 pods', 10_000, async () => (await replicasOf(ns, 'app')) === 2 && (await livePods(ns, 'app')).length === 2);

    // Deletion costs were set, so the ReplicaSet kept the two pods with the most members.
    const survivors = await livePods(ns, 'app');
    const expected = [...members.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, 2)
      .map(([pod]) => pod)
      .sort();
    expect(survivors.map((p) => p.name).sort()).toEqual(expected);
    for (const pod of survivors) expect(Number(pod.annotations['controller.kubernetes.io/pod-deletion-cost'])).toBe(membersOf(pod.name) * 100 + 1);

    // Every scale decision is an Event with its reason, and the table kubectl prints is filled.
    const events = await scaleEvents(ns);
    expect(events.map((e) => e.reason)).toEqual(expect.arrayContaining(['ScaleUp', 'ScaleDown']));
    expect(events.find((e) => e.reason === 'ScaleUp')).toMatchObject({
      type: 'Normal',
      reportingController: 'evshare.io/operator',
      reportingInstance: 'op-a',
      regarding: { kind: 'AppServiceGroup', name: 'app' },
    });
    const table = (await apiRequest(cp, 'GET', `/apis/evshare.io/v1alpha1/namespaces/${ns}/appservicegroups`, undefined, undefined, TABLE)).body;
    // Priority-0 columns are what `kubectl get` prints; the others come with `-o wide`.
    const columns: Array<{ name: string; priority: number }> = table.columnDefinitions;
    const shown = columns.flatMap((c, i) => (c.priority === 0 ? [i] : []));
    expect(shown.map((i) => columns[i]!.name)).toEqual(['Name', 'Desired', 'Current', 'Load/pod', 'Affinity', 'Ready', 'Age']);
    const row = shown.map((i) => table.rows[0].cells[i]);
    expect(row.slice(0, 5)).toEqual(['app', 2, 2, expect.any(Number), 'clientIP']);
    process.stdout.write(`kubectl get appservicegroups -o wide: ${JSON.stringify(columns.map((c) => c.name))} ${JSON.stringify(table.rows[0].cells)}\n`);
  });

  it('with two instances only the leader acts, and the other takes over when the leader stops or goes silent', async () => {
    const { ns, prefix } = await setupNamespace();
    await createDeployment(ns, 'app', 1);
    const proxy = await startTcpProxy(cp.server);
    proxies.push(proxy);
    // op-a reaches the API server through a proxy the test can cut.
    const a = await operator(ns, prefix, 'op-a', { kubeConfig: await kubeConfigThrough(proxy, ns) });
    await waitFor('op-a to lead', 5_000, async () => a.isLeader());
    const b = await operator(ns, prefix, 'op-b');
    await createGroup(ns, 'app', { deploymentName: 'app', minReplicas: 1, maxReplicas: 20, target: { inflightPerPod: 10 } });
    await waitFor('one pod', 15_000, async () => (await livePods(ns, 'app')).length === 1);
    // 25 in flight over the pods: 3 pods' worth.
    const load = publishLoad(await bus(prefix), ns, 'app', (_pod, pods) => ({ inflight: 25 / pods }));
    await waitFor('a scale-up by op-a', 10_000, async () => (await scaleEvents(ns)).length > 0);
    expect(b.isLeader()).toBe(false);
    expect((await scaleEvents(ns)).map((e) => e.reportingInstance)).toEqual(['op-a']);

    // op-a's packets are silently dropped (no reset, no close: a partition): its renewals hang,
    // and it must stop acting within the renew deadline, before op-b may start.
    const cutAt = Date.now();
    proxy.blackhole();
    let both = 0;
    let aStoppedAt: number | undefined;
    await waitFor(
      'op-b to take over an expired lease',
      10_000,
      async () => {
        if (a.isLeader() && b.isLeader()) both++;
        if (!a.isLeader()) aStoppedAt ??= Date.now();
        return b.isLeader() && !a.isLeader();
      },
      20,
    );
    expect(both).toBe(0);
    // Renew deadline 2 s, counted from op-a's last renewal (before the cut), plus polling slack.
    expect(aStoppedAt! - cutAt).toBeLessThanOrEqual(2_300);
    process.stdout.write(`blackholed leader stopped acting after ${aStoppedAt! - cutAt} ms\n`);
    process.stdout.write(`lease expiry takeover: ${Date.now() - cutAt} ms\n`);
    const before = await replicasOf(ns, 'app');
    await load.set((_pod, pods) => ({ inflight: 60 / pods }));
    await waitFor('a scale-up by op-b', 10_000, async () => (await scaleEvents(ns)).some((e) => e.reportingInstance === 'op-b'));
    expect(await replicasOf(ns, 'app')).toBeGreaterThan(before);

    // op-a is back but stays standby; op-b stops and releases: op-a takes over at once.
    proxy.resume();
    await new Promise((r) => setTimeout(r, 1_500));
    expect(a.isLeader()).toBe(false);
    const stoppedAt = Date.now();
    await b.stop();
    await waitFor('op-a to take over a released lease', 5_000, async () => a.isLeader(), 20);
    process.stdout.write(`released lease takeover: ${Date.now() - stoppedAt} ms\n`);
    const lease = (await apiRequest(cp, 'GET', `/apis/coordination.k8s.io/v1/namespaces/${ns}/leases/evshare-operator`)).body;
    expect(lease.spec.holderIdentity).toBe('op-a');
    expect(lease.spec.leaseTransitions).toBeGreaterThanOrEqual(2);
  });

  it('recovers from a dropped watch and from a 410 Gone', async () => {
    const { ns, prefix } = await setupNamespace();
    await createDeployment(ns, 'app', 1);
    const proxy = await startTcpProxy(cp.server);
    proxies.push(proxy);
    const op = await operator(ns, prefix, 'op-a', { kubeConfig: await kubeConfigThrough(proxy, ns) });
    await createGroup(ns, 'app', { deploymentName: 'app', maxReplicas: 3, target: { inflightPerPod: 10 } });
    await waitFor('the Service', 10_000, async () => (await apiRequest(cp, 'GET', `/api/v1/namespaces/${ns}/services/app`)).status === 200);

    // Dropped watch: every connection is reset; the informers watch again and see later changes.
    const errorsBefore = op.informerStats().appServiceGroups!.errors;
    proxy.dropAll();
    await waitFor('the group watch to notice', 5_000, async () => op.informerStats().appServiceGroups!.errors > errorsBefore);
    await apiRequest(
      cp,
      'PATCH',
      `/apis/evshare.io/v1alpha1/namespaces/${ns}/appservicegroups/app`,
      { spec: { affinity: { mode: 'cookie' } } },
      'application/merge-patch+json',
    );
    await waitFor(
      'the change after the dropped watch',
      10_000,
      async () => (await apiRequest(cp, 'GET', `/api/v1/namespaces/${ns}/services/app`)).body.spec.sessionAffinity === 'None',
    );

    // 410 Gone: a group waits for its Deployment; while the operator is cut off the Deployment
    // is created and etcd compacts its history, so the operator's resourceVersions are too old
    // when it comes back: it lists again, finds the Deployment and creates the group's Service.
    // (Custom resources keep a watch cache even with --watch-cache=false, so the core
    // Deployments are where the 410 shows.)
    await createGroup(ns, 'late', { deploymentName: 'late', maxReplicas: 3, target: { inflightPerPod: 10 } });
    await waitFor('DeploymentNotFound', 10_000, async () => (await getGroup(ns, 'late')).status?.conditions?.some((c) => c.reason === 'DeploymentNotFound'));
    const goneBefore = op.informerStats().deployments!.relistsAfterGone;
    proxy.pause();
    await createDeployment(ns, 'late', 1);
    await compactEtcd(cp.etcdUrl);
    proxy.resume();
    await waitFor('a relist after 410 Gone', 10_000, async () => op.informerStats().deployments!.relistsAfterGone > goneBefore);
    await waitFor('the Service of the late group', 15_000, async () => (await apiRequest(cp, 'GET', `/api/v1/namespaces/${ns}/services/late`)).status === 200);
  });

  it('refuses to scale a Deployment an HPA also scales (KEDA not installed), and scales once the HPA is gone', async () => {
    const { ns, prefix } = await setupNamespace();
    await createDeployment(ns, 'app', 1);
    const hpa = await apiRequest(cp, 'POST', `/apis/autoscaling/v2/namespaces/${ns}/horizontalpodautoscalers`, {
      apiVersion: 'autoscaling/v2',
      kind: 'HorizontalPodAutoscaler',
      metadata: { name: 'app-hpa' },
      spec: {
        scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'app' },
        minReplicas: 1,
        maxReplicas: 3,
        metrics: [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 80 } } }],
      },
    });
    expect(hpa.status).toBe(201);
    await operator(ns, prefix, 'op-a');
    await createGroup(ns, 'app', { deploymentName: 'app', maxReplicas: 4, target: { inflightPerPod: 10 } });
    await waitFor('one pod', 15_000, async () => (await livePods(ns, 'app')).length === 1);
    publishLoad(await bus(prefix), ns, 'app', (_pod, pods) => ({ inflight: 30 / pods }));
    const refused = await waitFor('the ConflictingAutoscaler condition', 10_000, async () => {
      const active = (await getGroup(ns, 'app')).status?.conditions?.find((c) => c.type === 'ScalingActive');
      return active?.reason === 'ConflictingAutoscaler' ? active : undefined;
    });
    expect(refused.message).toContain('HorizontalPodAutoscaler app-hpa also scales Deployment app');
    const warnings = await waitFor('the Warning event', 5_000, async () => {
      const items = (await apiRequest<{ items: EventJson[] }>(cp, 'GET', `/apis/events.k8s.io/v1/namespaces/${ns}/events`)).body.items;
      const found = items.filter((e) => e.type === 'Warning' && e.reason === 'ConflictingAutoscaler');
      return found.length > 0 ? found : undefined;
    });
    expect(warnings).toHaveLength(1);
    await new Promise((r) => setTimeout(r, 1_500));
    expect(await replicasOf(ns, 'app')).toBe(1);
    expect(await scaleEvents(ns)).toEqual([]);

    expect((await apiRequest(cp, 'DELETE', `/apis/autoscaling/v2/namespaces/${ns}/horizontalpodautoscalers/app-hpa`)).status).toBe(200);
    await waitFor('a scale-up once the HPA is gone', 10_000, async () => (await replicasOf(ns, 'app')) > 1);
  });

  it('deleting the group garbage-collects its Service and Ingress', async () => {
    const { ns, prefix } = await setupNamespace();
    await createDeployment(ns, 'app', 1);
    await operator(ns, prefix, 'op-a');
    await createGroup(ns, 'app', { deploymentName: 'app', maxReplicas: 2, target: { inflightPerPod: 10 }, ingress: { controller: 'ingress-nginx' } });
    await waitFor('the Ingress', 10_000, async () => (await apiRequest(cp, 'GET', `/apis/networking.k8s.io/v1/namespaces/${ns}/ingresses/app`)).status === 200);
    expect((await apiRequest(cp, 'DELETE', `/apis/evshare.io/v1alpha1/namespaces/${ns}/appservicegroups/app`)).status).toBe(200);
    await waitFor(
      'the Service and Ingress to be collected',
      20_000,
      async () =>
        (await apiRequest(cp, 'GET', `/api/v1/namespaces/${ns}/services/app`)).status === 404 &&
        (await apiRequest(cp, 'GET', `/apis/networking.k8s.io/v1/namespaces/${ns}/ingresses/app`)).status === 404,
      250,
    );
    // The Deployment is not the group's: it stays.
    expect((await apiRequest(cp, 'GET', `/apis/apps/v1/namespaces/${ns}/deployments/app`)).status).toBe(200);
  });
});
