/**
 * The chart for real clusters, rendered by helm: security contexts without fixed ids for platforms
 * that assign them (OpenShift's restricted-v2 SCC), images by digest, pinned backing images,
 * scheduling values on every pod, the GitOps path without generated secrets, and the app-key pair
 * (the private half only in the APP, the public half only in the simulated terminals).
 * test/chart/apiserver.test.ts admits the pods in a namespace enforcing the "restricted" profile.
 */
import { createPrivateKey, createPublicKey, sign, verify } from 'node:crypto';
import { appKeyPrivateKey, signAppKey, verifyAppKey } from '@evshare/kit';
import { platformPublicKey } from '@evshare/sim-vehicle';
import { PRODUCTION_VALUES, find, podSpecs, render, renderText, type K8sObject } from './helm';

jest.setTimeout(30_000);

const SIMULATORS = { 'vehicle-sim': { enabled: true }, 'pile-sim': { enabled: true }, 'member-sim': { enabled: true } };
const DIGEST = `sha256:${'ab'.repeat(32)}`;

/** Every container with its pod, across both modes' workloads. */
const containers = (objects: K8sObject[]) =>
  podSpecs(objects).flatMap(({ owner, spec }) => [...(spec.initContainers ?? []), ...spec.containers].map((c) => ({ owner, pod: spec, c })));

describe('podSecurity.fixedIds=false (the platform assigns the ids)', () => {
  it.each([
    ['development', { entrypoint: 'gateway', services: SIMULATORS }],
    ['production', PRODUCTION_VALUES],
  ])('sets no user, group or fsGroup anywhere in %s mode, and keeps the restricted profile', async (_mode, values) => {
    const objects = await render({ ...values, podSecurity: { fixedIds: false } });
    const violations: string[] = [];
    for (const { owner, pod, c } of containers(objects)) {
      const where = `${owner} ${c.name}`;
      for (const field of ['runAsUser', 'runAsGroup', 'fsGroup']) {
        if (pod.securityContext?.[field] !== undefined) violations.push(`${where}: pod ${field}`);
        if (c.securityContext?.[field] !== undefined) violations.push(`${where}: container ${field}`);
      }
      const sc = c.securityContext;
      if (!(sc.runAsNonRoot === true && pod.securityContext.runAsNonRoot === true)) violations.push(`${where}: runAsNonRoot`);
      if (sc.allowPrivilegeEscalation !== false || sc.readOnlyRootFilesystem !== true || sc.privileged !== false)
        violations.push(`${where}: ${JSON.stringify(sc)}`);
      if (JSON.stringify(sc.capabilities) !== '{"drop":["ALL"]}' || sc.seccompProfile?.type !== 'RuntimeDefault')
        violations.push(`${where}: ${JSON.stringify(sc)}`);
    }
    expect(violations).toEqual([]);
    expect(containers(objects).length).toBeGreaterThan(8);
  });

  it("runs each container as its image's own user by default", async () => {
    const uids = Object.fromEntries(containers(await render({})).map(({ owner, c }) => [owner, [c.securityContext.runAsUser, c.securityContext.runAsGroup]]));
    expect(uids).toMatchObject({
      'Deployment/evs-evshare-app': [10001, 10001],
      'Deployment/evs-evshare-operator': [10001, 10001],
      'StatefulSet/evs-evshare-nats': [10001, 10001],
      'StatefulSet/evs-evshare-redis': [999, 999],
      'StatefulSet/evs-evshare-postgres': [70, 70],
    });
  });
});

describe('images', () => {
  const images = (objects: K8sObject[]) => Object.fromEntries(containers(objects).map(({ owner, c }) => [owner, c.image]));

  it('pulls the evshare image by digest when one is given (the digest wins over the tag)', async () => {
    const all = images(await render({ entrypoint: 'gateway', image: { tag: '1.2.3', digest: DIGEST } }));
    const evshare = Object.entries(all).filter(([owner]) => !/-(nats|redis|postgres)$/.test(owner));
    expect(evshare.length).toBeGreaterThan(8);
    for (const [owner, image] of evshare) expect([owner, image]).toEqual([owner, `ghcr.io/evshare/evshare@${DIGEST}`]);
  });

  it('pulls by tag otherwise, the chart version when none is given', async () => {
    expect(images(await render({}))['Deployment/evs-evshare-app']).toBe('ghcr.io/evshare/evshare:0.1.0');
    expect(images(await render({ image: { tag: '1.2.3' } }))['Deployment/evs-evshare-operator']).toBe('ghcr.io/evshare/evshare:1.2.3');
  });

  it('pins the backing images to full releases (no floating major or minor tag), and takes a digest for each', async () => {
    const dev = images(await render({}));
    for (const owner of ['StatefulSet/evs-evshare-nats', 'StatefulSet/evs-evshare-redis', 'StatefulSet/evs-evshare-postgres'])
      expect([owner, dev[owner]]).toEqual([owner, expect.stringMatching(/^[a-z]+:\d+\.\d+(\.\d+)?-alpine\d+\.\d+$/)]);
    const pinned = images(await render({ development: { postgres: { image: { digest: DIGEST } } } }));
    expect(pinned['StatefulSet/evs-evshare-postgres']).toBe(`postgres@${DIGEST}`);
  });

  it.each([
    ['a digest that is not sha256', { image: { digest: 'md5:abc' } }],
    ['a short digest', { development: { redis: { image: { digest: 'sha256:abc' } } } }],
  ])('refuses %s', async (_what, values) => {
    await expect(renderText(values)).rejects.toThrow(/digest/);
  });

  it('refuses a backing image with neither tag nor digest', async () => {
    await expect(renderText({ development: { nats: { image: { tag: '' } } } })).rejects.toThrow(/a tag or a digest for the image nats/);
  });
});

describe('scheduling', () => {
  it('gives every pod the priority class, affinity and a topology spread of its own component', async () => {
    const affinity = {
      nodeAffinity: {
        requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'pool', operator: 'In', values: ['evshare'] }] }] },
      },
    };
    const objects = await render({
      entrypoint: 'gateway',
      priorityClassName: 'evshare-critical',
      affinity,
      topologySpreadConstraints: [
        { maxSkew: 1, topologyKey: 'topology.kubernetes.io/zone', whenUnsatisfiable: 'DoNotSchedule' },
        { maxSkew: 2, topologyKey: 'kubernetes.io/hostname', whenUnsatisfiable: 'ScheduleAnyway' },
      ],
    });
    const specs = podSpecs(objects);
    expect(specs.length).toBeGreaterThan(10);
    for (const { owner, spec } of specs) {
      const component = objects.find((o) => `${o.kind}/${o.metadata.name}` === owner)!.spec.template.metadata.labels['app.kubernetes.io/component'];
      const selector = { matchLabels: { 'app.kubernetes.io/name': 'evshare', 'app.kubernetes.io/instance': 'evs', 'app.kubernetes.io/component': component } };
      expect([owner, spec.priorityClassName, spec.affinity, spec.topologySpreadConstraints]).toEqual([
        owner,
        'evshare-critical',
        affinity,
        [
          { maxSkew: 1, topologyKey: 'topology.kubernetes.io/zone', whenUnsatisfiable: 'DoNotSchedule', labelSelector: selector },
          { maxSkew: 2, topologyKey: 'kubernetes.io/hostname', whenUnsatisfiable: 'ScheduleAnyway', labelSelector: selector },
        ],
      ]);
    }
  });

  it('spreads over nodes without blocking scheduling by default, and sets no priority class or affinity', async () => {
    const app = find(await render({}), 'Deployment', 'evs-evshare-app').spec.template.spec;
    expect(app.topologySpreadConstraints).toEqual([
      {
        maxSkew: 1,
        topologyKey: 'kubernetes.io/hostname',
        whenUnsatisfiable: 'ScheduleAnyway',
        labelSelector: { matchLabels: { 'app.kubernetes.io/name': 'evshare', 'app.kubernetes.io/instance': 'evs', 'app.kubernetes.io/component': 'app' } },
      },
    ]);
    expect(app).not.toHaveProperty('priorityClassName');
    expect(app).not.toHaveProperty('affinity');
    expect(find(await render({ topologySpreadConstraints: [] }), 'Deployment', 'evs-evshare-app').spec.template.spec).not.toHaveProperty(
      'topologySpreadConstraints',
    );
  });

  it('refuses a spread constraint without its topology key', async () => {
    await expect(renderText({ topologySpreadConstraints: [{ maxSkew: 1, whenUnsatisfiable: 'ScheduleAnyway' }] })).rejects.toThrow(/topologyKey/);
  });
});

describe('GitOps: secrets.generate=false', () => {
  it('renders no Secret and reads every credential from the named one', async () => {
    const objects = await render({ entrypoint: 'gateway', secrets: { generate: false, existingSecret: 'evshare-sealed' }, services: SIMULATORS });
    expect(objects.filter((o) => o.kind === 'Secret')).toEqual([]);
    const refs = new Set(
      containers(objects).flatMap(({ c }) =>
        (c.env ?? []).flatMap((e: { valueFrom?: { secretKeyRef?: { name: string } } }) => (e.valueFrom?.secretKeyRef ? [e.valueFrom.secretKeyRef.name] : [])),
      ),
    );
    expect([...refs]).toEqual(['evshare-sealed']);
  });

  it('refuses to render without the Secret to read them from (no passwords made up on every sync)', async () => {
    await expect(renderText({ secrets: { generate: false } })).rejects.toThrow(/secrets\.generate=false \(GitOps\) needs secrets\.existingSecret/);
  });
});

describe('app keys', () => {
  let objects: K8sObject[];
  beforeAll(async () => {
    objects = await render({ services: SIMULATORS });
  });
  const secretKey = (key: string) => Buffer.from(find(objects, 'Secret', 'evs-evshare-secrets').data![key]!, 'base64').toString();

  it('generates an Ed25519 signing key whose public half (a certificate) verifies its signatures', () => {
    const privateKey = createPrivateKey(secretKey('app-key-private-key'));
    expect(privateKey.asymmetricKeyType).toBe('ed25519');
    const publicPem = secretKey('app-key-public-key');
    expect(publicPem).toMatch(/^-----BEGIN CERTIFICATE-----/);
    const publicKey = createPublicKey(publicPem);
    const message = Buffer.from('evk1.claims');
    expect(verify(null, message, publicKey, sign(null, message, privateKey))).toBe(true);
  });

  it('makes keys the APP signs open a terminal provisioned with the public half (the simulator reads it as the pod gets it)', () => {
    const vin = 'LSJA24U69MS000001';
    const now = Date.now();
    const { key } = signAppKey(appKeyPrivateKey(secretKey('app-key-private-key')), {
      vin,
      memberId: '00000000-0000-4000-8000-00000000000a',
      notBefore: new Date(now - 60_000),
      validitySeconds: 600,
    });
    const terminal = platformPublicKey(secretKey('app-key-public-key'));
    expect(verifyAppKey(terminal, key, { vin, nowMs: now })).toMatchObject({ ok: true });
    expect(verifyAppKey(terminal, key, { vin: 'LSJA24U69MS000002', nowMs: now })).toEqual({ ok: false, reason: 'other-car' });
  });

  it('gives the private key to the APP alone and the public key to the simulated terminals alone', () => {
    const readers = (key: string) =>
      podSpecs(objects)
        .filter(({ spec }) => JSON.stringify(spec).includes(`"key":"${key}"`))
        .map(({ owner }) => owner);
    expect(readers('app-key-private-key')).toEqual(['Deployment/evs-evshare-app']);
    expect(readers('app-key-public-key')).toEqual(['Deployment/evs-evshare-vehicle-sim']);
    const env = (name: string) => find(objects, 'Deployment', name).spec.template.spec.containers[0].env;
    expect(env('evs-evshare-app')).toContainEqual({
      name: 'APP_KEY_PRIVATE_KEY',
      valueFrom: { secretKeyRef: { name: 'evs-evshare-secrets', key: 'app-key-private-key' } },
    });
    expect(env('evs-evshare-vehicle-sim')).toContainEqual({
      name: 'APP_KEY_PUBLIC_KEY',
      valueFrom: { secretKeyRef: { name: 'evs-evshare-secrets', key: 'app-key-public-key' } },
    });
  });

  it('are a new pair per render (kept across upgrades by the lookup: test/chart/apiserver.test.ts)', async () => {
    const other = find(await render({}), 'Secret', 'evs-evshare-secrets').data!;
    expect(other['app-key-private-key']).not.toBe(find(objects, 'Secret', 'evs-evshare-secrets').data!['app-key-private-key']);
  });

  it('are off with appKeys.enabled=false: no key generated or passed', async () => {
    const off = await render({ appKeys: { enabled: false }, services: SIMULATORS });
    expect(Object.keys(find(off, 'Secret', 'evs-evshare-secrets').data!).filter((k) => k.startsWith('app-key-'))).toEqual([]);
    expect(JSON.stringify(podSpecs(off))).not.toMatch(/APP_KEY_/);
  });

  it('come from the existing Secret with secrets.existingSecret', async () => {
    const existing = await render({ secrets: { existingSecret: 'mine' } });
    expect(find(existing, 'Deployment', 'evs-evshare-app').spec.template.spec.containers[0].env).toContainEqual({
      name: 'APP_KEY_PRIVATE_KEY',
      valueFrom: { secretKeyRef: { name: 'mine', key: 'app-key-private-key' } },
    });
  });
});
