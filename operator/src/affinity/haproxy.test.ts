import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { resolveSpec } from '../crd/defaults';
import type { AppServiceGroupSpec } from '../crd/types';
import { haproxyConfigFor, haproxyConfigMapFor, podsServiceFor } from './haproxy';

const group = { name: 'evshare-app', namespace: 'evshare', uid: '6f1c2d3e-0000-4000-8000-000000000001' };
const base: AppServiceGroupSpec = { deploymentName: 'evshare-app', maxReplicas: 6, target: { inflightPerPod: 20 }, haproxy: {} };
const render = (extra: Partial<AppServiceGroupSpec> = {}) => {
  const spec = resolveSpec({ ...base, ...extra });
  return haproxyConfigFor(group, spec, spec.haproxy!);
};

describe('HAProxy backend of a group', () => {
  it('hashes the client address over one server slot per possible pod, bounded, checked and fed by the agents', () => {
    expect(render().split('\n')).toEqual([
      '# Rendered by evshare-operator from AppServiceGroup evshare/evshare-app; changes made here are overwritten.',
      'resolvers evshare-app',
      '  parse-resolv-conf',
      '  accepted_payload_size 8192',
      '  timeout resolve 1s',
      '  timeout retry 1s',
      '  resolve_retries 3',
      '  hold valid 10s',
      '  hold timeout 10s',
      '  hold refused 10s',
      '  hold other 10s',
      '  hold obsolete 0s',
      '',
      'backend evshare-app',
      '  mode http',
      '  balance source',
      '  hash-type consistent',
      '  hash-balance-factor 150',
      '  option httpchk',
      '  http-check send meth GET uri /readyz',
      '  http-check expect status 200',
      '  retries 2',
      '  option redispatch 1',
      '  retry-on conn-failure empty-response',
      '  http-request disable-l7-retry unless { method GET HEAD OPTIONS }',
      '  timeout queue 5s',
      '  default-server check inter 1s fall 2 rise 1 weight 100 agent-check agent-port 8092 agent-inter 2s resolvers evshare-app init-addr none',
      '  server-template app 1-6 _http._tcp.evshare-app-pods.evshare.svc.cluster.local',
      '',
    ]);
  });

  it.each<[string, Partial<AppServiceGroupSpec>, RegExp, RegExp | null]>([
    ['bound off', { haproxy: { hashBalanceFactor: 0 } }, /balance source\n {2}hash-type consistent\n {2}option httpchk/, null],
    ['another bound', { haproxy: { hashBalanceFactor: 125 } }, /hash-balance-factor 125\n/, null],
    [
      'cookie affinity: a dynamic cookie per server, idle as long as the affinity',
      { affinity: { mode: 'cookie', cookieName: 'EVSHARE_APP', timeoutSeconds: 600 } },
      /cookie EVSHARE_APP insert indirect nocache httponly dynamic maxidle 600s\n {2}dynamic-cookie-key 6f1c2d3e-0000-4000-8000-000000000001\n/,
      null,
    ],
    ['client address: no cookie', {}, /balance source/, /cookie/],
    [
      'agent port, path, queue and domain',
      { haproxy: { agentPort: 9000, checkPath: '/healthz/ready', queueTimeoutSeconds: 2, clusterDomain: 'k8s.example' } },
      /uri \/healthz\/ready\n[^]*timeout queue 2s\n[^]*agent-port 9000 [^]*evshare-app-pods\.evshare\.svc\.k8s\.example\n/,
      null,
    ],
    ['slots follow maxReplicas', { maxReplicas: 40 }, /server-template app 1-40 /, null],
  ])('%s', (_, extra, present, absent) => {
    const config = render(extra);
    expect(config).toMatch(present);
    if (absent) expect(config).not.toMatch(absent);
  });

  it.each<[string, Partial<AppServiceGroupSpec>, RegExp]>([
    ['a factor of 100 or less', { haproxy: { hashBalanceFactor: 100 } }, /hashBalanceFactor must be 0 or above 100/],
    ['a path with a comment sign', { haproxy: { checkPath: '/readyz#x' } }, /checkPath "\/readyz#x" cannot be written/],
    ['a path with a space', { haproxy: { checkPath: '/a b' } }, /checkPath/],
    ['a cookie name HAProxy would cut', { affinity: { mode: 'cookie', cookieName: "a#b'c" } }, /cookieName/],
    ['a domain with a newline', { haproxy: { clusterDomain: 'cluster.local\nbackend x' } }, /clusterDomain/],
    ['a fractional port', { haproxy: { agentPort: 80.5 } }, /agentPort must be an integer/],
  ])('refuses %s', (_, extra, error) => {
    expect(() => render(extra)).toThrow(error);
  });

  it('never lets a spec value add a line or a comment to the configuration', () => {
    const lines = render().split('\n').length;
    fc.assert(
      fc.property(fc.string(), fc.string(), fc.string(), (checkPath, clusterDomain, cookieName) => {
        let config: string;
        try {
          config = render({ affinity: { mode: 'cookie', cookieName }, haproxy: { checkPath, clusterDomain } });
        } catch {
          return;
        }
        expect(config.split('\n')).toHaveLength(lines + 2);
        expect(config.split('\n').slice(1).join('\n')).not.toMatch(/[#"'\\]/);
      }),
      { seed: 2026, numRuns: 500 },
    );
  });

  it('refuses a group whose headless Service name would not be a DNS label', () => {
    const spec = resolveSpec(base);
    expect(() => haproxyConfigFor({ ...group, name: 'a'.repeat(60) }, spec, spec.haproxy!)).toThrow(/Service name/);
  });

  it('renders nothing without spec.haproxy', () => {
    const spec = resolveSpec({ ...base, haproxy: undefined });
    expect(podsServiceFor(group, spec, { app: 'x' })).toBeNull();
    expect(haproxyConfigMapFor(group, spec)).toBeNull();
  });

  it('lists only ready pods in the headless Service, on the APP port', () => {
    const spec = resolveSpec({ ...base, service: { port: 8082, targetPort: 'http' } });
    expect(podsServiceFor(group, spec, { app: 'x' })!.spec).toEqual({
      clusterIP: 'None',
      selector: { app: 'x' },
      publishNotReadyAddresses: false,
      ports: [{ name: 'http', protocol: 'TCP', port: 8082, targetPort: 'http' }],
    });
  });

  // HAProxy itself reads the rendered backend after a frontend that uses it (as the chart's).
  it('is a configuration HAProxy 2.6 accepts', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'evshare-haproxy-'));
    try {
      writeFileSync(
        path.join(dir, 'a.cfg'),
        'defaults\n  mode http\n  timeout connect 5s\n  timeout client 30s\n  timeout server 30s\nfrontend www\n  bind 127.0.0.1:18080\n  default_backend evshare-app\n',
      );
      for (const [file, extra] of [
        ['b.cfg', {}],
        ['c.cfg', { affinity: { mode: 'cookie' as const } }],
      ] as const) {
        writeFileSync(path.join(dir, file), render(extra));
        execFileSync('haproxy', ['-c', '-q', '-f', path.join(dir, 'a.cfg'), '-f', path.join(dir, file)], { stdio: 'pipe' });
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
