import { spawnService } from '@evshare/stack';
import { bearer, clientAddress, eventually, login, request } from '../support/http';
import { startTestPlatform, type TestPlatform } from '../support/platform';

interface Poller {
  from: string;
  key: string;
  instances: string[];
  failures: string[];
  polls: number;
}

/**
 * Each service its own process, on real Redis, NATS and PostgreSQL: the balancer must hide a
 * crashed instance and a draining one from 50 members polling in a loop.
 */
describe('APP instance failure and shutdown', () => {
  let platform: TestPlatform;
  let pollers: Poller[];
  let running = false;
  let loops: Promise<void>[] = [];

  beforeAll(async () => {
    platform = await startTestPlatform({ mode: 'processes', appInstances: 3 });
    pollers = [];
    for (let i = 0; i < 50; i++) {
      const from = clientAddress(1000 + i);
      pollers.push({
        from,
        key: await login(platform.stack.gatewayUrl, platform.member.account, platform.member.password, from),
        instances: [],
        failures: [],
        polls: 0,
      });
    }
  }, 120_000);
  afterAll(() => platform?.stop(), 60_000);

  const startPolling = () => {
    running = true;
    loops = pollers.map(async (poller) => {
      while (running) {
        try {
          const reply = await request(`${platform.stack.gatewayUrl}/api/v1/sync`, { headers: bearer(poller.key), from: poller.from });
          poller.polls++;
          if (reply.status !== 200) poller.failures.push(`${reply.status} ${reply.body}`);
          else poller.instances.push(String(reply.headers['x-app-instance']));
        } catch (error) {
          poller.failures.push(String(error));
        }
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    });
  };
  const stopPolling = async () => {
    running = false;
    await Promise.all(loops);
  };
  const reset = () => {
    for (const poller of pollers) {
      poller.instances = [];
      poller.failures = [];
      poller.polls = 0;
    }
  };
  const status = async () => (await request(`${platform.stack.gatewayAdminUrl}/lb/status`)).json<{ instances: Array<{ id: string; health: string }> }>();

  it("shows operators the balancer's view through the APP (the gateway process publishes it on NATS), and nobody else", async () => {
    expect((await request(`${platform.stack.gatewayUrl}/lb/status`)).status).toBe(404);
    const admin = await login(platform.stack.gatewayUrl, platform.admin.account, platform.admin.password);
    await eventually(async () => {
      const view = await request(`${platform.stack.gatewayUrl}/api/v1/admin/cluster/balancer`, { headers: bearer(admin) });
      expect(view.status).toBe(200);
      const ids = view
        .json<{ items: Array<{ status: { instances: Array<{ id: string }> } }> }>()
        .items[0]?.status.instances.map((i) => i.id)
        .sort();
      expect(ids).toEqual(['app-1', 'app-2', 'app-3']);
    }, 10_000);
    const member = pollers[0]!;
    expect((await request(`${platform.stack.gatewayUrl}/api/v1/admin/cluster/balancer`, { headers: bearer(member.key), from: member.from })).status).toBe(403);
    expect((await request(`${platform.stack.gatewayUrl}/api/v1/admin/cluster/balancer`)).status).toBe(401);
  });

  it('loses no poll when an instance is killed, keeps every session, and re-admits the instance', async () => {
    await eventually(async () => expect((await status()).instances.filter((i) => i.health === 'up')).toHaveLength(3), 10_000);
    reset();
    startPolling();
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const victim = 'app-1';
    const onVictim = pollers.filter((p) => p.instances.at(-1) === victim);
    expect(onVictim.length).toBeGreaterThan(0);
    const processes = platform.stack.process!(victim)!;
    await processes.stop('SIGKILL');
    await new Promise((resolve) => setTimeout(resolve, 2500));
    await stopPolling();

    expect(pollers.flatMap((p) => p.failures)).toEqual([]);
    for (const poller of onVictim) {
      // Moved to a live instance with the same session key: no re-login.
      expect(poller.instances.at(-1)).not.toBe(victim);
    }

    // The instance comes back on its old address and is re-admitted.
    const revived = await spawnService('app', { ...platform.env, INSTANCE_ID: victim, HOST: '127.0.0.1' }, { port: processes.port });
    try {
      await eventually(async () => expect((await status()).instances.find((i) => i.id === victim)?.health).toBe('up'), 10_000);
      reset();
      startPolling();
      await new Promise((resolve) => setTimeout(resolve, 1500));
      await stopPolling();
      expect(pollers.flatMap((p) => p.failures)).toEqual([]);
      // Consistent hashing sends the same addresses back to it.
      expect(onVictim.some((p) => p.instances.at(-1) === victim)).toBe(true);
    } finally {
      expect(await revived.stop('SIGTERM')).toBe(0);
    }
  }, 60_000);

  it('drains an instance on SIGTERM under load: it exits 0 and no client sees an error', async () => {
    await eventually(async () => expect((await status()).instances.filter((i) => i.health === 'up').length).toBeGreaterThanOrEqual(2), 10_000);
    reset();
    startPolling();
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const exitCode = await platform.stack.process!('app-2')!.stop('SIGTERM');
    await new Promise((resolve) => setTimeout(resolve, 1500));
    await stopPolling();
    expect(exitCode).toBe(0);
    expect(pollers.flatMap((p) => p.failures)).toEqual([]);
    expect(pollers.every((p) => p.instances.at(-1) !== 'app-2')).toBe(true);
  }, 60_000);
});
