import type { KubeObject } from '../kube/resources';

/**
 * Another autoscaler on the same Deployment would fight the operator over spec.replicas (each
 * undoing the other's patch every few seconds), so the operator refuses to scale and says why.
 * An HPA (autoscaling/v2) and a KEDA ScaledObject (keda.sh/v1alpha1, which drives an HPA of its
 * own) both name their target in spec.scaleTargetRef; KEDA defaults kind to Deployment and
 * apiVersion to apps/v1.
 */
export interface ScaleTargetRef {
  apiVersion?: string;
  kind?: string;
  name: string;
}

export interface Autoscaler extends KubeObject {
  spec?: { scaleTargetRef?: ScaleTargetRef };
}

function targetsDeployment(ref: ScaleTargetRef | undefined, name: string): boolean {
  if (!ref || ref.name !== name) return false;
  if ((ref.kind ?? 'Deployment') !== 'Deployment') return false;
  const group = (ref.apiVersion ?? 'apps/v1').split('/')[0];
  return group === 'apps' || group === 'extensions';
}

/** "HorizontalPodAutoscaler x", "ScaledObject y": the autoscalers in `namespace` aimed at the Deployment. */
export function conflictingAutoscalers(
  namespace: string,
  deploymentName: string,
  found: { hpas: readonly Autoscaler[]; scaledObjects: readonly Autoscaler[] },
): string[] {
  const named = (kind: string, list: readonly Autoscaler[]) =>
    list
      .filter((a) => a.metadata.namespace === namespace && !a.metadata.deletionTimestamp && targetsDeployment(a.spec?.scaleTargetRef, deploymentName))
      .map((a) => `${kind} ${a.metadata.name}`)
      .sort();
  return [...named('HorizontalPodAutoscaler', found.hpas), ...named('ScaledObject', found.scaledObjects)];
}
