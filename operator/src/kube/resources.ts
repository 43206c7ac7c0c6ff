import { API_GROUP, API_VERSION, PLURAL, type ObjectMeta } from '../crd/types';

/** The API resources the operator reads and writes, and the paths to them. */
export interface Resource {
  /** '' for the core group. */
  group: string;
  version: string;
  plural: string;
}

export const RESOURCES = {
  appServiceGroups: { group: API_GROUP, version: API_VERSION, plural: PLURAL },
  deployments: { group: 'apps', version: 'v1', plural: 'deployments' },
  pods: { group: '', version: 'v1', plural: 'pods' },
  services: { group: '', version: 'v1', plural: 'services' },
  configMaps: { group: '', version: 'v1', plural: 'configmaps' },
  ingresses: { group: 'networking.k8s.io', version: 'v1', plural: 'ingresses' },
  leases: { group: 'coordination.k8s.io', version: 'v1', plural: 'leases' },
  events: { group: 'events.k8s.io', version: 'v1', plural: 'events' },
  horizontalPodAutoscalers: { group: 'autoscaling', version: 'v2', plural: 'horizontalpodautoscalers' },
  scaledObjects: { group: 'keda.sh', version: 'v1alpha1', plural: 'scaledobjects' },
} as const satisfies Record<string, Resource>;

/** Collection path (no name) or object path; namespace undefined means all namespaces. */
export function resourcePath(resource: Resource, namespace?: string, name?: string, subresource?: string): string {
  const prefix = resource.group === '' ? `/api/${resource.version}` : `/apis/${resource.group}/${resource.version}`;
  const scope = namespace ? `/namespaces/${encodeURIComponent(namespace)}` : '';
  const object = name ? `/${encodeURIComponent(name)}${subresource ? `/${subresource}` : ''}` : '';
  return `${prefix}${scope}/${resource.plural}${object}`;
}

export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
}

export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: Array<{ key: string; operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist'; values?: string[] }>;
}

export interface Deployment extends KubeObject {
  spec: { replicas?: number; selector: LabelSelector };
  status?: { replicas?: number; readyReplicas?: number; availableReplicas?: number };
}

export interface Pod extends KubeObject {
  spec?: { nodeName?: string };
  status?: { phase?: string; conditions?: Array<{ type: string; status: string }> };
}

export function objectKey(object: KubeObject): string {
  return object.metadata.namespace ? `${object.metadata.namespace}/${object.metadata.name}` : object.metadata.name;
}

export function isPodReady(pod: Pod): boolean {
  return pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
}
