import type { KubeConfig } from '@kubernetes/client-node';
import { SUBJECTS, type Bus, type Logger, type Registry } from '@evshare/kit';
import { MANAGED_BY } from './affinity/manifests';
import { ownedKey, reconcileGroup, type GroupState, type ReconcileContext } from './controller/group';
import type { Autoscaler } from './controller/conflicts';
import { createOperatorMetrics, registerInformerMetrics } from './controller/metrics';
import { createWorkQueue, type WorkQueue } from './controller/workqueue';
import { KIND, type AppServiceGroup } from './crd/types';
import { createKubeApi } from './kube/api';
import { createKubeClient } from './kube/client';
import { createInformer, type Informer, type InformerEvent, type InformerStats } from './kube/informer';
import { objectKey, RESOURCES, type Deployment, type KubeObject, type Pod } from './kube/resources';
import { matchesSelector } from './kube/selector';
import { startLeaderElection } from './leader/election';
import { acceptLoadReport, createLoadStore, isSignificantChange } from './scaling/load';

/**
 * The operator: informers on AppServiceGroups, Deployments, Pods and the Services, Ingresses and
 * ConfigMaps it manages; the APP pods' load reports from the bus; a work queue that reconciles one group
 * at a time per key. Every instance keeps its caches and the load reports warm, but only the
 * holder of the Lease runs the queue, so a standby takes over with everything in hand.
 * Groups are evaluated every `evaluationIntervalMs` and at once when a pod's load moves by
 * more than the tolerance, so a load step reaches a scale patch within about a second.
 */
export interface OperatorOptions {
  kubeConfig: KubeConfig;
  bus: Bus;
  log: Logger;
  /** This instance's name in the Lease (the pod name in a cluster). */
  identity: string;
  /** With it, only load reports signed by an APP instance with this key count (MEMBERSHIP_SIGNING_KEY). */
  membershipKey?: string;
  /** Namespace watched for groups, Deployments and pods; undefined: all namespaces. */
  namespace?: string;
  leaseNamespace: string;
  leaseName?: string;
  /** Label selector of the AppServiceGroups to act on; undefined: all. */
  groupSelector?: string;
  registry?: Registry;
  evaluationIntervalMs?: number;
  loadStaleAfterMs?: number;
  statusLoadIntervalMs?: number;
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
  syncTimeoutMs?: number;
  informerBackoff?: { initialMs?: number; maxMs?: number };
}

export interface Operator {
  isLeader(): boolean;
  informerStats(): Record<string, InformerStats>;
  /** Releases the Lease if held, finishes running reconciles, and closes every watch. */
  stop(): Promise<void>;
}

export async function startOperator(options: OperatorOptions): Promise<Operator> {
  const { kubeConfig, bus, log, identity, namespace } = options;
  const client = createKubeClient(kubeConfig);
  // Reconciles run only while leading; every request they make ends before the renew deadline.
  const api = createKubeApi(client, identity, () => election.remainingMs());
  const loads = createLoadStore(options.loadStaleAfterMs);
  const metrics = options.registry ? createOperatorMetrics(options.registry) : undefined;
  const states = new Map<string, GroupState>();
  let queue: WorkQueue | undefined;
  let ticker: NodeJS.Timeout | undefined;
  let draining: Promise<void> = Promise.resolve();
  const enqueue = (key: string) => queue?.add(key);
  const common = { client, namespace, log, backoff: options.informerBackoff };

  const groups: Informer<AppServiceGroup> = createInformer<AppServiceGroup>({
    ...common,
    resource: RESOURCES.appServiceGroups,
    labelSelector: options.groupSelector,
    onEvent: (e) => enqueue(objectKey(e.object)),
  });
  const deployments: Informer<Deployment> = createInformer<Deployment>({
    ...common,
    resource: RESOURCES.deployments,
    onEvent: (e) => groupsUsing(e.object).forEach(enqueue),
  });
  const pods: Informer<Pod> = createInformer<Pod>({
    ...common,
    resource: RESOURCES.pods,
    onEvent: (e) => groupsOfPod(e.object).forEach(enqueue),
  });
  const managed = `app.kubernetes.io/managed-by=${MANAGED_BY}`;
  const services = createInformer<KubeObject>({
    ...common,
    resource: RESOURCES.services,
    labelSelector: managed,
    onEvent: (e) => ownedObjectChanged('Service', e),
  });
  const ingresses = createInformer<KubeObject>({
    ...common,
    resource: RESOURCES.ingresses,
    labelSelector: managed,
    onEvent: (e) => ownedObjectChanged('Ingress', e),
  });
  const configMaps = createInformer<KubeObject>({
    ...common,
    resource: RESOURCES.configMaps,
    labelSelector: managed,
    onEvent: (e) => ownedObjectChanged('ConfigMap', e),
  });
  // Another autoscaler on a group's Deployment stops the operator from scaling it.
  const autoscalerChanged = (e: InformerEvent<Autoscaler>) => {
    const name = e.object.spec?.scaleTargetRef?.name;
    if (name) groupsUsing({ metadata: { name, namespace: e.object.metadata.namespace } }).forEach(enqueue);
  };
  const hpas = createInformer<Autoscaler>({ ...common, resource: RESOURCES.horizontalPodAutoscalers, onEvent: autoscalerChanged });
  const scaledObjects = createInformer<Autoscaler>({ ...common, resource: RESOURCES.scaledObjects, optional: true, onEvent: autoscalerChanged });
  const informers = { appServiceGroups: groups, deployments, pods, services, ingresses, configMaps, horizontalPodAutoscalers: hpas, scaledObjects };
  const informerStats = () => Object.fromEntries(Object.entries(informers).map(([name, informer]) => [name, { ...informer.stats }]));
  if (options.registry) registerInformerMetrics(options.registry, informerStats);

  function groupsUsing(deployment: Pick<Deployment, 'metadata'>): string[] {
    return groups
      .list()
      .filter((g) => g.metadata.namespace === deployment.metadata.namespace && g.spec.deploymentName === deployment.metadata.name)
      .map(objectKey);
  }

  function groupsOfPod(pod: Pod): string[] {
    return groups
      .list()
      .filter((g) => {
        if (g.metadata.namespace !== pod.metadata.namespace) return false;
        const deployment = deployments.get(g.metadata.namespace, g.spec.deploymentName);
        return deployment !== undefined && matchesSelector(deployment.spec.selector, pod.metadata.labels);
      })
      .map(objectKey);
  }

  /** Someone else changed or deleted what we applied: apply again. Our own writes are ignored. */
  function ownedObjectChanged(kind: 'Service' | 'Ingress' | 'ConfigMap', event: InformerEvent<KubeObject>): void {
    const owner = event.object.metadata.ownerReferences?.find((o) => o.controller && o.kind === KIND);
    if (!owner) return;
    const key = `${event.object.metadata.namespace}/${owner.name}`;
    const state = states.get(key);
    if (!state) return;
    if (event.type === 'deleted' || event.object.metadata.resourceVersion !== state.appliedVersions[ownedKey(kind, event.object.metadata.name)]) {
      state.appliedHash = undefined;
      enqueue(key);
    }
  }

  for (const informer of Object.values(informers)) informer.start();
  const syncTimeoutMs = options.syncTimeoutMs ?? 60_000;
  try {
    // Acting on half-filled caches would, e.g., report a Deployment as missing.
    await Promise.all(Object.values(informers).map((i) => i.waitForSync(syncTimeoutMs)));
  } catch (error) {
    for (const informer of Object.values(informers)) informer.stop();
    throw error;
  }

  const unsubscribe = bus.subscribe(SUBJECTS.appLoadAll, (data, subject) => {
    const accepted = acceptLoadReport(subject, data, options.membershipKey);
    if ('ignored' in accepted) {
      log.debug({ subject, reason: accepted.ignored }, 'ignoring a load report');
      return;
    }
    metrics?.loadReports.inc();
    const { before, after } = loads.record(accepted.report, Date.now());
    if (!queue) return;
    for (const [key, state] of states) {
      if (!state.pods.includes(after.pod)) continue;
      const [ns, name] = key.split('/') as [string, string];
      const group = groups.get(ns, name);
      if (group && isSignificantChange(before, after, group.spec.target)) queue.add(key);
    }
  });

  const context: ReconcileContext = {
    api,
    groups,
    deployments,
    pods,
    ingresses,
    services,
    configMaps,
    autoscalers: { hpas, scaledObjects },
    loads,
    states,
    log,
    bus,
    metrics,
    statusLoadIntervalMs: options.statusLoadIntervalMs,
  };

  function tick(): void {
    loads.prune(Date.now());
    for (const group of groups.list()) {
      const key = objectKey(group);
      // A key waiting for its retry keeps its backoff; events still add it at once.
      if (queue && !queue.isDelayed(key)) queue.add(key);
    }
  }

  const election = startLeaderElection({
    client,
    namespace: options.leaseNamespace,
    name: options.leaseName ?? 'evshare-operator',
    identity,
    leaseDurationMs: options.leaseDurationMs,
    renewDeadlineMs: options.renewDeadlineMs,
    retryPeriodMs: options.retryPeriodMs,
    log,
    onStartedLeading() {
      metrics?.leader.set(1);
      queue = createWorkQueue({
        concurrency: 4,
        process: async (key) => {
          const end = metrics?.reconcileSeconds.startTimer();
          try {
            await reconcileGroup(context, key);
          } finally {
            end?.();
          }
        },
        onError: (key, error, failures, retryInMs) => {
          metrics?.reconcileErrors.inc({ namespace: key.split('/')[0], group: key.split('/')[1] });
          log.warn({ err: error, group: key, failures, retryInMs }, 'reconcile failed');
        },
      });
      tick();
      ticker = setInterval(tick, options.evaluationIntervalMs ?? 1_000);
    },
    onStoppedLeading() {
      metrics?.leader.set(0);
      clearInterval(ticker);
      const stopping = queue;
      queue = undefined;
      // The next leader starts from its own history (which holds scale-downs for a window).
      states.clear();
      draining = stopping?.shutDown() ?? Promise.resolve();
    },
  });

  return {
    isLeader: () => election.isLeader(),
    informerStats,
    async stop() {
      await election.stop();
      await draining;
      unsubscribe();
      for (const informer of Object.values(informers)) informer.stop();
    },
  };
}
