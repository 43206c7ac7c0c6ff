/** The AppServiceGroup custom resource: one APP Deployment, scaled by load and exposed with affinity. */
export const API_GROUP = 'evshare.io';
export const API_VERSION = 'v1alpha1';
export const KIND = 'AppServiceGroup';
export const PLURAL = 'appservicegroups';
export const SINGULAR = 'appservicegroup';
export const SHORT_NAMES = ['asg'];
export const GROUP_API_VERSION = `${API_GROUP}/${API_VERSION}`;

export type AffinityMode = 'clientIP' | 'cookie';
export type IngressControllerFlavour = 'ingress-nginx' | 'haproxy' | 'traefik';

/** Load per pod the group aims for; every target given is honoured (the largest need wins). */
export interface LoadTarget {
  /** Requests in flight per pod. */
  inflightPerPod: number;
  /** p95 request latency per pod, milliseconds. */
  p95LatencyMs?: number;
  /** Event-loop utilization per pod, 0..1. */
  eventLoopUtilization?: number;
}

/** As the HPA v2 `HPAScalingPolicy`: at most `value` pods (or percent) per `periodSeconds`. */
export interface ScalingPolicy {
  type: 'Pods' | 'Percent';
  value: number;
  periodSeconds: number;
}

/** Max: the policy allowing the biggest change wins; Min: the smallest; Disabled: no change this way. */
export type SelectPolicy = 'Max' | 'Min' | 'Disabled';

export interface ScalingRules {
  /** Recommendations of this long ago still count (up: the smallest wins, down: the largest). */
  stabilizationWindowSeconds: number;
  selectPolicy: SelectPolicy;
  policies: ScalingPolicy[];
}

/** KEDA-style: when the ready pods have sent no load report for this long, run this many. */
export interface FallbackSpec {
  replicas: number;
  afterSeconds: number;
}

export interface ScalingBehavior {
  scaleUp: ScalingRules;
  scaleDown: ScalingRules;
}

export interface AffinitySpec {
  mode: AffinityMode;
  /** How long a client stays pinned (Service ClientIP timeout, or cookie max age). */
  timeoutSeconds: number;
  cookieName: string;
}

export interface ServicePortSpec {
  port: number;
  /** Container port number or name on the APP pods. */
  targetPort: number | string;
}

export interface IngressSpec {
  controller: IngressControllerFlavour;
  className?: string;
  host?: string;
  tlsSecretName?: string;
  path: string;
}

/**
 * HAProxy as the group's data plane: the operator renders its backend (consistent hash on the
 * member address with bounded load, health and agent checks, servers found through a headless
 * Service's DNS records) into a ConfigMap that HAProxy pods load and reload.
 */
export interface HaproxySpec {
  /** `hash-balance-factor`: no pod gets more than this percentage of the average concurrent requests (0: unbounded). */
  hashBalanceFactor: number;
  /** Where each APP pod answers HAProxy's agent check (LOAD_AGENT_PORT): weight, maxconn, drain. */
  agentPort: number;
  /** HTTP health check of each pod. */
  checkPath: string;
  /** A request waits at most this long in HAProxy's queue for a free pod, then gets a 503 with Retry-After. */
  queueTimeoutSeconds: number;
  /** The cluster's DNS domain, for the headless Service's SRV records. */
  clusterDomain: string;
}

/** The spec as written by users; the API server fills the schema defaults in. */
export interface AppServiceGroupSpec {
  deploymentName: string;
  minReplicas?: number;
  maxReplicas: number;
  target: LoadTarget;
  behavior?: { scaleUp?: Partial<ScalingRules>; scaleDown?: Partial<ScalingRules> };
  fallback?: { replicas: number; afterSeconds?: number };
  affinity?: Partial<AffinitySpec>;
  service?: Partial<ServicePortSpec>;
  ingress?: Partial<IngressSpec> & { controller: IngressControllerFlavour };
  haproxy?: Partial<HaproxySpec>;
}

/** The spec with every default applied. */
export interface ResolvedSpec {
  deploymentName: string;
  minReplicas: number;
  maxReplicas: number;
  target: LoadTarget;
  behavior: ScalingBehavior;
  fallback: FallbackSpec | null;
  affinity: AffinitySpec;
  service: ServicePortSpec;
  ingress: IngressSpec | null;
  haproxy: HaproxySpec | null;
}

export type ConditionType = 'Ready' | 'ScalingActive' | 'ScalingLimited' | 'Degraded';

export interface Condition {
  type: ConditionType;
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message: string;
  lastTransitionTime: string;
  observedGeneration?: number;
}

export interface AppServiceGroupStatus {
  observedGeneration?: number;
  /** The Deployment's spec.replicas as last seen. */
  replicas?: number;
  readyReplicas?: number;
  desiredReplicas?: number;
  /** Pods whose load report is fresh. */
  reportingPods?: number;
  /** Mean requests in flight per reporting pod. */
  loadPerPod?: number;
  lastScaleTime?: string;
  /** The Deployment's pod selector, as a label-selector string. */
  selector?: string;
  conditions?: Condition[];
}

export interface ObjectMeta {
  name: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: OwnerReference[];
}

export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

export interface AppServiceGroup {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  spec: AppServiceGroupSpec;
  status?: AppServiceGroupStatus;
}
