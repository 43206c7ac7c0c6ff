/**
 * The chart rendered by helm (no cluster): lint, the security invariants over every container,
 * the two modes, the two entrypoints, generated secrets, and values the schema must refuse.
 */
import { find, lint, podSpecs, render, renderText, PRODUCTION_VALUES, type K8sObject } from './helm';

// helm runs a few hundred milliseconds per render; two shared cores under load need headroom.
jest.setTimeout(30_000);

const MODES: Array<[string, object]> = [
  ['development', {}],
  ['production', PRODUCTION_VALUES],
];

describe('helm lint', () => {
  it.each(MODES)('is clean in %s mode (--strict)', async (_mode, values) => {
    const { stdout } = await lint(values);
    expect(stdout).toMatch(/1 chart\(s\) linted, 0 chart\(s\) failed/);
    expect(stdout).not.toMatch(/\[(WARNING|ERROR)\]/);
  });
});

describe.each(MODES)('security invariants in %s mode', (_mode, values) => {
  let objects: K8sObject[];
  beforeAll(async () => {
    objects = await render(values);
  });

  it('renders workloads', () => {
    expect(podSpecs(objects).length).toBeGreaterThanOrEqual(4);
  });

  /** Every container of every workload, with where it is, for messages. */
  const containers = () =>
    podSpecs(objects).flatMap(({ owner, spec }) =>
      [...(spec.initContainers ?? []), ...spec.containers].map((c) => ({ where: `${owner} container ${c.name}`, owner, pod: spec, c })),
    );

  it('runs every container as non-root, read-only, without privilege escalation or capabilities', () => {
    const violations: string[] = [];
    for (const { where, pod, c } of containers()) {
      const sc = c.securityContext ?? {};
      const uid = sc.runAsUser ?? pod.securityContext?.runAsUser;
      if ((sc.runAsNonRoot ?? pod.securityContext?.runAsNonRoot) !== true) violations.push(`${where}: runAsNonRoot not true`);
      if (!(typeof uid === 'number' && uid > 0)) violations.push(`${where}: runAsUser ${uid}`);
      if (sc.readOnlyRootFilesystem !== true) violations.push(`${where}: root filesystem writable`);
      if (sc.allowPrivilegeEscalation !== false) violations.push(`${where}: privilege escalation allowed`);
      if (sc.privileged) violations.push(`${where}: privileged`);
      if (JSON.stringify(sc.capabilities?.drop) !== '["ALL"]' || sc.capabilities?.add)
        violations.push(`${where}: capabilities ${JSON.stringify(sc.capabilities)}`);
      if ((sc.seccompProfile ?? pod.securityContext?.seccompProfile)?.type !== 'RuntimeDefault') violations.push(`${where}: no RuntimeDefault seccomp`);
      if (pod.hostNetwork || pod.hostPID || pod.hostIPC) violations.push(`${where}: host namespaces`);
    }
    expect(violations).toEqual([]);
  });

  it('sets resource requests and limits and all three probes on every container', () => {
    const violations: string[] = [];
    for (const { where, c } of containers()) {
      if (!c.resources?.requests?.cpu || !c.resources?.requests?.memory) violations.push(`${where}: requests ${JSON.stringify(c.resources?.requests)}`);
      if (!c.resources?.limits?.memory) violations.push(`${where}: no memory limit`);
      for (const probe of ['startupProbe', 'livenessProbe', 'readinessProbe']) if (!c[probe]) violations.push(`${where}: no ${probe}`);
    }
    expect(violations).toEqual([]);
  });

  it('probes the evshare services on /healthz (startup, liveness) and /readyz (readiness)', () => {
    const probed = containers()
      .filter(({ c }) => String(c.image).startsWith('ghcr.io/evshare/evshare:'))
      .map(({ owner, c }) => [owner, c.startupProbe.httpGet.path, c.livenessProbe.httpGet.path, c.readinessProbe.httpGet.path]);
    expect(probed.length).toBeGreaterThanOrEqual(4);
    for (const [owner, ...paths] of probed) expect([owner, ...paths]).toEqual([owner, '/healthz', '/healthz', '/readyz']);
  });

  it('gives the operator a Lease and a group selector of its release (two releases in a namespace do not share a leader)', async () => {
    const envOf = (all: typeof objects) =>
      Object.fromEntries(
        (
          find(all, 'Deployment', `${all === objects ? 'evs' : 'other'}-evshare-operator`).spec.template.spec.containers[0].env as Array<{
            name: string;
            value?: string;
          }>
        ).map((e) => [e.name, e.value]),
      );
    const other = await render({}, { release: 'other' });
    expect(envOf(objects)).toMatchObject({ LEASE_NAME: 'evs-evshare-operator', GROUP_SELECTOR: 'app.kubernetes.io/instance=evs', WATCH_NAMESPACE: 'evshare' });
    expect(envOf(other)).toMatchObject({ LEASE_NAME: 'other-evshare-operator', GROUP_SELECTOR: 'app.kubernetes.io/instance=other' });
    expect(find(objects, 'AppServiceGroup', 'evs-evshare-app').metadata.labels).toMatchObject({ 'app.kubernetes.io/instance': 'evs' });
  });

  it('gives no pod a Kubernetes API token except the operator', () => {
    const withToken = podSpecs(objects)
      .filter(({ spec }) => spec.automountServiceAccountToken !== false)
      .map(({ owner }) => owner);
    expect(withToken).toEqual(['Deployment/evs-evshare-operator']);
  });

  it('passes no secret as a literal environment value', () => {
    const violations: string[] = [];
    for (const { where, c } of containers()) {
      for (const e of c.env ?? []) {
        // PASSWORD_HASH_CONCURRENCY is a number of argon2 slots, not a password.
        if (/PASSWORD(?!_HASH_CONCURRENCY$)|SECRET|TOKEN|_KEY$/.test(e.name) && !e.valueFrom?.secretKeyRef)
          violations.push(`${where}: ${e.name} is not from a Secret`);
        // A URL with credentials in plain text: scheme://user:password@host.
        if (typeof e.value === 'string' && /^[a-z]+:\/\/[^/@]*:[^/@]*@/.test(e.value)) violations.push(`${where}: ${e.name} has credentials`);
      }
    }
    expect(violations).toEqual([]);
  });

  it('has a PodDisruptionBudget for every evshare Deployment', () => {
    const pdbs = objects.filter((o) => o.kind === 'PodDisruptionBudget').map((o) => o.metadata.name);
    const deployments = objects.filter((o) => o.kind === 'Deployment').map((o) => o.metadata.name);
    expect(pdbs.sort()).toEqual(deployments.sort());
  });

  it('denies ingress to every pod of the release by default', () => {
    const deny = find(objects, 'NetworkPolicy', 'evs-evshare-default-deny');
    expect(deny.spec).toEqual({
      podSelector: { matchLabels: { 'app.kubernetes.io/name': 'evshare', 'app.kubernetes.io/instance': 'evs' } },
      policyTypes: ['Ingress'],
    });
    for (const { owner } of podSpecs(objects)) {
      const workload = objects.find((o) => `${o.kind}/${o.metadata.name}` === owner)!;
      const labels = workload.spec.template.metadata.labels;
      expect({ owner, selected: labels['app.kubernetes.io/instance'] === 'evs' && labels['app.kubernetes.io/name'] === 'evshare' }).toEqual({
        owner,
        selected: true,
      });
    }
  });
});

describe('development mode', () => {
  let objects: K8sObject[];
  beforeAll(async () => {
    objects = await render({});
  });

  it('runs NATS with JetStream, Redis and PostgreSQL from the chart at pinned releases', () => {
    const image = (name: string) => find(objects, 'StatefulSet', name).spec.template.spec.containers[0].image;
    expect(image('evs-evshare-nats')).toBe('nats:2.12.15-alpine3.22');
    expect(image('evs-evshare-redis')).toBe('redis:7.4.11-alpine3.21');
    expect(image('evs-evshare-postgres')).toBe('postgres:16.15-alpine3.24');
    expect(find(objects, 'ConfigMap', 'evs-evshare-nats').data!['nats.conf']).toMatch(/jetstream \{\s*store_dir: \/data/);
  });

  it('keeps backend data on emptyDir by default and on PVCs with persistence', async () => {
    const volumes = find(objects, 'StatefulSet', 'evs-evshare-postgres').spec.template.spec.volumes;
    expect(volumes.find((v: { name: string }) => v.name === 'data')).toEqual({ name: 'data', emptyDir: { sizeLimit: '4Gi' } });
    const persistent = await render({ development: { persistence: true, storageClassName: 'standard' } });
    const sts = find(persistent, 'StatefulSet', 'evs-evshare-postgres');
    expect(sts.spec.template.spec.volumes.find((v: { name: string }) => v.name === 'data')).toBeUndefined();
    expect(sts.spec.volumeClaimTemplates[0].spec).toEqual({
      accessModes: ['ReadWriteOnce'],
      storageClassName: 'standard',
      resources: { requests: { storage: '4Gi' } },
    });
  });

  it('points the services at the in-chart backends, with passwords from the generated Secret', () => {
    const env = find(objects, 'Deployment', 'evs-evshare-auth').spec.template.spec.containers[0].env;
    const byName = Object.fromEntries(env.map((e: { name: string }) => [e.name, e]));
    expect(byName.NATS_URL.value).toBe('nats://evs-evshare-nats:4222');
    expect(byName.REDIS_URL.value).toBe('redis://evs-evshare-redis:6379');
    expect(byName.DATABASE_URL.value).toBe('postgres://evshare@evs-evshare-postgres:5432/evshare');
    expect(byName.REDIS_PASSWORD.valueFrom.secretKeyRef).toEqual({ name: 'evs-evshare-secrets', key: 'redis-password' });
    expect(byName.PGPASSWORD.valueFrom.secretKeyRef).toEqual({ name: 'evs-evshare-secrets', key: 'postgres-password' });
    expect(byName.ADMIN_BOOTSTRAP_PASSWORD.valueFrom.secretKeyRef).toEqual({ name: 'evs-evshare-secrets', key: 'admin-bootstrap-password' });
    expect(byName.HOST.value).toBe('0.0.0.0');
  });

  it('lets only the release reach the backends (each only from its users: test/chart/credentials.test.ts)', () => {
    for (const [component, port] of [
      ['nats', 4222],
      ['redis', 6379],
      ['postgres', 5432],
    ] as const) {
      const policy = find(objects, 'NetworkPolicy', `evs-evshare-${component}`);
      expect(policy.spec.ingress).toHaveLength(1);
      expect(policy.spec.ingress[0].ports).toEqual([{ port, protocol: 'TCP' }]);
      for (const peer of policy.spec.ingress[0].from) {
        expect(peer.podSelector.matchLabels).toMatchObject({ 'app.kubernetes.io/name': 'evshare', 'app.kubernetes.io/instance': 'evs' });
        expect(peer.namespaceSelector).toBeUndefined();
      }
    }
  });
});

describe('production mode', () => {
  let objects: K8sObject[];
  beforeAll(async () => {
    objects = await render(PRODUCTION_VALUES);
  });

  it('contains no in-chart NATS, Redis or PostgreSQL', () => {
    const names = objects.map((o) => `${o.kind}/${o.metadata.name}`);
    // The services' own NATS passwords are the release's in both modes (test/chart/credentials.test.ts),
    // and the release's NATS account is rendered for the shared NATS (test/chart/releases.test.ts).
    expect(
      names.filter((n) => /nats|redis|postgres/.test(n) && !n.startsWith('Secret/evs-evshare-nats-') && n !== 'ConfigMap/evs-evshare-nats-account'),
    ).toEqual([]);
    const images = podSpecs(objects).flatMap(({ spec }) => spec.containers.map((c: { image: string }) => c.image));
    // HAProxy, the default entry, is the one image of another project.
    expect(images.filter((i) => !i.startsWith('ghcr.io/evshare/evshare:'))).toEqual(['haproxy:3.2.8-alpine']);
  });

  it('wires the external backends, secrets by reference', () => {
    const env = find(objects, 'Deployment', 'evs-evshare-app').spec.template.spec.containers[0].env;
    const byName = Object.fromEntries(env.map((e: { name: string }) => [e.name, e]));
    expect(byName.NATS_URL.value).toBe('nats://nats.nats.svc:4222');
    expect(byName.REDIS_URL.value).toBe('redis://redis-master.redis.svc:6379');
    expect(byName.REDIS_PASSWORD.valueFrom.secretKeyRef).toEqual({ name: 'redis', key: 'redis-password' });
    expect(byName.DATABASE_URL.valueFrom.secretKeyRef).toEqual({ name: 'evshare-db-app', key: 'uri' });
    expect(byName.PGPASSWORD).toBeUndefined();
    const secret = find(objects, 'Secret', 'evs-evshare-secrets');
    expect(Object.keys(secret.data!)).toEqual(['admin-bootstrap-password', 'membership-signing-key', 'app-key-private-key', 'app-key-public-key']);
  });

  it('sends the session cookie over TLS only (Secure), unlike development mode', async () => {
    const cookieSecure = (rendered: K8sObject[]) =>
      find(rendered, 'Deployment', 'evs-evshare-auth').spec.template.spec.containers[0].env.find((e: { name: string }) => e.name === 'COOKIE_SECURE')?.value;
    expect(cookieSecure(objects)).toBe('true');
    expect(cookieSecure(await render({}))).toBeUndefined();
  });

  it('supports Redis Sentinel and Redis Cluster', async () => {
    const sentinel = await render({
      ...PRODUCTION_VALUES,
      external: { ...PRODUCTION_VALUES.external, redis: { sentinels: 's1:26379,s2:26379', sentinelName: 'mymaster' } },
    });
    const env = find(sentinel, 'Deployment', 'evs-evshare-auth').spec.template.spec.containers[0].env;
    expect(env.filter((e: { name: string }) => e.name.startsWith('REDIS_'))).toEqual([
      { name: 'REDIS_SENTINELS', value: 's1:26379,s2:26379' },
      { name: 'REDIS_SENTINEL_NAME', value: 'mymaster' },
    ]);
    const cluster = await render({ ...PRODUCTION_VALUES, external: { ...PRODUCTION_VALUES.external, redis: { clusterNodes: 'r1:6379,r2:6379' } } });
    const clusterEnv = find(cluster, 'Deployment', 'evs-evshare-auth').spec.template.spec.containers[0].env;
    expect(clusterEnv.filter((e: { name: string }) => e.name.startsWith('REDIS_'))).toEqual([{ name: 'REDIS_CLUSTER_NODES', value: 'r1:6379,r2:6379' }]);
  });

  it.each([
    ['no NATS', { nats: { url: '' } }, /needs external\.nats\.url or external\.nats\.urlSecret\.name/],
    ['two kinds of Redis', { redis: { url: 'redis://r:6379', clusterNodes: 'a:1' } }, /exactly one of external\.redis\.url/],
    ['no PostgreSQL', { postgres: { urlSecret: { name: '', key: 'uri' } } }, /needs external\.postgres\.urlSecret\.name/],
    ['sentinels without a master name', { redis: { url: '', sentinels: 's:26379' } }, /sentinelName/],
  ])('refuses to render with %s', async (_what, external, message) => {
    const values = { ...PRODUCTION_VALUES, external: { ...PRODUCTION_VALUES.external, ...external } };
    await expect(renderText(values)).rejects.toThrow(message);
  });

  // Attack: money without payment (the dev top-up provider) or codes shown in the outbox (the dev
  // SMS provider) in a production installation.
  it.each([
    ['dev top-ups', { app: { env: { PAYMENT_PROVIDERS: 'hosted, dev' } } }, /refuses services\.app\.env\.PAYMENT_PROVIDERS=dev/],
    ['the dev SMS provider', { sms: { env: { SMS_PROVIDER: 'dev' } } }, /refuses services\.sms\.env\.SMS_PROVIDER=dev/],
  ])('refuses to render %s (dev providers are impossible in production)', async (_what, services, message) => {
    await expect(renderText({ ...PRODUCTION_VALUES, services })).rejects.toThrow(message);
  });

  it('runs every service with NODE_ENV=production, development mode with development', async () => {
    const nodeEnv = (objects: K8sObject[]) =>
      new Set(
        podSpecs(objects).flatMap(({ spec }) =>
          spec.containers.flatMap((c: { env?: Array<{ name: string; value?: string }> }) =>
            (c.env ?? []).filter((e) => e.name === 'NODE_ENV').map((e) => e.value),
          ),
        ),
      );
    const services = (objects: K8sObject[]) => objects.filter((o) => o.kind === 'Deployment' && /-(app|auth|sms|billing)$/.test(o.metadata.name));
    expect(nodeEnv(services(objects))).toEqual(new Set(['production']));
    expect(nodeEnv(services(await render({})))).toEqual(new Set(['development']));
  });
});

describe('secrets', () => {
  it('are random per render (never fixed defaults), long, and the same set each time', async () => {
    const [a, b] = await Promise.all([render({}), render({})]);
    const sa = find(a, 'Secret', 'evs-evshare-secrets').data!;
    const sb = find(b, 'Secret', 'evs-evshare-secrets').data!;
    expect(Object.keys(sa).sort()).toEqual([
      'admin-bootstrap-password',
      'app-key-private-key',
      'app-key-public-key',
      'membership-signing-key',
      'postgres-password',
      'redis-password',
    ]);
    // The app-key pair is checked in test/chart/hardening.test.ts.
    for (const key of Object.keys(sa).filter((k) => !k.startsWith('app-key-'))) {
      const value = Buffer.from(sa[key]!, 'base64').toString();
      expect(value).toMatch(/^[A-Za-z0-9]{32}$/);
      expect(sb[key]).not.toBe(sa[key]);
    }
  });

  it('are kept on uninstall, since kept volumes were initialised with them', async () => {
    const secret = find(await render({}), 'Secret', 'evs-evshare-secrets');
    expect(secret.metadata.annotations).toEqual({ 'helm.sh/resource-policy': 'keep' });
  });

  it('are not generated when an existing Secret is named', async () => {
    const objects = await render({ secrets: { existingSecret: 'my-evshare' } });
    expect(objects.filter((o) => o.kind === 'Secret')).toEqual([]);
    const env = find(objects, 'Deployment', 'evs-evshare-auth').spec.template.spec.containers[0].env;
    expect(env.find((e: { name: string }) => e.name === 'ADMIN_BOOTSTRAP_PASSWORD').valueFrom.secretKeyRef).toEqual({
      name: 'my-evshare',
      key: 'admin-bootstrap-password',
    });
  });
});

describe('the APP group', () => {
  let objects: K8sObject[];
  beforeAll(async () => {
    objects = await render({
      entrypoint: 'ingress',
      appServiceGroup: { minReplicas: 3, maxReplicas: 12 },
      ingress: { host: 'evshare.example.com', tlsSecretName: 'evshare-tls' },
    });
  });

  it('leaves replicas to the operator (no replicas field to undo its scaling on upgrade)', () => {
    const app = find(objects, 'Deployment', 'evs-evshare-app');
    expect(app.spec).not.toHaveProperty('replicas');
    const auth = find(objects, 'Deployment', 'evs-evshare-auth');
    // Several auth pods share a login storm, each hashing as many at once as its CPU limit allows.
    expect(auth.spec.replicas).toBe(3);
    expect(auth.spec.template.spec.containers[0].env).toEqual(expect.arrayContaining([{ name: 'PASSWORD_HASH_CONCURRENCY', value: '1' }]));
    expect(objects.find((o) => o.kind === 'Service' && o.metadata.name === 'evs-evshare-app')).toBeUndefined();
  });

  it('is described by an AppServiceGroup with the ingress settings', () => {
    const group = find(objects, 'AppServiceGroup', 'evs-evshare-app');
    expect(group.apiVersion).toBe('evshare.io/v1alpha1');
    expect(group.spec).toMatchObject({
      deploymentName: 'evs-evshare-app',
      minReplicas: 3,
      maxReplicas: 12,
      target: { inflightPerPod: 20 },
      affinity: { mode: 'clientIP', timeoutSeconds: 10800 },
      service: { port: 8082, targetPort: 'http' },
      ingress: { controller: 'ingress-nginx', className: 'nginx', host: 'evshare.example.com', tlsSecretName: 'evshare-tls', path: '/api' },
    });
  });

  it('drains: a preStop sleep for the endpoints, DRAIN_DELAY_MS for balancers, a grace period that covers both', () => {
    const spec = find(objects, 'Deployment', 'evs-evshare-app').spec.template.spec;
    const c = spec.containers[0];
    const sleep = Number(c.lifecycle.preStop.exec.command[1]);
    const drainMs = Number(c.env.find((e: { name: string }) => e.name === 'DRAIN_DELAY_MS').value);
    expect(sleep).toBeGreaterThanOrEqual(5);
    expect(drainMs).toBeGreaterThan(0);
    expect(spec.terminationGracePeriodSeconds).toBeGreaterThan(sleep + drainMs / 1000 + 10);
    expect(c.env.find((e: { name: string }) => e.name === 'PUBLIC_URL').value).toBe('http://$(POD_IP):8082');
    const names = c.env.map((e: { name: string }) => e.name);
    expect(names.indexOf('POD_IP')).toBeLessThan(names.indexOf('PUBLIC_URL'));
  });

  it('refuses minReplicas above maxReplicas', async () => {
    await expect(renderText({ appServiceGroup: { minReplicas: 5, maxReplicas: 2 } })).rejects.toThrow(
      /minReplicas \(5\) is above appServiceGroup.maxReplicas \(2\)/,
    );
  });
});

describe('entrypoints', () => {
  it('ingress: routes auth, charging, push and web on the same host as the operator-owned APP Ingress, no gateway', async () => {
    const objects = await render({ entrypoint: 'ingress', ingress: { host: 'evshare.example.com' } });
    expect(objects.filter((o) => o.metadata.name.endsWith('-gateway') || o.metadata.name.endsWith('-haproxy'))).toEqual([]);
    const ingress = find(objects, 'Ingress', 'evs-evshare');
    expect(ingress.spec.ingressClassName).toBe('nginx');
    expect(ingress.spec.rules).toEqual([
      {
        host: 'evshare.example.com',
        http: {
          paths: [
            { path: '/api/v1/auth', pathType: 'Prefix', backend: { service: { name: 'evs-evshare-auth', port: { number: 8081 } } } },
            { path: '/api/v1/charging', pathType: 'Prefix', backend: { service: { name: 'evs-evshare-charging', port: { number: 8087 } } } },
            { path: '/ocpp', pathType: 'Prefix', backend: { service: { name: 'evs-evshare-charging', port: { number: 8087 } } } },
            { path: '/push', pathType: 'Prefix', backend: { service: { name: 'evs-evshare-heartbeat', port: { number: 8083 } } } },
            // The longest prefix wins: /api goes to the operator's APP Ingress, the rest to web.
            { path: '/', pathType: 'Prefix', backend: { service: { name: 'evs-evshare-web', port: { number: 8090 } } } },
          ],
        },
      },
    ]);
    // WebSockets outlive the controller's default 60 s proxy timeout.
    expect(ingress.metadata.annotations!['nginx.ingress.kubernetes.io/proxy-read-timeout']).toBe('3600');
    const appPolicy = find(objects, 'NetworkPolicy', 'evs-evshare-app');
    expect(appPolicy.spec.ingress).toEqual([
      { from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'ingress-nginx' } } }], ports: [{ port: 8082, protocol: 'TCP' }] },
    ]);
  });

  it('gateway: deploys the gateway with the upstream lists, no Ingress, and the group without ingress', async () => {
    const objects = await render({ entrypoint: 'gateway', gateway: { service: { type: 'LoadBalancer' } } });
    expect(objects.filter((o) => o.kind === 'Ingress')).toEqual([]);
    const gateway = find(objects, 'Deployment', 'evs-evshare-gateway');
    const env = Object.fromEntries(gateway.spec.template.spec.containers[0].env.map((e: { name: string; value?: string }) => [e.name, e.value]));
    expect(env.AUTH_UPSTREAMS).toBe('http://evs-evshare-auth:8081');
    expect(env.PUSH_UPSTREAMS).toBe('http://evs-evshare-heartbeat:8083');
    expect(env.CHARGING_UPSTREAMS).toBe('http://evs-evshare-charging:8087');
    expect(env.WEB_UPSTREAM).toBe('http://evs-evshare-web:8090');
    expect(env.HOST).toBe('0.0.0.0');
    expect(gateway.spec.template.spec.containers[0].args).toEqual(['gateway']);
    expect(find(objects, 'Service', 'evs-evshare-gateway').spec.type).toBe('LoadBalancer');
    expect(find(objects, 'AppServiceGroup', 'evs-evshare-app').spec.ingress).toBeUndefined();
    // Only the gateway may reach the services; anyone may reach the gateway.
    const appPolicy = find(objects, 'NetworkPolicy', 'evs-evshare-app');
    expect(appPolicy.spec.ingress[0].from).toEqual([
      { podSelector: { matchLabels: { 'app.kubernetes.io/component': 'gateway', 'app.kubernetes.io/instance': 'evs', 'app.kubernetes.io/name': 'evshare' } } },
    ]);
    expect(find(objects, 'NetworkPolicy', 'evs-evshare-gateway').spec.ingress).toEqual([{ ports: [{ port: 8080, protocol: 'TCP' }] }]);
    // The operators' listener: a container port on the pod address, never in the Service.
    expect(env).toMatchObject({ ADMIN_PORT: '8088', ADMIN_HOST: '0.0.0.0', TRUST_PROXY: 'false' });
    expect(gateway.spec.template.spec.containers[0].ports).toContainEqual({ name: 'admin', containerPort: 8088, protocol: 'TCP' });
    expect(find(objects, 'Service', 'evs-evshare-gateway').spec.ports.map((p: { port: number }) => p.port)).toEqual([8080]);
    expect(gateway.spec.template.metadata.annotations['prometheus.io/port']).toBe('8088');
    // The services behind trust exactly the one hop in front.
    const auth = find(objects, 'Deployment', 'evs-evshare-auth').spec.template.spec.containers[0].env;
    expect(auth).toContainEqual({ name: 'TRUST_PROXY', value: '1' });
  });

  it('gateway: only metricsPeers reach the admin port', async () => {
    const monitoring = [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } } }];
    const objects = await render({ entrypoint: 'gateway', networkPolicy: { metricsPeers: monitoring } });
    expect(find(objects, 'NetworkPolicy', 'evs-evshare-gateway').spec.ingress).toEqual([
      { ports: [{ port: 8080, protocol: 'TCP' }] },
      { from: monitoring, ports: [{ port: 8088, protocol: 'TCP' }] },
    ]);
  });

  it('a new service is one values entry: Deployment, Service, PDB, policy, route', async () => {
    const objects = await render({
      services: {
        billing: {
          enabled: true,
          port: 8084,
          replicas: 1,
          terminationGracePeriodSeconds: 30,
          pdb: { maxUnavailable: 1 },
          resources: { requests: { cpu: '50m', memory: '64Mi' }, limits: { memory: '256Mi' } },
          ingressPaths: ['/api/v1/billing'],
        },
      },
      networkPolicy: { metricsPeers: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } } }] },
    });
    const deployment = find(objects, 'Deployment', 'evs-evshare-billing');
    expect(deployment.spec.template.spec.containers[0].args).toEqual(['billing']);
    expect(find(objects, 'Service', 'evs-evshare-billing').spec.ports).toEqual([{ name: 'http', port: 8084, targetPort: 'http', protocol: 'TCP' }]);
    find(objects, 'PodDisruptionBudget', 'evs-evshare-billing');
    expect(find(objects, 'NetworkPolicy', 'evs-evshare-billing').spec.ingress).toHaveLength(2);
    // Routed by the default entry, HAProxy.
    const haproxy = find(objects, 'ConfigMap', 'evs-evshare-haproxy').data!['haproxy.cfg']!;
    expect(haproxy).toContain('use_backend evs-evshare-billing if { path /api/v1/billing } || { path_beg /api/v1/billing/ }');
    expect(haproxy).toMatch(/^backend evs-evshare-billing\n.*\n {2}server billing evs-evshare-billing\.evshare\.svc\.cluster\.local:8084 /m);
    expect(find(objects, 'NetworkPolicy', 'evs-evshare-operator').spec.ingress[0].ports).toEqual([{ port: 8090, protocol: 'TCP' }]);
  });
});

describe('values.schema.json', () => {
  it.each([
    ['a misspelt top-level key', { modee: 'production' }, /Additional property modee is not allowed/],
    ['a misspelt service key', { services: { auth: { prot: 1 } } }, /Additional property prot is not allowed/],
    ['an unknown mode', { mode: 'staging' }, /mode/],
    ['an unknown ingress controller', { ingress: { controller: 'nginx' } }, /controller/],
    ['a negative minReplicas', { appServiceGroup: { minReplicas: -1 } }, /minReplicas/],
    ['a service without limits', { services: { auth: { resources: { limits: null } } } }, /limits/],
    ['a numeric env value', { services: { app: { env: { MAX_CONCURRENCY: 64 } } } }, /MAX_CONCURRENCY/],
  ])('refuses %s', async (_what, values, message) => {
    await expect(renderText(values)).rejects.toThrow(message);
  });
});

describe('devices and simulators', () => {
  const envOf = (objects: K8sObject[], name: string) =>
    Object.fromEntries(find(objects, 'Deployment', name).spec.template.spec.containers[0].env.map((e: { name: string; value?: string }) => [e.name, e.value]));

  it("exposes the cars' MQTT port on the telematics Service and opens it to every peer", async () => {
    const objects = await render({ services: { telematics: { service: { type: 'LoadBalancer' } } } });
    const service = find(objects, 'Service', 'evs-evshare-telematics');
    expect(service.spec.type).toBe('LoadBalancer');
    expect(service.spec.ports).toContainEqual({ name: 'mqtt', port: 1883, targetPort: 'mqtt', protocol: 'TCP' });
    const container = find(objects, 'Deployment', 'evs-evshare-telematics').spec.template.spec.containers[0];
    expect(container.ports).toContainEqual({ name: 'mqtt', containerPort: 1883, protocol: 'TCP' });
    expect(envOf(objects, 'evs-evshare-telematics')).toMatchObject({ MQTT_HOST: '0.0.0.0', MQTT_PORT: '1883' });
    expect(find(objects, 'NetworkPolicy', 'evs-evshare-telematics').spec.ingress).toContainEqual({ ports: [{ port: 1883, protocol: 'TCP' }] });
  });

  it("mounts the cars' TLS certificate from a Secret for the telematics broker", async () => {
    const tls = {
      secretVolumes: [{ name: 'mqtt-tls', secretName: '{{ .Release.Name }}-mqtt-tls', mountPath: '/etc/evshare/mqtt-tls' }],
      env: { MQTT_HOST: '0.0.0.0', MQTT_PORT: '8883', MQTT_TLS_CERT: '/etc/evshare/mqtt-tls/tls.crt', MQTT_TLS_KEY: '/etc/evshare/mqtt-tls/tls.key' },
      publicPorts: [{ name: 'mqtts', port: 8883 }],
    };
    const objects = await render({ services: { telematics: tls } });
    const pod = find(objects, 'Deployment', 'evs-evshare-telematics').spec.template.spec;
    expect(pod.volumes).toContainEqual({ name: 'mqtt-tls', secret: { secretName: 'evs-mqtt-tls' } });
    expect(pod.containers[0].volumeMounts).toContainEqual({ name: 'mqtt-tls', mountPath: '/etc/evshare/mqtt-tls', readOnly: true });
    expect(envOf(objects, 'evs-evshare-telematics')).toMatchObject({ MQTT_TLS_CERT: '/etc/evshare/mqtt-tls/tls.crt', MQTT_PORT: '8883' });
    await expect(render({ services: { telematics: { secretVolumes: [{ name: 'x', mountPath: 'relative' }] } } })).rejects.toThrow(/secretVolumes/);
  });

  it('runs no simulator unless asked', async () => {
    const objects = await render({});
    expect(objects.filter((o) => o.kind === 'Deployment' && /-(vehicle|pile|member)-sim$/.test(o.metadata.name))).toEqual([]);
  });

  it('points the simulators at the release (templated), lets the pile simulator reach charging', async () => {
    const on = { 'vehicle-sim': { enabled: true }, 'pile-sim': { enabled: true }, 'member-sim': { enabled: true } };
    const objects = await render({ entrypoint: 'ingress', services: on, ingress: { host: 'evshare.example.com' } });
    const args = (name: string) => find(objects, 'Deployment', name).spec.template.spec.containers[0].args;
    expect(args('evs-evshare-vehicle-sim')).toEqual(['vehicle', '--provision', '--count', '50', '--seed', '1', '--trip-chance', '0']);
    expect(args('evs-evshare-pile-sim')[0]).toBe('pile');
    expect(args('evs-evshare-member-sim')[0]).toBe('member');
    expect(envOf(objects, 'evs-evshare-vehicle-sim').MQTT_URL).toBe('mqtt://evs-evshare-telematics:1883');
    expect(envOf(objects, 'evs-evshare-pile-sim').OCPP_URL).toBe('ws://evs-evshare-charging:8087/ocpp');
    expect(envOf(objects, 'evs-evshare-member-sim')).toMatchObject({
      MEMBER_SIM_URL: 'http://ingress-nginx-controller.ingress-nginx.svc',
      MEMBER_SIM_HOST_HEADER: 'evshare.example.com',
    });
    const charging = find(objects, 'NetworkPolicy', 'evs-evshare-charging').spec.ingress;
    expect(charging).toContainEqual({
      from: [
        {
          podSelector: { matchLabels: { 'app.kubernetes.io/component': 'pile-sim', 'app.kubernetes.io/instance': 'evs', 'app.kubernetes.io/name': 'evshare' } },
        },
      ],
      ports: [{ port: 8087, protocol: 'TCP' }],
    });
    const viaGateway = await render({ entrypoint: 'gateway', services: on });
    expect(envOf(viaGateway, 'evs-evshare-member-sim').MEMBER_SIM_URL).toBe('http://evs-evshare-gateway:8080');
  });
});
