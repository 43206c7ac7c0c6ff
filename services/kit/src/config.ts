import os from 'node:os';
import { z } from 'zod';
import { parseTrustProxy } from './http/trust-proxy';

/** A configuration value that is wrong or missing; its message names the variable. */
export class ConfigError extends Error {}

/**
 * Parses the environment with a zod object schema whose keys are the variable names.
 * Throws ConfigError naming every bad variable, e.g. `PORT: expected an integer, got "x"`.
 */
export function parseConfig<S extends z.ZodObject<z.ZodRawShape>>(schema: S, env: NodeJS.ProcessEnv = process.env): z.infer<S> {
  const input: Record<string, string | undefined> = {};
  for (const key of Object.keys(schema.shape)) {
    const value = env[key];
    // An empty variable means "not set", so defaults apply (as with `FOO= make run`).
    input[key] = value === '' ? undefined : value;
  }
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const lines = result.error.issues.map((issue) => {
    const name = issue.path.join('.') || '(config)';
    const raw = input[String(issue.path[0])];
    return `${name}: ${issue.message}${raw === undefined ? '' : ` (got ${JSON.stringify(raw)})`}`;
  });
  throw new ConfigError(lines.join('; '));
}

/**
 * For a service's main: on a bad configuration print one clear line and exit 2, before
 * anything is started, so a misconfigured pod fails fast in CrashLoopBackOff with a readable log.
 */
export function loadConfig<S extends z.ZodObject<z.ZodRawShape>>(service: string, schema: S, env: NodeJS.ProcessEnv = process.env): z.infer<S> {
  try {
    return parseConfig(schema, env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`${service}: configuration error: ${error.message}\n`);
    process.exit(2);
  }
}

/** The variables every service has: where it listens, how much it logs, and its name. */
export function serviceEnv(service: string, port: number) {
  return {
    PORT: env.port(port),
    /** 127.0.0.1 keeps a development service off the network; containers set 0.0.0.0. */
    HOST: z.string().min(1).default('127.0.0.1'),
    LOG_LEVEL: env.logLevel(),
    INSTANCE_ID: z.string().default(`${service}-${os.hostname()}`),
    /** Pages besides the request's own host whose requests may use the session cookie (comma-separated origins). */
    ALLOWED_ORIGINS: env.list(),
    ...admissionEnv,
  };
}

/** Admission by queue time (kit/http/admission.ts), in every service that serves HTTP. */
export const admissionEnv = {
  /**
   * The longest a request is worked on, whatever deadline it carries (X-Request-Deadline can only
   * shorten it); below the gateway's 30 s UPSTREAM_TIMEOUT_MS, so a request dropped at its deadline
   * is answered 503 before the gateway gives up with a 504.
   */
  REQUEST_DEADLINE_MS: z.coerce.number().int().min(100).max(600_000).default(25_000),
  /** Requests served at once; more wait in a queue bounded by time (the deadline), not length. */
  ADMISSION_SLOTS: z.coerce.number().int().min(1).max(100_000).default(256),
};

/** The admission settings (createHttpApp's `admission`) of a service's configuration. */
export function admissionSettings(tier: string, config: { REQUEST_DEADLINE_MS: number; ADMISSION_SLOTS: number }) {
  return { tier, slots: config.ADMISSION_SLOTS, deadlineCapMs: config.REQUEST_DEADLINE_MS };
}

/**
 * Development shortcuts (payments confirmed without payment, SMS kept in an outbox) are the
 * default only where development was chosen: NODE_ENV=development (`make run`) or test (jest).
 * The image sets NODE_ENV=production, where they are refused outright.
 */
export function isDevelopment(nodeEnv: string | undefined): boolean {
  return nodeEnv === 'development' || nodeEnv === 'test';
}

/** Reusable variable schemas. */
export const env = {
  port: (fallback: number) => z.coerce.number().int().min(0).max(65535).default(fallback),
  /** A port that is off unless set (0 picks a free one). */
  optionalPort: () => z.coerce.number().int().min(0).max(65535).optional(),
  /** NODE_ENV, read by the services that have development-only shortcuts. */
  nodeEnv: () => z.string().optional(),
  logLevel: () => z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  url: () => z.string().url(),
  optionalUrl: () => z.string().url().optional(),
  durationMs: (fallback: number) => z.coerce.number().int().min(0).default(fallback),
  positiveInt: (fallback: number) => z.coerce.number().int().positive().default(fallback),
  number: (fallback: number) => z.coerce.number().finite().default(fallback),
  bool: (fallback: boolean) =>
    z
      .enum(['true', 'false', '1', '0', 'yes', 'no'])
      .default(fallback ? 'true' : 'false')
      .transform((v) => v === 'true' || v === '1' || v === 'yes'),
  list: () =>
    z
      .string()
      .default('')
      .transform((v) =>
        v
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean),
      ),
  /** TRUST_PROXY (http/trust-proxy.ts): a number of hops, or addresses and CIDR ranges. */
  trustProxy: (fallback: string) =>
    z
      .string()
      .default(fallback)
      .transform((value, ctx) => {
        const trust = parseTrustProxy(value);
        if (trust === undefined) {
          ctx.addIssue({
            code: 'custom',
            message: 'expected false, true (one hop), a number of hops, or addresses, CIDR ranges, loopback, linklocal, uniquelocal',
          });
          return z.NEVER;
        }
        return trust;
      }),
};
