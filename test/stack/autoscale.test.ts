import { createLogger } from '@evshare/kit';
import { startLocalAutoscaler } from '@evshare/stack';
import { bearer, clientAddress, login, request } from '../support/http';
import { startTestPlatform, type TestPlatform } from '../support/platform';

/**
 * The local actuator of `make run`: real load on real APP instances drives the operator's
 * scaling decision, which starts instances at once and stops them only after the window.
 */
describe('local autoscaling', () => {
  let platform: TestPlatform;
  let autoscaler: ReturnType<typeof startLocalAutoscaler>;

  beforeAll(async () => {
    // The whole platform shares this process with the load: a queued request may wait longer than
    // the default 5 s on a busy machine, and the test is about none being lost.
    platform = await startTestPlatform({ appInstances: 1, env: { QUEUE_TIMEOUT_MS: '30000' } });
    autoscaler = startLocalAutoscaler({
      bus: platform.stack.bus,
      stack: platform.stack,
      log: createLogger('autoscaler', 'warn'),
      minReplicas: 1,
      maxReplicas: 3,
      target: { inflightPerPod: 2 },
      behavior: {
        scaleUp: { stabilizationWindowSeconds: 0, selectPolicy: 'Max', policies: [{ type: 'Pods', value: 4, periodSeconds: 1 }] },
        scaleDown: {
          stabilizationWindowSeconds: 2,
          selectPolicy: 'Max',
          policies: [
            { type: 'Pods', value: 1, periodSeconds: 1 },
            { type: 'Percent', value: 50, periodSeconds: 1 },
          ],
        },
      },
      intervalMs: 250,
    });
  });
  afterAll(async () => {
    autoscaler?.stop();
    await platform?.stop();
  });

  it('scales up under load within seconds and back down only after the window', async () => {
    const key = await login(platform.stack.gatewayUrl, platform.member.account, platform.member.password);
    expect(platform.stack.appIds()).toHaveLength(1);
    let running = true;
    const failures: Record<string, number> = {};
    const started = Date.now();
    let scaledUpAt: number | undefined;
    const loops = Array.from({ length: 96 }, async (_, i) => {
      while (running) {
        const reply = await request(`${platform.stack.gatewayUrl}/api/v1/sync`, { headers: bearer(key), from: clientAddress(3000 + i) }).catch(() => undefined);
        if (reply?.status !== 200) {
          const status = String(reply?.status ?? 'no answer');
          failures[status] = (failures[status] ?? 0) + 1;
        }
        if (!scaledUpAt && platform.stack.appIds().length > 1) scaledUpAt = Date.now();
      }
    });
    const deadline = Date.now() + 15_000;
    while (platform.stack.appIds().length < 2 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    await new Promise((resolve) => setTimeout(resolve, 1000));
    running = false;
    await Promise.all(loops);
    const loadStopped = Date.now();

    expect(scaledUpAt).toBeDefined();
    expect(scaledUpAt! - started).toBeLessThan(5_000);
    expect(failures).toEqual({});
    expect(autoscaler.lastDecision()?.reason).toBeDefined();

    // Down only after the 2 s window of lower recommendations, and all the way to the minimum.
    const downDeadline = Date.now() + 20_000;
    while (platform.stack.appIds().length > 1 && Date.now() < downDeadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const scaledDownAt = Date.now();
    expect(platform.stack.appIds()).toHaveLength(1);
    expect(scaledDownAt - loadStopped).toBeGreaterThanOrEqual(2_000);

    // The operators' console reads the decisions from the APP (the instance left heard the scale-down).
    const admin = await login(platform.stack.gatewayUrl, platform.admin.account, platform.admin.password);
    const decisions = await request(`${platform.stack.gatewayUrl}/api/v1/admin/cluster/decisions`, { headers: bearer(admin) });
    expect(decisions.status).toBe(200);
    const items = decisions.json<{ items: Array<{ from: number; to: number; reason: string; message: string; at: string }> }>().items;
    expect(items[0]).toMatchObject({ to: 1, reason: 'ScaleDown', message: expect.stringContaining('-> 1') });
    expect(items[0]!.from).toBeGreaterThan(1);
    expect(Date.parse(items[0]!.at)).toBeGreaterThanOrEqual(loadStopped);
    for (const item of items) expect(item.from).not.toBe(item.to);

    const forbidden = await request(`${platform.stack.gatewayUrl}/api/v1/admin/cluster/decisions`, { headers: bearer(key) });
    expect(forbidden.status).toBe(403);
    expect(forbidden.headers['content-type']).toContain('application/problem+json');
  });
});
