/**
 * The chart against a real kube-apiserver (test/k8s/control-plane.ts): every rendered object of
 * both modes and each entry point passes a server-side dry run with strict field validation in a
 * namespace that warns on the "restricted" Pod Security Standard, with the Gateway API and
 * Prometheus Operator CRDs installed (test/chart/vendor/), and every pod is admitted by a
 * namespace enforcing that profile, with and without fixed user ids; the Gateway API routes fit
 * both CRD channels; the CRD refuses invalid AppServiceGroups with clear messages; and a real
 * `helm install` + `helm upgrade` keeps the generated secrets and the replicas the operator set.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { load } from 'js-yaml';
import { startControlPlane, type ControlPlane } from '../k8s/control-plane';
import { CHART, PRODUCTION_VALUES, find, helm, podSpecs, render, type K8sObject } from './helm';
import { Kube } from './kube';
import { backendTrafficPolicyCrd, httpRouteCrd, prometheusOperatorCrds } from './vendor';

// helm runs a few hundred milliseconds per render; two shared cores under load need headroom.
jest.setTimeout(30_000);

const NAMESPACE = 'evshare';
const CRD_FILE = path.join(CHART, 'crds', 'evshare.io_appservicegroups.yaml');
const GATEWAY_API = {
  entrypoint: 'gatewayAPI',
  gatewayAPI: { parentRefs: [{ name: 'eg', namespace: 'envoy-gateway-system', sectionName: 'https' }], hostnames: ['evshare.example.com'] },
};
const MONITORING = { metrics: { serviceMonitor: { enabled: true }, prometheusRule: { enabled: true } } };

let cp: ControlPlane;
let kube: Kube;

/** Creates or replaces a CRD and waits until the server serves it. */
async function installCrd(crd: K8sObject): Promise<void> {
  const res = await kube.apply(crd, NAMESPACE);
  expect([crd.metadata.name, res.status]).toEqual([crd.metadata.name, expect.any(Number)]);
  if (res.status !== 200 && res.status !== 201) throw new Error(`CRD ${crd.metadata.name}: HTTP ${res.status} ${res.body?.message}`);
  await Kube.waitFor(`the CRD ${crd.metadata.name} to be established`, 20_000, async () => {
    const got = await kube.request('GET', `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${crd.metadata.name}`);
    return (got.body?.status?.conditions ?? []).some((c: { type: string; status: string }) => c.type === 'Established' && c.status === 'True');
  });
}

/** Server-side dry run of every object; the refusals and warnings, one line each. */
async function dryRunProblems(objects: K8sObject[], namespace = NAMESPACE): Promise<string[]> {
  const problems: string[] = [];
  for (const object of objects) {
    const res = await kube.apply(object, namespace, { dryRun: true });
    const what = `${object.kind}/${object.metadata.name}`;
    if (res.status !== 200 && res.status !== 201) problems.push(`${what}: HTTP ${res.status} ${res.body?.message}`);
    for (const warning of res.warnings) problems.push(`${what}: warning ${warning}`);
  }
  return problems;
}

beforeAll(async () => {
  cp = await startControlPlane();
  kube = new Kube(cp, await readFile(cp.caPath));
  // PodSecurity admission warns about every pod template that breaks the restricted profile.
  const ns = await kube.apply(
    {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: NAMESPACE, labels: { 'pod-security.kubernetes.io/enforce': 'restricted', 'pod-security.kubernetes.io/warn': 'restricted' } },
    },
    NAMESPACE,
  );
  expect(ns.status).toBe(201);
  // The AppServiceGroup CRD, the experimental-channel HTTPRoute (sessionPersistence; the standard
  // channel is checked at the end), Envoy Gateway's BackendTrafficPolicy, ServiceMonitor and
  // PrometheusRule.
  for (const crd of [load(await readFile(CRD_FILE, 'utf8')) as K8sObject, httpRouteCrd('experimental'), backendTrafficPolicyCrd(), ...prometheusOperatorCrds()])
    await installCrd(crd);
}, 120_000);

afterAll(async () => {
  await cp?.stop();
});

describe.each([
  ['development', {}],
  ['production', PRODUCTION_VALUES],
  ['development with the gateway and persistence', { entrypoint: 'gateway', development: { persistence: true } }],
  [
    "production with Gateway API routes, Envoy Gateway's policy and monitoring",
    { ...PRODUCTION_VALUES, ...GATEWAY_API, gatewayAPI: { ...GATEWAY_API.gatewayAPI, envoyGateway: { backendTrafficPolicy: true } }, ...MONITORING },
  ],
  [
    'development with routes beside the Ingress, header persistence and scheduling values',
    {
      gatewayAPI: {
        ...GATEWAY_API.gatewayAPI,
        enabled: true,
        sessionPersistence: { type: 'Header', sessionName: 'X-Evshare-App' },
        envoyGateway: { backendTrafficPolicy: true },
      },
      appServiceGroup: { affinity: { mode: 'cookie' } },
      priorityClassName: 'evshare',
      affinity: {
        podAntiAffinity: {
          preferredDuringSchedulingIgnoredDuringExecution: [
            { weight: 50, podAffinityTerm: { topologyKey: 'kubernetes.io/hostname', labelSelector: { matchLabels: { 'app.kubernetes.io/instance': 'evs' } } } },
          ],
        },
      },
      topologySpreadConstraints: [{ maxSkew: 1, topologyKey: 'topology.kubernetes.io/zone', whenUnsatisfiable: 'DoNotSchedule' }],
      image: { digest: `sha256:${'0'.repeat(64)}` },
      podSecurity: { fixedIds: false },
    },
  ],
])('helm template in %s mode', (_mode, values) => {
  it('is accepted by the kube-apiserver (server-side dry run, strict fields, no Pod Security warnings)', async () => {
    const objects = await render(values, { namespace: NAMESPACE });
    expect(await dryRunProblems(objects)).toEqual([]);
    expect(objects.length).toBeGreaterThan(15);
  }, 30_000);
});

describe('the pods in a namespace enforcing the "restricted" Pod Security Standard', () => {
  const namespace = 'evshare-restricted';
  beforeAll(async () => {
    const ns = await kube.apply(
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace, labels: { 'pod-security.kubernetes.io/enforce': 'restricted' } } },
      namespace,
    );
    expect(ns.status).toBe(201);
    // The ServiceAccount admission plugin refuses a pod whose account does not exist.
    for (const account of (await render({ entrypoint: 'gateway' }, { namespace })).filter((o) => o.kind === 'ServiceAccount'))
      expect((await kube.apply(account, namespace)).status).toBe(201);
  });

  it.each([
    ['fixed user ids (the default)', {}],
    ['ids the platform assigns (podSecurity.fixedIds=false)', { podSecurity: { fixedIds: false } }],
  ])(
    'are admitted with %s: every pod template created as a Pod (dry run)',
    async (_what, values) => {
      const objects = await render(
        { ...values, entrypoint: 'gateway', services: { 'vehicle-sim': { enabled: true }, 'pile-sim': { enabled: true }, 'member-sim': { enabled: true } } },
        { namespace },
      );
      const pods: K8sObject[] = podSpecs(objects).map(({ owner, spec }) => {
        const template = objects.find((o) => `${o.kind}/${o.metadata.name}` === owner)!.spec.template;
        return { apiVersion: 'v1', kind: 'Pod', metadata: { name: owner.split('/')[1]!, namespace, labels: template.metadata.labels }, spec };
      });
      expect(pods.length).toBeGreaterThan(12);
      const refused: string[] = [];
      for (const pod of pods) {
        const res = await kube.request('POST', `/api/v1/namespaces/${namespace}/pods?dryRun=All&fieldValidation=Strict`, pod);
        if (res.status !== 201) refused.push(`${pod.metadata.name}: HTTP ${res.status} ${res.body?.message}`);
        for (const warning of res.warnings) refused.push(`${pod.metadata.name}: warning ${warning}`);
      }
      expect(refused).toEqual([]);
    },
    30_000,
  );

  it('refuses a pod that breaks the profile (the namespace does enforce it)', async () => {
    const pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'escalating', namespace },
      spec: {
        serviceAccountName: 'evs-evshare-workload',
        containers: [{ name: 'c', image: 'ghcr.io/evshare/evshare:0.1.0', securityContext: { allowPrivilegeEscalation: true } }],
      },
    };
    const res = await kube.request('POST', `/api/v1/namespaces/${namespace}/pods?dryRun=All`, pod);
    expect(res.status).toBe(403);
    expect(res.body.message).toMatch(/violates PodSecurity "restricted:latest": allowPrivilegeEscalation != false/);
  });
});

describe('the AppServiceGroup CRD', () => {
  const group = (spec: Record<string, unknown>): K8sObject => ({
    apiVersion: 'evshare.io/v1alpha1',
    kind: 'AppServiceGroup',
    metadata: { name: 'checked', namespace: NAMESPACE },
    spec: { deploymentName: 'evs-evshare-app', maxReplicas: 4, target: { inflightPerPod: 20 }, ...spec },
  });

  it('accepts the group the chart renders and fills in the defaults', async () => {
    const rendered = find(await render({}, { namespace: NAMESPACE }), 'AppServiceGroup', 'evs-evshare-app');
    const res = await kube.apply(rendered, NAMESPACE, { dryRun: true });
    expect(res.status).toBe(201);
    expect(res.body.spec.behavior.scaleDown).toEqual(expect.objectContaining({ stabilizationWindowSeconds: 120 }));
    expect(res.body.spec.affinity.cookieName).toEqual(expect.any(String));
  });

  it.each([
    ['minReplicas above maxReplicas', { minReplicas: 5, maxReplicas: 2 }, /spec\.minReplicas: Invalid value.*minReplicas must not be greater than maxReplicas/],
    ['a negative minReplicas', { minReplicas: -1 }, /spec\.minReplicas: Invalid value: -1: spec\.minReplicas in body should be greater than or equal to 1/],
    [
      'a zero in-flight target',
      { target: { inflightPerPod: 0 } },
      /spec\.target\.inflightPerPod: Invalid value: 0: spec\.target\.inflightPerPod in body should be greater than 0/,
    ],
    [
      'an unknown affinity mode',
      { affinity: { mode: 'sourceIP' } },
      /spec\.affinity\.mode: Unsupported value: "sourceIP": supported values: "clientIP", "cookie"/,
    ],
    ['Traefik with client-address affinity', { ingress: { controller: 'traefik' } }, /Traefik cannot pin clients by address/],
  ])('refuses %s with a message naming the field', async (_what, spec, message) => {
    const res = await kube.apply(group(spec), NAMESPACE);
    expect(res.status).toBe(422);
    expect(res.body.message).toMatch(message);
  });
});

describe('helm install, then helm upgrade, on the real API server', () => {
  const release = 'evs';
  const kubeconfig = () => ['--kubeconfig', cp.kubeconfigPath, '--namespace', NAMESPACE];
  const secretData = async () => (await kube.request('GET', `/api/v1/namespaces/${NAMESPACE}/secrets/evs-evshare-secrets`)).body.data as Record<string, string>;
  const deploymentPath = `/apis/apps/v1/namespaces/${NAMESPACE}/deployments/evs-evshare-app`;

  it('keeps the generated secrets and the replicas the operator set', async () => {
    // Helm checks the chart's kubeVersion against the server's gitVersion; an unstamped build
    // reports v0.0.0-master and no chart with a kubeVersion can install.
    const { gitVersion } = (await kube.request('GET', '/version')).body;
    if (String(gitVersion).startsWith('v0.0.0')) {
      throw new Error(
        `kube-apiserver reports gitVersion ${gitVersion}: test/k8s/tools.sh must stamp it ` +
          '(go install -ldflags "-X k8s.io/component-base/version.gitVersion=$K8S_VERSION ..."), then rebuild',
      );
    }
    // --skip-crds: the CRD is already installed above.
    await helm(['install', release, CHART, ...kubeconfig(), '--skip-crds']);
    const before = await secretData();
    expect(Object.keys(before).sort()).toEqual([
      'admin-bootstrap-password',
      'app-key-private-key',
      'app-key-public-key',
      'membership-signing-key',
      'postgres-password',
      'redis-password',
    ]);

    // The operator scales the APP Deployment through the scale subresource.
    const scaled = await kube.request('PATCH', `${deploymentPath}/scale`, { spec: { replicas: 5 } }, 'application/merge-patch+json');
    expect(scaled.status).toBe(200);

    await helm(['upgrade', release, CHART, ...kubeconfig(), '--set', 'logLevel=debug']);
    expect(await secretData()).toEqual(before);
    const deployment = (await kube.request('GET', deploymentPath)).body;
    expect(deployment.spec.replicas).toBe(5);
    expect(deployment.spec.template.spec.containers[0].env).toContainEqual({ name: 'LOG_LEVEL', value: 'debug' });
  }, 90_000);

  it("gives the operator's ServiceAccount what it needs and nothing more", async () => {
    const can = async (attributes: Record<string, string>) => {
      const review = await kube.request('POST', '/apis/authorization.k8s.io/v1/subjectaccessreviews', {
        apiVersion: 'authorization.k8s.io/v1',
        kind: 'SubjectAccessReview',
        spec: { user: `system:serviceaccount:${NAMESPACE}:evs-evshare-operator`, resourceAttributes: { namespace: NAMESPACE, ...attributes } },
      });
      expect(review.status).toBe(201);
      return review.body.status.allowed === true;
    };
    const needed: Array<Record<string, string>> = [
      ...['get', 'list', 'watch'].map((verb) => ({ group: 'evshare.io', resource: 'appservicegroups', verb })),
      { group: 'evshare.io', resource: 'appservicegroups', subresource: 'status', verb: 'patch' },
      ...['get', 'list', 'watch'].map((verb) => ({ group: 'apps', resource: 'deployments', verb })),
      { group: 'apps', resource: 'deployments', subresource: 'scale', verb: 'patch' },
      ...['list', 'watch', 'patch'].map((verb) => ({ group: '', resource: 'pods', verb })),
      ...['list', 'watch', 'create', 'patch', 'delete'].flatMap((verb) => [
        { group: '', resource: 'services', verb },
        { group: 'networking.k8s.io', resource: 'ingresses', verb },
        { group: '', resource: 'configmaps', verb },
      ]),
      { group: 'events.k8s.io', resource: 'events', verb: 'create' },
      ...['get', 'create', 'update'].map((verb) => ({ group: 'coordination.k8s.io', resource: 'leases', verb })),
    ];
    const forbidden: Array<Record<string, string>> = [
      { group: '', resource: 'secrets', verb: 'get' },
      { group: '', resource: 'pods', verb: 'delete' },
      { group: 'apps', resource: 'deployments', verb: 'patch' },
      { group: 'evshare.io', resource: 'appservicegroups', verb: 'update' },
      { group: 'rbac.authorization.k8s.io', resource: 'roles', verb: 'create' },
      { group: 'evshare.io', resource: 'appservicegroups', verb: 'list', namespace: 'kube-system' },
      { group: 'apiextensions.k8s.io', resource: 'customresourcedefinitions', verb: 'create', namespace: '' },
    ];
    const denied = [];
    for (const attributes of needed) if (!(await can(attributes))) denied.push(attributes);
    const allowed = [];
    for (const attributes of forbidden) if (await can(attributes)) allowed.push(attributes);
    expect({ denied, allowed }).toEqual({ denied: [], allowed: [] });
  });

  it('uninstalls everything but the Secret (kept for volumes initialised with it)', async () => {
    const before = await secretData();
    await helm(['uninstall', release, ...kubeconfig()]);
    expect(await secretData()).toEqual(before);
    expect((await kube.request('GET', deploymentPath)).status).toBe(404);
  });
});

describe('the Gateway API routes on the standard-channel CRD (no sessionPersistence there)', () => {
  const appRoute = async (values: object) => find(await render({ ...GATEWAY_API, ...values }, { namespace: NAMESPACE }), 'HTTPRoute', 'evs-evshare-app');
  beforeAll(async () => {
    await installCrd(httpRouteCrd('standard'));
  });

  it('accepts the routes without session persistence, and refuses them with it (hence gatewayAPI.sessionPersistence.enabled)', async () => {
    const withPersistence = await appRoute({});
    // The server takes a moment to serve the replaced schema.
    let refusal = '';
    await Kube.waitFor('the standard-channel HTTPRoute schema to be served', 20_000, async () => {
      const res = await kube.apply(withPersistence, NAMESPACE, { dryRun: true });
      refusal = res.status >= 400 ? String(res.body?.message) : '';
      return res.status >= 400;
    });
    expect(refusal).toMatch(/sessionPersistence/);
    const routes = (
      await render({ ...GATEWAY_API, gatewayAPI: { ...GATEWAY_API.gatewayAPI, sessionPersistence: { enabled: false } } }, { namespace: NAMESPACE })
    ).filter((o) => o.kind === 'HTTPRoute');
    expect(routes).toHaveLength(2);
    expect(await dryRunProblems(routes)).toEqual([]);
  });
});
