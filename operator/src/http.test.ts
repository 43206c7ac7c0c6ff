import { createMetrics, listen, type RunningServer } from '@evshare/kit';
import { createOperatorMetrics, registerInformerMetrics } from './controller/metrics';
import { operatorHttpHandler } from './http';

describe('operator HTTP port', () => {
  let server: RunningServer;
  let ready = false;

  beforeAll(async () => {
    const { registry } = createMetrics('operator');
    createOperatorMetrics(registry).leader.set(1);
    registerInformerMetrics(registry, () => ({ pods: { lists: 2, watches: 5, relistsAfterGone: 1, errors: 3 } }));
    server = await listen(
      operatorHttpHandler(registry, () => ready),
      0,
    );
  });
  afterAll(() => server.close());

  it('serves Prometheus metrics', async () => {
    const res = await fetch(`${server.url}/metrics`);
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text).toMatch(/^evshare_operator_leader\{service="operator"\} 1$/m);
    expect(text).toMatch(/^evshare_operator_informer_relists_after_gone\{resource="pods",service="operator"\} 1$/m);
  });

  it('is live at once and ready once synced', async () => {
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
    expect((await fetch(`${server.url}/readyz`)).status).toBe(503);
    ready = true;
    expect((await fetch(`${server.url}/readyz`)).status).toBe(200);
    expect((await fetch(`${server.url}/nope`)).status).toBe(404);
  });
});
