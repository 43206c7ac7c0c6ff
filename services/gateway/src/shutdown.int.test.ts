import { announce, call, startTestGateway, startUpstream, waitFor } from './testing.fixture';

describe('graceful shutdown', () => {
  it('stops accepting, finishes in-flight requests, then closes', async () => {
    const up = await startUpstream('app-1');
    const gw = await startTestGateway();
    try {
      announce(gw.bus, up);
      await waitFor(() => gw.gateway.status().totals.available === 1);
      up.hold = true;
      const inflight = call(gw.url, '/api/v1/slow');
      await waitFor(() => up.inflight === 1, 2000, 'the held request');
      let stopped = false;
      const stopping = gw.gateway.stop().then(() => (stopped = true));
      await waitFor(
        async () => (await call(gw.url, '/healthz').catch((error: NodeJS.ErrnoException) => error.code)) === 'ECONNREFUSED',
        2000,
        'the listener to close',
      );
      expect(stopped).toBe(false);
      up.release();
      expect((await inflight).status).toBe(200);
      await stopping;
      expect(stopped).toBe(true);
    } finally {
      await gw.stop();
      await up.close();
    }
  });
});
