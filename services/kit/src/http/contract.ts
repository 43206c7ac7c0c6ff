import type { z } from 'zod';

/**
 * An HTTP operation as declared once, by the package that owns the wire format (@evshare/api):
 * the route mounts it with validation and the access check (./routes), the OpenAPI document is
 * derived from it (./openapi), and the web UI takes its types from the same schemas. Depends on
 * zod's types only, so a declaration package needs nothing else from the kit.
 */
export type Method = 'get' | 'post' | 'put' | 'patch' | 'delete';

/**
 * Who may call an operation: anyone (`public`, e.g. login, or a payment provider whose body is
 * signed), a member's session, an operator's session, or other services only (`internal`: not
 * served through the gateway's member API and left out of the public document).
 */
export type Access = 'public' | 'member' | 'operator' | 'internal';

export interface ResponseSpec {
  description: string;
  /** The body as it goes over the wire (dates as ISO strings, money as integer fen); absent for no body. */
  schema?: z.ZodType;
  /** Defaults to application/json. */
  mediaType?: string;
  headers?: Record<string, { description: string }>;
}

export interface HeaderSpec {
  description: string;
  required?: boolean;
  /** Whether a wrong value is refused (400 naming `header.<name>`) rather than left to the handler. */
  validated?: boolean;
  schema: z.ZodType;
}

export interface RawBodySpec {
  description: string;
  /** As `req.is` takes them (`image/jpeg`, `image/*`). */
  mediaTypes: readonly string[];
  maxBytes: number;
}

export interface Operation {
  method: Method;
  /** The path as the gateway exposes it, parameters in OpenAPI form (`/api/v1/rentals/{id}`). */
  path: string;
  access: Access;
  summary: string;
  /** What a caller must know that the schemas cannot say (rules zod refinements enforce, flows). */
  description?: string;
  tags: readonly string[];
  /** One property per path parameter; `.describe()` on a property becomes the parameter's description. */
  params?: z.ZodObject;
  /** One property per query parameter. */
  query?: z.ZodObject;
  /** Keyed by the header's canonical name (`Idempotency-Key`). */
  headers?: Record<string, HeaderSpec>;
  body?: z.ZodType;
  /** A missing body is read as `{}` (an action whose body only carries options). */
  bodyOptional?: boolean;
  /**
   * A body of raw bytes instead of JSON (a photo): the media types it may be sent as and the most
   * bytes it may have (413 beyond). The handler gets it as a Buffer in `body`; `body` must be absent.
   */
  rawBody?: RawBodySpec;
  /** The successful (and 3xx) answers by status. */
  responses: Readonly<Record<number, ResponseSpec>>;
  /**
   * Problem statuses beyond those the access rule and validation imply (400, 401, 403), each with
   * the problem types (`urn:evshare:problem:<kind>`) it carries.
   */
  problems?: Readonly<Partial<Record<number, string>>>;
}

/** Problem statuses any operation may answer whatever it declares (the document's `default`). */
export const GENERIC_PROBLEM_STATUSES: ReadonlySet<number> = new Set([405, 413, 415, 500, 503]);

/** The problem statuses an operation may answer: implied by its access and inputs, or declared. */
export function problemStatuses(op: Operation): Map<number, string> {
  const out = new Map<number, string>();
  if (op.body || op.rawBody || op.query || op.params || Object.values(op.headers ?? {}).some((h) => h.validated)) {
    out.set(400, 'The request is invalid: `invalid-params` names each wrong field (`body.x`, `query.x`, `path.x`, `header.x`)');
  }
  if (op.access === 'member' || op.access === 'operator') out.set(401, 'No session, or the session is unknown or expired (`unauthenticated`)');
  if (op.access === 'operator') out.set(403, 'Operators only (`forbidden`)');
  if (op.access === 'internal') out.set(403, 'Other services only (`forbidden`)');
  for (const [status, description] of Object.entries(op.problems ?? {})) if (description) out.set(Number(status), description);
  return out;
}

/** The handler's view of a request: validated inputs, typed by the declaration. */
export type RequestOf<Op extends Operation> = {
  params: Op['params'] extends z.ZodType ? z.output<Op['params']> : Record<string, never>;
  query: Op['query'] extends z.ZodType ? z.output<Op['query']> : Record<string, never>;
  body: Op['body'] extends z.ZodType ? z.output<Op['body']> : Op['rawBody'] extends RawBodySpec ? Buffer : undefined;
};
