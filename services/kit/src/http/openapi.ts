import { z } from 'zod';
import { GENERIC_PROBLEM_STATUSES, problemStatuses, type Operation } from './contract';

/** A JSON Schema (2020-12, the dialect of OpenAPI 3.1) as plain data. */
export type JsonSchema = { [key: string]: unknown };

const COMPONENTS = '#/components/schemas/';

/**
 * Schemas as JSON Schema 2020-12 for one document: a schema named with `.meta({ id })` becomes
 * a component (referenced, written once), the rest is inlined. UUID and date-time patterns are
 * dropped: `format` says the same, and zod's long regexes would drown the page.
 */
export class SchemaSet {
  readonly components: Record<string, JsonSchema> = {};

  convert(schema: z.ZodType, io: 'input' | 'output'): JsonSchema {
    const {
      $schema: _dialect,
      $defs,
      ...rest
    } = z.toJSONSchema(schema, {
      target: 'draft-2020-12',
      io,
      unrepresentable: 'any',
      override: ({ jsonSchema: generated }) => {
        if (generated.format === 'uuid' || generated.format === 'date-time') delete generated.pattern;
      },
    }) as JsonSchema & { $defs?: Record<string, JsonSchema> };
    for (const [name, def] of Object.entries($defs ?? {})) {
      const local = retarget(def) as JsonSchema;
      const known = this.components[name];
      // Requests are converted as input (defaults optional), answers as output: one name, one shape.
      if (known && JSON.stringify(known) !== JSON.stringify(local)) throw new Error(`schema ${name} differs between two uses (input and output?)`);
      this.components[name] = local;
    }
    return retarget(rest) as JsonSchema;
  }
}

/** zod's `#/$defs/X` references as references to the document's components. */
function retarget(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(retarget);
  if (!node || typeof node !== 'object') return node;
  return Object.fromEntries(
    Object.entries(node).map(([key, value]) => [key, key === '$ref' && typeof value === 'string' ? value.replace('#/$defs/', COMPONENTS) : retarget(value)]),
  );
}

const problemResponse = (description: string) => ({ description, content: { 'application/problem+json': { schema: { $ref: `${COMPONENTS}Problem` } } } });

/** `METHOD /api/v1/rentals/{id}/return` → `postRentalsIdReturn`: stable, unique, readable. */
export function operationId(op: Pick<Operation, 'method' | 'path'>): string {
  const words = op.path
    .replace(/^\/api\/(v1\/)?/, '')
    .split(/[/{}.-]+/)
    .filter(Boolean);
  return op.method + words.map((w) => w[0]!.toUpperCase() + w.slice(1)).join('');
}

function parameters(op: Operation, schemas: SchemaSet): unknown[] {
  const list: unknown[] = [];
  const each = (object: z.ZodObject | undefined, where: 'path' | 'query') => {
    if (!object) return;
    const converted = schemas.convert(object, 'input') as { properties?: Record<string, JsonSchema>; required?: string[] };
    for (const [name, schema] of Object.entries(converted.properties ?? {})) {
      const { description, ...rest } = schema;
      list.push({
        name,
        in: where,
        required: where === 'path' || (converted.required?.includes(name) ?? false),
        ...(typeof description === 'string' ? { description } : {}),
        schema: rest,
      });
    }
  };
  each(op.params, 'path');
  each(op.query, 'query');
  for (const [name, header] of Object.entries(op.headers ?? {})) {
    list.push({ name, in: 'header', required: header.required ?? false, description: header.description, schema: schemas.convert(header.schema, 'input') });
  }
  return list;
}

function responses(op: Operation, schemas: SchemaSet): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [status, response] of Object.entries(op.responses)) {
    out[status] = {
      description: response.description,
      ...(response.headers
        ? {
            headers: Object.fromEntries(
              Object.entries(response.headers).map(([name, h]) => [name, { description: h.description, schema: { type: 'string' } }]),
            ),
          }
        : {}),
      ...(response.schema ? { content: { [response.mediaType ?? 'application/json']: { schema: schemas.convert(response.schema, 'output') } } } : {}),
      ...(!response.schema && response.mediaType ? { content: { [response.mediaType]: { schema: { type: 'string', format: 'binary' } } } } : {}),
    };
  }
  for (const [status, description] of problemStatuses(op)) out[String(status)] = problemResponse(description);
  out.default = { $ref: '#/components/responses/Problem' };
  return out;
}

/** One operation as an OpenAPI 3.1 operation object; its named schemas go into `schemas`. */
export function openApiOperation(op: Operation, schemas: SchemaSet): Record<string, unknown> {
  const params = parameters(op, schemas);
  return {
    tags: [...op.tags],
    summary: op.summary,
    ...(op.description ? { description: op.description } : {}),
    operationId: operationId(op),
    ...(op.access === 'public' || op.access === 'internal' ? { security: [] } : {}),
    ...(params.length ? { parameters: params } : {}),
    ...(op.body ? { requestBody: { required: !op.bodyOptional, content: { 'application/json': { schema: schemas.convert(op.body, 'input') } } } } : {}),
    ...(op.rawBody
      ? {
          requestBody: {
            required: true,
            description: `${op.rawBody.description} (at most ${op.rawBody.maxBytes} bytes)`,
            content: Object.fromEntries(op.rawBody.mediaTypes.map((type) => [type, { schema: { type: 'string', format: 'binary' } }])),
          },
        }
      : {}),
    responses: responses(op, schemas),
  };
}

export const PROBLEM_SCHEMA: JsonSchema = {
  type: 'object',
  description: 'RFC 7807 problem details; some problems add fields (`reason`, `refusals`, `state`, `allowed`, `attemptsLeft`)',
  properties: {
    type: { type: 'string', description: 'Stable URN to branch on: `urn:evshare:problem:<kind>`', examples: ['urn:evshare:problem:validation'] },
    title: { type: 'string' },
    status: { type: 'integer' },
    detail: { type: 'string' },
    instance: { type: 'string', description: 'The request path' },
    'invalid-params': {
      type: 'array',
      items: { type: 'object', properties: { name: { type: 'string', examples: ['body.phone'] }, reason: { type: 'string' } }, required: ['name', 'reason'] },
    },
    retryAfter: { type: 'integer', description: 'Seconds, as in the Retry-After header' },
  },
  required: ['type', 'title', 'status'],
};

export interface DocumentOptions {
  info: Record<string, unknown>;
  tags: ReadonlyArray<{ name: string; description: string }>;
  operations: readonly Operation[];
}

/**
 * The OpenAPI 3.1 document of a set of operations (internal ones left out), authenticated by
 * the session key as a bearer token or the session cookie.
 */
export function openApiDocument(options: DocumentOptions): Record<string, unknown> {
  const schemas = new SchemaSet();
  const paths: Record<string, Record<string, unknown>> = {};
  for (const op of options.operations) {
    if (op.access === 'internal') continue;
    (paths[op.path] ??= {})[op.method] = openApiOperation(op, schemas);
  }
  const generic = [...GENERIC_PROBLEM_STATUSES].join(', ');
  return {
    openapi: '3.1.0',
    info: options.info,
    servers: [{ url: '/', description: 'The gateway or ingress this document was served from' }],
    security: [{ bearer: [] }, { cookie: [] }],
    tags: options.tags,
    paths,
    components: {
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', description: 'The session key from login or registration' },
        cookie: { type: 'apiKey', in: 'cookie', name: 'evs_session', description: 'The same key, as the HttpOnly cookie login sets for browsers' },
      },
      schemas: { Problem: PROBLEM_SCHEMA, ...sortedKeys(schemas.components) },
      responses: { Problem: problemResponse(`Any other error (${generic}; 503 busy with \`Retry-After\`)`) },
    },
  };
}

const sortedKeys = <T>(record: Record<string, T>) => Object.fromEntries(Object.entries(record).sort(([a], [b]) => a.localeCompare(b)));
