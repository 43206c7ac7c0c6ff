import type { NextFunction, Request, Response, Router } from 'express';
import type { z } from 'zod';
import type { SessionRecord } from '../session/record';
import { GENERIC_PROBLEM_STATUSES, problemStatuses, type Operation, type RawBodySpec, type RequestOf } from './contract';
import { Problem, invalidParamsFromZod, problems, type InvalidParam } from './problem';
import type { SessionGuard } from './session';

type HeadersOf<Op extends Operation> =
  Op['headers'] extends Record<string, { schema: z.ZodType }>
    ? {
        [K in keyof Op['headers']]: Op['headers'][K] extends { required: true; validated: true }
          ? z.output<Op['headers'][K]['schema']>
          : z.output<Op['headers'][K]['schema']> | undefined;
      }
    : Record<string, never>;

/** What a handler gets: the validated inputs, the session its access rule required, and the prefetch. */
export type RouteInput<Op extends Operation, P = undefined> = RequestOf<Op> & {
  headers: HeadersOf<Op>;
  session: Op['access'] extends 'member' | 'operator' ? SessionRecord : undefined;
  prefetched: P;
};

export type RouteHandler<Op extends Operation, P = undefined> = (input: RouteInput<Op, P>, req: Request, res: Response) => unknown;

export interface RouteOptions<P> {
  /** Reads that need no session, started together with the session lookup (the poll's version read). */
  prefetch?: (req: Request) => Promise<P>;
  /** The guard's `check` is left to the handler (the poll runs it only when it answers in full). */
  skipCheck?: boolean;
}

export interface Route {
  op: Operation;
  handler: RouteHandler<Operation, unknown>;
  options: RouteOptions<unknown>;
}

/** One route: a declared operation and the handler that answers it (with `res`, as in express). */
export function route<const Op extends Operation, P = undefined>(op: Op, handler: RouteHandler<Op, NoInfer<P>>, options: RouteOptions<P> = {}): Route {
  return { op, handler: handler as unknown as RouteHandler<Operation, unknown>, options: options };
}

export interface MountOptions {
  /** How member and operator routes authenticate; needed when any of them is mounted. */
  session?: SessionGuard;
  /**
   * How an `internal` route authenticates its caller (another service: a shared key, a signed
   * body); throws a Problem to refuse. Needed when any route is internal, so none is open by mistake.
   */
  internal?: (req: Request) => Promise<void> | void;
  /**
   * Checks every answer against its declaration (status declared, body valid and without
   * undeclared fields, problem status declared) and answers 500 `response-contract` otherwise.
   * On in the test suite (EVSHARE_CHECK_RESPONSES=1, set by jest.config.js); off in production,
   * where it would only cost time.
   */
  checkResponses?: boolean;
}

/** `/api/v1/rentals/{id}` → `/api/v1/rentals/:id`. */
export const expressPath = (path: string) => path.replace(/\{([A-Za-z0-9_]+)\}/g, ':$1');

/**
 * Mounts each route on the router: the session check its access rule needs (401, then 403 for
 * operators), then the path, query, header and body validation (400 naming every wrong field as
 * `path.x`, `query.x`, `header.x-y`, `body.x`), then the handler.
 */
export function mountRoutes(router: Router, routes: readonly Route[], options: MountOptions = {}): void {
  const check = options.checkResponses ?? (process.env.EVSHARE_CHECK_RESPONSES === '1' && process.env.NODE_ENV !== 'production');
  for (const { op, handler, options: routeOptions } of routes) {
    const guard = options.session;
    if ((op.access === 'member' || op.access === 'operator') && !guard) throw new Error(`${op.method} ${op.path}: a ${op.access} route needs a session guard`);
    const internal = options.internal;
    if (op.access === 'internal' && !internal) throw new Error(`${op.method} ${op.path}: an internal route needs the internal caller check`);
    const headerSpecs = Object.entries(op.headers ?? {});
    const allowedProblems = check ? problemStatuses(op) : undefined;

    const serve = async (req: Request, res: Response) => {
      let session: SessionRecord | undefined;
      let prefetched: unknown;
      if (guard && (op.access === 'member' || op.access === 'operator')) {
        const authenticate = routeOptions.skipCheck ? guard.resolve : guard.authenticate;
        [session, prefetched] = await Promise.all([authenticate(req), routeOptions.prefetch?.(req)]);
        req.session = session;
        if (op.access === 'operator' && session.role !== 'admin') throw problems.forbidden('Operators only');
      } else {
        if (op.access === 'internal') await internal!(req);
        if (routeOptions.prefetch) prefetched = await routeOptions.prefetch(req);
      }
      // Every wrong field of every part is named at once, not only those of the first bad part.
      const invalid: InvalidParam[] = [];
      const read = (schema: z.ZodType | undefined, value: unknown, where: string, fallback: unknown) => {
        if (!schema) return fallback;
        const result = schema.safeParse(value);
        if (result.success) return result.data;
        invalid.push(...invalidParamsFromZod(result.error, where));
        return undefined;
      };
      const headers: Record<string, unknown> = {};
      for (const [name, spec] of headerSpecs) {
        const value = req.headers[name.toLowerCase()];
        headers[name] = spec.validated && (value !== undefined || spec.required) ? read(spec.schema, value, `header.${name.toLowerCase()}`, value) : value;
      }
      if (req.rawBodyPending && !op.rawBody) throw problems.unsupportedMediaType();
      const raw = op.rawBody ? await readRawBody(req, res, op.rawBody) : undefined;
      const input = {
        params: read(op.params, req.params, 'path', {}),
        query: read(op.query, req.query, 'query', {}),
        body: raw ?? read(op.body, op.bodyOptional ? (req.body ?? {}) : req.body, 'body', undefined),
        headers,
        session,
        prefetched,
      };
      if (invalid.length > 0) throw problems.validation(invalid);
      await handler(input as never, req, res);
    };

    const path = expressPath(op.path);
    router[op.method](path, (req: Request, res: Response, next: NextFunction) => {
      if (allowedProblems) watchAnswer(op, allowedProblems, res);
      serve(req, res).catch((error: unknown) => {
        if (allowedProblems && error instanceof Problem && !allowedProblems.has(error.status) && !GENERIC_PROBLEM_STATUSES.has(error.status)) {
          next(contractBroken(op, `answered the undeclared problem status ${error.status} (${error.slug}: ${error.detail ?? error.title})`));
        } else next(error);
      });
    });
  }
}

/**
 * A raw body (a photo) in one Buffer: not empty (400 naming `body`), of a declared media type (415
 * naming `header.content-type`), and within the route's limit (413 from the declared length,
 * before a byte is read, or once the bytes sent pass it).
 */
async function readRawBody(req: Request, res: Response, spec: RawBodySpec): Promise<Buffer> {
  const hasBody = Number(req.headers['content-length'] ?? 0) > 0 || req.headers['transfer-encoding'] !== undefined;
  if (!hasBody) throw problems.validation([{ name: 'body', reason: 'must not be empty' }]);
  if (!req.rawBodyPending || !req.is(spec.mediaTypes as string[])) {
    throw new Problem(415, 'unsupported-media-type', 'Unsupported media type', `Send the body as ${spec.mediaTypes.join(', ')}`, {
      invalidParams: [{ name: 'header.content-type', reason: `must be ${spec.mediaTypes.join(', ')}` }],
    });
  }
  const tooLarge = () => new Problem(413, 'body-too-large', 'Body too large', `The body exceeds the limit of ${spec.maxBytes} bytes`);
  // Refused from the declared length before a byte is read; Node discards the rest after the answer.
  if (Number(req.headers['content-length'] ?? 0) > spec.maxBytes) throw tooLarge();
  const data = await new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size <= spec.maxBytes) {
        chunks.push(chunk);
        return;
      }
      // A chunked body past the limit: stop keeping it, and end the connection after the answer.
      req.off('data', onData);
      res.setHeader('Connection', 'close');
      reject(tooLarge());
    };
    req.on('data', onData);
    req.once('end', () => resolve(Buffer.concat(chunks, size)));
    req.once('error', reject);
  });
  if (data.length === 0) throw problems.validation([{ name: 'body', reason: 'must not be empty' }]);
  return data;
}

function contractBroken(op: Operation, detail: string): Problem {
  const problem = new Problem(500, 'response-contract', 'Answer breaks its declared contract', `${op.method.toUpperCase()} ${op.path} ${detail}`);
  // Loud on purpose: this runs in tests only, and the answer alone may be read as any other 500.
  process.stderr.write(`response contract: ${problem.detail}\n`);
  return problem;
}

/** The test suite's check of each answer against the declaration (see MountOptions.checkResponses). */
function watchAnswer(op: Operation, allowedProblems: Map<number, string>, res: Response): void {
  const json = res.json.bind(res);
  res.json = (body: unknown) => {
    const spec = op.responses[res.statusCode];
    if (!spec?.schema) throw contractBroken(op, `answered ${res.statusCode} with a JSON body, which it does not declare`);
    const wire: unknown = JSON.parse(JSON.stringify(body) ?? 'null');
    const result = spec.schema.safeParse(wire);
    if (!result.success) {
      const issues = result.error.issues.map((issue) => `${issue.path.join('.') || '(body)'}: ${issue.message}`).join('; ');
      throw contractBroken(op, `answered ${res.statusCode} with a body that does not match its schema: ${issues}`);
    }
    const extra = undeclaredFields(wire, result.data);
    if (extra.length > 0) throw contractBroken(op, `answered ${res.statusCode} with undeclared fields: ${extra.join(', ')}`);
    return json(body);
  };
  const writeHead = res.writeHead.bind(res) as (...args: unknown[]) => Response;
  res.writeHead = function (status: number, ...rest: unknown[]) {
    const problem = String(res.getHeader('content-type') ?? '').startsWith('application/problem+json');
    // A GET's 304 is Express's own answer to a matching If-None-Match (its ETag, or `*`), for every route.
    const notModified = status === 304 && op.method === 'get';
    const declared = problem ? allowedProblems.has(status) || GENERIC_PROBLEM_STATUSES.has(status) || status === 500 : notModified || status in op.responses;
    if (!declared) throw contractBroken(op, `answered the undeclared status ${status}`);
    return writeHead(status, ...rest);
  } as typeof res.writeHead;
}

/** Paths of fields the answer carries that its schema dropped (the schema does not declare them). */
export function undeclaredFields(wire: unknown, parsed: unknown, at = ''): string[] {
  if (Array.isArray(wire) && Array.isArray(parsed)) return wire.flatMap((item, i) => undeclaredFields(item, parsed[i], `${at}[${i}]`));
  if (!wire || typeof wire !== 'object' || !parsed || typeof parsed !== 'object' || Array.isArray(parsed)) return [];
  return Object.entries(wire).flatMap(([key, value]) => {
    const path = at ? `${at}.${key}` : key;
    return key in parsed ? undeclaredFields(value, (parsed as Record<string, unknown>)[key], path) : [path];
  });
}
