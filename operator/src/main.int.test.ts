/**
 * The operator's process started before its NATS: it waits for the first connection instead of
 * exiting, alive and unready meanwhile, and becomes ready on its own once a server appears on the
 * address it dials (real kube-apiserver, real nats-server started later on that port).
 */
import { freePort, spawnService, type ServiceProcess } from '@evshare/stack';
import { startControlPlane, type ControlPlane } from '../../test/k8s/control-plane';
import { natsPasswords, startAuthNatsServer, type AuthNatsServer } from '../../test/support/nats-server';
import { appServiceGroupCrd } from './crd/crd';

let cp: ControlPlane | undefined;
let operator: ServiceProcess | undefined;
let nats: AuthNatsServer | undefined;

beforeAll(async () => {
  cp = await startControlPlane({ crds: [appServiceGroupCrd()] });
}, 120_000);

afterAll(async () => {
  await operator?.stop();
  await nats?.stop();
  await cp?.stop();
}, 60_000);

const status = async (url: string) => (await fetch(url, { signal: AbortSignal.timeout(2_000) })).status;

it('waits for its first NATS connection, alive and unready, then becomes ready without a restart', async () => {
  const natsPort = await freePort();
  const passwords = natsPasswords();
  const port = await freePort();
  const lines: string[] = [];
  operator = await spawnService(
    'operator',
    {
      KUBECONFIG: cp!.kubeconfigPath,
      NATS_URL: `nats://127.0.0.1:${natsPort}`,
      NATS_USER: 'operator',
      NATS_PASSWORD: passwords.operator,
      METRICS_PORT: String(port),
      METRICS_HOST: '127.0.0.1',
      WATCH_NAMESPACE: 'default',
      POD_NAME: 'operator-first-connect',
      LOG_LEVEL: 'info',
    },
    { port, onLine: (line) => lines.push(line) },
  );
  const pid = operator.child.pid;
  await new Promise((resolve) => setTimeout(resolve, 3_000));
  expect(operator.child.exitCode).toBeNull();
  expect(await status(`${operator.url}/healthz`)).toBe(200);
  expect(await status(`${operator.url}/readyz`)).toBe(503);
  expect(lines.some((line) => line.includes('waiting for the first connection to NATS'))).toBe(true);

  nats = await startAuthNatsServer({ port: natsPort, passwords });
  const deadline = Date.now() + 20_000;
  while ((await status(`${operator.url}/readyz`).catch(() => 0)) !== 200) {
    if (Date.now() > deadline) throw new Error(`not ready within 20 s:\n${lines.slice(-20).join('\n')}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  expect(operator.child.pid).toBe(pid);
  expect(operator.child.exitCode).toBeNull();
  expect(lines.some((line) => line.includes('connected to NATS'))).toBe(true);
}, 60_000);
