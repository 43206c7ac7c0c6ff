import type { AffinitySpec, AppServiceGroupSpec, ResolvedSpec, ScalingBehavior, ServicePortSpec } from './types';

/**
 * The defaults, in one place: the CRD schema publishes them (so `kubectl get -o yaml` shows the
 * effective values) and `resolveSpec` applies them to objects that bypassed the schema.
 * Scale-up is immediate and may double (or add 4 pods) per decision; scale-down waits for a
 * 60 s window of lower recommendations and removes at most half per decision.
 */
export const DEFAULT_MIN_REPLICAS = 1;

export const DEFAULT_BEHAVIOR: ScalingBehavior = {
  scaleUp: { stabilizationWindowSeconds: 0, maxStepPods: 4, maxStepPercent: 100 },
  scaleDown: { stabilizationWindowSeconds: 60, maxStepPods: 1, maxStepPercent: 50 },
};

/** Three hours is the Service ClientIP default in Kubernetes too. */
export const DEFAULT_AFFINITY: AffinitySpec = { mode: 'clientIP', timeoutSeconds: 10_800, cookieName: 'EVSHARE_APP' };

export const DEFAULT_SERVICE: ServicePortSpec = { port: 80, targetPort: 'http' };

export const DEFAULT_INGRESS_PATH = '/';

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
    affinity: { ...DEFAULT_AFFINITY, ...spec.affinity },
    service: { ...DEFAULT_SERVICE, ...spec.service },
    ingress: spec.ingress ? { path: DEFAULT_INGRESS_PATH, ...spec.ingress } : null,
  };
}
