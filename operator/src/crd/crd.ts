import yaml from 'js-yaml';
import {
  DEFAULT_AFFINITY,
  DEFAULT_BEHAVIOR,
  DEFAULT_FALLBACK_AFTER_SECONDS,
  DEFAULT_HAPROXY,
  DEFAULT_INGRESS_PATH,
  DEFAULT_MIN_REPLICAS,
  DEFAULT_SERVICE,
} from './defaults';
import { API_GROUP, API_VERSION, KIND, PLURAL, SHORT_NAMES, SINGULAR, type ScalingRules } from './types';

/**
 * The AppServiceGroup CustomResourceDefinition, the one source of truth: the YAML in
 * `operator/crd/` (copied into the chart's `crds/`) is generated from it by
 * `npm run crd -w operator`, and a unit test fails when the two differ.
 * Validation lives in the schema so `kubectl apply` refuses a bad object with a message that
 * names the field; cross-field rules are CEL rules with their own messages.
 */
type Schema = Record<string, unknown>;

/** The group names its Service, and Service names must be DNS-1035 labels. */
const DNS_1035_LABEL = '^[a-z]([-a-z0-9]*[a-z0-9])?$';
export const DNS_SUBDOMAIN = '^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$';
/** A path HAProxy's configuration can hold unquoted (no spaces, quotes or `#`). */
export const HAPROXY_PATH = '^/[A-Za-z0-9._~/-]*$';
/** A word HAProxy's configuration can hold unquoted (the cookie name with spec.haproxy). */
export const HAPROXY_TOKEN = '^[A-Za-z0-9_.-]+$';
const HOSTNAME = '^(\\*\\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$';
/** RFC 6265 cookie-name token characters. */
const COOKIE_NAME = "^[!#$%&'*+.^_`|~0-9A-Za-z-]+$";

function scalingRules(direction: 'up' | 'down', defaults: ScalingRules): Schema {
  return {
    type: 'object',
    description: `How fast to scale ${direction}.`,
    default: {},
    properties: {
      stabilizationWindowSeconds: {
        type: 'integer',
        format: 'int32',
        minimum: 0,
        maximum: 3600,
        default: defaults.stabilizationWindowSeconds,
        description:
          direction === 'up'
            ? 'Scale up only to the smallest recommendation of this window (0: at once).'
            : 'Scale down only to the largest recommendation of this window.',
      },
      selectPolicy: {
        type: 'string',
        enum: ['Max', 'Min', 'Disabled'],
        default: defaults.selectPolicy,
        description: `Max: the policy allowing the biggest change wins; Min: the smallest; Disabled: never scale ${direction}.`,
      },
      policies: {
        type: 'array',
        'x-kubernetes-list-type': 'atomic',
        maxItems: 10,
        default: defaults.policies,
        description: 'As the HPA: each bounds the change within its last periodSeconds, counting the scale events already made in that period.',
        items: {
          type: 'object',
          required: ['type', 'value', 'periodSeconds'],
          properties: {
            type: { type: 'string', enum: ['Pods', 'Percent'] },
            value: { type: 'integer', format: 'int32', minimum: 1, description: 'Pods, or percent of the replicas at the start of the period.' },
            periodSeconds: { type: 'integer', format: 'int32', minimum: 1, maximum: 1800 },
          },
        },
      },
    },
  };
}

const condition: Schema = {
  type: 'object',
  required: ['type', 'status', 'reason', 'message', 'lastTransitionTime'],
  properties: {
    type: { type: 'string', enum: ['Ready', 'ScalingActive', 'ScalingLimited', 'Degraded'] },
    status: { type: 'string', enum: ['True', 'False', 'Unknown'] },
    reason: { type: 'string', maxLength: 1024 },
    message: { type: 'string', maxLength: 32768 },
    lastTransitionTime: { type: 'string', format: 'date-time' },
    observedGeneration: { type: 'integer', format: 'int64', minimum: 0 },
  },
};

const spec: Schema = {
  type: 'object',
  description: 'The APP Deployment this group scales by load, and how clients reach it.',
  required: ['deploymentName', 'maxReplicas', 'target'],
  'x-kubernetes-validations': [
    { rule: 'self.minReplicas <= self.maxReplicas', message: 'minReplicas must not be greater than maxReplicas', fieldPath: '.minReplicas' },
    {
      rule: "!has(self.ingress) || self.ingress.controller != 'traefik' || self.affinity.mode == 'cookie'",
      message: 'Traefik cannot pin clients by address through an Ingress: with ingress.controller traefik, set affinity.mode to cookie',
      fieldPath: '.affinity.mode',
    },
    {
      rule: `!has(self.haproxy) || self.affinity.mode != 'cookie' || self.affinity.cookieName.matches('${HAPROXY_TOKEN}')`,
      message: 'HAProxy configuration holds the cookie name unquoted: with haproxy, use letters, digits, ".", "_" and "-"',
      fieldPath: '.affinity.cookieName',
    },
  ],
  properties: {
    deploymentName: {
      type: 'string',
      minLength: 1,
      maxLength: 253,
      pattern: DNS_SUBDOMAIN,
      description: 'The APP Deployment (same namespace) whose replicas the operator sets.',
    },
    minReplicas: {
      type: 'integer',
      format: 'int32',
      minimum: 1,
      default: DEFAULT_MIN_REPLICAS,
      description: 'Never fewer pods (at least 1: load reports need a pod).',
    },
    maxReplicas: { type: 'integer', format: 'int32', minimum: 1, maximum: 1000, description: 'Never more pods.' },
    target: {
      type: 'object',
      description: 'The load per pod to aim for; with several targets the one needing the most pods wins.',
      required: ['inflightPerPod'],
      properties: {
        inflightPerPod: { type: 'number', exclusiveMinimum: true, minimum: 0, description: 'Requests in flight per pod.' },
        p95LatencyMs: { type: 'number', exclusiveMinimum: true, minimum: 0, description: 'p95 request latency per pod, in milliseconds.' },
        eventLoopUtilization: { type: 'number', exclusiveMinimum: true, minimum: 0, maximum: 1, description: 'Event-loop utilization per pod, 0..1.' },
      },
    },
    behavior: {
      type: 'object',
      default: {},
      description: 'Stabilization windows and scaling policies per period, as the HPA v2 behavior (defaults: up at once, down after 60 s).',
      properties: { scaleUp: scalingRules('up', DEFAULT_BEHAVIOR.scaleUp), scaleDown: scalingRules('down', DEFAULT_BEHAVIOR.scaleDown) },
    },
    fallback: {
      type: 'object',
      description:
        "As KEDA's fallback: when ready pods send no load report for afterSeconds, set the replicas to this count (within min..max). Without it the replicas stay as they are.",
      required: ['replicas'],
      properties: {
        replicas: { type: 'integer', format: 'int32', minimum: 1 },
        afterSeconds: { type: 'integer', format: 'int32', minimum: 1, maximum: 3600, default: DEFAULT_FALLBACK_AFTER_SECONDS },
      },
    },
    affinity: {
      type: 'object',
      default: {},
      description: 'Session affinity: a client keeps reaching the same APP pod.',
      properties: {
        mode: {
          type: 'string',
          enum: ['clientIP', 'cookie'],
          default: DEFAULT_AFFINITY.mode,
          description: 'Pin by client address, or by a cookie the ingress sets.',
        },
        timeoutSeconds: {
          type: 'integer',
          format: 'int32',
          minimum: 1,
          maximum: 86400,
          default: DEFAULT_AFFINITY.timeoutSeconds,
          description: 'How long a client stays pinned (ClientIP timeout or cookie max age).',
        },
        cookieName: {
          type: 'string',
          minLength: 1,
          maxLength: 64,
          pattern: COOKIE_NAME,
          default: DEFAULT_AFFINITY.cookieName,
          description: 'Cookie name in cookie mode.',
        },
      },
    },
    service: {
      type: 'object',
      default: {},
      description: 'The Service the operator creates for the group (named like the group).',
      properties: {
        port: { type: 'integer', format: 'int32', minimum: 1, maximum: 65535, default: DEFAULT_SERVICE.port },
        targetPort: { 'x-kubernetes-int-or-string': true, default: DEFAULT_SERVICE.targetPort, description: 'Container port number or name.' },
      },
    },
    ingress: {
      type: 'object',
      description: 'The Ingress the operator creates for the group (named like the group); none when absent.',
      required: ['controller'],
      properties: {
        controller: {
          type: 'string',
          enum: ['ingress-nginx', 'haproxy', 'traefik'],
          description: 'Which ingress controller reads the Ingress: affinity annotations differ per controller.',
        },
        className: { type: 'string', maxLength: 253, pattern: DNS_SUBDOMAIN, description: 'spec.ingressClassName.' },
        host: { type: 'string', maxLength: 253, pattern: HOSTNAME },
        tlsSecretName: { type: 'string', maxLength: 253, pattern: DNS_SUBDOMAIN, description: 'TLS certificate Secret; TLS is off when absent.' },
        path: { type: 'string', pattern: '^/', default: DEFAULT_INGRESS_PATH, description: 'Path prefix routed to the group.' },
      },
    },
    haproxy: {
      type: 'object',
      description:
        "HAProxy as the group's data plane: the operator renders the backend into ConfigMap <name>-haproxy (key backend.cfg) and the headless Service <name>-pods whose DNS records list the ready pods; none when absent.",
      properties: {
        hashBalanceFactor: {
          type: 'integer',
          format: 'int32',
          minimum: 0,
          maximum: 1000,
          default: DEFAULT_HAPROXY.hashBalanceFactor,
          description: 'Bounded load: no pod gets more than this percentage of the average concurrent requests; 0 turns the bound off.',
          'x-kubernetes-validations': [{ rule: 'self == 0 || self > 100', message: 'hashBalanceFactor is 0 (off) or a percentage above 100' }],
        },
        agentPort: {
          type: 'integer',
          format: 'int32',
          minimum: 1,
          maximum: 65535,
          default: DEFAULT_HAPROXY.agentPort,
          description: "The APP pods' agent-check port (LOAD_AGENT_PORT): weight, maxconn and drain from each pod's own load.",
        },
        checkPath: { type: 'string', pattern: HAPROXY_PATH, maxLength: 256, default: DEFAULT_HAPROXY.checkPath, description: 'HTTP health check path.' },
        queueTimeoutSeconds: {
          type: 'integer',
          format: 'int32',
          minimum: 1,
          maximum: 120,
          default: DEFAULT_HAPROXY.queueTimeoutSeconds,
          description: 'Longest wait in the queue for a free pod before a 503 with Retry-After.',
        },
        clusterDomain: {
          type: 'string',
          maxLength: 253,
          pattern: DNS_SUBDOMAIN,
          default: DEFAULT_HAPROXY.clusterDomain,
          description: "The cluster's DNS domain.",
        },
      },
    },
  },
};

const status: Schema = {
  type: 'object',
  properties: {
    observedGeneration: { type: 'integer', format: 'int64' },
    replicas: { type: 'integer', format: 'int32', description: "The Deployment's replicas as last seen." },
    readyReplicas: { type: 'integer', format: 'int32' },
    desiredReplicas: { type: 'integer', format: 'int32', description: 'The last scaling decision.' },
    reportingPods: { type: 'integer', format: 'int32', description: 'Pods with a fresh load report.' },
    loadPerPod: { type: 'number', description: 'Mean requests in flight per reporting pod.' },
    lastScaleTime: { type: 'string', format: 'date-time' },
    selector: { type: 'string', description: "The Deployment's pod selector." },
    conditions: { type: 'array', 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['type'], items: condition },
  },
};

export function appServiceGroupCrd(): Record<string, unknown> {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${PLURAL}.${API_GROUP}`, labels: { 'app.kubernetes.io/part-of': 'evshare' } },
    spec: {
      group: API_GROUP,
      scope: 'Namespaced',
      names: { kind: KIND, listKind: `${KIND}List`, plural: PLURAL, singular: SINGULAR, shortNames: SHORT_NAMES, categories: ['evshare'] },
      versions: [
        {
          name: API_VERSION,
          served: true,
          storage: true,
          subresources: { status: {} },
          additionalPrinterColumns: [
            { name: 'Deployment', type: 'string', jsonPath: '.spec.deploymentName', priority: 1 },
            { name: 'Min', type: 'integer', jsonPath: '.spec.minReplicas', priority: 1 },
            { name: 'Max', type: 'integer', jsonPath: '.spec.maxReplicas', priority: 1 },
            { name: 'Desired', type: 'integer', jsonPath: '.status.desiredReplicas' },
            { name: 'Current', type: 'integer', jsonPath: '.status.replicas' },
            { name: 'Load/pod', type: 'number', jsonPath: '.status.loadPerPod', description: 'Mean requests in flight per reporting pod' },
            { name: 'Target', type: 'number', jsonPath: '.spec.target.inflightPerPod', priority: 1 },
            { name: 'Affinity', type: 'string', jsonPath: '.spec.affinity.mode' },
            { name: 'Ready', type: 'string', jsonPath: '.status.conditions[?(@.type=="Ready")].status' },
            { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
          ],
          schema: {
            openAPIV3Schema: {
              type: 'object',
              description:
                'AppServiceGroup: the APP service cluster of evshare, scaled by the load its pods report and reached through a session-affinity ingress.',
              required: ['spec'],
              properties: {
                apiVersion: { type: 'string' },
                kind: { type: 'string' },
                metadata: { type: 'object', properties: { name: { type: 'string', maxLength: 63, pattern: DNS_1035_LABEL } } },
                spec,
                status,
              },
            },
          },
        },
      ],
    },
  };
}

export const CRD_FILE_HEADER = '# Generated from operator/src/crd/crd.ts by `npm run crd -w operator`; do not edit.\n';

export function appServiceGroupCrdYaml(): string {
  return CRD_FILE_HEADER + yaml.dump(appServiceGroupCrd(), { lineWidth: -1, noRefs: true });
}
