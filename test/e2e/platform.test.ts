import { registerMembers, simulatedAccounts, startMemberFleet } from '@evshare/sim-member';
import { bearer, clientAddress, eventually, login, request } from '../support/http';
import { startTarget, targetKind, type E2eTarget } from './target';

/**
 * The end-to-end suite of `make e2e` (kind, through the ingress), `make e2e-node` (the chart on
 * the real one-node cluster started here, through the gateway's Service) and `make e2e-local`
 * (the local stack, each service its own process): log in, stickiness of one client, the APP
 * instance serving a client killed with no failed request and the member still logged in, and
 * load from simulated member apps (sims/member) driving a scale-up and, after it stops, a
 * scale-down.
 */
// Only the local stack can give each test client its own source address.
const local = targetKind() === 'local';

describe('evshare end to end', () => {
  let target: E2eTarget;
  let member: { account: string; password: string };

  beforeAll(async () => {
    target = await startTarget();
    const admin = await login(target.url, target.admin.account, target.admin.password);
    member = { account: `1390${String(Date.now()).slice(-7)}`, password: 'e2e-member-password' };
    const created = await request(`${target.url}/api/v1/admin/members`, {
      method: 'POST',
      headers: bearer(admin),
      body: { phone: member.account, displayName: 'E2E Member', password: member.password },
    });
    expect(created.status).toBe(201);
  }, 180_000);
  afterAll(() => target?.stop(), 60_000);

  it('logs a member in through the entry point and serves the poll', async () => {
    const key = await login(target.url, member.account, member.password);
    const sync = await request(`${target.url}/api/v1/sync`, { headers: bearer(key) });
    expect(sync.status).toBe(200);
    expect(sync.json()).toMatchObject({ member: { displayName: 'E2E Member' } });
  });

  it('keeps one client on one APP instance', async () => {
    const from = local ? clientAddress(4000) : undefined;
    const key = await login(target.url, member.account, member.password, from);
    const instances = new Set<string>();
    for (let i = 0; i < 20; i++) instances.add(String((await request(`${target.url}/api/v1/sync`, { headers: bearer(key), from })).headers['x-app-instance']));
    expect(instances.size).toBe(1);
  });

  it('loses no request when the APP instance serving the client is killed, and the member stays logged in', async () => {
    const key = await login(target.url, member.account, member.password);
    const failures: string[] = [];
    // Requests served per instance, before and after the kill.
    const served = new Map<string, number>();
    // Not const: the request loops read it before the kill sets it.
    let victim: string | undefined = undefined;
    const after = new Set<string>();
    let running = true;
    const loops = Array.from({ length: 20 }, async (_, i) => {
      const from = local ? clientAddress(4100 + i) : undefined;
      while (running) {
        try {
          const reply = await request(`${target.url}/api/v1/sync`, { headers: bearer(key), from });
          const instance = String(reply.headers['x-app-instance']);
          if (reply.status !== 200) failures.push(`${reply.status} ${instance} ${reply.body.slice(0, 160)}`);
          else if (victim === undefined) served.set(instance, (served.get(instance) ?? 0) + 1);
          else after.add(instance);
        } catch (error) {
          failures.push(String(error));
        }
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
    });
    await new Promise((resolve) => setTimeout(resolve, 1500));
    // The instance that served the most of this client's polls.
    victim = [...served.entries()].sort((a, b) => b[1] - a[1])[0]?.[0];
    expect(victim).toBeDefined();
    await target.kill(victim!);
    await new Promise((resolve) => setTimeout(resolve, 3000));
    running = false;
    await Promise.all(loops);
    expect(failures).toEqual([]);
    // The polls went on, on the same session (a 401 would be a failure above).
    expect(after.size).toBeGreaterThanOrEqual(1);
  }, 60_000);

  it('scales the APP instances up under load from simulated member apps and down after it stops', async () => {
    // The load is the patent's APP load: member apps polling the sync endpoint, each from its own
    // client address when the target is on this machine (so the gateway spreads them).
    const accounts = simulatedAccounts(32, 'e2e-sim-member-password', `139${String(Date.now()).slice(-4)}`);
    await registerMembers({ url: target.url, admin: target.admin, accounts });
    // Settled, with room to grow: the earlier tests' load may still hold the group at its maximum.
    await eventually(
      async () => {
        const running = (await target.appInstances()).length;
        expect(running).toBeGreaterThanOrEqual(2);
        if (target.maxInstances !== undefined) expect(running).toBeLessThan(target.maxInstances);
      },
      60_000,
      500,
    );
    const before = (await target.appInstances()).length;
    let peak = before;
    const fleet = startMemberFleet({
      url: target.url,
      accounts,
      seed: 5,
      pollIntervalMs: 10,
      burst: 3,
      concurrencyRampMs: 1000,
      addressBlock: local ? 2 : 0,
    });
    try {
      await eventually(
        async () => {
          peak = Math.max(peak, (await target.appInstances()).length);
          expect(peak).toBeGreaterThan(before);
        },
        60_000,
        250,
      );
    } finally {
      await fleet.stop();
    }
    const load = fleet.stats();
    expect(load.loginFailures).toBe(0);
    expect(load.ok + load.notModified).toBeGreaterThan(0);
    // Behind an ingress every member shares this machine's address; locally each has its own.
    if (local) expect(Object.keys(load.instances).length).toBeGreaterThanOrEqual(2);
    await eventually(async () => expect((await target.appInstances()).length).toBeLessThan(peak), 120_000, 500);
  }, 240_000);
});
