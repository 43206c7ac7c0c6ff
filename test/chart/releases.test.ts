/**
 * Two releases in one namespace share nothing that would make them act on each other: each has its
 * own operator Lease and group selector, and its own NATS: in development mode a server of its
 * own, in production mode (one shared NATS) an account of its own with users named after it, which
 * a real nats-server keeps apart.
 */
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { connect, type NatsConnection } from 'nats';
import { BUS_IDENTITIES, deductionSubject, STREAMS, SUBJECTS } from '@evshare/kit';
import { eventually } from '../support/http';
import { runNatsServer, type RunningNatsServer } from '../support/nats-server';
import { find, render, PRODUCTION_VALUES, type K8sObject } from './helm';

jest.setTimeout(30_000);

const NAMESPACE = 'shared';
const RELEASES = ['blue', 'green'] as const;

type Env = Array<{ name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string } } }>;

/** Every container env of the release's workloads, by workload name. */
function workloadEnvs(objects: K8sObject[]): Map<string, Env> {
  const envs = new Map<string, Env>();
  for (const o of objects.filter((w) => ['Deployment', 'StatefulSet'].includes(w.kind))) {
    envs.set(
      o.metadata.name,
      (o.spec.template.spec.containers as Array<{ env?: Env }>).flatMap((c) => c.env ?? []),
    );
  }
  return envs;
}

const valuesOf = (objects: K8sObject[], variable: string) =>
  [...workloadEnvs(objects).values()].flatMap((env) =>
    env.filter((e) => e.name === variable).map((e) => e.value ?? `secret:${e.valueFrom?.secretKeyRef?.name}`),
  );

async function renderBoth(values: object): Promise<Record<(typeof RELEASES)[number], K8sObject[]>> {
  const [blue, green] = await Promise.all(RELEASES.map((release) => render(values, { release, namespace: NAMESPACE })));
  return { blue: blue!, green: green! };
}

const operatorEnv = (objects: K8sObject[], release: string) => workloadEnvs(objects).get(`${release}-evshare-operator`)!;
const envValue = (env: Env, name: string) => env.find((e) => e.name === name)?.value;

describe.each([
  ['development', { entrypoint: 'gateway' }],
  ['production', { ...PRODUCTION_VALUES, entrypoint: 'gateway' }],
])('two releases in one namespace (%s mode)', (mode, values) => {
  let rendered: Record<(typeof RELEASES)[number], K8sObject[]>;
  beforeAll(async () => {
    rendered = await renderBoth(values);
  });

  it('have their own operator Lease, RBAC and groups', () => {
    const leases = RELEASES.map((r) => envValue(operatorEnv(rendered[r], r), 'LEASE_NAME'));
    expect(leases).toEqual(['blue-evshare-operator', 'green-evshare-operator']);
    expect(RELEASES.map((r) => envValue(operatorEnv(rendered[r], r), 'GROUP_SELECTOR'))).toEqual([
      'app.kubernetes.io/instance=blue',
      'app.kubernetes.io/instance=green',
    ]);
    expect(RELEASES.map((r) => envValue(operatorEnv(rendered[r], r), 'WATCH_NAMESPACE'))).toEqual([NAMESPACE, NAMESPACE]);
    const names = (objects: K8sObject[], kind: string) => objects.filter((o) => o.kind === kind).map((o) => o.metadata.name);
    for (const kind of ['Role', 'RoleBinding', 'ServiceAccount', 'Secret', 'ConfigMap', 'Service', 'Deployment']) {
      const blue = names(rendered.blue, kind);
      expect([kind, blue.filter((n) => names(rendered.green, kind).includes(n))]).toEqual([kind, []]);
    }
  });

  it('never log in to NATS as the other release', () => {
    const users = RELEASES.map((r) => new Set(valuesOf(rendered[r], 'NATS_USER')));
    const passwords = RELEASES.map((r) => new Set(valuesOf(rendered[r], 'NATS_PASSWORD')));
    expect(users[0]!.size).toBeGreaterThanOrEqual(BUS_IDENTITIES.length - 1);
    // The password Secrets are the release's own in both modes.
    expect([...passwords[0]!].filter((p) => passwords[1]!.has(p))).toEqual([]);
    const urls = RELEASES.map((r) => new Set(valuesOf(rendered[r], 'NATS_URL')));
    if (mode === 'development') {
      // Its own server: every workload dials the release's NATS Service.
      expect(urls.map((u) => [...u])).toEqual([['nats://blue-evshare-nats:4222'], ['nats://green-evshare-nats:4222']]);
    } else {
      // One NATS: users named after the release, so each logs in to its release's account.
      expect(urls.map((u) => [...u])).toEqual([['nats://nats.nats.svc:4222'], ['nats://nats.nats.svc:4222']]);
      expect([...users[0]!].filter((u) => users[1]!.has(u))).toEqual([]);
      expect([...users[0]!].every((u) => u.startsWith('blue-evshare-'))).toBe(true);
    }
  });
});

describe('the production NATS accounts of two releases in one nats-server', () => {
  let server: RunningNatsServer | undefined;
  const connections: NatsConnection[] = [];
  afterAll(async () => {
    await Promise.all(connections.map((c) => c.close()));
    await server?.stop();
  });

  it("keep each release's subjects and streams to itself", async () => {
    // With the gateway, so every identity has its user.
    const rendered = await renderBoth({ ...PRODUCTION_VALUES, entrypoint: 'gateway' });
    const accounts = RELEASES.map((r) => find(rendered[r], 'ConfigMap', `${r}-evshare-nats-account`).data?.['account.conf'] as string);
    expect(accounts[0]).toContain('"blue-evshare": {');
    expect(accounts[1]).toContain('"green-evshare": {');
    // The password variables the account files name, one per release and identity (nats-server
    // parses a variable's value: a letter first, as the chart's generated passwords have).
    const passwords: Record<string, string> = {};
    for (const release of RELEASES) {
      for (const id of BUS_IDENTITIES) passwords[`${release.toUpperCase()}_EVSHARE_${id.toUpperCase()}_PASSWORD`] = `p${randomBytes(12).toString('hex')}`;
    }
    for (const variable of Object.keys(passwords)) expect(accounts.join('\n')).toContain(`$${variable}`);

    server = await runNatsServer(
      ({ port, dir }) =>
        [`port: ${port}`, 'host: 127.0.0.1', `jetstream { store_dir: ${JSON.stringify(path.join(dir, 'js'))} }`, 'accounts {', ...accounts, '}', ''].join('\n'),
      { env: passwords },
    );
    const url = server.url;
    const login = async (release: string, id: string) => {
      const nc = await connect({
        servers: url,
        user: `${release}-evshare-${id}`,
        pass: passwords[`${release.toUpperCase()}_EVSHARE_${id.toUpperCase()}_PASSWORD`]!,
        inboxPrefix: `_INBOX.${id}`,
        reconnect: false,
      });
      connections.push(nc);
      return nc;
    };
    const blueApp = await login('blue', 'app');
    const [blueGateway, greenGateway] = await Promise.all([login('blue', 'gateway'), login('green', 'gateway')]);
    const heard = { blue: 0, green: 0 };
    blueGateway.subscribe(SUBJECTS.appAnnounce, { callback: () => heard.blue++ });
    greenGateway.subscribe(SUBJECTS.appAnnounce, { callback: () => heard.green++ });
    await Promise.all([blueGateway.flush(), greenGateway.flush()]);
    blueApp.publish(SUBJECTS.appAnnounce, '{}');
    await blueApp.flush();
    await eventually(() => expect(heard.blue).toBe(1));
    // A round trip on green's connection after blue's message was delivered: nothing for green.
    await greenGateway.flush();
    expect(heard.green).toBe(0);

    // JetStream per account: both releases' billing owns a DEDUCTIONS stream of its own, and blue's
    // deduction lands in blue's alone.
    const [blueBilling, greenBilling] = await Promise.all([login('blue', 'billing'), login('green', 'billing')]);
    for (const billing of [blueBilling, greenBilling]) {
      const jsm = await billing.jetstreamManager({ checkAPI: false });
      await jsm.streams.add({ name: STREAMS.deductions.name, subjects: STREAMS.deductions.subjects });
    }
    await blueApp.jetstream().publish(deductionSubject('rental'), '{}');
    const count = async (billing: NatsConnection) =>
      (await (await billing.jetstreamManager({ checkAPI: false })).streams.info(STREAMS.deductions.name)).state.messages;
    expect([await count(blueBilling), await count(greenBilling)]).toEqual([1, 0]);
  });
});
