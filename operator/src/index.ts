/**
 * @evshare/operator: the AppServiceGroup operator, and the pure pieces other parts of evshare
 * reuse (the local actuator of `make run` scales APP processes with the same decision).
 */
export {
  decideReplicas,
  DEFAULT_TOLERANCE,
  type PodLoad,
  type Recommendation,
  type ScalingInput,
  type ScalingDecision,
  type ScalingReason,
  type ScalingLimit,
  type MetricReading,
} from './scaling/decision';
export { createLoadStore, loadKey, isSignificantChange, type LoadStore } from './scaling/load';
export { podDeletionCost, POD_DELETION_COST } from './scaling/deletion-cost';
export { scaleUpLimit, scaleDownLimit, type ScaleEvent } from './scaling/policies';
export { DEFAULT_BEHAVIOR, DEFAULT_AFFINITY, DEFAULT_MIN_REPLICAS, DEFAULT_SERVICE, resolveSpec } from './crd/defaults';
export * from './crd/types';
export { appServiceGroupCrd, appServiceGroupCrdYaml } from './crd/crd';
export { serviceFor, ingressFor, MANAGED_BY, type Manifest, type GroupRef } from './affinity/manifests';
export { startOperator, type Operator, type OperatorOptions } from './operator';
