import { resolveSpec } from '../crd/defaults';
import type { AppServiceGroupSpec } from '../crd/types';
import { ingressFor, serviceFor } from './manifests';

const group = { name: 'app', namespace: 'evshare', uid: 'uid-1' };
const selector = { 'app.kubernetes.io/name': 'app' };
const base: AppServiceGroupSpec = { deploymentName: 'app', maxReplicas: 10, target: { inflightPerPod: 8 } };

function resolved(extra: Partial<AppServiceGroupSpec>) {
  return resolveSpec({ ...base, ...extra });
}

describe('serviceFor', () => {
  it('pins clients by address with the timeout in clientIP mode, owned by the group', () => {
    const service = serviceFor(group, resolved({ affinity: { mode: 'clientIP', timeoutSeconds: 600 } }), selector);
    expect(service.spec).toEqual({
      type: 'ClusterIP',
      selector,
      ports: [{ name: 'http', protocol: 'TCP', port: 80, targetPort: 'http' }],
      sessionAffinity: 'ClientIP',
      sessionAffinityConfig: { clientIP: { timeoutSeconds: 600 } },
    });
    expect(service.metadata.ownerReferences).toEqual([
      { apiVersion: 'evshare.io/v1alpha1', kind: 'AppServiceGroup', name: 'app', uid: 'uid-1', controller: true, blockOwnerDeletion: true },
    ]);
    expect(service.metadata.labels['app.kubernetes.io/managed-by']).toBe('evshare-operator');
    expect(service.metadata.annotations).toBeUndefined();
  });

  it('has no Service affinity in cookie mode (the ingress pins)', () => {
    const service = serviceFor(group, resolved({ affinity: { mode: 'cookie' }, ingress: { controller: 'ingress-nginx' } }), selector);
    expect(service.spec.sessionAffinity).toBe('None');
    expect(service.spec.sessionAffinityConfig).toBeUndefined();
  });

  it('carries the Traefik sticky-cookie annotations, since Traefik reads them from the Service', () => {
    const spec = resolved({ affinity: { mode: 'cookie', cookieName: 'S', timeoutSeconds: 900 }, ingress: { controller: 'traefik', tlsSecretName: 'tls' } });
    expect(serviceFor(group, spec, selector).metadata.annotations).toEqual({
      'traefik.ingress.kubernetes.io/service.sticky.cookie': 'true',
      'traefik.ingress.kubernetes.io/service.sticky.cookie.name': 'S',
      'traefik.ingress.kubernetes.io/service.sticky.cookie.httponly': 'true',
      'traefik.ingress.kubernetes.io/service.sticky.cookie.samesite': 'lax',
      'traefik.ingress.kubernetes.io/service.sticky.cookie.maxage': '900',
      'traefik.ingress.kubernetes.io/service.sticky.cookie.secure': 'true',
    });
  });

  it('uses the given port and target port', () => {
    const service = serviceFor(group, resolved({ service: { port: 8080, targetPort: 3000 } }), selector);
    expect(service.spec.ports).toEqual([{ name: 'http', protocol: 'TCP', port: 8080, targetPort: 3000 }]);
  });
});

describe('ingressFor', () => {
  it('is null without an ingress in the spec', () => {
    expect(ingressFor(group, resolved({}))).toBeNull();
  });

  it.each<[string, Partial<AppServiceGroupSpec>, Record<string, string>]>([
    [
      'ingress-nginx, clientIP: consistent hash on the client address',
      { ingress: { controller: 'ingress-nginx' } },
      { 'nginx.ingress.kubernetes.io/upstream-hash-by': '$remote_addr' },
    ],
    [
      'ingress-nginx, cookie',
      { ingress: { controller: 'ingress-nginx', tlsSecretName: 'tls' }, affinity: { mode: 'cookie', cookieName: 'EV', timeoutSeconds: 3600 } },
      {
        'nginx.ingress.kubernetes.io/affinity': 'cookie',
        'nginx.ingress.kubernetes.io/affinity-mode': 'balanced',
        'nginx.ingress.kubernetes.io/session-cookie-name': 'EV',
        'nginx.ingress.kubernetes.io/session-cookie-max-age': '3600',
        'nginx.ingress.kubernetes.io/session-cookie-samesite': 'Lax',
        'nginx.ingress.kubernetes.io/session-cookie-secure': 'true',
      },
    ],
    ['haproxy, clientIP: source hash', { ingress: { controller: 'haproxy' } }, { 'haproxy-ingress.github.io/balance-algorithm': 'source' }],
    [
      'haproxy, cookie: sticky and least connections for new clients',
      { ingress: { controller: 'haproxy' }, affinity: { mode: 'cookie', cookieName: 'EV', timeoutSeconds: 1800 } },
      {
        'haproxy-ingress.github.io/affinity': 'cookie',
        'haproxy-ingress.github.io/session-cookie-name': 'EV',
        'haproxy-ingress.github.io/session-cookie-strategy': 'insert',
        'haproxy-ingress.github.io/session-cookie-keywords': 'indirect nocache httponly maxidle 1800',
        'haproxy-ingress.github.io/balance-algorithm': 'leastconn',
      },
    ],
    ['traefik, cookie, plain HTTP: nothing on the Ingress', { ingress: { controller: 'traefik' }, affinity: { mode: 'cookie' } }, {}],
    [
      'traefik, cookie, TLS: the router needs TLS switched on',
      { ingress: { controller: 'traefik', tlsSecretName: 'tls' }, affinity: { mode: 'cookie' } },
      { 'traefik.ingress.kubernetes.io/router.tls': 'true' },
    ],
  ])('%s', (_name, extra, annotations) => {
    const ingress = ingressFor(group, resolved(extra))!;
    expect(ingress.metadata.annotations ?? {}).toEqual(annotations);
  });

  it('routes host and path to the Service port, with class and TLS', () => {
    const ingress = ingressFor(
      group,
      resolved({
        ingress: { controller: 'haproxy', className: 'haproxy', host: 'app.example.org', tlsSecretName: 'app-tls', path: '/api' },
        service: { port: 8080 },
      }),
    )!;
    expect(ingress.spec).toEqual({
      ingressClassName: 'haproxy',
      tls: [{ hosts: ['app.example.org'], secretName: 'app-tls' }],
      rules: [
        {
          host: 'app.example.org',
          http: { paths: [{ path: '/api', pathType: 'Prefix', backend: { service: { name: 'app', port: { number: 8080 } } } }] },
        },
      ],
    });
    expect(ingress.metadata.ownerReferences[0]).toMatchObject({ kind: 'AppServiceGroup', uid: 'uid-1', controller: true });
  });

  it('refuses client-address affinity on Traefik (the CRD rejects it first)', () => {
    expect(() => ingressFor(group, resolved({ ingress: { controller: 'traefik' } }))).toThrow(/use affinity.mode: cookie/);
  });
});
