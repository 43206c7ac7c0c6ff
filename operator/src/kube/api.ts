import { randomBytes } from 'node:crypto';
import type { OwnedManifest } from '../affinity/manifests';
import { GROUP_API_VERSION, KIND, type AppServiceGroup, type AppServiceGroupStatus } from '../crd/types';
import { isNotFound, PATCH_TYPES, type KubeClient } from './client';
import { RESOURCES, resourcePath, type Resource } from './resources';
import { microTime } from './time';

/**
 * The writes the operator makes, as one narrow interface: the reconcile logic is tested with
 * a fake of it, the real one goes through the KubeClient.
 */
export interface GroupEvent {
  group: AppServiceGroup;
  type: 'Normal' | 'Warning';
  /** CamelCase, e.g. ScaleUp, ScaleFailed. */
  reason: string;
  /** What the operator did: Scale, Apply, Delete. */
  action: string;
  note: string;
}

export interface KubeApi {
  /** Server-side apply with the operator's field manager; returns the stored resourceVersion. */
  apply(manifest: OwnedManifest): Promise<string>;
  delete(kind: 'Service' | 'Ingress' | 'ConfigMap', namespace: string, name: string): Promise<void>;
  /** Sets spec.replicas through the Deployment's scale subresource. */
  scaleDeployment(namespace: string, name: string, replicas: number): Promise<void>;
  annotatePod(namespace: string, name: string, annotations: Record<string, string>): Promise<void>;
  /** Replaces the group's status through the status subresource. */
  writeStatus(namespace: string, name: string, status: AppServiceGroupStatus): Promise<void>;
  recordEvent(event: GroupEvent): Promise<void>;
}

export const FIELD_MANAGER = 'evshare-operator';
export const REPORTING_CONTROLLER = 'evshare.io/operator';

const STATUS_FIELDS: ReadonlyArray<keyof AppServiceGroupStatus> = [
  'observedGeneration',
  'replicas',
  'readyReplicas',
  'desiredReplicas',
  'reportingPods',
  'loadPerPod',
  'lastScaleTime',
  'selector',
  'conditions',
];

const KINDS: Record<string, Resource> = { Service: RESOURCES.services, Ingress: RESOURCES.ingresses, ConfigMap: RESOURCES.configMaps };

/**
 * `budgetMs` bounds every request (the leader's remaining renew deadline, so nothing it sends
 * can land after another instance may have taken over); at 0 nothing is sent.
 */
export function createKubeApi(client: KubeClient, reportingInstance: string, budgetMs: () => number = () => 30_000): KubeApi {
  const bounded = (what: string): number => {
    const left = budgetMs();
    if (left <= 0) throw new Error(`not sending ${what}: this instance no longer leads`);
    return left;
  };
  return {
    async apply(manifest) {
      const resource = KINDS[manifest.kind];
      if (!resource) throw new Error(`the operator does not apply ${manifest.kind}`);
      const stored = await client.request<{ metadata: { resourceVersion: string } }>(
        'PATCH',
        resourcePath(resource, manifest.metadata.namespace, manifest.metadata.name),
        // force: the operator owns these objects; a field someone else set is taken back.
        { query: { fieldManager: FIELD_MANAGER, force: true }, body: manifest, contentType: PATCH_TYPES.apply, timeoutMs: bounded(`apply ${manifest.kind}`) },
      );
      return stored.metadata.resourceVersion;
    },
    async delete(kind, namespace, name) {
      try {
        await client.request('DELETE', resourcePath(KINDS[kind]!, namespace, name), { timeoutMs: bounded(`delete ${kind}`) });
      } catch (error) {
        if (!isNotFound(error)) throw error;
      }
    },
    async scaleDeployment(namespace, name, replicas) {
      await client.request('PATCH', resourcePath(RESOURCES.deployments, namespace, name, 'scale'), {
        query: { fieldManager: FIELD_MANAGER },
        body: { spec: { replicas } },
        contentType: PATCH_TYPES.merge,
        timeoutMs: bounded('a scale'),
      });
    },
    async annotatePod(namespace, name, annotations) {
      await client.request('PATCH', resourcePath(RESOURCES.pods, namespace, name), {
        query: { fieldManager: FIELD_MANAGER },
        body: { metadata: { annotations } },
        contentType: PATCH_TYPES.merge,
        timeoutMs: bounded('a pod annotation'),
      });
    },
    async writeStatus(namespace, name, status) {
      // A JSON merge patch replaces the conditions list as a whole, which is what we want;
      // a field now unknown is sent as null, which removes it.
      const body = Object.fromEntries(STATUS_FIELDS.map((field) => [field, status[field] ?? null]));
      await client.request('PATCH', resourcePath(RESOURCES.appServiceGroups, namespace, name, 'status'), {
        query: { fieldManager: FIELD_MANAGER },
        body: { status: body },
        contentType: PATCH_TYPES.merge,
        timeoutMs: bounded('a status'),
      });
    },
    async recordEvent({ group, type, reason, action, note }) {
      const namespace = group.metadata.namespace!;
      await client.request('POST', resourcePath(RESOURCES.events, namespace), {
        timeoutMs: bounded('an event'),
        body: {
          apiVersion: 'events.k8s.io/v1',
          kind: 'Event',
          // The name scheme of client-go's recorder: the object's name, a dot, a unique hex suffix.
          metadata: { name: `${group.metadata.name}.${Date.now().toString(16)}${randomBytes(3).toString('hex')}`, namespace },
          eventTime: microTime(Date.now()),
          reportingController: REPORTING_CONTROLLER,
          reportingInstance,
          action,
          reason,
          type,
          note: note.slice(0, 1024),
          regarding: { apiVersion: GROUP_API_VERSION, kind: KIND, name: group.metadata.name, namespace, uid: group.metadata.uid },
        },
      });
    },
  };
}
