import { createNatsBus, SUBJECTS, TEST_NATS_URL, uniqueName, type Bus } from '@evshare/kit';
import { announce, call, reportLoad, startTestGateway, startUpstream, waitFor, type TestGateway, type TestUpstream } from './testing.fixture';

describe('membership over a real NATS server', () => {
  let gatewayBus: Bus;
  let appBus: Bus;
  let gw: TestGateway;
  let up: TestUpstream;

  beforeAll(async () => {
    const prefix = `${uniqueName('gw')}.`;
    gatewayBus = await createNatsBus({ url: TEST_NATS_URL, prefix, name: 'gateway-test' });
    appBus = await createNatsBus({ url: TEST_NATS_URL, prefix, name: 'app-test' });
    up = await startUpstream('app-nats');
    // The instance answers app.discover by announcing itself, as APP instances do.
    appBus.subscribe(SUBJECTS.appDiscover, () => announce(appBus, up, 32));
    await appBus.flush();
    gw = await startTestGateway({}, gatewayBus);
  });

  afterAll(async () => {
    await gw.stop();
    await appBus.close();
    await up.close();
  });

  it('discovers a running instance, follows its load reports and its withdrawal', async () => {
    await waitFor(() => gw.gateway.status().instances.length === 1, 5000, 'the discovered instance');
    expect(gw.gateway.status().instances[0]).toMatchObject({ id: 'app-nats', source: 'announce', maxConcurrency: 32 });
    expect((await call(gw.url, '/api/v1/me')).json().id).toBe('app-nats');

    reportLoad(appBus, up, { inflight: 2, rps: 40, maxConcurrency: 32 });
    await waitFor(() => gw.gateway.status().instances[0]?.reported?.rps === 40, 5000, 'the load report');

    appBus.publish(SUBJECTS.appWithdraw, { id: 'app-nats', reason: 'test' });
    await waitFor(() => gw.gateway.status().instances.length === 0, 5000, 'the withdrawal');
    expect((await call(gw.url, '/api/v1/me')).status).toBe(503);
  });
});
