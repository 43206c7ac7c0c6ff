import { autoscaleDecisionSchema, createLogger, SUBJECTS, type AppLoad } from '@evshare/kit';
import type { ConfigMapManifest, Manifest, OwnedManifest } from '../affinity/manifests';
import type { AppServiceGroup, AppServiceGroupSpec, AppServiceGroupStatus } from '../crd/types';
import type { GroupEvent, KubeApi } from '../kube/api';
import type { Deployment, KubeObject, Pod } from '../kube/resources';
import { createLoadStore } from '../scaling/load';
import { newGroupState, reconcileGroup, type GroupState, type ReconcileContext } from './group';

const NS = 'evshare';
const NOW = Date.parse('2026-05-01T10:00:00Z');

function fakeApi() {
  const calls: string[] = [];
  const applied: OwnedManifest[] = [];
  const statuses: AppServiceGroupStatus[] = [];
  const events: GroupEvent[] = [];
  let failApply = false;
  const api: KubeApi = {
    async apply(manifest) {
      if (failApply) throw new Error('forbidden');
      calls.push(`apply ${manifest.kind}`);
      applied.push(manifest);
      return String(applied.length);
    },
    async delete(kind, _ns, name) {
      calls.push(`delete ${kind} ${name}`);
    },
    async scaleDeployment(_ns, name, replicas) {
      calls.push(`scale ${name} ${replicas}`);
    },
    async annotatePod(_ns, name, annotations) {
      calls.push(`annotate ${name} ${JSON.stringify(annotations)}`);
    },
    async writeStatus(_ns, _name, status) {
      calls.push('status');
      statuses.push(status);
    },
    async recordEvent(event) {
      calls.push(`event ${event.type} ${event.reason}`);
      events.push(event);
    },
  };
  return {
    api,
    calls,
    applied,
    statuses,
    events,
    failApplies(fail: boolean) {
      failApply = fail;
    },
  };
}

function lookup<T extends KubeObject>(items: T[]) {
  return {
    get: (ns: string | undefined, name: string) => items.find((i) => i.metadata.namespace === ns && i.metadata.name === name),
    list: () => items,
  };
}

const spec: AppServiceGroupSpec = {
  deploymentName: 'app',
  minReplicas: 2,
  maxReplicas: 10,
  target: { inflightPerPod: 10 },
  ingress: { controller: 'haproxy', host: 'app.example.org' },
};

function group(extra: Partial<AppServiceGroupSpec> = {}, status?: AppServiceGroupStatus): AppServiceGroup {
  return {
    apiVersion: 'evshare.io/v1alpha1',
    kind: 'AppServiceGroup',
    metadata: { name: 'app', namespace: NS, uid: 'g-uid', generation: 1 },
    spec: { ...spec, ...extra },
    status,
  };
}

function deployment(replicas: number): Deployment {
  return {
    metadata: { name: 'app', namespace: NS },
    spec: { replicas, selector: { matchLabels: { app: 'evshare-app' } } },
    status: { replicas, readyReplicas: replicas },
  };
}

function pod(name: string): Pod {
  return { metadata: { name, namespace: NS, labels: { app: 'evshare-app' } }, status: { phase: 'Running' } };
}

function report(podName: string, inflight: number, activeMembers = 1): AppLoad {
  return {
    id: podName,
    pod: podName,
    url: 'http://10.0.0.1:8080',
    inflight,
    rps: 10,
    eventLoopDelayMs: 1,
    eventLoopUtilization: 0.1,
    p95LatencyMs: 20,
    activeMembers,
    maxConcurrency: 64,
    draining: false,
    at: new Date(NOW).toISOString(),
  };
}

function setup(
  options: {
    group?: AppServiceGroup;
    deployment?: Deployment | null;
    pods?: Pod[];
    ingresses?: KubeObject[];
    services?: KubeObject[];
    configMaps?: KubeObject[];
  } = {},
) {
  const fake = fakeApi();
  const loads = createLoadStore();
  const states = new Map<string, GroupState>();
  const groups = [options.group ?? group()];
  const published: { subject: string; data: unknown }[] = [];
  const ctx: ReconcileContext = {
    api: fake.api,
    groups: lookup(groups),
    deployments: lookup(options.deployment === null ? [] : [options.deployment ?? deployment(2)]),
    pods: lookup(options.pods ?? [pod('app-a'), pod('app-b')]),
    ingresses: lookup(options.ingresses ?? []),
    services: lookup(options.services ?? []),
    configMaps: lookup(options.configMaps ?? []),
    loads,
    states,
    log: createLogger('group-test', 'silent'),
    bus: { publish: (subject, data) => published.push({ subject, data }) },
    now: () => NOW,
  };
  return { ...fake, ctx, loads, states, groups, published };
}

describe('reconcileGroup', () => {
  it('reports a missing Deployment in status and one Warning event', async () => {
    const { ctx, calls, statuses } = setup({ deployment: null });
    await reconcileGroup(ctx, `${NS}/app`);
    await reconcileGroup(ctx, `${NS}/app`);
    expect(calls.filter((c) => c.startsWith('event'))).toEqual(['event Warning DeploymentNotFound']);
    expect(statuses[0]!.conditions!.map((c) => `${c.type}=${c.status}:${c.reason}`)).toEqual([
      'Ready=False:DeploymentNotFound',
      'ScalingActive=False:DeploymentNotFound',
      'ScalingLimited=False:DesiredWithinRange',
      'Degraded=True:DeploymentNotFound',
    ]);
  });

  it('applies the Service and Ingress once, then only when the spec changes', async () => {
    const { ctx, applied, groups } = setup();
    await reconcileGroup(ctx, `${NS}/app`);
    await reconcileGroup(ctx, `${NS}/app`);
    expect(applied.map((m) => m.kind)).toEqual(['Service', 'Ingress']);
    expect((applied[0] as Manifest).spec.selector).toEqual({ app: 'evshare-app' });
    groups[0] = group({ affinity: { mode: 'cookie' } });
    await reconcileGroup(ctx, `${NS}/app`);
    expect(applied.map((m) => m.kind)).toEqual(['Service', 'Ingress', 'Service', 'Ingress']);
    expect(applied[3]!.metadata.annotations).toMatchObject({ 'haproxy-ingress.github.io/affinity': 'cookie' });
  });

  it('deletes its Ingress when the spec drops it', async () => {
    const ingress: KubeObject = {
      metadata: { name: 'app', namespace: NS, ownerReferences: [{ apiVersion: 'evshare.io/v1alpha1', kind: 'AppServiceGroup', name: 'app', uid: 'g-uid' }] },
    };
    const { ctx, calls } = setup({ group: group({ ingress: undefined }), ingresses: [ingress] });
    await reconcileGroup(ctx, `${NS}/app`);
    expect(calls).toContain('delete Ingress app');
    expect(calls).not.toContain('apply Ingress');
  });

  it('applies the HAProxy backend and the headless Service with spec.haproxy, and deletes them when it goes', async () => {
    const { ctx, applied, calls, groups } = setup({ group: group({ haproxy: {} }) });
    await reconcileGroup(ctx, `${NS}/app`);
    expect(applied.map((m) => `${m.kind} ${m.metadata.name}`)).toEqual(['Service app', 'Ingress app', 'Service app-pods', 'ConfigMap app-haproxy']);
    expect((applied[3] as ConfigMapManifest).data['backend.cfg']).toContain('server-template app 1-10 _http._tcp.app-pods.evshare.svc.cluster.local');
    const owner = [{ apiVersion: 'evshare.io/v1alpha1', kind: 'AppServiceGroup', name: 'app', uid: 'g-uid' }];
    const dropped = setup({
      group: group({ haproxy: undefined }),
      services: [{ metadata: { name: 'app-pods', namespace: NS, ownerReferences: owner } }],
      configMaps: [
        { metadata: { name: 'app-haproxy', namespace: NS, ownerReferences: owner } },
        // Someone else's object of the same name is left alone.
        { metadata: { name: 'other-haproxy', namespace: NS } },
      ],
    });
    await reconcileGroup(dropped.ctx, `${NS}/app`);
    expect(dropped.calls.filter((c) => c.startsWith('delete'))).toEqual(['delete Service app-pods', 'delete ConfigMap app-haproxy']);
    groups[0] = group({ haproxy: { hashBalanceFactor: 100 } });
    await expect(reconcileGroup(ctx, `${NS}/app`)).rejects.toThrow(/hashBalanceFactor must be 0 or above 100/);
    expect(calls.filter((c) => c.startsWith('apply'))).toHaveLength(4);
  });

  it('scales up on load, records the decision as an Event and in status, and does not scale twice on a stale cache', async () => {
    const { ctx, calls, statuses, events, loads, published } = setup();
    loads.record(report('app-a', 30), NOW);
    loads.record(report('app-b', 30), NOW);
    await reconcileGroup(ctx, `${NS}/app`);
    expect(calls).toContain('scale app 6');
    expect(events.at(-1)).toMatchObject({ type: 'Normal', reason: 'ScaleUp', action: 'Scale' });
    expect(events.at(-1)!.note).toContain('2 -> 6 replicas');
    // The same decision goes to the operators' console on the bus.
    expect(published).toHaveLength(1);
    expect(published[0]!.subject).toBe(SUBJECTS.autoscaleDecision);
    expect(autoscaleDecisionSchema.parse(published[0]!.data)).toEqual({
      from: 2,
      to: 6,
      reason: 'ScaleUp',
      message: events.at(-1)!.note,
      at: new Date(NOW).toISOString(),
      group: `${NS}/app`,
    });
    expect(statuses.at(-1)).toMatchObject({ replicas: 6, desiredReplicas: 6, reportingPods: 2, loadPerPod: 30, lastScaleTime: new Date(NOW).toISOString() });
    // The Deployment cache still says 2: the operator trusts what it just sent.
    await reconcileGroup(ctx, `${NS}/app`);
    expect(calls.filter((c) => c.startsWith('scale'))).toEqual(['scale app 6']);
    expect(published).toHaveLength(1);
  });

  it('sets pod deletion costs before a scale-down, lowest on the idlest pod, and scales only once the pods show them', async () => {
    const pods = [pod('app-a'), pod('app-b'), pod('app-c'), pod('app-d')];
    const { ctx, calls, states, loads, statuses } = setup({ deployment: deployment(4), pods });
    const state: GroupState = { ...newGroupState(), history: [{ at: NOW - 120_000, replicas: 4 }] };
    states.set(`${NS}/app`, state);
    loads.record(report('app-a', 1, 9), NOW);
    loads.record(report('app-b', 2, 0), NOW);
    loads.record(report('app-c', 0, 3), NOW);
    loads.record(report('app-d', 1, 1), NOW);
    await reconcileGroup(ctx, `${NS}/app`);
    const annotations = calls.filter((c) => c.startsWith('annotate'));
    expect(annotations).toEqual([
      'annotate app-a {"controller.kubernetes.io/pod-deletion-cost":"901"}',
      'annotate app-b {"controller.kubernetes.io/pod-deletion-cost":"2"}',
      'annotate app-c {"controller.kubernetes.io/pod-deletion-cost":"300"}',
      'annotate app-d {"controller.kubernetes.io/pod-deletion-cost":"101"}',
    ]);
    // The pod cache does not show the costs yet: no scale-down.
    expect(calls.filter((c) => c.startsWith('scale'))).toEqual([]);
    expect(statuses.at(-1)!.conditions!.find((c) => c.type === 'ScalingActive')).toMatchObject({ reason: 'WaitingForDeletionCosts' });
    // Loads move meanwhile; the costs already sent are what is waited for, not patched again.
    loads.record(report('app-b', 3, 0), NOW);
    for (const [p, cost] of [
      ['app-a', '901'],
      ['app-b', '2'],
      ['app-c', '300'],
    ] as const)
      pods.find((x) => x.metadata.name === p)!.metadata.annotations = { 'controller.kubernetes.io/pod-deletion-cost': cost };
    await reconcileGroup(ctx, `${NS}/app`);
    expect(calls.filter((c) => c.startsWith('scale'))).toEqual([]);
    pods[3]!.metadata.annotations = { 'controller.kubernetes.io/pod-deletion-cost': '101' };
    await reconcileGroup(ctx, `${NS}/app`);
    expect(calls.filter((c) => c.startsWith('scale'))).toEqual(['scale app 2']);
    expect(calls.filter((c) => c.startsWith('annotate'))).toHaveLength(4);
  });

  it('scales down after the wait even if a pod never shows its cost', async () => {
    const pods = [pod('app-a'), pod('app-b'), pod('app-c'), pod('app-d')];
    const { ctx, calls, states, loads } = setup({ deployment: deployment(4), pods });
    states.set(`${NS}/app`, { ...newGroupState(), history: [{ at: NOW - 120_000, replicas: 4 }] });
    for (const p of pods) loads.record(report(p.metadata.name, 1), NOW);
    await reconcileGroup(ctx, `${NS}/app`);
    expect(calls.filter((c) => c.startsWith('scale'))).toEqual([]);
    ctx.now = () => NOW + 10_001;
    for (const p of pods) loads.record(report(p.metadata.name, 1), NOW + 10_001);
    await reconcileGroup(ctx, `${NS}/app`);
    expect(calls.filter((c) => c.startsWith('scale'))).toEqual(['scale app 2']);
  });

  it('leaves the replicas alone while the pause annotation is set, and says so', async () => {
    const paused = group();
    paused.metadata.annotations = { 'evshare.io/autoscaling-paused': 'true' };
    const { ctx, calls, statuses, loads, groups } = setup({ group: paused });
    loads.record(report('app-a', 30), NOW);
    loads.record(report('app-b', 30), NOW);
    await reconcileGroup(ctx, `${NS}/app`);
    expect(calls.filter((c) => c.startsWith('scale'))).toEqual([]);
    expect(calls).toContain('apply Service');
    expect(statuses.at(-1)!.conditions!.find((c) => c.type === 'ScalingActive')).toMatchObject({ status: 'False', reason: 'Paused' });
    groups[0] = group();
    await reconcileGroup(ctx, `${NS}/app`);
    expect(calls.filter((c) => c.startsWith('scale'))).toEqual(['scale app 6']);
  });

  it('sets the fallback replicas once the ready pods have been silent for afterSeconds', async () => {
    const { ctx, calls, statuses, events } = setup({ group: group({ fallback: { replicas: 5, afterSeconds: 30 } }) });
    await reconcileGroup(ctx, `${NS}/app`);
    ctx.now = () => NOW + 29_000;
    await reconcileGroup(ctx, `${NS}/app`);
    expect(calls.filter((c) => c.startsWith('scale'))).toEqual([]);
    ctx.now = () => NOW + 30_000;
    await reconcileGroup(ctx, `${NS}/app`);
    expect(calls.filter((c) => c.startsWith('scale'))).toEqual(['scale app 5']);
    expect(events.at(-1)).toMatchObject({ type: 'Normal', reason: 'Fallback' });
    expect(statuses.at(-1)!.conditions!.find((c) => c.type === 'ScalingActive')).toMatchObject({ status: 'False', reason: 'Fallback' });
  });

  it('limits scale-ups per policy period across reconciles', async () => {
    const pods = Array.from({ length: 10 }, (_, i) => pod(`p${i}`));
    const app = deployment(2);
    const { ctx, calls, loads, statuses } = setup({ group: group({ maxReplicas: 30 }), deployment: app, pods });
    for (const p of pods.slice(0, 2)) loads.record(report(p.metadata.name, 100), NOW);
    await reconcileGroup(ctx, `${NS}/app`);
    expect(calls.filter((c) => c.startsWith('scale'))).toEqual(['scale app 6']);
    app.spec.replicas = 6;
    ctx.now = () => NOW + 5_000;
    for (const p of pods.slice(0, 6)) loads.record(report(p.metadata.name, 100), NOW + 5_000);
    await reconcileGroup(ctx, `${NS}/app`);
    expect(calls.filter((c) => c.startsWith('scale'))).toEqual(['scale app 6']);
    expect(statuses.at(-1)!.conditions!.find((c) => c.type === 'ScalingLimited')).toMatchObject({ status: 'True', reason: 'ScaleUpPolicyLimit' });
    ctx.now = () => NOW + 15_000;
    for (const p of pods.slice(0, 6)) loads.record(report(p.metadata.name, 100), NOW + 15_000);
    await reconcileGroup(ctx, `${NS}/app`);
    expect(calls.filter((c) => c.startsWith('scale'))).toEqual(['scale app 6', 'scale app 12']);
  });

  it('refuses to scale a Deployment another autoscaler scales, with a condition and one Warning event', async () => {
    const hpas = [{ metadata: { name: 'app-hpa', namespace: NS }, spec: { scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'app' } } }];
    const scaledObjects = [{ metadata: { name: 'app-keda', namespace: NS }, spec: { scaleTargetRef: { name: 'app' } } }];
    const { ctx, calls, statuses, loads } = setup();
    ctx.autoscalers = { hpas: lookup(hpas), scaledObjects: lookup(scaledObjects) };
    loads.record(report('app-a', 30), NOW);
    loads.record(report('app-b', 30), NOW);
    await reconcileGroup(ctx, `${NS}/app`);
    await reconcileGroup(ctx, `${NS}/app`);
    expect(calls.filter((c) => c.startsWith('scale') || c.startsWith('annotate'))).toEqual([]);
    expect(calls.filter((c) => c.startsWith('event'))).toEqual(['event Warning ConflictingAutoscaler']);
    const byType = Object.fromEntries(statuses.at(-1)!.conditions!.map((c) => [c.type, c]));
    expect(byType.ScalingActive).toMatchObject({ status: 'False', reason: 'ConflictingAutoscaler' });
    expect(byType.ScalingActive!.message).toContain('HorizontalPodAutoscaler app-hpa, ScaledObject app-keda also scales Deployment app');
    expect(byType.Degraded).toMatchObject({ status: 'True', reason: 'ConflictingAutoscaler' });
    // Once they are gone, the operator scales again.
    hpas.length = 0;
    scaledObjects.length = 0;
    await reconcileGroup(ctx, `${NS}/app`);
    expect(calls.filter((c) => c.startsWith('scale'))).toEqual(['scale app 6']);
  });

  it('marks ScalingLimited when the load wants more than maxReplicas', async () => {
    const { ctx, statuses, loads } = setup({ deployment: deployment(10), pods: Array.from({ length: 10 }, (_, i) => pod(`p${i}`)) });
    for (let i = 0; i < 10; i++) loads.record(report(`p${i}`, 50), NOW);
    await reconcileGroup(ctx, `${NS}/app`);
    const limited = statuses.at(-1)!.conditions!.find((c) => c.type === 'ScalingLimited')!;
    expect(limited).toMatchObject({ status: 'True', reason: 'MaxReplicasReached' });
  });

  it('says Degraded when pods are ready but none reports load', async () => {
    const { ctx, statuses } = setup();
    await reconcileGroup(ctx, `${NS}/app`);
    const byType = Object.fromEntries(statuses.at(-1)!.conditions!.map((c) => [c.type, c]));
    expect(byType.Ready).toMatchObject({ status: 'True', reason: 'Ready' });
    expect(byType.ScalingActive).toMatchObject({ status: 'False', reason: 'NoLoadReports' });
    expect(byType.Degraded).toMatchObject({ status: 'True', reason: 'LoadReportsMissing' });
  });

  it('reports a failed apply as Degraded, still scales, and throws so the queue retries', async () => {
    const { ctx, calls, statuses, loads, failApplies } = setup();
    failApplies(true);
    loads.record(report('app-a', 30), NOW);
    loads.record(report('app-b', 30), NOW);
    await expect(reconcileGroup(ctx, `${NS}/app`)).rejects.toThrow(/applying the owned objects failed: forbidden/);
    expect(calls).toContain('scale app 6');
    expect(calls).toContain('event Warning ApplyFailed');
    const byType = Object.fromEntries(statuses.at(-1)!.conditions!.map((c) => [c.type, c]));
    expect(byType.Ready).toMatchObject({ status: 'False', reason: 'OwnedObjectsNotApplied' });
    expect(byType.Degraded).toMatchObject({ status: 'True', reason: 'ApplyFailed' });
  });

  it('writes status only when it changes, and a new load figure at most every 5 s', async () => {
    const { ctx, statuses, loads, groups } = setup();
    loads.record(report('app-a', 10), NOW);
    loads.record(report('app-b', 10), NOW);
    await reconcileGroup(ctx, `${NS}/app`);
    expect(statuses).toHaveLength(1);
    // The informer brings the written status back into the cache.
    groups[0] = group({}, statuses[0]);
    await reconcileGroup(ctx, `${NS}/app`);
    expect(statuses).toHaveLength(1);
    loads.record(report('app-a', 10.5), NOW);
    await reconcileGroup(ctx, `${NS}/app`);
    expect(statuses).toHaveLength(1);
    ctx.now = () => NOW + 5_000;
    loads.record(report('app-a', 10.5), NOW + 5_000);
    loads.record(report('app-b', 10), NOW + 5_000);
    await reconcileGroup(ctx, `${NS}/app`);
    expect(statuses).toHaveLength(2);
    expect(statuses[1]!.loadPerPod).toBe(10.25);
  });

  it('forgets a deleted group', async () => {
    const { ctx, states, groups, calls } = setup();
    await reconcileGroup(ctx, `${NS}/app`);
    groups.length = 0;
    const before = calls.length;
    await reconcileGroup(ctx, `${NS}/app`);
    expect(states.size).toBe(0);
    expect(calls.length).toBe(before);
  });
});
