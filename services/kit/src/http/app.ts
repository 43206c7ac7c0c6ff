import { randomUUID } from 'node:crypto';
import express, { type ErrorRequestHandler, type Express, type NextFunction, type Request, type Response } from 'express';
import type { Logger } from '../logger';
import type { Health } from './health';
import type { Metrics } from './metrics';
import { crossSiteRefusal } from './cross-site';
import { Admission, DEADLINE_HEADER, Shed, requestDeadline } from './admission';
import { Problem, problems } from './problem';
import { expressTrustProxy, type TrustProxy } from './trust-proxy';

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace -- Express types its Request in the global namespace; augmenting it needs one
  namespace Express {
    interface Request {
      /** The request id (from X-Request-Id, or new); follows the request across services. */
      id: string;
      /** The service logger bound to this request's id. */
      log: Logger;
      /** When the answer stops being useful (epoch ms): X-Request-Deadline from a trusted hop, capped by REQUEST_DEADLINE_MS. */
      deadline: number;
      /** The client closed the connection before the answer: further work on it is wasted. */
      gone: () => boolean;
      /** The body is of a raw media type (HttpAppOptions.rawBodyTypes), left unread for its route to take or refuse. */
      rawBodyPending?: boolean;
    }
  }
}

export interface HttpAppOptions {
  log: Logger;
  metrics: Metrics;
  health: Health;
  /** Largest JSON body accepted, e.g. '64kb'. */
  bodyLimit?: string;
  /**
   * Media types of raw bodies (photos) that routes declaring `rawBody` take themselves, each with
   * its own limit; mountRoutes refuses them 415 on every other route. None: JSON only.
   */
  rawBodyTypes?: readonly string[];
  /** Which hops may set X-Forwarded-For (the gateway, the ingress): TRUST_PROXY read by env.trustProxy. Nobody when absent. */
  trustProxy?: TrustProxy;
  /**
   * Pages (origins) that may send state-changing requests with the session cookie besides the
   * request's own host (ALLOWED_ORIGINS); others are refused 403 cross-site-request.
   */
  allowedOrigins?: readonly string[];
  /** Headers put on every response, errors included (e.g. X-App-Instance); may be filled in later. */
  responseHeaders?: Record<string, string>;
  /**
   * Admission by queue time (admission.ts): how many requests run at once, and the longest a
   * request may take (REQUEST_DEADLINE_MS) whatever deadline it carries. The operational
   * endpoints are never queued.
   */
  admission?: AdmissionSettings;
  routes: (app: Express) => void;
  /** Called at the start and the end (with its duration) of every request, e.g. for load reports. */
  hooks?: { start(): void; end(ms: number): void };
}

export interface AdmissionSettings {
  /** The tier named in the metrics (the service). */
  tier: string;
  slots: number;
  deadlineCapMs: number;
}

/** A service that does not say: generous slots (most requests wait on I/O), and 25 s (REQUEST_DEADLINE_MS). */
const DEFAULT_ADMISSION: AdmissionSettings = { tier: 'http', slots: 256, deadlineCapMs: 25_000 };

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

// An API answers JSON only, so the strictest browser policy costs nothing.
const SECURITY_HEADERS: Record<string, string> = {
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
  'Referrer-Policy': 'no-referrer',
  'Content-Security-Policy': "default-src 'none'; frame-ancestors 'none'",
  'Cross-Origin-Resource-Policy': 'same-origin',
};

/**
 * The express app every service builds on: request id and logging, security headers, metrics,
 * health endpoints, a bounded JSON body parser, the service's routes, then 404 and RFC 7807
 * error handling so that no request ends in an HTML page or an unexplained 500.
 */
export function createHttpApp(options: HttpAppOptions): Express {
  const { log, metrics, health } = options;
  const app = express();
  app.disable('x-powered-by');
  app.disable('etag');
  app.set('trust proxy', options.trustProxy ? expressTrustProxy(options.trustProxy) : false);
  const securityHeaders = new Map(Object.entries(SECURITY_HEADERS));
  // Read at every request: a service may fill it in after listening (an id that names the port).
  const extraHeaders = options.responseHeaders ?? {};

  const allowedOrigins = options.allowedOrigins ?? [];
  const bodyLimit = options.bodyLimit ?? '64kb';
  const jsonParser = express.json({ limit: bodyLimit, strict: true });
  const rawBodyTypes = options.rawBodyTypes ?? [];
  const hooks = options.hooks;
  const admissionSettings = options.admission ?? DEFAULT_ADMISSION;
  const { tier } = admissionSettings;
  const admission = new Admission({
    slots: admissionSettings.slots,
    onAdmitted: (waitedMs) => metrics.admissionWait.labels(tier).observe(waitedMs / 1000),
    onShed: (reason) => metrics.admissionShed.labels(tier, reason).inc(),
  });
  // Compiled by express from `trust proxy`: whether the connecting hop may speak for the client.
  const trusted = (req: Request) => (app.get('trust proxy fn') as (address: string, hop: number) => boolean)(req.socket.remoteAddress ?? '', 0);
  // The request logger is made on first use: most requests (the periodic poll) never log.
  Object.defineProperty(app.request, 'log', {
    configurable: true,
    get(this: Request) {
      const child = log.child({ reqId: this.id });
      Object.defineProperty(this, 'log', { value: child, configurable: true });
      return child;
    },
  });

  // One middleware for what every request needs, so the hot path crosses few router layers.
  app.use((req: Request, res: Response, next: NextFunction) => {
    const incoming = req.headers['x-request-id'];
    req.id = typeof incoming === 'string' && REQUEST_ID.test(incoming) ? incoming : randomUUID();
    res.setHeaders(securityHeaders);
    for (const name in extraHeaders) res.setHeader(name, extraHeaders[name]!);
    res.setHeader('X-Request-Id', req.id);
    const started = performance.now();
    hooks?.start();
    let closed = false;
    req.gone = () => closed && !res.writableFinished;
    // 'close' comes for every request, also one the client abandoned before the answer, so the
    // in-flight count cannot leak; such a request is recorded as 499 (client closed request).
    res.once('close', () => {
      closed = true;
      const ms = performance.now() - started;
      hooks?.end(ms);
      const status = res.writableFinished ? String(res.statusCode) : '499';
      const routePath = (req.route as { path?: string | RegExp } | undefined)?.path;
      const route = routePath ? `${req.baseUrl}${String(routePath)}` : res.statusCode === 404 ? 'unmatched' : req.baseUrl || 'unmatched';
      metrics.httpRequests.labels(req.method, route, status).inc();
      metrics.httpDuration.labels(req.method, route, status).observe(ms / 1000);
      // A 503 is capacity shed on purpose (admission, draining), not a fault: a storm of them must not flood the error log.
      const level = res.statusCode >= 500 && res.statusCode !== 503 ? 'error' : res.statusCode >= 400 || status === '499' ? 'info' : 'debug';
      if (log.isLevelEnabled(level))
        req.log[level]({ method: req.method, url: req.originalUrl, status: Number(status), ms: Math.round(ms * 10) / 10 }, 'request');
    });
    if (req.method === 'GET' && (req.url === '/healthz' || req.url === '/readyz' || req.url === '/metrics')) {
      void serveOperational(req.url, res).catch(next);
      return;
    }
    req.deadline = requestDeadline(req.headers[DEADLINE_HEADER], { now: Date.now(), capMs: admissionSettings.deadlineCapMs, trusted: trusted(req) });
    admission.admit(req.deadline, req.gone).then(
      (ticket) => {
        if (closed) {
          ticket.release();
          return;
        }
        res.once('close', () => ticket.release());
        admitted(req, res, next);
      },
      (error: unknown) => {
        if (error instanceof Shed && error.reason === 'abandoned') return;
        next(
          error instanceof Shed ? problems.unavailable(error.retryAfterSeconds, 'The service is at capacity; try again after the time in Retry-After') : error,
        );
      },
    );
  });

  /** What an admitted request goes through before its route. */
  const admitted = (req: Request, res: Response, next: NextFunction) => {
    if (req.method === 'GET' || req.method === 'HEAD') {
      // A NUL reaches a query only percent-encoded (the HTTP parser refuses the raw byte), so the
      // hot path (the poll) parses no query string for this check.
      next(req.url.includes('%00') ? refuseNul(req.query, 'query') : undefined);
      return;
    }
    const crossSite = crossSiteRefusal(req.method, req.headers, req.host, allowedOrigins);
    if (crossSite) {
      next(problems.crossSite(crossSite));
      return;
    }
    // A body sent as anything but JSON is refused rather than silently ignored.
    const hasBody = Number(req.headers['content-length'] ?? 0) > 0 || req.headers['transfer-encoding'] !== undefined;
    if (hasBody && rawBodyTypes.length > 0 && req.is(rawBodyTypes as string[])) {
      req.rawBodyPending = true;
      next(req.url.includes('%00') ? refuseNul(req.query, 'query') : undefined);
      return;
    }
    if (hasBody && !req.is('application/json') && !req.is('application/*+json')) {
      next(problems.unsupportedMediaType());
      return;
    }
    jsonParser(req, res, (error?: unknown) =>
      next(error ?? (req.url.includes('%00') ? refuseNul(req.query, 'query') : undefined) ?? refuseNul(req.body, 'body')),
    );
  };

  const serveOperational = async (path: string, res: Response) => {
    if (path === '/healthz') res.json({ status: 'ok' });
    else if (path === '/readyz') {
      const { ready, checks } = await health.readiness();
      res.status(ready ? 200 : 503).json({ status: ready ? 'ready' : 'not ready', checks });
    } else res.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  };

  options.routes(app);

  app.use((req: Request, _res: Response, next: NextFunction) => {
    next(problems.notFound(`No route for ${req.method} ${req.path}`));
  });
  app.use(errorHandler(bodyLimit));
  return app;
}

/**
 * A NUL character in any string or key of a parsed body or query, as a 400 naming where: no
 * PostgreSQL text column can store one, so it must not get as far as a query. Walked without
 * recursion, as a body may nest thousands of levels deep.
 */
export function refuseNul(value: unknown, where: string): Problem | undefined {
  const pending: Array<[unknown, string]> = [[value, where]];
  for (let next = pending.pop(); next; next = pending.pop()) {
    const [item, path] = next;
    if (typeof item === 'string') {
      if (item.includes('\u0000')) return problems.validation([{ name: path, reason: 'must not contain a NUL character' }]);
    } else if (typeof item === 'object' && item !== null) {
      for (const [key, child] of Object.entries(item)) {
        const at = `${path}.${key}`;
        if (key.includes('\u0000')) return problems.validation([{ name: at, reason: 'must not contain a NUL character' }]);
        pending.push([child, at]);
      }
    }
  }
  return undefined;
}

/** body-parser's error types mapped to precise problems. */
function fromParserError(error: { type?: string; message?: string }, bodyLimit: string): Problem | undefined {
  switch (error.type) {
    case 'entity.parse.failed':
      return problems.malformedJson(error.message ?? 'Unexpected token');
    case 'entity.too.large':
      return problems.tooLarge(bodyLimit);
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return problems.unsupportedMediaType(error.message);
    case 'request.aborted':
    case 'request.size.invalid':
      return new Problem(400, 'bad-request', 'Bad request', error.message);
    default:
      return undefined;
  }
}

function errorHandler(bodyLimit: string): ErrorRequestHandler {
  return (error: unknown, req, res, _next) => {
    let problem: Problem;
    if (error instanceof Problem) problem = error;
    else {
      const parsed = fromParserError(error as { type?: string }, bodyLimit);
      const status = (error as { status?: number }).status;
      if (parsed) problem = parsed;
      else if (typeof status === 'number' && status >= 400 && status < 500)
        problem = new Problem(status, 'bad-request', 'Bad request', (error as Error).message);
      else {
        req.log?.error({ err: error }, 'unhandled error');
        problem = problems.internal();
      }
    }
    if (res.headersSent) {
      res.end();
      return;
    }
    if (problem.extra.retryAfterSeconds !== undefined) res.setHeader('Retry-After', String(problem.extra.retryAfterSeconds));
    res
      .status(problem.status)
      .type('application/problem+json')
      .send(JSON.stringify(problem.toJSON(req.originalUrl)));
  };
}
