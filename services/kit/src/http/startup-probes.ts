import type http from 'node:http';
import { listen, type RunningServer } from './server';

/**
 * The probes of a process whose start waits for a backend (its first NATS connection, say):
 * `/healthz` answers, so the kubelet does not restart a pod that only waits for a dependency, and
 * `/readyz` says not ready, so nothing routes to it. The service's own server takes the port over
 * once the backends are up.
 */
export async function serveStartupProbes(port: number, host: string | undefined, reason: () => string): Promise<RunningServer> {
  const handler: http.RequestListener = (req, res) => {
    const path = (req.url ?? '').split('?')[0];
    const [status, body] =
      req.method === 'GET' && path === '/healthz'
        ? [200, { status: 'ok' }]
        : path === '/readyz'
          ? [503, { status: 'not ready', checks: { starting: reason() } }]
          : [503, { status: 'starting' }];
    res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(JSON.stringify(body));
  };
  return listen(handler, port, host);
}
