import { DNS_SUBDOMAIN, HAPROXY_PATH, HAPROXY_TOKEN } from '../crd/crd';
import type { HaproxySpec, ResolvedSpec } from '../crd/types';
import { metadata, type ConfigMapManifest, type GroupRef, type Manifest } from './manifests';

/**
 * HAProxy as the APP group's data plane (spec.haproxy), as pure functions of the spec:
 *
 * - a headless Service `<group>-pods` whose SRV records list the ready APP pods, which HAProxy
 *   resolves itself (`server-template`): pods come and go without a reload;
 * - a ConfigMap `<group>-haproxy` whose `backend.cfg` holds the group's backend: consistent hash
 *   on the client address with bounded load (`hash-balance-factor`), an HTTP health check, and
 *   the agent check through which every pod sets its own weight, maxconn and drain state
 *   (services/app/src/agent.ts). The chart's HAProxy pods load it after their own haproxy.cfg
 *   (global, defaults, the frontend that routes to the backend named like the group) and reload
 *   without dropping connections when it changes.
 *
 * Everything written into the configuration is a number or a string the CRD schema restricts to
 * characters HAProxy reads unquoted; `haproxyConfigFor` checks again for objects that bypassed it.
 */
export const HAPROXY_CONFIG_KEY = 'backend.cfg';

export const podsServiceName = (group: string) => `${group}-pods`;
export const haproxyConfigMapName = (group: string) => `${group}-haproxy`;

/** The headless Service, or null without spec.haproxy. */
export function podsServiceFor(group: GroupRef, spec: ResolvedSpec, podSelector: Record<string, string>): Manifest | null {
  if (!spec.haproxy) return null;
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: metadata(group, {}, podsServiceName(group.name)),
    spec: {
      clusterIP: 'None',
      selector: podSelector,
      // Only ready pods get records: readiness decides who HAProxy may choose.
      publishNotReadyAddresses: false,
      ports: [{ name: 'http', protocol: 'TCP', port: spec.service.port, targetPort: spec.service.targetPort }],
    },
  };
}

/** The ConfigMap with the group's HAProxy backend, or null without spec.haproxy. */
export function haproxyConfigMapFor(group: GroupRef, spec: ResolvedSpec): ConfigMapManifest | null {
  if (!spec.haproxy) return null;
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: metadata(group, {}, haproxyConfigMapName(group.name)),
    data: { [HAPROXY_CONFIG_KEY]: haproxyConfigFor(group, spec, spec.haproxy) },
  };
}

const SAFE_TOKEN = new RegExp(HAPROXY_TOKEN);
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const DNS_NAME = new RegExp(DNS_SUBDOMAIN);
const PATH = new RegExp(HAPROXY_PATH);

function checked(what: string, value: string, pattern: RegExp): string {
  if (!pattern.test(value)) throw new Error(`${what} ${JSON.stringify(value)} cannot be written into HAProxy's configuration`);
  return value;
}

function integer(what: string, value: number, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max) throw new Error(`${what} must be an integer in ${min}..${max}, not ${value}`);
  return value;
}

export function haproxyConfigFor(group: GroupRef, spec: ResolvedSpec, haproxy: HaproxySpec): string {
  const name = checked('the group name', group.name, DNS_LABEL);
  // The headless Service's name is a DNS label too.
  checked('the Service name', podsServiceName(name), DNS_LABEL);
  const namespace = checked('the namespace', group.namespace, DNS_LABEL);
  const domain = checked('clusterDomain', haproxy.clusterDomain, DNS_NAME);
  const checkPath = checked('checkPath', haproxy.checkPath, PATH);
  const factor = integer('hashBalanceFactor', haproxy.hashBalanceFactor, 0, 1000);
  if (factor !== 0 && factor <= 100) throw new Error(`hashBalanceFactor must be 0 or above 100, not ${factor}`);
  const agentPort = integer('agentPort', haproxy.agentPort, 1, 65535);
  const queueSeconds = integer('queueTimeoutSeconds', haproxy.queueTimeoutSeconds, 1, 120);
  const slots = integer('maxReplicas', spec.maxReplicas, 1, 1000);
  const cookie = spec.affinity.mode === 'cookie';
  const lines = [
    `# Rendered by evshare-operator from AppServiceGroup ${namespace}/${name}; changes made here are overwritten.`,
    `resolvers ${name}`,
    '  parse-resolv-conf',
    '  accepted_payload_size 8192',
    // Resolve every second and drop a pod as soon as a valid answer no longer lists it (it is
    // terminating). A failed or late answer (a busy DNS server) keeps the last valid one for 10 s:
    // with a shorter hold every server goes to maintenance at once and members get 503s.
    '  timeout resolve 1s',
    '  timeout retry 1s',
    '  resolve_retries 3',
    '  hold valid 10s',
    '  hold timeout 10s',
    '  hold refused 10s',
    '  hold other 10s',
    '  hold obsolete 0s',
    '',
    `backend ${name}`,
    '  mode http',
    // The patent's rule: a member's address picks its APP pod, and keeps it while the pod lives.
    '  balance source',
    '  hash-type consistent',
    ...(factor > 0 ? [`  hash-balance-factor ${factor}`] : []),
    ...(cookie
      ? [
          `  cookie ${checked('cookieName', spec.affinity.cookieName, SAFE_TOKEN)} insert indirect nocache httponly dynamic maxidle ${integer('timeoutSeconds', spec.affinity.timeoutSeconds, 1, 86_400)}s`,
          `  dynamic-cookie-key ${checked('the group uid', group.uid || name, SAFE_TOKEN)}`,
        ]
      : []),
    '  option httpchk',
    `  http-check send meth GET uri ${checkPath}`,
    '  http-check expect status 200',
    // A request that reached a pod which then vanished is sent to another pod only if replaying
    // it cannot change anything; any request whose connection failed may be.
    '  retries 2',
    '  option redispatch 1',
    '  retry-on conn-failure empty-response',
    '  http-request disable-l7-retry unless { method GET HEAD OPTIONS }',
    `  timeout queue ${queueSeconds}s`,
    // The agent's percentages apply to this weight: with HAProxy's default of 1, 50 % and 25 %
    // would round back to 1 and the pods' load would change nothing.
    `  default-server check inter 1s fall 2 rise 1 weight 100 agent-check agent-port ${agentPort} agent-inter 2s resolvers ${name} init-addr none`,
    `  server-template app 1-${slots} _http._tcp.${podsServiceName(name)}.${namespace}.svc.${domain}`,
    '',
  ];
  return lines.join('\n');
}
