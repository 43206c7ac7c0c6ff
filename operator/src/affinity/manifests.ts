import { GROUP_API_VERSION, KIND, type OwnerReference, type ResolvedSpec } from '../crd/types';

/**
 * The Service and Ingress an AppServiceGroup owns, as pure functions of its spec, so what the
 * operator server-side-applies is exactly what these tables test. Affinity per controller:
 *
 * | controller    | clientIP                                  | cookie                                           | new clients go to      |
 * |---------------|-------------------------------------------|--------------------------------------------------|------------------------|
 * | ingress-nginx | upstream-hash-by: $remote_addr            | affinity: cookie, affinity-mode: balanced        | consistent hash        |
 * | haproxy       | balance-algorithm: source                 | affinity: cookie + balance-algorithm: leastconn  | fewest connections     |
 * | traefik       | (none: refused by the CRD)                | Service annotations service.sticky.cookie.*      | weighted round robin   |
 *
 * Only HAProxy Ingress is sticky and load-aware at once (a cookie pins known clients, leastconn
 * places new ones); hashing (nginx, HAProxy `source`) and Traefik's round robin ignore load.
 * The Service itself gets `sessionAffinity: ClientIP` in clientIP mode for in-cluster callers
 * (ingress controllers route to the pods directly and do not use it).
 */
export const MANAGED_BY = 'evshare-operator';
export const GROUP_LABEL = 'evshare.io/app-service-group';

export interface GroupRef {
  name: string;
  namespace: string;
  uid: string;
}

export interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace: string;
    labels: Record<string, string>;
    annotations?: Record<string, string>;
    ownerReferences: OwnerReference[];
  };
  spec: Record<string, unknown>;
}

/** A ConfigMap has data, not a spec. */
export interface ConfigMapManifest {
  apiVersion: 'v1';
  kind: 'ConfigMap';
  metadata: Manifest['metadata'];
  data: Record<string, string>;
}

/** Everything the operator applies for a group. */
export type OwnedManifest = Manifest | ConfigMapManifest;

export function ownerReference(group: GroupRef): OwnerReference {
  return { apiVersion: GROUP_API_VERSION, kind: KIND, name: group.name, uid: group.uid, controller: true, blockOwnerDeletion: true };
}

/** An owned object's metadata: named like the group unless `name` says otherwise. */
export function metadata(group: GroupRef, annotations: Record<string, string>, name = group.name): Manifest['metadata'] {
  return {
    name,
    namespace: group.namespace,
    labels: { 'app.kubernetes.io/managed-by': MANAGED_BY, 'app.kubernetes.io/part-of': 'evshare', [GROUP_LABEL]: group.name },
    ...(Object.keys(annotations).length > 0 ? { annotations } : {}),
    ownerReferences: [ownerReference(group)],
  };
}

/** `podSelector` is the Deployment's spec.selector.matchLabels. */
export function serviceFor(group: GroupRef, spec: ResolvedSpec, podSelector: Record<string, string>): Manifest {
  const { affinity, ingress } = spec;
  const annotations: Record<string, string> = {};
  if (ingress?.controller === 'traefik' && affinity.mode === 'cookie') {
    const prefix = 'traefik.ingress.kubernetes.io/service.sticky.cookie';
    annotations[prefix] = 'true';
    annotations[`${prefix}.name`] = affinity.cookieName;
    annotations[`${prefix}.httponly`] = 'true';
    annotations[`${prefix}.samesite`] = 'lax';
    annotations[`${prefix}.maxage`] = String(affinity.timeoutSeconds);
    if (ingress.tlsSecretName) annotations[`${prefix}.secure`] = 'true';
  }
  const clientIP = affinity.mode === 'clientIP';
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: metadata(group, annotations),
    spec: {
      type: 'ClusterIP',
      selector: podSelector,
      ports: [{ name: 'http', protocol: 'TCP', port: spec.service.port, targetPort: spec.service.targetPort }],
      sessionAffinity: clientIP ? 'ClientIP' : 'None',
      ...(clientIP ? { sessionAffinityConfig: { clientIP: { timeoutSeconds: affinity.timeoutSeconds } } } : {}),
    },
  };
}

/** The Ingress, or null when the spec asks for none. */
export function ingressFor(group: GroupRef, spec: ResolvedSpec): Manifest | null {
  const { ingress, affinity } = spec;
  if (!ingress) return null;
  const tls = Boolean(ingress.tlsSecretName);
  const annotations = ingressAnnotations(ingress.controller, affinity.mode, affinity.cookieName, affinity.timeoutSeconds, tls);
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'Ingress',
    metadata: metadata(group, annotations),
    spec: {
      ...(ingress.className ? { ingressClassName: ingress.className } : {}),
      ...(tls ? { tls: [{ ...(ingress.host ? { hosts: [ingress.host] } : {}), secretName: ingress.tlsSecretName }] } : {}),
      rules: [
        {
          ...(ingress.host ? { host: ingress.host } : {}),
          http: {
            paths: [{ path: ingress.path, pathType: 'Prefix', backend: { service: { name: group.name, port: { number: spec.service.port } } } }],
          },
        },
      ],
    },
  };
}

function ingressAnnotations(
  controller: NonNullable<ResolvedSpec['ingress']>['controller'],
  mode: ResolvedSpec['affinity']['mode'],
  cookieName: string,
  timeoutSeconds: number,
  tls: boolean,
): Record<string, string> {
  switch (controller) {
    case 'ingress-nginx': {
      const p = 'nginx.ingress.kubernetes.io';
      if (mode === 'clientIP') return { [`${p}/upstream-hash-by`]: '$remote_addr' };
      return {
        [`${p}/affinity`]: 'cookie',
        // "balanced" moves some sessions onto pods added by a scale-up; sessions live in Redis.
        [`${p}/affinity-mode`]: 'balanced',
        [`${p}/session-cookie-name`]: cookieName,
        [`${p}/session-cookie-max-age`]: String(timeoutSeconds),
        [`${p}/session-cookie-samesite`]: 'Lax',
        ...(tls ? { [`${p}/session-cookie-secure`]: 'true' } : {}),
      };
    }
    case 'haproxy': {
      const p = 'haproxy-ingress.github.io';
      if (mode === 'clientIP') return { [`${p}/balance-algorithm`]: 'source' };
      return {
        [`${p}/affinity`]: 'cookie',
        [`${p}/session-cookie-name`]: cookieName,
        [`${p}/session-cookie-strategy`]: 'insert',
        [`${p}/session-cookie-keywords`]: `indirect nocache httponly maxidle ${timeoutSeconds}`,
        [`${p}/balance-algorithm`]: 'leastconn',
      };
    }
    case 'traefik':
      if (mode === 'clientIP') throw new Error('traefik cannot pin clients by address through an Ingress; use affinity.mode: cookie');
      // Traefik's stickiness sits on the Service (see serviceFor); TLS must be switched on per router.
      return tls ? { 'traefik.ingress.kubernetes.io/router.tls': 'true' } : {};
  }
}
