export { ConfigError, admissionEnv, admissionSettings, env, isDevelopment, loadConfig, parseConfig, serviceEnv } from './config';
export { createLogger, type Logger } from './logger';
export { createHttpApp, type AdmissionSettings, type HttpAppOptions } from './http/app';
export { normalizeAddress, parseTrustProxy, type TrustProxy } from './http/trust-proxy';
export { DEFAULT_RETRY, isIdempotent, retryAfterMs, retryDecision, withRetry, type Failure, type RetryOptions, type RetryPolicy } from './http/retry';
export { Admission, DEADLINE_HEADER, Shed, requestDeadline, type AdmissionOptions, type ShedReason, type Ticket } from './http/admission';
export { createHealth, type Health, type HealthOptions, type Check } from './http/health';
export { createMetrics, type Metrics, type Registry } from './http/metrics';
export { Problem, problems, validate, invalidParamsFromZod, type InvalidParam } from './http/problem';
export {
  GENERIC_PROBLEM_STATUSES,
  problemStatuses,
  type Access,
  type HeaderSpec,
  type Method,
  type Operation,
  type RawBodySpec,
  type RequestOf,
  type ResponseSpec,
} from './http/contract';
export { route, mountRoutes, expressPath, type MountOptions, type Route, type RouteHandler, type RouteInput, type RouteOptions } from './http/routes';
export { openApiDocument, openApiOperation, operationId, SchemaSet, PROBLEM_SCHEMA, type DocumentOptions, type JsonSchema } from './http/openapi';
export { sessionGuard, requireSession, requireRole, type SessionGuard, type SessionGuardOptions } from './http/session';
export { listen, closeGracefully, LISTEN_BACKLOG, type RunningServer } from './http/server';
export type { KeyValueStore, SetOptions } from './store/types';
export { createMemoryStore } from './store/memory';
export { createRedisStore, redisOptionsFromEnv, type RedisStoreOptions } from './store/redis';
export type { Bus, Handler, SubscribeOptions, StreamDefinition, DurableMessage, DurableHandler, ConsumeOptions, Consumer } from './bus/types';
export { createMemoryBus } from './bus/memory';
export { createNatsBus, type NatsBusOptions } from './bus/nats';
export { STREAMS, ALL_STREAMS, DURABLES } from './bus/streams';
export * from './bus/permissions';
export * from './bus/subjects';
export * from './bus/contracts';
export { createPool, migrate, readMigrations, withTransaction, type Pool, type PoolClient, type Migration } from './db/postgres';
export { startEmbeddedPostgres, type EmbeddedPostgres } from './db/embedded';
export { listenForNotifications, type NotificationListener, type NotificationListenerOptions } from './db/listen';
export { connectBackends, connectNatsBus, natsCredentialsEnv, type Backends } from './backends';
export { uniqueName, TEST_REDIS_URL, TEST_NATS_URL, TEST_DATABASE_URL } from './testing';
export { newSessionKey, hashSessionKey, isWellFormedSessionKey } from './session/key';
export { touchSession, type SessionRecord } from './session/record';
export { createSessionStore, type SessionStore, type SessionStoreOptions } from './session/store';
export { hashPassword, verifyPassword, PASSWORD_RULES } from './auth/password';
export { provisionVehicleCredentials, verifyVehicleSecret, type VehicleCredential } from './auth/vehicle-credentials';
export * from './auth/app-key';
export { sessionKeyFrom, sessionCredentialFrom, sessionCookie, SESSION_COOKIE, type CredentialSource } from './session/credentials';
export { runMain, runProcess, serveStatus, serveWorker, type RunningService, type StartedProcess } from './service';
export { syncVersionKey, ensureSyncVersion, bumpSyncVersion } from './member-sync';
export { seededRandom, type Random } from './random';
export { distanceM, stationAt, type Point } from './geo';
export { MEMBERSHIP_SIGNATURE_MAX_AGE_MS, membershipKeyEnv, signMembership, verifyMembership } from './bus/membership-signature';
export * from './notices/policy';
export { deliverNotice, deterministicUuid, type MemberNotice, type NoticeOutcome } from './notices/deliver';
