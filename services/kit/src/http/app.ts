import { randomUUID } from 'node:crypto';
import express, { type ErrorRequestHandler, type Express, type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import type { Logger } from '../logger';
import type { Health } from './health';
import type { Metrics } from './metrics';
import { Problem, problems } from './problem';

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface Request {
      /** The request id (from X-Request-Id, or new); follows the request across services. */
      id: string;
      /** The service logger bound to this request's id. */
      log: Logger;
    }
  }
}

export interface HttpAppOptions {
  log: Logger;
  metrics: Metrics;
  health: Health;
  /** Largest JSON body accepted, e.g. '64kb'. */
  bodyLimit?: string;
  /** Express `trust proxy`: which hops may set X-Forwarded-For (the gateway, the ingress). */
  trustProxy?: boolean | string | number;
  /** Headers put on every response, errors included (e.g. X-App-Instance); may be filled in later. */
  responseHeaders?: Record<string, string>;
  routes: (app: Express) => void;
}

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
  app.set('trust proxy', options.trustProxy ?? false);
  const securityHeaders = new Map(Object.entries(SECURITY_HEADERS));
  // Read at every request: a service may fill it in after listening (an id that names the port).
  const extraHeaders = options.responseHeaders ?? {};

  app.use((req: Request, res: Response, next: NextFunction) => {
    const incoming = req.headers['x-request-id'];
    req.id = typeof incoming === 'string' && REQUEST_ID.test(incoming) ? incoming : randomUUID();
    req.log = log.child({ reqId: req.id });
    res.setHeaders(securityHeaders);
    for (const name in extraHeaders) res.setHeader(name, extraHeaders[name]!);
    res.setHeader('X-Request-Id', req.id);
    const started = process.hrtime.bigint();
    res.once('finish', () => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const route = req.route?.path ? `${req.baseUrl}${String(req.route.path)}` : res.statusCode === 404 ? 'unmatched' : req.baseUrl || 'unmatched';
      const labels = { method: req.method, route, status: String(res.statusCode) };
      metrics.httpRequests.inc(labels);
      metrics.httpDuration.observe(labels, seconds);
      const level = res.statusCode >= 500 ? 'error' : res.statusCode >= 400 ? 'info' : 'debug';
      req.log[level]({ method: req.method, url: req.originalUrl, status: res.statusCode, ms: Math.round(seconds * 1e4) / 10 }, 'request');
    });
    next();
  });

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get('/readyz', async (_req, res) => {
    const { ready, checks } = await health.readiness();
    res.status(ready ? 200 : 503).json({ status: ready ? 'ready' : 'not ready', checks });
  });
  app.get('/metrics', async (_req, res) => {
    res.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });

  app.use(requireJsonBody);
  app.use(express.json({ limit: options.bodyLimit ?? '64kb', strict: true }));

  options.routes(app);

  app.use((req: Request, _res: Response, next: NextFunction) => {
    next(problems.notFound(`No route for ${req.method} ${req.path}`));
  });
  app.use(errorHandler(options.bodyLimit ?? '64kb'));
  return app;
}

/** A body sent as anything but JSON is refused rather than silently ignored. */
const requireJsonBody: RequestHandler = (req, _res, next) => {
  const hasBody = Number(req.headers['content-length'] ?? 0) > 0 || req.headers['transfer-encoding'] !== undefined;
  if (hasBody && !req.is('application/json') && !req.is('application/*+json')) {
    next(problems.unsupportedMediaType());
    return;
  }
  next();
};

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
      else if (typeof status === 'number' && status >= 400 && status < 500) problem = new Problem(status, 'bad-request', 'Bad request', (error as Error).message);
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
    res.status(problem.status).type('application/problem+json').send(JSON.stringify(problem.toJSON(req.originalUrl)));
  };
}
