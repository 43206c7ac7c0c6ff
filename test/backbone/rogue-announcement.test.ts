/**
 * Attack: a rogue APP announcement on a bus without users (processes mode on an open NATS, a
 * misconfigured production NATS). With MEMBERSHIP_SIGNING_KEY the gateway acts only on
 * announcements, load reports and withdrawals an APP instance signed with the shared key.
 */
import { randomBytes } from 'node:crypto';
import { createNatsBus, signMembership, SUBJECTS, TEST_NATS_URL, uniqueName, type Bus } from '@evshare/kit';
import { startTestGateway, startUpstream, waitFor, type TestGateway, type TestUpstream } from '../../services/gateway/src/testing.fixture';

const KEY = randomBytes(24).toString('hex');
let bus: Bus;
let gw: TestGateway;
let real: TestUpstream;
let rogue: TestUpstream;

beforeAll(async () => {
  const prefix = `${uniqueName('rogue')}.`;
  bus = await createNatsBus({ url: TEST_NATS_URL, prefix, name: 'rogue-test' });
  const gatewayBus = await createNatsBus({ url: TEST_NATS_URL, prefix, name: 'rogue-test-gateway' });
  real = await startUpstream('app-real');
  rogue = await startUpstream('app-rogue');
  gw = await startTestGateway({ MEMBERSHIP_SIGNING_KEY: KEY }, gatewayBus);
});

afterAll(async () => {
  await gw?.stop();
  await bus?.close();
  await real?.close();
  await rogue?.close();
});

const announcement = (up: TestUpstream) => ({ id: up.id, url: up.url, maxConcurrency: 100, startedAt: new Date().toISOString() });
const ids = () => gw.gateway.status().instances.map((i) => i.id);
const settle = async () => {
  await bus.flush();
  await new Promise((resolve) => setTimeout(resolve, 300));
};

it('rogue APP announcement: unsigned, forged, tampered or replayed ones are ignored; a signed one counts', async () => {
  bus.publish(SUBJECTS.appAnnounce, announcement(rogue));
  bus.publish(SUBJECTS.appAnnounce, signMembership(SUBJECTS.appAnnounce, announcement(rogue), 'w'.repeat(32)));
  bus.publish(SUBJECTS.appAnnounce, { ...signMembership(SUBJECTS.appAnnounce, announcement(real), KEY), url: rogue.url });
  bus.publish(SUBJECTS.appAnnounce, signMembership(SUBJECTS.appAnnounce, announcement(rogue), KEY, Date.now() - 60_000));
  bus.publish(SUBJECTS.appLoad(rogue.id), {
    ...announcement(rogue),
    inflight: 0,
    rps: 0,
    eventLoopDelayMs: 0,
    eventLoopUtilization: 0,
    p95LatencyMs: 0,
    activeMembers: 0,
    draining: false,
    at: new Date().toISOString(),
  });
  await settle();
  expect(ids()).toEqual([]);

  bus.publish(SUBJECTS.appAnnounce, signMembership(SUBJECTS.appAnnounce, announcement(real), KEY));
  await waitFor(() => ids().includes(real.id), 5_000, 'the signed announcement');
  expect(ids()).toEqual([real.id]);
});

it('rogue APP withdrawal: an unsigned withdrawal of a real instance is ignored, a signed one removes it', async () => {
  bus.publish(SUBJECTS.appWithdraw, { id: real.id, reason: 'attack' });
  // A signed announcement re-sent as a withdrawal: the signature covers the subject.
  bus.publish(SUBJECTS.appWithdraw, signMembership(SUBJECTS.appAnnounce, { id: real.id }, KEY));
  await settle();
  expect(ids()).toEqual([real.id]);
  bus.publish(SUBJECTS.appWithdraw, signMembership(SUBJECTS.appWithdraw, { id: real.id, reason: 'shutdown' }, KEY));
  await waitFor(() => !ids().includes(real.id), 5_000, 'the signed withdrawal');
});
