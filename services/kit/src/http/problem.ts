import type { z } from 'zod';

/** One wrong field of a request (RFC 7807 `invalid-params` extension). */
export interface InvalidParam {
  name: string;
  reason: string;
}

/**
 * An error that becomes an RFC 7807 problem+json response. `type` is a stable URN per kind of
 * problem so clients (and the web UI's translations) can branch on it.
 */
export class Problem extends Error {
  constructor(
    readonly status: number,
    readonly slug: string,
    readonly title: string,
    readonly detail?: string,
    readonly extra: { invalidParams?: InvalidParam[]; retryAfterSeconds?: number; [key: string]: unknown } = {},
  ) {
    super(detail ?? title);
  }

  get type(): string {
    return `urn:evshare:problem:${this.slug}`;
  }

  toJSON(instance?: string): Record<string, unknown> {
    const { invalidParams, retryAfterSeconds, ...rest } = this.extra;
    return {
      type: this.type,
      title: this.title,
      status: this.status,
      ...(this.detail ? { detail: this.detail } : {}),
      ...(instance ? { instance } : {}),
      ...(invalidParams ? { 'invalid-params': invalidParams } : {}),
      ...(retryAfterSeconds !== undefined ? { retryAfter: retryAfterSeconds } : {}),
      ...rest,
    };
  }
}

export const problems = {
  validation: (invalidParams: InvalidParam[], detail?: string) =>
    new Problem(400, 'validation', 'Request is invalid', detail ?? invalidParams.map((p) => `${p.name}: ${p.reason}`).join('; '), { invalidParams }),
  malformedJson: (detail: string) => new Problem(400, 'malformed-json', 'Body is not valid JSON', detail),
  unauthenticated: (detail = 'A valid session is required') => new Problem(401, 'unauthenticated', 'Not logged in', detail),
  badCredentials: () => new Problem(401, 'bad-credentials', 'Wrong account or password', 'The account or the password is wrong'),
  forbidden: (detail = 'This resource belongs to someone else') => new Problem(403, 'forbidden', 'Forbidden', detail),
  notFound: (detail = 'No such resource') => new Problem(404, 'not-found', 'Not found', detail),
  methodNotAllowed: (detail: string) => new Problem(405, 'method-not-allowed', 'Method not allowed', detail),
  conflict: (slug: string, detail: string) => new Problem(409, slug, 'Conflict', detail),
  tooLarge: (limit: string) => new Problem(413, 'body-too-large', 'Body too large', `The body exceeds the limit of ${limit}`),
  unsupportedMediaType: (detail = 'Send the body as application/json') => new Problem(415, 'unsupported-media-type', 'Unsupported media type', detail),
  tooManyRequests: (retryAfterSeconds: number, detail = 'Too many attempts; try again later') =>
    new Problem(429, 'too-many-requests', 'Too many requests', detail, { retryAfterSeconds }),
  unavailable: (retryAfterSeconds: number, detail = 'The service is busy; try again shortly') =>
    new Problem(503, 'unavailable', 'Service unavailable', detail, { retryAfterSeconds }),
  crossSite: (detail: string) => new Problem(403, 'cross-site-request', 'Cross-site request refused', detail),
  internal: () => new Problem(500, 'internal', 'Internal error', 'Something went wrong on our side; it has been logged'),
};

/** Turns zod issues into invalid-params, naming the field by its path (e.g. `address.city`). */
export function invalidParamsFromZod(error: z.ZodError, prefix?: string): InvalidParam[] {
  return error.issues.map((issue) => {
    const path = issue.path.map(String).join('.');
    const name = [prefix, path].filter(Boolean).join('.') || prefix || '(body)';
    return { name, reason: issue.message };
  });
}

/** Validates a request part; throws a 400 Problem naming every wrong field. */
export function validate<S extends z.ZodType>(schema: S, value: unknown, where?: string): z.infer<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  throw problems.validation(invalidParamsFromZod(result.error, where));
}
