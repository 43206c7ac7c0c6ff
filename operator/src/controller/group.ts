import { isDeepStrictEqual } from 'node:util';
import { SUBJECTS, type AutoscaleDecision, type Bus, type Logger } from '@evshare/kit';
import { haproxyConfigMapFor, haproxyConfigMapName, podsServiceFor, podsServiceName } from '../affinity/haproxy';
import { ingressFor, serviceFor, type OwnedManifest } from '../affinity/manifests';
import { resolveSpec } from '../crd/defaults';
import type { AppServiceGroup, AppServiceGroupStatus } from '../crd/types';
import type { GroupEvent, KubeApi } from '../kube/api';
import type { Deployment, KubeObject, Pod } from '../kube/resources';
import { matchesSelector, selectorString } from '../kube/selector';
import { decideReplicas, type PodLoad, type Recommendation, type ScalingLimit } from '../scaling/decision';
import { deletionCostPatches, POD_DELETION_COST } from '../scaling/deletion-cost';
import type { LoadStore } from '../scaling/load';
import type { ScaleEvent } from '../scaling/policies';
import { setConditions, type ConditionInput } from './conditions';
import { conflictingAutoscalers, type Autoscaler } from './conflicts';
import type { OperatorMetrics } from './metrics';

/**
 * Reconciles one AppServiceGroup from the informer caches (level-based: it looks at what is,
 * never at which event arrived, so running it twice changes nothing the second time):
 * 1. server-side-applies the Service, the Ingress and HAProxy's headless Service and backend
 *    ConfigMap (only when what they should be changed, or someone else touched them), and
 *    deletes those the spec no longer asks for;
 * 2. decides the replicas from the pods' fresh load reports (unless the group carries the pause
 *    annotation); before a scale-down it sets each pod's deletion cost and waits until the pod
 *    cache shows them (the ReplicaSet controller reads the same pods, and would otherwise pick
 *    its victims by stale costs), then patches the Deployment's scale subresource and records
 *    an Event;
 * 3. writes status and conditions through the status subresource when they changed (the load
 *    figure alone at most every statusLoadIntervalMs, to spare etcd).
 * A failure is reported in the status (Degraded) and then thrown, so the work queue retries.
 */
export const PAUSE_ANNOTATION = 'evshare.io/autoscaling-paused';

export interface GroupState {
  history: Recommendation[];
  /** Scale changes still inside a scaling policy's period. */
  events: ScaleEvent[];
  /** Since when the ready pods have sent no load report (epoch ms); undefined while they do. */
  silentSince?: number;
  /** Deletion costs patched for a pending scale-down, not yet seen in the pod cache. */
  pendingCosts?: { costs: Record<string, string>; until: number };
  /** What the owned objects were last applied as; undefined forces an apply. */
  appliedHash?: string;
  /** resourceVersion our last apply stored, per `kind/name` (ownedKey): a watch event carrying it is our own echo. */
  appliedVersions: Record<string, string>;
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
  /** The managed Services and ConfigMaps, to find HAProxy objects a spec no longer asks for. */
  services?: Lookup<KubeObject>;
  configMaps?: Lookup<KubeObject>;
  /** HPAs and KEDA ScaledObjects in the watched namespaces. */
  autoscalers?: { hpas: { list(): Autoscaler[] }; scaledObjects: { list(): Autoscaler[] } };
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
  /** How long a scale-down waits at most for the pod cache to show the new deletion costs; default 10 s. */
  deletionCostWaitMs?: number;
}

interface Problem {
  reason: string;
  message: string;
}

const LIMIT_REASONS: Record<ScalingLimit, string> = {
  maxReplicas: 'MaxReplicasReached',
  minReplicas: 'MinReplicasReached',
  scaleUpPolicy: 'ScaleUpPolicyLimit',
  scaleDownPolicy: 'ScaleDownPolicyLimit',
};

/** How an owned object is known in GroupState.appliedVersions. */
export const ownedKey = (kind: string, name: string) => `${kind}/${name}`;

export function newGroupState(): GroupState {
  return { history: [], events: [], appliedVersions: {}, lastStatusAt: 0, pods: [] };
}

/** `evshare.io/autoscaling-paused: "true"` (as KEDA's `autoscaling.keda.sh/paused`) stops scaling; the Service and Ingress are still kept. */
export function isPaused(group: AppServiceGroup): boolean {
  return group.metadata.annotations?.[PAUSE_ANNOTATION] === 'true';
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
    await writeStatus(
      ctx,
      group,
      state,
      now,
      { ...keptStatus(group), replicas: undefined, readyReplicas: undefined, reportingPods: 0, loadPerPod: undefined },
      [
        { type: 'Ready', status: 'False', reason: 'DeploymentNotFound', message: missing },
        { type: 'ScalingActive', status: 'False', reason: 'DeploymentNotFound', message: missing },
        { type: 'ScalingLimited', status: 'False', reason: 'DesiredWithinRange', message: '' },
        { type: 'Degraded', status: 'True', reason: 'DeploymentNotFound', message: missing },
      ],
    );
    await warnOnce(ctx, group, state, 'DeploymentNotFound', 'Find', missing);
    return;
  }

  // 1. The owned objects.
  const selector = deployment.spec.selector;
  const ref = { name, namespace, uid: group.metadata.uid ?? '' };
  if (selector.matchExpressions?.length) {
    problems.push({
      reason: 'SelectorUnsupported',
      message: `Deployment ${spec.deploymentName} selects pods with matchExpressions, which a Service cannot express; no Service was applied`,
    });
  } else {
    try {
      const manifests = [
        serviceFor(ref, spec, selector.matchLabels ?? {}),
        ingressFor(ref, spec),
        podsServiceFor(ref, spec, selector.matchLabels ?? {}),
        haproxyConfigMapFor(ref, spec),
      ].filter((m): m is OwnedManifest => m !== null);
      const hash = JSON.stringify(manifests);
      if (state.appliedHash !== hash) {
        for (const manifest of manifests) state.appliedVersions[ownedKey(manifest.kind, manifest.metadata.name)] = await ctx.api.apply(manifest);
        state.appliedHash = hash;
      }
      const stale: Array<[kind: 'Service' | 'Ingress' | 'ConfigMap', name: string, cache: Lookup<KubeObject> | undefined]> = [];
      if (!spec.ingress) stale.push(['Ingress', name, ctx.ingresses]);
      if (!spec.haproxy) stale.push(['Service', podsServiceName(name), ctx.services], ['ConfigMap', haproxyConfigMapName(name), ctx.configMaps]);
      for (const [kind, objectName, cache] of stale) {
        const object = cache?.get(namespace, objectName);
        if (!object?.metadata.ownerReferences?.some((o) => o.uid === ref.uid)) continue;
        await ctx.api.delete(kind, namespace, objectName);
        delete state.appliedVersions[ownedKey(kind, objectName)];
      }
    } catch (error) {
      problems.push({ reason: 'ApplyFailed', message: `applying the owned objects failed: ${(error as Error).message}` });
    }
  }

  // 2. Scaling.
  const cached = deployment.spec.replicas ?? 1;
  let current = cached;
  if (state.expected) {
    if (cached === state.expected.replicas || now > state.expected.until) state.expected = undefined;
    else current = state.expected.replicas;
  }
  const pods = ctx.pods
    .list()
    .filter((p) => p.metadata.namespace === namespace && !p.metadata.deletionTimestamp && matchesSelector(selector, p.metadata.labels));
  state.pods = pods.map((p) => p.metadata.name);
  const loads = ctx.loads.loadsOf(state.pods, now);
  const readyReplicas = deployment.status?.readyReplicas ?? 0;
  if (loads.length > 0 || readyReplicas === 0) state.silentSince = undefined;
  else state.silentSince ??= now;
  const paused = isPaused(group);
  const rivals = ctx.autoscalers
    ? conflictingAutoscalers(namespace, spec.deploymentName, { hpas: ctx.autoscalers.hpas.list(), scaledObjects: ctx.autoscalers.scaledObjects.list() })
    : [];
  // Not thrown like the problems: retrying would not help; the autoscaler's deletion requeues the group.
  const conflict: Problem | undefined =
    rivals.length > 0
      ? {
          reason: 'ConflictingAutoscaler',
          message: `${rivals.join(', ')} also scales Deployment ${spec.deploymentName}; the operator leaves the replicas alone while another autoscaler sets them (delete it, or this AppServiceGroup)`,
        }
      : undefined;
  const decision = decideReplicas({
    currentReplicas: current,
    loads,
    target: spec.target,
    behavior: spec.behavior,
    minReplicas: spec.minReplicas,
    maxReplicas: spec.maxReplicas,
    history: state.history,
    events: state.events,
    fallback: spec.fallback,
    silentForMs: state.silentSince === undefined ? 0 : now - state.silentSince,
    now,
  });
  state.history = decision.history;
  let lastScaleTime = group.status?.lastScaleTime;
  let waitingForCosts = false;
  if (!paused && !conflict && decision.desiredReplicas !== current) {
    try {
      const scalingDown = decision.desiredReplicas < current;
      waitingForCosts = scalingDown && (await deletionCostsPending(ctx, state, namespace, pods, loads, now));
      if (!waitingForCosts) {
        await ctx.api.scaleDeployment(namespace, spec.deploymentName, decision.desiredReplicas);
        state.pendingCosts = undefined;
        state.events = decision.events;
        ctx.log.info({ group: key, from: current, to: decision.desiredReplicas, reason: decision.reason }, decision.message);
        ctx.metrics?.scaleOperations.inc({ namespace, group: name, direction: decision.desiredReplicas > current ? 'up' : 'down' });
        const published: AutoscaleDecision = {
          from: current,
          to: decision.desiredReplicas,
          reason: decision.reason,
          message: decision.message,
          at: new Date(now).toISOString(),
          group: key,
        };
        ctx.bus?.publish(SUBJECTS.autoscaleDecision, published);
        state.expected = { replicas: decision.desiredReplicas, until: now + (ctx.expectationTimeoutMs ?? 10_000) };
        current = decision.desiredReplicas;
        lastScaleTime = new Date(now).toISOString();
        await recordEvent(ctx, { group, type: 'Normal', reason: decision.reason, action: 'Scale', note: decision.message });
      }
    } catch (error) {
      problems.push({
        reason: 'ScaleFailed',
        message: `scaling Deployment ${spec.deploymentName} to ${decision.desiredReplicas} failed: ${(error as Error).message}`,
      });
    }
  } else {
    state.pendingCosts = undefined;
  }

  // 3. Status.
  const inflight = decision.metrics.find((m) => m.metric === 'inflight');
  const owned = [spec.ingress ? `Service and Ingress ${name}` : `Service ${name}`, ...(spec.haproxy ? [`HAProxy backend ${name}`] : [])].join(' and ');
  const ownedFailed = problems.find((p) => p.reason === 'ApplyFailed' || p.reason === 'SelectorUnsupported');
  const degraded =
    problems[0] ??
    conflict ??
    (readyReplicas > 0 && decision.reportingPods === 0
      ? { reason: 'LoadReportsMissing', message: `${readyReplicas} pods are ready but none reports its load on NATS; scaling by load is paused` }
      : undefined);
  const conditions: ConditionInput[] = [
    ownedFailed
      ? { type: 'Ready', status: 'False', reason: 'OwnedObjectsNotApplied', message: ownedFailed.message }
      : readyReplicas < 1
        ? { type: 'Ready', status: 'False', reason: 'NoReadyPods', message: `Deployment ${spec.deploymentName} has no ready pod` }
        : { type: 'Ready', status: 'True', reason: 'Ready', message: `${readyReplicas}/${current} pods ready behind ${owned}` },
    conflict
      ? { type: 'ScalingActive', status: 'False', ...conflict }
      : paused
        ? {
            type: 'ScalingActive',
            status: 'False',
            reason: 'Paused',
            message: `the ${PAUSE_ANNOTATION} annotation is "true"; the replicas are left as they are`,
          }
        : decision.reportingPods > 0
          ? {
              type: 'ScalingActive',
              status: 'True',
              reason: waitingForCosts ? 'WaitingForDeletionCosts' : 'LoadReported',
              message: waitingForCosts
                ? `scale-down to ${decision.desiredReplicas} waits until the pods show their new deletion costs`
                : `${decision.reportingPods} of ${pods.length} pods report their load`,
            }
          : decision.reason === 'Fallback'
            ? { type: 'ScalingActive', status: 'False', reason: 'Fallback', message: decision.message }
            : {
                type: 'ScalingActive',
                status: 'False',
                reason: 'NoLoadReports',
                message: `no fresh load report from the ${pods.length} pods of Deployment ${spec.deploymentName}`,
              },
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
  if (conflict) await warnOnce(ctx, group, state, conflict.reason, 'Reconcile', conflict.message);
  else state.lastWarning = undefined;
}

/** The status fields a reconcile without a Deployment does not know anew. */
function keptStatus(group: AppServiceGroup): AppServiceGroupStatus {
  const { desiredReplicas, lastScaleTime, selector } = group.status ?? {};
  return { desiredReplicas, lastScaleTime, selector };
}

async function writeStatus(
  ctx: ReconcileContext,
  group: AppServiceGroup,
  state: GroupState,
  now: number,
  fields: AppServiceGroupStatus,
  conditions: ConditionInput[],
): Promise<void> {
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

/**
 * True while the scale-down must wait: the pods' deletion costs are patched once (as they
 * stand at that moment, so changing loads do not restart the wait) and the scale-down goes
 * ahead when the pod cache shows every one of them, or after 10 s (a pod that refused the
 * patch only loses its say in which pod goes first).
 */
async function deletionCostsPending(ctx: ReconcileContext, state: GroupState, namespace: string, pods: Pod[], loads: PodLoad[], now: number): Promise<boolean> {
  const pending = state.pendingCosts;
  if (pending) {
    if (now > pending.until) return false;
    return pods.some((p) => p.metadata.name in pending.costs && p.metadata.annotations?.[POD_DELETION_COST] !== pending.costs[p.metadata.name]);
  }
  const patches = deletionCostPatches(
    pods.map((p) => ({ name: p.metadata.name, annotations: p.metadata.annotations })),
    new Map(loads.map((l) => [l.pod, l])),
  );
  if (patches.length === 0) return false;
  const results = await Promise.allSettled(patches.map((p) => ctx.api.annotatePod(namespace, p.pod, { [POD_DELETION_COST]: String(p.cost) })));
  results.forEach(
    (r, i) => r.status === 'rejected' && ctx.log.warn({ err: r.reason, pod: `${namespace}/${patches[i]!.pod}` }, 'could not set the pod deletion cost'),
  );
  const costs = Object.fromEntries(patches.filter((_, i) => results[i]!.status === 'fulfilled').map((p) => [p.pod, String(p.cost)]));
  if (Object.keys(costs).length === 0) return false;
  state.pendingCosts = { costs, until: now + (ctx.deletionCostWaitMs ?? 10_000) };
  return true;
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
