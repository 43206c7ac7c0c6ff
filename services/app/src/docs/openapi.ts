import { z } from 'zod';
import type { AppConfig } from '../service';
import { OPERATIONS } from './operations';
import { RESPONSE_SCHEMAS } from './responses';

/** A JSON Schema (2020-12, the dialect of OpenAPI 3.1) as plain data. */
export type JsonSchema = { [key: string]: unknown };

export type Method = 'get' | 'post' | 'put' | 'patch' | 'delete';

/** Who may call an operation: anyone, a member's session, an operator's session, or a payment provider (signed body). */
export type Access = 'public' | 'member' | 'admin' | 'provider';

/** The problem statuses the document describes by reference; others fall under `default`. */
const PROBLEMS = {
  400: 'The request is invalid: `invalid-params` names each wrong field (`body.x`, `query.x`, `path.x`, `header.x`)',
  401: 'No session, or the session is unknown or expired (`unauthenticated`)',
  403: 'The session may not do this (`forbidden`, or an eligibility reason)',
  404: 'No such resource, or it belongs to another member (`not-found`)',
  409: 'The request conflicts with the current state',
  429: 'Too many attempts; `Retry-After` says when to try again (`too-many-requests`)',
  504: 'A downstream party did not answer in time',
} as const;
type ProblemStatus = keyof typeof PROBLEMS;

export interface OperationResponse {
  status: number;
  description: string;
  /** A component name (`Rental`) or an inline schema; absent for an empty body. */
  schema?: string | JsonSchema;
  /** Defaults to application/json. */
  mediaType?: string;
  headers?: Record<string, { description: string; schema: JsonSchema }>;
}

export interface HeaderParam {
  name: string;
  required: boolean;
  /** Whether a bad value is refused (400) rather than ignored. */
  validated: boolean;
  description: string;
  schema: z.ZodType;
}

export interface Operation {
  method: Method;
  /** The path as the gateway exposes it, parameters in OpenAPI form (`/api/v1/rentals/{id}`). */
  path: string;
  tag: string;
  summary: string;
  /** Rules zod refinements enforce that JSON Schema cannot say, and anything else a caller must know. */
  description?: string;
  access: Access;
  params?: Record<string, { schema: z.ZodType; description: string }>;
  /** A zod object: each property becomes one query parameter. */
  query?: z.ZodType;
  headers?: HeaderParam[];
  body?: z.ZodType;
  responses: OperationResponse[];
  /** Problem statuses beyond those implied by access and validation, with the problem types they carry. */
  problems?: Partial<Record<ProblemStatus, string>>;
}

/** The part of the APP configuration the document reflects: enabled providers and money limits. */
export type DocsConfig = Pick<AppConfig, 'PAYMENT_PROVIDERS' | 'TOP_UP_MAX_FEN' | 'ADMIN_DEDUCTION_MAX_FEN'>;

/**
 * A request schema as JSON Schema 2020-12, generated from the zod schema the route validates
 * with (the input side: fields with defaults are optional). UUID and date-time patterns are
 * dropped: `format` says the same, and zod's long regexes would drown the page.
 */
export function jsonSchema(schema: z.ZodType): JsonSchema {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, {
    target: 'draft-2020-12',
    io: 'input',
    unrepresentable: 'any',
    override: ({ jsonSchema: generated }) => {
      if (generated.format === 'uuid' || generated.format === 'date-time') delete generated.pattern;
    },
  });
  return rest;
}

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const problemResponse = (description: string) => ({ description, content: { 'application/problem+json': { schema: ref('Problem') } } });

function parameters(op: Operation): unknown[] {
  const list: unknown[] = [];
  for (const [name, param] of Object.entries(op.params ?? {})) {
    list.push({ name, in: 'path', required: true, description: param.description, schema: jsonSchema(param.schema) });
  }
  if (op.query) {
    const query = jsonSchema(op.query) as { properties?: Record<string, JsonSchema>; required?: string[] };
    for (const [name, schema] of Object.entries(query.properties ?? {})) {
      list.push({ name, in: 'query', required: query.required?.includes(name) ?? false, schema });
    }
  }
  for (const header of op.headers ?? []) {
    list.push({ name: header.name, in: 'header', required: header.required, description: header.description, schema: jsonSchema(header.schema) });
  }
  return list;
}

function responses(op: Operation): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const response of op.responses) {
    out[String(response.status)] = {
      description: response.description,
      ...(response.headers ? { headers: Object.fromEntries(Object.entries(response.headers).map(([name, h]) => [name, { description: h.description, schema: h.schema }])) } : {}),
      ...(response.schema ? { content: { [response.mediaType ?? 'application/json']: { schema: typeof response.schema === 'string' ? ref(response.schema) : response.schema } } } : {}),
    };
  }
  const implied: Partial<Record<ProblemStatus, string>> = {};
  if (op.body || op.query || op.params || op.headers?.some((h) => h.validated)) implied[400] = PROBLEMS[400];
  if (op.access === 'member' || op.access === 'admin') implied[401] = PROBLEMS[401];
  if (op.access === 'admin') implied[403] = 'Operators only (`forbidden`)';
  for (const [status, description] of Object.entries({ ...implied, ...op.problems })) out[status] = problemResponse(description);
  out.default = { $ref: '#/components/responses/Problem' };
  return out;
}

/** `METHOD /api/v1/rentals/{id}/return` → `postRentalsIdReturn`: stable, unique, readable. */
function operationId(method: Method, path: string): string {
  const words = path
    .replace(/^\/api\/(v1\/)?/, '')
    .split(/[/{}.-]+/)
    .filter(Boolean);
  return method + words.map((w) => w[0]!.toUpperCase() + w.slice(1)).join('');
}

const TAGS: Array<{ name: string; description: string }> = [
  { name: 'auth', description: 'Login, logout, session, password, registration by SMS code, deregistration (served by the auth service)' },
  { name: 'members', description: "The member's own profile" },
  { name: 'notifications', description: 'Notices for the member (also pushed on /push and returned by the poll)' },
  { name: 'sync', description: 'The periodic poll' },
  { name: 'stations', description: 'Stations and the cars available there' },
  { name: 'pricing', description: 'The pricing plan in force' },
  { name: 'reservations', description: 'Holding a car before renting it' },
  { name: 'rentals', description: 'Rent, return (round-trip or one-way), history and bills' },
  { name: 'cards', description: 'Membership (RFID) cards bound to the account' },
  { name: 'wallet', description: 'Balance, deposit, debt, ledger and top-ups' },
  { name: 'payments', description: "Payment providers' asynchronous callbacks" },
  { name: 'licence', description: 'Driving-licence verification' },
  { name: 'admin: members', description: 'Operators: accounts, sessions, notices, licence review, suspension' },
  { name: 'admin: fleet', description: 'Operators: stations and cars' },
  { name: 'admin: pricing', description: 'Operators: publishing pricing plans' },
  { name: 'admin: rentals', description: 'Operators: reservations and rentals' },
  { name: 'admin: wallet', description: "Operators: members' wallets, deductions and refunds, SMS" },
  { name: 'admin: cluster', description: 'Operators: scaling decisions of the APP cluster' },
  { name: 'docs', description: 'This document' },
];

/**
 * The OpenAPI 3.1 document of the platform's API as the gateway exposes it: the auth service's
 * /api/v1/auth/* and the APP cluster's routes. Built from the same zod schemas the routes
 * validate with and the instance's configuration (providers, money limits), so it cannot drift
 * from what the instance accepts; test/openapi checks it against the routes.
 */
export function buildOpenApiDocument(config: DocsConfig): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const op of OPERATIONS(config)) {
    const params = parameters(op);
    (paths[op.path] ??= {})[op.method] = {
      tags: [op.tag],
      summary: op.summary,
      ...(op.description ? { description: op.description } : {}),
      operationId: operationId(op.method, op.path),
      ...(op.access === 'public' || op.access === 'provider' ? { security: [] } : {}),
      ...(params.length ? { parameters: params } : {}),
      ...(op.body ? { requestBody: { required: true, content: { 'application/json': { schema: jsonSchema(op.body) } } } } : {}),
      responses: responses(op),
    };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'evshare API',
      version: '1',
      summary: 'Member and operator API of the evshare EV car-sharing platform',
      description: [
        'Authenticate with the session key from `POST /api/v1/auth/login` as `Authorization: Bearer <key>`, or the `evs_session` cookie it sets.',
        'Operator endpoints (`/api/v1/admin/*`) need an operator session. Money is integer fen, times are ISO 8601 UTC, ids are UUIDs. No string in a body or query may contain a NUL character (U+0000).',
        'Every error is RFC 7807 `application/problem+json` with a stable `type` (`urn:evshare:problem:<kind>`).',
        'Operational endpoints (`/healthz`, `/readyz`, `/metrics`) are not part of this API and not described here. See docs/api.md.',
      ].join('\n\n'),
      license: { name: 'Apache-2.0', identifier: 'Apache-2.0' },
    },
    servers: [{ url: '/', description: 'The gateway or ingress this document was served from' }],
    security: [{ bearer: [] }, { cookie: [] }],
    tags: TAGS,
    paths,
    components: {
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', description: 'The session key from login or registration' },
        cookie: { type: 'apiKey', in: 'cookie', name: 'evs_session', description: 'The same key, as the HttpOnly cookie login sets for browsers' },
      },
      schemas: RESPONSE_SCHEMAS,
      responses: { Problem: problemResponse('Any other error: 413 body too large, 415 not JSON, 500, 503 busy (with `Retry-After`)') },
    },
  };
}
