import type { AffinitySpec, AppServiceGroupSpec, HaproxySpec, ResolvedSpec, ScalingBehavior, ServicePortSpec } from './types';

/**
 * The defaults, in one place: the CRD schema publishes them (so `kubectl get -o yaml` shows the
 * effective values) and `resolveSpec` applies them to objects that bypassed the schema.
 * Scale-up is immediate and may double (or add 4 pods, whichever is more) per 15 s, the HPA's
 * own default; scale-down waits for a 60 s window of lower recommendations and then removes at
 * most half (at least one pod) per 15 s.
 */
export const DEFAULT_MIN_REPLICAS = 1;

export const DEFAULT_BEHAVIOR: ScalingBehavior = {
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
};

export const DEFAULT_FALLBACK_AFTER_SECONDS = 30;

/** Three hours is the Service ClientIP default in Kubernetes too. */
export const DEFAULT_AFFINITY: AffinitySpec = { mode: 'clientIP', timeoutSeconds: 10_800, cookieName: 'EVSHARE_APP' };

export const DEFAULT_SERVICE: ServicePortSpec = { port: 80, targetPort: 'http' };

export const DEFAULT_INGRESS_PATH = '/';

/** 150: HAProxy's documentation calls 125-200 reasonable; the gateway bounds load at 1.5x too. */
export const DEFAULT_HAPROXY: HaproxySpec = {
  hashBalanceFactor: 150,
  agentPort: 8092,
  checkPath: '/readyz',
  queueTimeoutSeconds: 5,
  clusterDomain: 'cluster.local',
};

export function resolveSpec(spec: AppServiceGroupSpec): ResolvedSpec {
  return {
    deploymentName: spec.deploymentName,
    minReplicas: spec.minReplicas ?? DEFAULT_MIN_REPLICAS,
    maxReplicas: spec.maxReplicas,
    target: spec.target,
    behavior: {
      scaleUp: { ...DEFAULT_BEHAVIOR.scaleUp, ...spec.behavior?.scaleUp },
      scaleDown: { ...DEFAULT_BEHAVIOR.scaleDown, ...spec.behavior?.scaleDown },
    },
    fallback: spec.fallback ? { afterSeconds: DEFAULT_FALLBACK_AFTER_SECONDS, ...spec.fallback } : null,
    affinity: { ...DEFAULT_AFFINITY, ...spec.affinity },
    service: { ...DEFAULT_SERVICE, ...spec.service },
    ingress: spec.ingress ? { path: DEFAULT_INGRESS_PATH, ...spec.ingress } : null,
    haproxy: spec.haproxy ? { ...DEFAULT_HAPROXY, ...spec.haproxy } : null,
  };
}
