/**
 * Credentials per service in the chart: the NATS permissions file is what the code declares, each
 * pod gets only the credentials of the backends it uses, and the development NATS server the
 * chart configures is a real nats-server that enforces the services' permissions.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { connect } from 'nats';
import { BUS_IDENTITIES, SUBJECTS } from '@evshare/kit';
import { freePort } from '@evshare/stack';
import { natsPermissionsJson } from '../../services/kit/src/bus/write-permissions';
import { eventually } from '../support/http';
import { runNatsServer, type RunningNatsServer } from '../support/nats-server';
import { CHART, find, podSpecs, render, PRODUCTION_VALUES, type K8sObject } from './helm';

jest.setTimeout(30_000);

it('charts/evshare/files/nats-permissions.json is what services/kit/src/bus/permissions.ts declares (run `npm run nats-permissions -w @evshare/kit`)', async () => {
  expect(await readFile(path.join(CHART, 'files', 'nats-permissions.json'), 'utf8')).toBe(natsPermissionsJson());
});

/** Names of the environment variables of a workload's first container, and the Secrets they read. */
function envOf(objects: K8sObject[], kind: string, name: string): { names: string[]; secrets: string[] } {
  const env: Array<{ name: string; valueFrom?: { secretKeyRef?: { name: string } } }> = find(objects, kind, name).spec.template.spec.containers[0].env ?? [];
  return { names: env.map((e) => e.name), secrets: [...new Set(env.flatMap((e) => (e.valueFrom?.secretKeyRef ? [e.valueFrom.secretKeyRef.name] : [])))] };
}

const STORES = ['DATABASE_URL', 'PGPASSWORD', 'REDIS_URL', 'REDIS_PASSWORD', 'REDIS_SENTINELS', 'REDIS_CLUSTER_NODES', 'CACHE_REDIS_URL'];
const NATS = ['NATS_URL', 'NATS_USER', 'NATS_PASSWORD'];

describe.each([
  ['development', { entrypoint: 'gateway', services: { 'vehicle-sim': { enabled: true }, 'pile-sim': { enabled: true }, 'member-sim': { enabled: true } } }],
  ['production', { ...PRODUCTION_VALUES, entrypoint: 'gateway' }],
])('credentials per workload in %s mode', (mode, values) => {
  let objects: K8sObject[];
  beforeAll(async () => {
    objects = await render(values);
  });
  const deployment = (name: string) => envOf(objects, 'Deployment', `evs-evshare-${name}`);
  // On the release's own NATS the service's name; on a shared one (an account per release) the release's too.
  const natsUser = (name: string) => (mode === 'development' ? name : `evs-evshare-${name}`);

  it('gives web no NATS, Redis or database credential at all', () => {
    const web = deployment('web');
    expect(web.names.filter((n) => [...STORES, ...NATS].includes(n))).toEqual([]);
    expect(web.secrets).toEqual([]);
  });

  it('gives the simulators (development) the database to register devices, and no NATS or Redis', () => {
    if (mode !== 'development') return;
    for (const name of ['vehicle-sim', 'pile-sim', 'member-sim']) {
      const { names } = deployment(name);
      expect([name, names.filter((n) => [...NATS, 'REDIS_URL', 'REDIS_PASSWORD'].includes(n))]).toEqual([name, []]);
      expect(names).toContain('DATABASE_URL');
    }
  });

  it('gives the gateway and the operator their own NATS user and no Redis or database', () => {
    for (const name of ['gateway', 'operator']) {
      const { names, secrets } = deployment(name);
      expect([name, names.filter((n) => STORES.includes(n))]).toEqual([name, []]);
      expect(names).toEqual(expect.arrayContaining(NATS));
      // Its NATS password, and the release Secret for the membership signing key only.
      expect(secrets.sort()).toEqual([`evs-evshare-nats-${name}`, 'evs-evshare-secrets']);
    }
    expect(find(objects, 'Deployment', 'evs-evshare-gateway').spec.template.spec.containers[0].env).toContainEqual({
      name: 'NATS_USER',
      value: natsUser('gateway'),
    });
  });

  it('gives heartbeat NATS and Redis, but no database', () => {
    const { names } = deployment('heartbeat');
    expect(names).toEqual(expect.arrayContaining([...NATS, 'REDIS_URL']));
    expect(names.filter((n) => ['DATABASE_URL', 'PGPASSWORD'].includes(n))).toEqual([]);
  });

  it('gives each NATS service its own user and only its own password Secret', () => {
    for (const name of ['auth', 'app', 'heartbeat', 'billing', 'sms', 'telematics', 'charging']) {
      const container = find(objects, 'Deployment', `evs-evshare-${name}`).spec.template.spec.containers[0];
      expect(container.env).toContainEqual({ name: 'NATS_USER', value: natsUser(name) });
      expect(container.env).toContainEqual({ name: 'NATS_PASSWORD', valueFrom: { secretKeyRef: { name: `evs-evshare-nats-${name}`, key: 'password' } } });
      const natsSecrets = deployment(name).secrets.filter((s) => s.startsWith('evs-evshare-nats-'));
      expect([name, natsSecrets]).toEqual([name, [`evs-evshare-nats-${name}`]]);
    }
  });

  it('renders one password Secret per NATS identity', () => {
    // (values here use the gateway entrypoint; with the ingress there is no gateway and no gateway user)
    for (const identity of BUS_IDENTITIES) expect(find(objects, 'Secret', `evs-evshare-nats-${identity}`).data?.password).toBeTruthy();
  });

  it("gives no pod another service's NATS password (only the development NATS server reads them all)", () => {
    const readers = podSpecs(objects).filter(({ spec }) => JSON.stringify(spec).includes('"evs-evshare-nats-billing"'));
    expect(readers.map((r) => r.owner).sort()).toEqual(
      mode === 'development' ? ['Deployment/evs-evshare-billing', 'StatefulSet/evs-evshare-nats'] : ['Deployment/evs-evshare-billing'],
    );
  });
});

it('gives APP, the gateway and the operator the membership signing key, and no other workload', async () => {
  const objects = await render({ entrypoint: 'gateway' });
  const withKey = podSpecs(objects)
    .filter(({ spec }) => JSON.stringify(spec).includes('"membership-signing-key"'))
    .map(({ owner }) => owner)
    .sort();
  expect(withKey).toEqual(['Deployment/evs-evshare-app', 'Deployment/evs-evshare-gateway', 'Deployment/evs-evshare-operator']);
  const secret = find(objects, 'Secret', 'evs-evshare-secrets');
  expect(Buffer.from(String(secret.data?.['membership-signing-key']), 'base64').toString()).toMatch(/^[A-Za-z0-9]{32}$/);
});

it('lets only the workloads that use an in-chart backend reach it (development network policies)', async () => {
  const objects = await render({ entrypoint: 'gateway', services: { 'vehicle-sim': { enabled: true } } });
  const clients = (backend: string) =>
    (find(objects, 'NetworkPolicy', `evs-evshare-${backend}`).spec.ingress as Array<{ from: Array<{ podSelector: { matchLabels: Record<string, string> } }> }>)
      .flatMap((rule) => rule.from.map((peer) => peer.podSelector.matchLabels['app.kubernetes.io/component']))
      .sort();
  expect(clients('nats')).toEqual(['app', 'auth', 'billing', 'charging', 'gateway', 'heartbeat', 'operator', 'sms', 'telematics']);
  expect(clients('redis')).toEqual(['app', 'auth', 'billing', 'charging', 'heartbeat', 'sms', 'telematics']);
  expect(clients('postgres')).toEqual(['app', 'auth', 'billing', 'charging', 'sms', 'telematics', 'vehicle-sim']);
});

describe('the development NATS server the chart configures', () => {
  let server: RunningNatsServer | undefined;
  afterAll(async () => {
    await server?.stop();
  });

  it("runs in nats-server and enforces each service's permissions", async () => {
    const objects = await render({ entrypoint: 'gateway' });
    const conf = find(objects, 'ConfigMap', 'evs-evshare-nats').data?.['nats.conf'] ?? '';
    // The passwords the chart generates (a letter, then letters and digits), read from its Secrets.
    const passwords = Object.fromEntries(
      BUS_IDENTITIES.map((id) => [
        `NATS_PASSWORD_${id.toUpperCase()}`,
        Buffer.from(String(find(objects, 'Secret', `evs-evshare-nats-${id}`).data?.password), 'base64').toString(),
      ]),
    );
    for (const password of Object.values(passwords)) expect(password).toMatch(/^[A-Za-z][A-Za-z0-9]{31}$/);
    // The variables the StatefulSet sets from the Secrets, by the same names.
    const natsEnv: Array<{ name: string }> = find(objects, 'StatefulSet', 'evs-evshare-nats').spec.template.spec.containers[0].env;
    expect(natsEnv.map((e) => e.name).sort()).toEqual(Object.keys(passwords).sort());
    // The chart's configuration on a port and directory of the test's own.
    const httpPort = await freePort();
    server = await runNatsServer(
      ({ port, dir }) =>
        conf
          .replace('port: 4222', `port: ${port}\nhost: 127.0.0.1`)
          .replace('http_port: 8222', `http_port: ${httpPort}`)
          .replace('store_dir: /data', `store_dir: ${JSON.stringify(path.join(dir, 'js'))}`),
      { env: passwords },
    );
    const url = server.url;
    const app = await connect({ servers: url, user: 'app', pass: passwords.NATS_PASSWORD_APP!, reconnect: false });
    const heartbeat = await connect({ servers: url, user: 'heartbeat', pass: passwords.NATS_PASSWORD_HEARTBEAT!, inboxPrefix: '_INBOX.heartbeat' });
    const refusals: string[] = [];
    void (async () => {
      for await (const s of heartbeat.status()) if (s.permissionContext) refusals.push(`${s.permissionContext.operation} ${s.permissionContext.subject}`);
    })();
    const got: string[] = [];
    heartbeat.subscribe(SUBJECTS.pushMemberAll, { callback: (_e, m) => got.push(m.subject) });
    await heartbeat.flush();
    app.publish(SUBJECTS.pushMember('m1'), '{}');
    heartbeat.publish(SUBJECTS.appAnnounce, '{}');
    await eventually(() => expect(got).toEqual([SUBJECTS.pushMember('m1')]));
    await eventually(() => expect(refusals).toEqual([`publish ${SUBJECTS.appAnnounce}`]));
    await expect(connect({ servers: url, reconnect: false })).rejects.toMatchObject({ code: 'AUTHORIZATION_VIOLATION' });
    await app.close();
    await heartbeat.close();
  });
});
