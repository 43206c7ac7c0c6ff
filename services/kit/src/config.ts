import os from 'node:os';
import { z } from 'zod';

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
  };
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
      .transform((v) => v.split(',').map((s) => s.trim()).filter(Boolean)),
};
