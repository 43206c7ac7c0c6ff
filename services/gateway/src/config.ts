import { z } from 'zod';
import { env, membershipKeyEnv, natsCredentialsEnv } from '@evshare/kit';

/**
 * The gateway's environment. Every variable has a default so `make run` needs none; see
 * docs/gateway.md for the table.
 */
export const gatewayConfigSchema = z.object({
  PORT: env.port(8080),
  /** 127.0.0.1 keeps a development gateway off the network; set 0.0.0.0 to serve other machines. */
  HOST: z.string().min(1).default('127.0.0.1'),
  LOG_LEVEL: env.logLevel(),
  /**
   * Processes sharing the public port (node:cluster), 0 for one per core the process may use. With
   * more than one, the first process is the primary: it serves the operators' listener (metrics
   * summed, status merged) and restarts a worker that dies. Read by main.ts only; set it to the
   * CPUs a container is given, since a container sees the node's cores.
   */
  GATEWAY_WORKERS: z.coerce.number().int().min(0).max(64).default(0),
  /** Used by main.ts only (startGateway receives a bus); without it the static lists are the only members. */
  NATS_URL: env.optionalUrl(),
  /** The gateway's NATS user (permissions: read announcements and load reports, ask for discovery). */
  ...natsCredentialsEnv,
  /** With it, only APP announcements, load reports and withdrawals signed with this key count. */
  ...membershipKeyEnv,
  /** Same meaning as for every service (kit backends): a namespace on a shared NATS. */
  NATS_SUBJECT_PREFIX: z
    .string()
    .regex(/^([A-Za-z0-9_-]+\.)?$/, 'must be a token followed by a dot, e.g. "staging."')
    .default(''),
  /** Comma-separated base URLs. */
  AUTH_UPSTREAMS: env.list(),
  PUSH_UPSTREAMS: env.list(),
  /** The charging service: its member/operator API (/api/v1/charging) and the piles' OCPP WebSockets (/ocpp). */
  CHARGING_UPSTREAMS: env.list(),
  APP_UPSTREAMS: env.list(),
  WEB_UPSTREAM: env.optionalUrl(),
  /** c in "no instance above c x the average load"; 1 would be strict balance with little stickiness. */
  BALANCE_FACTOR: z.coerce.number().finite().min(1).max(100).default(1.25),
  /**
   * The load bound never drops below this many in-flight requests: at small loads one or two
   * requests more than the average are noise, and moving clients for them would defeat
   * stickiness. 0 gives the strict bound of the paper (and of HAProxy and Envoy).
   */
  BALANCE_MIN_LOAD: z.coerce.number().int().min(0).default(8),
  RING_VNODES: z.coerce.number().int().min(1).max(1000).default(160),
  /** Add the load other gateways put on an instance (from its NATS reports) to the gateway's own count. */
  USE_REPORTED_LOAD: env.bool(true),
  /** Concurrency limit of a static instance that never announced its own. */
  DEFAULT_MAX_CONCURRENCY: env.positiveInt(256),
  HEALTH_INTERVAL_MS: z.coerce.number().int().min(50).default(1000),
  HEALTH_TIMEOUT_MS: z.coerce.number().int().min(10).default(800),
  /** Consecutive failed probes that take an instance out. */
  HEALTH_FALL: env.positiveInt(3),
  /** Consecutive good probes that bring it back. */
  HEALTH_RISE: env.positiveInt(2),
  /** Consecutive 5xx answers that eject an instance until probes re-admit it. */
  EJECT_CONSECUTIVE_5XX: env.positiveInt(5),
  /** A dynamic instance with no announcement or report for this long, and failing probes, is forgotten. */
  MEMBER_TIMEOUT_MS: env.durationMs(5000),
  QUEUE_MAX: z.coerce.number().int().min(0).default(1024),
  QUEUE_PER_CLIENT: env.positiveInt(16),
  QUEUE_TIMEOUT_MS: env.durationMs(5000),
  /**
   * The longest a request may take end to end: a client's X-Request-Timeout is clamped to it, and
   * the deadline (X-Request-Deadline, epoch ms) sent to the services is at most this far ahead.
   */
  GATEWAY_REQUEST_BUDGET_MS: env.positiveInt(10_000),
  /**
   * Retry-After (seconds) of the gateway's 503 answers other than the queue's (no instance,
   * connection limits), and of the queue's while the APP pool's drain rate is not yet known.
   */
  RETRY_AFTER_S: env.positiveInt(1),
  /** The queue's Retry-After is its expected drain time, at least 1 s and at most this. */
  RETRY_AFTER_MAX_S: env.positiveInt(30),
  /** No byte from the upstream for this long answers 504. */
  UPSTREAM_TIMEOUT_MS: env.positiveInt(30_000),
  /**
   * Idle keep-alive connections to an upstream close after this (checked every quarter of it, at
   * most every second): below Node's 5 s server default, so a request is not sent on a
   * connection the server is closing.
   */
  UPSTREAM_IDLE_MS: env.positiveInt(3000),
  /** Idempotent requests with a body up to this size are buffered so they can be retried. */
  RETRY_BODY_LIMIT: z.coerce
    .number()
    .int()
    .min(0)
    .default(64 * 1024),
  /**
   * Which hops in front may report the client in X-Forwarded-For, read as every service reads it
   * (the kit's TRUST_PROXY): false, true (one hop), a number of hops, or addresses/CIDR ranges
   * (loopback, linklocal, uniquelocal). From an untrusted peer the gateway overwrites
   * X-Forwarded-For; false for a gateway facing the internet.
   */
  TRUST_PROXY: env.trustProxy('false'),
  /**
   * The operators' listener: /lb/status, /metrics, /healthz, /readyz. Never the public port: it
   * shows pod addresses, upstream URLs and load. 127.0.0.1 by default; the chart binds the pod
   * address and lets only APP and Prometheus in (NetworkPolicy).
   */
  ADMIN_PORT: env.port(8088),
  ADMIN_HOST: z.string().min(1).default('127.0.0.1'),
  /** Client connections held at once (tunnels included); a new one beyond this gets 503 and is closed. */
  MAX_CLIENT_CONNECTIONS: env.positiveInt(16_384),
  /**
   * The listening socket's queue of connections the kernel has completed and the gateway not yet
   * accepted (capped by net.core.somaxconn). Node's default of 511 overflows when a thousand
   * clients connect at once on a busy machine, and an overflowed queue drops handshakes that the
   * kernel then answers with resets; HAProxy sizes it by maxconn.
   */
  LISTEN_BACKLOG: env.positiveInt(4096),
  /** A request head must be complete this long after its first byte (HAProxy's `timeout http-request`). */
  HEADERS_TIMEOUT_MS: env.positiveInt(15_000),
  /** A WebSocket tunnel with no byte either way for this long is closed (both ends reconnect). */
  WS_IDLE_TIMEOUT_MS: env.positiveInt(600_000),
  /** How often the gateway publishes its /lb/status on NATS for the APP's operator console. */
  STATUS_PUBLISH_MS: env.positiveInt(2000),
  SHUTDOWN_TIMEOUT_MS: env.positiveInt(10_000),
});

export type GatewayConfig = z.infer<typeof gatewayConfigSchema>;
