import { isDeepStrictEqual } from 'node:util';
import { SUBJECTS, type AutoscaleDecision, type Bus, type Logger } from '@evshare/kit';
import { ingressFor, serviceFor, type Manifest } from '../affinity/manifests';
import { resolveSpec } from '../crd/defaults';
import type { AppServiceGroup, AppServiceGroupStatus } from '../crd/types';
import type { GroupEvent, KubeApi } from '../kube/api';
import type { Deployment, KubeObject, Pod } from '../kube/resources';
import { matchesSelector, selectorString } from '../kube/selector';
import { decideReplicas, type PodLoad, type Recommendation, type ScalingLimit } from '../scaling/decision';
import { deletionCostPatches, POD_DELETION_COST } from '../scaling/deletion-cost';
import type { LoadStore } from '../scaling/load';
import { setConditions, type ConditionInput } from './conditions';
import type { OperatorMetrics } from './metrics';

/**
 * Reconciles one AppServiceGroup from the informer caches (level-based: it looks at what is,
 * never at which event arrived, so running it twice changes nothing the second time):
 * 1. server-side-applies the Service and the Ingress (only when what they should be changed,
 *    or someone else touched them), and deletes an Ingress the spec no longer asks for;
 * 2. decides the replicas from the pods' fresh load reports; before a scale-down it sets each
 *    pod's deletion cost, then patches the Deployment's scale subresource and records an Event;
 * 3. writes status and conditions through the status subresource when they changed (the load
 *    figure alone at most every statusLoadIntervalMs, to spare etcd).
 * A failure is reported in the status (Degraded) and then thrown, so the work queue retries.
 */
export interface GroupState {
  history: Recommendation[];
  /** What the owned objects were last applied as; undefined forces an apply. */
  appliedHash?: string;
  /** resourceVersion our last apply stored, per kind: a watch event carrying it is our own echo. */
  appliedVersions: Partial<Record<'Service' | 'Ingress', string>>;
  /** Replicas we set that the Deployment cache may not show yet (as controller "expectations"). */
  expected?: { replicas: number; until: number };
  lastStatusAt: number;
  lastWarning?: string;
  /** The group's pods at the last reconcile, to route load reports to it. */
  pods: string[];
}

interface Lookup<T> {
  get(namespace: string | undefined, name: string): T | undefined;
}

export interface ReconcileContext {
  api: KubeApi;
  groups: Lookup<AppServiceGroup>;
  deployments: Lookup<Deployment>;
  pods: { list(): Pod[] };
  ingresses: Lookup<KubeObject>;
  loads: LoadStore;
  states: Map<string, GroupState>;
  log: Logger;
  /** Where each scale is published for the operators' console (SUBJECTS.autoscaleDecision). */
  bus?: Pick<Bus, 'publish'>;
  metrics?: OperatorMetrics;
  now?: () => number;
  /** Default 5 s. */
  statusLoadIntervalMs?: number;
  /** How long a scale we sent overrides the cached replicas; default 10 s. */
  expectationTimeoutMs?: number;
}

interface Problem {
  reason: string;
  message: string;
}

const LIMIT_REASONS: Record<ScalingLimit, string> = {
  maxReplicas: 'MaxReplicasReached',
  minReplicas: 'MinReplicasReached',
  scaleUpStep: 'ScaleUpStepLimit',
  scaleDownStep: 'ScaleDownStepLimit',
};

export function newGroupState(): GroupState {
  return { history: [], appliedVersions: {}, lastStatusAt: 0, pods: [] };
}

export async function reconcileGroup(ctx: ReconcileContext, key: string): Promise<void> {
  const [namespace, name] = key.split('/') as [string, string];
  const group = ctx.groups.get(namespace, name);
  if (!group || group.metadata.deletionTimestamp) {
    // Garbage collection removes the Service and Ingress through their owner references.
    ctx.states.delete(key);
    forgetMetrics(ctx, namespace, name);
    return;
  }
  const now = (ctx.now ?? Date.now)();
  const state = ctx.states.get(key) ?? newGroupState();
  ctx.states.set(key, state);
  const spec = resolveSpec(group.spec);
  const deployment = ctx.deployments.get(namespace, spec.deploymentName);
  const problems: Problem[] = [];

  if (!deployment) {
    const missing = `Deployment ${namespace}/${spec.deploymentName} not found`;
    await writeStatus(ctx, group, state, now, { ...keptStatus(group), replicas: undefined, readyReplicas: undefined, reportingPods: 0, loadPerPod: undefined }, [
      { type: 'Ready', status: 'False', reason: 'DeploymentNotFound', message: missing },
      { type: 'ScalingActive', status: 'False', reason: 'DeploymentNotFound', message: missing },
      { type: 'ScalingLimited', status: 'False', reason: 'DesiredWithinRange', message: '' },
      { type: 'Degraded', status: 'True', reason: 'DeploymentNotFound', message: missing },
    ]);
    await warnOnce(ctx, group, state, 'DeploymentNotFound', 'Find', missing);
    return;
  }

  // 1. The Service and Ingress.
  const selector = deployment.spec.selector;
  const ref = { name, namespace, uid: group.metadata.uid ?? '' };
  if (selector.matchExpressions?.length) {
    problems.push({
      reason: 'SelectorUnsupported',
      message: `Deployment ${spec.deploymentName} selects pods with matchExpressions, which a Service cannot express; no Service was applied`,
    });
  } else {
    const manifests = [serviceFor(ref, spec, selector.matchLabels ?? {}), ingressFor(ref, spec)].filter((m): m is Manifest => m !== null);
    const hash = JSON.stringify(manifests);
    try {
      if (state.appliedHash !== hash) {
        for (const manifest of manifests) state.appliedVersions[manifest.kind as 'Service' | 'Ingress'] = await ctx.api.apply(manifest);
        state.appliedHash = hash;
      }
      const staleIngress = ctx.ingresses.get(namespace, name);
      if (!spec.ingress && staleIngress && staleIngress.metadata.ownerReferences?.some((o) => o.uid === ref.uid)) {
        await ctx.api.delete('Ingress', namespace, name);
        delete state.appliedVersions.Ingress;
      }
    } catch (error) {
      problems.push({ reason: 'ApplyFailed', message: `applying the Service/Ingress failed: ${(error as Error).message}` });
    }
  }

  // 2. Scaling.
  const cached = deployment.spec.replicas ?? 1;
  let current = cached;
  if (state.expected) {
    if (cached === state.expected.replicas || now > state.expected.until) state.expected = undefined;
    else current = state.expected.replicas;
  }
  const pods = ctx.pods.list().filter((p) => p.metadata.namespace === namespace && !p.metadata.deletionTimestamp && matchesSelector(selector, p.metadata.labels));
  state.pods = pods.map((p) => p.metadata.name);
  const loads = ctx.loads.loadsOf(state.pods, now);
  const decision = decideReplicas({
    currentReplicas: current,
    loads,
    target: spec.target,
    behavior: spec.behavior,
    minReplicas: spec.minReplicas,
    maxReplicas: spec.maxReplicas,
    history: state.history,
    now,
  });
  state.history = decision.history;
  let lastScaleTime = group.status?.lastScaleTime;
  if (decision.desiredReplicas !== current) {
    try {
      if (decision.desiredReplicas < current) await setDeletionCosts(ctx, namespace, pods, loads);
      await ctx.api.scaleDeployment(namespace, spec.deploymentName, decision.desiredReplicas);
      ctx.log.info({ group: key, from: current, to: decision.desiredReplicas, reason: decision.reason }, decision.message);
      ctx.metrics?.scaleOperations.inc({ namespace, group: name, direction: decision.desiredReplicas > current ? 'up' : 'down' });
      const published: AutoscaleDecision = { from: current, to: decision.desiredReplicas, reason: decision.reason, message: decision.message, at: new Date(now).toISOString(), group: key };
      ctx.bus?.publish(SUBJECTS.autoscaleDecision, published);
      state.expected = { replicas: decision.desiredReplicas, until: now + (ctx.expectationTimeoutMs ?? 10_000) };
      current = decision.desiredReplicas;
      lastScaleTime = new Date(now).toISOString();
      await recordEvent(ctx, { group, type: 'Normal', reason: decision.reason, action: 'Scale', note: decision.message });
    } catch (error) {
      problems.push({ reason: 'ScaleFailed', message: `scaling Deployment ${spec.deploymentName} to ${decision.desiredReplicas} failed: ${(error as Error).message}` });
    }
  }

  // 3. Status.
  const readyReplicas = deployment.status?.readyReplicas ?? 0;
  const inflight = decision.metrics.find((m) => m.metric === 'inflight');
  const owned = spec.ingress ? `Service and Ingress ${name}` : `Service ${name}`;
  const ownedFailed = problems.find((p) => p.reason === 'ApplyFailed' || p.reason === 'SelectorUnsupported');
  const degraded = problems[0] ?? (readyReplicas > 0 && decision.reportingPods === 0 ? { reason: 'LoadReportsMissing', message: `${readyReplicas} pods are ready but none reports its load on NATS; scaling by load is paused` } : undefined);
  const conditions: ConditionInput[] = [
    ownedFailed
      ? { type: 'Ready', status: 'False', reason: 'OwnedObjectsNotApplied', message: ownedFailed.message }
      : readyReplicas < 1
        ? { type: 'Ready', status: 'False', reason: 'NoReadyPods', message: `Deployment ${spec.deploymentName} has no ready pod` }
        : { type: 'Ready', status: 'True', reason: 'Ready', message: `${readyReplicas}/${current} pods ready behind ${owned}` },
    decision.reportingPods > 0
      ? { type: 'ScalingActive', status: 'True', reason: 'LoadReported', message: `${decision.reportingPods} of ${pods.length} pods report their load` }
      : { type: 'ScalingActive', status: 'False', reason: 'NoLoadReports', message: `no fresh load report from the ${pods.length} pods of Deployment ${spec.deploymentName}` },
    decision.limitedBy
      ? { type: 'ScalingLimited', status: 'True', reason: LIMIT_REASONS[decision.limitedBy], message: decision.message }
      : { type: 'ScalingLimited', status: 'False', reason: 'DesiredWithinRange', message: `desired replicas within ${spec.minReplicas}..${spec.maxReplicas}` },
    degraded ? { type: 'Degraded', status: 'True', ...degraded } : { type: 'Degraded', status: 'False', reason: 'AsExpected', message: '' },
  ];
  await writeStatus(
    ctx,
    group,
    state,
    now,
    {
      replicas: current,
      readyReplicas,
      desiredReplicas: decision.desiredReplicas,
      reportingPods: decision.reportingPods,
      loadPerPod: inflight ? Math.round(inflight.perPod * 100) / 100 : undefined,
      lastScaleTime,
      selector: selectorString(selector),
    },
    conditions,
  );
  ctx.metrics?.desiredReplicas.set({ namespace, group: name }, decision.desiredReplicas);
  ctx.metrics?.currentReplicas.set({ namespace, group: name }, current);
  ctx.metrics?.reportingPods.set({ namespace, group: name }, decision.reportingPods);
  if (inflight) ctx.metrics?.loadPerPod.set({ namespace, group: name }, inflight.perPod);

  if (problems.length > 0) {
    await warnOnce(ctx, group, state, problems[0]!.reason, 'Reconcile', problems[0]!.message);
    throw new Error(problems.map((p) => p.message).join('; '));
  }
  state.lastWarning = undefined;
}

/** The status fields a reconcile without a Deployment does not know anew. */
function keptStatus(group: AppServiceGroup): AppServiceGroupStatus {
  const { desiredReplicas, lastScaleTime, selector } = group.status ?? {};
  return { desiredReplicas, lastScaleTime, selector };
}

async function writeStatus(ctx: ReconcileContext, group: AppServiceGroup, state: GroupState, now: number, fields: AppServiceGroupStatus, conditions: ConditionInput[]): Promise<void> {
  const generation = group.metadata.generation;
  const status: AppServiceGroupStatus = {
    observedGeneration: generation,
    ...fields,
    conditions: setConditions(group.status?.conditions, conditions, new Date(now).toISOString(), generation),
  };
  const { loadPerPod: load, ...rest } = normalize(status);
  const { loadPerPod: previousLoad, ...previousRest } = normalize(group.status ?? {});
  const changed = !isDeepStrictEqual(rest, previousRest);
  const loadMoved = load !== previousLoad && now - state.lastStatusAt >= (ctx.statusLoadIntervalMs ?? 5_000);
  if (!changed && !loadMoved) return;
  await ctx.api.writeStatus(group.metadata.namespace!, group.metadata.name, status);
  state.lastStatusAt = now;
}

/** Drops undefined fields, so a stored status and a computed one compare equal. */
function normalize(status: AppServiceGroupStatus): AppServiceGroupStatus {
  return JSON.parse(JSON.stringify(status)) as AppServiceGroupStatus;
}

async function setDeletionCosts(ctx: ReconcileContext, namespace: string, pods: Pod[], loads: PodLoad[]): Promise<void> {
  const patches = deletionCostPatches(
    pods.map((p) => ({ name: p.metadata.name, annotations: p.metadata.annotations })),
    new Map(loads.map((l) => [l.pod, l])),
  );
  const results = await Promise.allSettled(patches.map((p) => ctx.api.annotatePod(namespace, p.pod, { [POD_DELETION_COST]: String(p.cost) })));
  // A pod that vanished or refused the patch only loses its say in which pod goes first.
  results.forEach((r, i) => r.status === 'rejected' && ctx.log.warn({ err: r.reason, pod: `${namespace}/${patches[i]!.pod}` }, 'could not set the pod deletion cost'));
}

async function recordEvent(ctx: ReconcileContext, event: GroupEvent): Promise<void> {
  try {
    await ctx.api.recordEvent(event);
  } catch (error) {
    ctx.log.warn({ err: error, reason: event.reason }, 'could not record an event');
  }
}

/** A Warning event per distinct problem, not one per retry. */
async function warnOnce(ctx: ReconcileContext, group: AppServiceGroup, state: GroupState, reason: string, action: string, message: string): Promise<void> {
  if (state.lastWarning === message) return;
  state.lastWarning = message;
  await recordEvent(ctx, { group, type: 'Warning', reason, action, note: message });
}

function forgetMetrics(ctx: ReconcileContext, namespace: string, name: string): void {
  const labels = { namespace, group: name };
  for (const gauge of [ctx.metrics?.desiredReplicas, ctx.metrics?.currentReplicas, ctx.metrics?.reportingPods, ctx.metrics?.loadPerPod]) gauge?.remove(labels);
}
