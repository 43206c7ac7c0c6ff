import http from 'node:http';
import { problems, type Health, type Logger, type Metrics } from '@evshare/kit';
import { LocalExchange, sendProblem } from './answers';
import type { ClientConnection } from './client';
import type { RequestHead } from './http1';
import { placeholderPage } from './placeholder';
import type { LbStatus } from './status';

export interface EndpointSources {
  log: Logger;
  metrics: Metrics;
  health: Health;
  status(): LbStatus;
  /** APP instances known and available, shown by /readyz. */
  appInstances(): { known: number; available: number };
}

const isOwnPath = (path: string) => path === '/lb' || path.startsWith('/lb/') || path === '/healthz' || path === '/readyz' || path === '/metrics';

/**
 * The gateway's own endpoints: /healthz and /readyz on both listeners; /lb/status and /metrics on
 * the admin listener only (they show pod addresses, upstream URLs and load); the placeholder page.
 */
export class OwnEndpoints {
  constructor(private readonly sources: EndpointSources) {}

  /** The operators' listener: only the gateway's own endpoints, nothing is proxied. */
  admin(conn: ClientConnection, head: RequestHead): void {
    const query = head.target.indexOf('?');
    const path = query < 0 ? head.target : head.target.slice(0, query);
    if (head.upgrade || !isOwnPath(path)) {
      conn.exchange = new LocalExchange();
      sendProblem(conn, problems.notFound(`The admin listener serves /lb/status, /metrics, /healthz and /readyz, not ${path}`));
      return;
    }
    this.serve(conn, head, path);
  }

  /** /lb/* and /metrics on the public port: they exist only on the admin listener. */
  notPublic(conn: ClientConnection, head: RequestHead, path: string): void {
    conn.exchange = new LocalExchange();
    this.sources.metrics.httpRequests.inc({ method: head.method, route: 'not-public', status: '404' });
    sendProblem(conn, problems.notFound(`No endpoint at ${path}`));
  }

  /** An upgrade to a path no pool tunnels. */
  noTunnel(conn: ClientConnection, path: string, requestId: string): void {
    conn.exchange = new LocalExchange();
    sendProblem(conn, problems.notFound(`No WebSocket endpoint at ${path}; the push channel is /push`), requestId);
  }

  placeholder(conn: ClientConnection, head: RequestHead): void {
    conn.exchange = new LocalExchange();
    if (head.method !== 'GET' && head.method !== 'HEAD') {
      sendProblem(conn, problems.methodNotAllowed('The web UI placeholder only answers GET and HEAD'), undefined, 'Allow: GET, HEAD\r\n');
      return;
    }
    conn.respond(200, 'OK', 'Content-Type: text/html; charset=utf-8\r\nCache-Control: no-cache\r\n', placeholderPage, false, head.method === 'HEAD');
  }

  /** /healthz, /readyz, /lb/status, /metrics (and a 404 for any other /lb/ path). */
  serve(conn: ClientConnection, head: RequestHead, path: string): void {
    const sources = this.sources;
    const local = new LocalExchange();
    conn.exchange = local;
    const route = path.startsWith('/lb/') || path === '/lb' ? (path === '/lb/status' ? path : '/lb/*') : path;
    const count = (status: number) => sources.metrics.httpRequests.inc({ method: head.method, route, status: String(status) });
    if (route === '/lb/*') {
      count(404);
      sendProblem(conn, problems.notFound(`No balancer endpoint at ${path}; see /lb/status`));
      return;
    }
    if (head.method !== 'GET' && head.method !== 'HEAD') {
      count(405);
      sendProblem(conn, problems.methodNotAllowed(`${path} answers GET and HEAD`), undefined, 'Allow: GET, HEAD\r\n');
      return;
    }
    const answer = (status: number, contentType: string, body: string) => {
      count(status);
      if (local.closed) return;
      conn.respond(status, http.STATUS_CODES[status]!, `Content-Type: ${contentType}\r\nCache-Control: no-store\r\n`, body, false, head.method === 'HEAD');
    };
    const json = (status: number, value: unknown) => answer(status, 'application/json', JSON.stringify(value));
    if (path === '/lb/status') {
      json(200, sources.status());
    } else if (path === '/healthz') {
      json(200, { status: 'ok' });
    } else {
      const work =
        path === '/metrics'
          ? sources.metrics.registry.metrics().then((text) => answer(200, sources.metrics.registry.contentType, text))
          : sources.health.readiness().then((readiness) => {
              json(readiness.ready ? 200 : 503, { ...readiness, appInstances: sources.appInstances() });
            });
      work.catch((error: unknown) => {
        sources.log.error({ err: error, path }, 'gateway endpoint failed');
        if (!local.closed) sendProblem(conn, problems.internal());
      });
    }
  }
}
