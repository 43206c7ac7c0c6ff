/**
 * The Gateway API entry rendered by helm: HTTPRoutes for the APP group (with session persistence)
 * and for the other services on the evshare gateway's paths, beside or instead of the Ingresses,
 * with the NetworkPolicies opened to the Gateway's proxies. test/chart/apiserver.test.ts applies
 * them to a real kube-apiserver with the Gateway API CRDs.
 */
import { find, render, renderText, type K8sObject } from './helm';

jest.setTimeout(30_000);

const PARENT = { name: 'eg', namespace: 'envoy-gateway-system', sectionName: 'https' };
const GATEWAY_API = { entrypoint: 'gatewayAPI', gatewayAPI: { parentRefs: [PARENT], hostnames: ['evshare.example.com'] } };
const routes = (objects: K8sObject[]) => objects.filter((o) => o.kind === 'HTTPRoute');
const componentOf = (peer: { podSelector?: { matchLabels: Record<string, string> } }) => peer.podSelector?.matchLabels['app.kubernetes.io/component'];

describe('entrypoint gatewayAPI', () => {
  let objects: K8sObject[];
  beforeAll(async () => {
    objects = await render(GATEWAY_API);
  });

  it('routes APP on /api to the Service the operator owns, with cookie session persistence for the affinity timeout', () => {
    const app = find(objects, 'HTTPRoute', 'evs-evshare-app');
    expect(app.apiVersion).toBe('gateway.networking.k8s.io/v1');
    expect(app.spec).toEqual({
      parentRefs: [PARENT],
      hostnames: ['evshare.example.com'],
      rules: [
        {
          matches: [{ path: { type: 'PathPrefix', value: '/api' } }],
          // The AppServiceGroup's service: named like the group, on the APP's port.
          backendRefs: [{ name: 'evs-evshare-app', port: 8082 }],
          sessionPersistence: { type: 'Cookie', sessionName: 'EVSHARE_APP_ROUTE', absoluteTimeout: '3h', cookieConfig: { lifetimeType: 'Permanent' } },
        },
      ],
    });
    const group = find(objects, 'AppServiceGroup', 'evs-evshare-app');
    expect(group.spec.service.port).toBe(8082);
    expect(group.metadata.name).toBe(app.spec.rules[0].backendRefs[0].name);
  });

  it('routes auth, charging (API and OCPP), push and web on the paths the evshare gateway serves them', () => {
    expect(find(objects, 'HTTPRoute', 'evs-evshare').spec).toEqual({
      parentRefs: [PARENT],
      hostnames: ['evshare.example.com'],
      rules: [
        { matches: [{ path: { type: 'PathPrefix', value: '/api/v1/auth' } }], backendRefs: [{ name: 'evs-evshare-auth', port: 8081 }] },
        {
          matches: [{ path: { type: 'PathPrefix', value: '/api/v1/charging' } }, { path: { type: 'PathPrefix', value: '/ocpp' } }],
          backendRefs: [{ name: 'evs-evshare-charging', port: 8087 }],
        },
        { matches: [{ path: { type: 'PathPrefix', value: '/push' } }], backendRefs: [{ name: 'evs-evshare-heartbeat', port: 8083 }] },
        { matches: [{ path: { type: 'PathPrefix', value: '/' } }], backendRefs: [{ name: 'evs-evshare-web', port: 8090 }] },
      ],
    });
  });

  it('renders no Ingress, no gateway and a group without ingress', () => {
    expect(objects.filter((o) => o.kind === 'Ingress' || o.metadata.name.endsWith('-gateway'))).toEqual([]);
    expect(find(objects, 'AppServiceGroup', 'evs-evshare-app').spec.ingress).toBeUndefined();
  });

  it("opens APP and the routed services to the Gateway's proxies only", () => {
    const envoy = [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'envoy-gateway-system' } } }];
    for (const [name, port] of [
      ['app', 8082],
      ['auth', 8081],
      ['heartbeat', 8083],
      ['charging', 8087],
      ['web', 8090],
    ] as const) {
      expect([name, find(objects, 'NetworkPolicy', `evs-evshare-${name}`).spec.ingress[0]]).toEqual([
        name,
        { from: envoy, ports: [{ port, protocol: 'TCP' }] },
      ]);
    }
    // Not routed, so not opened.
    expect(objects.find((o) => o.kind === 'NetworkPolicy' && o.metadata.name === 'evs-evshare-billing')).toBeUndefined();
  });

  it('takes the Host header of the member simulator from the first route hostname', async () => {
    const withSim = await render({ ...GATEWAY_API, services: { 'member-sim': { enabled: true, ingressService: 'http://eg-envoy.envoy-gateway-system.svc' } } });
    const env = find(withSim, 'Deployment', 'evs-evshare-member-sim').spec.template.spec.containers[0].env;
    expect(env).toEqual(
      expect.arrayContaining([
        { name: 'MEMBER_SIM_URL', value: 'http://eg-envoy.envoy-gateway-system.svc' },
        { name: 'MEMBER_SIM_HOST_HEADER', value: 'evshare.example.com' },
      ]),
    );
  });
});

describe('Gateway API options', () => {
  it.each([
    [3600, '1h'],
    [5400, '1h30m'],
    [90, '1m30s'],
    [86400, '24h'],
    [1, '1s'],
  ])('writes an affinity timeout of %i s as %s', async (timeoutSeconds, duration) => {
    const objects = await render({ ...GATEWAY_API, appServiceGroup: { affinity: { mode: 'cookie', timeoutSeconds } } });
    expect(find(objects, 'HTTPRoute', 'evs-evshare-app').spec.rules[0].sessionPersistence.absoluteTimeout).toBe(duration);
  });

  it('persists by header for apps that echo it (no cookie settings then)', async () => {
    const objects = await render({
      ...GATEWAY_API,
      gatewayAPI: { ...GATEWAY_API.gatewayAPI, sessionPersistence: { type: 'Header', sessionName: 'X-Evshare-App' } },
    });
    expect(find(objects, 'HTTPRoute', 'evs-evshare-app').spec.rules[0].sessionPersistence).toEqual({
      type: 'Header',
      sessionName: 'X-Evshare-App',
      absoluteTimeout: '3h',
    });
  });

  it('leaves session persistence out for clusters with the standard-channel CRDs only', async () => {
    const objects = await render({ ...GATEWAY_API, gatewayAPI: { ...GATEWAY_API.gatewayAPI, sessionPersistence: { enabled: false } } });
    expect(find(objects, 'HTTPRoute', 'evs-evshare-app').spec.rules[0]).not.toHaveProperty('sessionPersistence');
  });

  it("pins by client address with Envoy Gateway's consistent hash (clientIP affinity), least request with cookie affinity", async () => {
    const policy = async (mode: string) =>
      find(
        await render({
          ...GATEWAY_API,
          appServiceGroup: { affinity: { mode } },
          gatewayAPI: { ...GATEWAY_API.gatewayAPI, envoyGateway: { backendTrafficPolicy: true } },
        }),
        'BackendTrafficPolicy',
        'evs-evshare-app',
      );
    const byAddress = await policy('clientIP');
    expect(byAddress.apiVersion).toBe('gateway.envoyproxy.io/v1alpha1');
    expect(byAddress.spec).toEqual({
      targetRefs: [{ group: 'gateway.networking.k8s.io', kind: 'HTTPRoute', name: 'evs-evshare-app' }],
      loadBalancer: { type: 'ConsistentHash', consistentHash: { type: 'SourceIP' } },
    });
    expect((await policy('cookie')).spec.loadBalancer).toEqual({ type: 'LeastRequest' });
    expect((await render(GATEWAY_API)).filter((o) => o.kind === 'BackendTrafficPolicy')).toEqual([]);
  });

  it('omits hostnames when none are given (the listener decides) and carries annotations', async () => {
    const objects = await render({ entrypoint: 'gatewayAPI', gatewayAPI: { parentRefs: [{ name: 'eg' }], annotations: { team: 'fleet' } } });
    for (const route of routes(objects)) {
      expect(route.spec).not.toHaveProperty('hostnames');
      expect(route.spec.parentRefs).toEqual([{ name: 'eg' }]);
      expect(route.metadata.annotations).toEqual({ team: 'fleet' });
    }
  });

  it('beside the Ingress (moving over): both entries, and the policies admit both', async () => {
    const objects = await render({ entrypoint: 'ingress', gatewayAPI: { enabled: true, parentRefs: [PARENT] } });
    expect(routes(objects).map((r) => r.metadata.name)).toEqual(['evs-evshare', 'evs-evshare-app']);
    find(objects, 'Ingress', 'evs-evshare');
    expect(find(objects, 'AppServiceGroup', 'evs-evshare-app').spec.ingress).toMatchObject({ controller: 'ingress-nginx', path: '/api' });
    const from = find(objects, 'NetworkPolicy', 'evs-evshare-app').spec.ingress[0].from;
    expect(
      from.map((peer: { namespaceSelector: { matchLabels: Record<string, string> } }) => peer.namespaceSelector.matchLabels['kubernetes.io/metadata.name']),
    ).toEqual(['ingress-nginx', 'envoy-gateway-system']);
  });

  it('opens the routed services to every source when the proxies cannot be named', async () => {
    const objects = await render({ ...GATEWAY_API, networkPolicy: { gatewayAPIPeers: [] } });
    expect(find(objects, 'NetworkPolicy', 'evs-evshare-auth').spec.ingress).toEqual([{ ports: [{ port: 8081, protocol: 'TCP' }] }]);
    // The backends stay closed to all but their users.
    expect(find(objects, 'NetworkPolicy', 'evs-evshare-postgres').spec.ingress[0].from.map(componentOf)).not.toContain(undefined);
  });

  it('renders no APP route when the APP service is off', async () => {
    const objects = await render({ ...GATEWAY_API, services: { app: { enabled: false } } });
    expect(routes(objects).map((r) => r.metadata.name)).toEqual(['evs-evshare']);
  });

  it.each([
    ['no parentRefs', { entrypoint: 'gatewayAPI' }, /gatewayAPI\.parentRefs must name the Gateway/],
    [
      'routes with the evshare gateway as the entry',
      { entrypoint: 'gateway', gatewayAPI: { enabled: true, parentRefs: [PARENT] } },
      /needs entrypoint ingress or gatewayAPI/,
    ],
    ['an unknown persistence type', { ...GATEWAY_API, gatewayAPI: { ...GATEWAY_API.gatewayAPI, sessionPersistence: { type: 'Source' } } }, /type/],
    ['a parentRef without a name', { ...GATEWAY_API, gatewayAPI: { parentRefs: [{ namespace: 'x' }] } }, /name is required/],
    ['an unknown entrypoint', { entrypoint: 'gatewayApi' }, /entrypoint/],
  ])('refuses %s', async (_what, values, message) => {
    await expect(renderText(values)).rejects.toThrow(message);
  });
});
