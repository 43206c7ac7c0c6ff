/**
 * The platform as separate processes on a NATS server that authenticates every service with its
 * own user and permissions (NATS_PASSWORD_<SERVICE> for the process stack): members log in and
 * poll through the gateway (which knows the APP instances only from their announcements), and an
 * operator's refund travels from APP over the DEDUCTIONS stream to billing and back. The APP
 * instances sign their membership messages, so even a user allowed everything cannot announce.
 */
import { randomBytes } from 'node:crypto';
import { connect } from 'nats';
import { SUBJECTS } from '@evshare/kit';
import { bearer, eventually, login, request } from '../support/http';
import { startAuthNatsServer, type AuthNatsServer } from '../support/nats-server';
import { startTestPlatform, type TestPlatform } from '../support/platform';

let nats: AuthNatsServer;
let platform: TestPlatform;

beforeAll(async () => {
  nats = await startAuthNatsServer();
  platform = await startTestPlatform({
    mode: 'processes',
    appInstances: 2,
    env: { ...nats.stackEnv(), MEMBERSHIP_SIGNING_KEY: randomBytes(24).toString('hex') },
  });
}, 120_000);

afterAll(async () => {
  await platform?.stop();
  await nats?.stop();
}, 60_000);

it('every service works with its own NATS user: balancing by announcements, a refund through DEDUCTIONS', async () => {
  const gw = platform.stack.gatewayUrl;
  const member = await login(gw, platform.member.account, platform.member.password);
  const admin = await login(gw, platform.admin.account, platform.admin.password);
  await eventually(async () => {
    const status = (await request(`${platform.stack.gatewayAdminUrl}/lb/status`)).json<{ instances: Array<{ id: string }> }>();
    expect(status.instances.map((i) => i.id).sort()).toEqual(platform.stack.appIds().sort());
  }, 15_000);
  const sync = await request(`${gw}/api/v1/sync`, { headers: bearer(member) });
  expect(sync.status).toBe(200);
  expect(platform.stack.appIds()).toContain(sync.headers['x-app-instance']);

  const me = (await request(`${gw}/api/v1/me`, { headers: bearer(member) })).json<{ id: string }>();
  const wallet = async () => (await request(`${gw}/api/v1/wallet`, { headers: bearer(member) })).json<{ balanceFen: number }>().balanceFen;
  const before = await wallet();
  const posted = await request(`${gw}/api/v1/admin/members/${me.id}/deductions`, {
    method: 'POST',
    headers: bearer(admin),
    body: { kind: 'refund', amountFen: 1_234, description: 'Goodwill' },
  });
  expect(posted.status).toBe(202);
  await eventually(async () => expect(await wallet()).toBe(before + 1_234), 15_000);

  // Even a NATS user allowed everything (the stack's) cannot add an instance without the key.
  const anyone = await connect({ servers: nats.url, user: nats.admin.user, pass: nats.admin.password });
  anyone.publish(SUBJECTS.appAnnounce, JSON.stringify({ id: 'rogue', url: 'http://127.0.0.1:9', maxConcurrency: 1000, startedAt: new Date().toISOString() }));
  await anyone.flush();
  await new Promise((resolve) => setTimeout(resolve, 500));
  await anyone.close();
  const ids = (await request(`${platform.stack.gatewayAdminUrl}/lb/status`)).json<{ instances: Array<{ id: string }> }>().instances.map((i) => i.id);
  expect(ids.sort()).toEqual(platform.stack.appIds().sort());
}, 60_000);
