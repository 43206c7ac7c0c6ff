import { randomUUID } from 'node:crypto';
import { createNatsBus, SUBJECTS, type Bus } from '@evshare/kit';
import { freePort, spawnService, type ServiceProcess } from '@evshare/stack';
import { natsPasswords, startAuthNatsServer, type AuthNatsServer } from '../support/nats-server';

/**
 * A service whose NATS is not up when it starts waits for the first connection instead of failing
 * its start (and crash-looping under a kubelet): alive meanwhile, not ready, and ready on its own
 * once a server appears on the address it dials, without a restart.
 */

const SERVER_DELAY_MS = 3_000;

async function eventually<T>(check: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function probe(url: string): Promise<{ status: number; body: { status?: string; checks?: Record<string, string> } }> {
  const res = await fetch(url, { signal: AbortSignal.timeout(2_000) });
  return { status: res.status, body: (await res.json()) as { status?: string; checks?: Record<string, string> } };
}

let server: AuthNatsServer | undefined;
let bus: Bus | undefined;
let observer: Bus | undefined;
let service: ServiceProcess | undefined;

afterEach(async () => {
  await service?.stop();
  service = undefined;
  await observer?.close();
  observer = undefined;
  await bus?.close();
  bus = undefined;
  await server?.stop();
  server = undefined;
});

it('a bus waiting for its first connection connects when the server comes up, and works', async () => {
  const port = await freePort();
  const passwords = natsPasswords();
  let settled = false;
  const connecting = createNatsBus({
    url: `nats://127.0.0.1:${port}`,
    name: 'first-connect-test',
    user: 'heartbeat',
    password: passwords.heartbeat,
    inboxPrefix: '_INBOX.heartbeat',
    waitForFirstConnection: true,
  }).finally(() => (settled = true));
  await new Promise((resolve) => setTimeout(resolve, SERVER_DELAY_MS));
  expect(settled).toBe(false);

  server = await startAuthNatsServer({ port, passwords });
  bus = await connecting;
  observer = await createNatsBus({ url: server.url, name: 'first-connect-observer', user: server.admin.user, password: server.admin.password });
  // Both ways, within the heartbeat user's permissions: it receives pushes and publishes reports.
  const pushes: unknown[] = [];
  bus.subscribe(SUBJECTS.pushMemberAll, (data) => void pushes.push(data));
  const reports: unknown[] = [];
  observer.subscribe(SUBJECTS.heartbeatOnline, (data) => void reports.push(data));
  const push = { id: randomUUID() };
  const report = { instance: randomUUID() };
  await eventually(async () => {
    observer!.publish(SUBJECTS.pushMember('m1'), push);
    bus!.publish(SUBJECTS.heartbeatOnline, report);
    return pushes.length > 0 && reports.length > 0 ? true : undefined;
  });
  expect(pushes[0]).toEqual(push);
  expect(reports[0]).toEqual(report);
  await bus.ping();
}, 30_000);

it('without waiting, an unreachable server fails the call (tests and tools fail fast)', async () => {
  const port = await freePort();
  await expect(createNatsBus({ url: `nats://127.0.0.1:${port}`, name: 'first-connect-test' })).rejects.toThrow();
});

it('a service started before its NATS is alive and unready while it waits, then ready without a restart', async () => {
  const natsPort = await freePort();
  const passwords = natsPasswords();
  const lines: string[] = [];
  service = await spawnService(
    'heartbeat',
    {
      NATS_URL: `nats://127.0.0.1:${natsPort}`,
      NATS_USER: 'heartbeat',
      NATS_PASSWORD: passwords.heartbeat,
      NATS_SUBJECT_PREFIX: '',
      REDIS_URL: '',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'info',
      ONLINE_REPORT_INTERVAL_MS: '200',
    },
    { onLine: (line) => lines.push(line) },
  );
  const pid = service.child.pid;

  // spawnService returned on /healthz: the start is waiting, alive and not ready.
  expect((await probe(`${service.url}/healthz`)).status).toBe(200);
  const waiting = await probe(`${service.url}/readyz`);
  expect(waiting.status).toBe(503);
  expect(waiting.body.checks?.starting).toMatch(/waiting for the first connection to NATS \(127\.0\.0\.1:\d+\)/);
  expect(lines.some((line) => line.includes('waiting for the first connection to NATS'))).toBe(true);
  await new Promise((resolve) => setTimeout(resolve, SERVER_DELAY_MS));
  expect(service.child.exitCode).toBeNull();
  expect((await probe(`${service.url}/readyz`)).status).toBe(503);

  server = await startAuthNatsServer({ port: natsPort, passwords });
  const ready = await eventually(async () => {
    const answer = await probe(`${service!.url}/readyz`);
    return answer.status === 200 ? answer : undefined;
  });
  expect(ready.body.checks?.bus).toBe('ok');
  expect(service.child.pid).toBe(pid);
  expect(service.child.exitCode).toBeNull();
  expect(lines.some((line) => line.includes('connected to NATS'))).toBe(true);
  // Its password never reaches the log.
  expect(lines.join('\n')).not.toContain(passwords.heartbeat);

  // The bus works: the service's online reports arrive.
  observer = await createNatsBus({ url: server.url, name: 'first-connect-observer', user: server.admin.user, password: server.admin.password });
  const reports: Array<{ instance?: string }> = [];
  observer.subscribe(SUBJECTS.heartbeatOnline, (data) => void reports.push(data as { instance?: string }));
  await eventually(async () => (reports.length > 0 ? true : undefined));
  expect(reports[0]?.instance).toEqual(expect.stringMatching(/^heartbeat-/));
}, 60_000);

it('the gateway started before its NATS waits for it instead of exiting, then serves', async () => {
  const natsPort = await freePort();
  const passwords = natsPasswords();
  const lines: string[] = [];
  // spawnService resolves once /healthz answers and rejects if the process exits first.
  const starting = spawnService(
    'gateway',
    {
      NATS_URL: `nats://127.0.0.1:${natsPort}`,
      NATS_USER: 'gateway',
      NATS_PASSWORD: passwords.gateway,
      NATS_SUBJECT_PREFIX: '',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'info',
      GATEWAY_WORKERS: '1',
      ADMIN_PORT: String(await freePort()),
      ADMIN_HOST: '127.0.0.1',
    },
    { onLine: (line) => lines.push(line), startTimeoutMs: 30_000 },
  );
  let settled = false;
  void starting.then(
    () => (settled = true),
    () => (settled = true),
  );
  await eventually(async () => (lines.some((line) => line.includes('waiting for the first connection to NATS')) ? true : undefined));
  await new Promise((resolve) => setTimeout(resolve, SERVER_DELAY_MS));
  expect(settled).toBe(false);

  server = await startAuthNatsServer({ port: natsPort, passwords });
  service = await starting;
  expect(service.child.exitCode).toBeNull();
  expect(lines.some((line) => line.includes('connected to NATS'))).toBe(true);
  expect(lines.join('\n')).not.toContain(passwords.gateway);
}, 60_000);
